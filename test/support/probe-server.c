/*
 * probe-server: the smallest HTTP/1.1 service herd's engine tests can run, built with gcc -static
 * into a one-file image (test/support/probe-image.ts). It is there to be observed: it prints what
 * it does, answers health checks, exits on demand, and stops gracefully on SIGTERM.
 *
 *   GET /healthz     200 "ok", or 500 when HEALTHY=0
 *   GET /            200 $GREETING
 *   GET /exit        answers, then the process exits with code 3
 *   GET /slow?ms=N   sleeps N ms, then 200 "slept"
 *   GET /spin?ms=N   burns N ms of CPU time, then 200 "spun"
 *   EXIT_AT_ONCE=1   exits with code 1 before listening
 *   SIGTERM          stops accepting, finishes in-flight requests, exits 0
 *   probe-server echo  echoes stdin lines with the uid instead of serving (see echo_lines)
 *
 * One thread per connection; every response closes its connection, so there is no keep-alive.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int listen_fd = -1;
static volatile int stopping = 0;
static int in_flight = 0;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;

static void respond(int fd, int status, const char *body) {
  char head[256];
  const char *reason = status == 200 ? "OK" : status == 404 ? "Not Found" : "Internal Server Error";
  size_t length = strlen(body);
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   status, reason, length);
  if (write(fd, head, (size_t)n) < 0) return;
  if (write(fd, body, length) < 0) return;
}

static void *serve(void *arg) {
  int fd = (int)(long)arg;
  char request[8192];
  size_t used = 0;
  /* Read until the end of the headers; bodies are ignored. */
  while (used < sizeof request - 1) {
    ssize_t got = read(fd, request + used, sizeof request - 1 - used);
    if (got <= 0) break;
    used += (size_t)got;
    request[used] = '\0';
    if (strstr(request, "\r\n\r\n")) break;
  }
  request[used] = '\0';
  char method[16] = "", path[1024] = "";
  sscanf(request, "%15s %1023s", method, path);
  int status = 200;
  int exit_after = 0;
  if (strcmp(method, "GET") != 0) {
    status = 404;
    respond(fd, status, "not found\n");
  } else if (strcmp(path, "/healthz") == 0) {
    const char *healthy = getenv("HEALTHY");
    status = healthy && strcmp(healthy, "0") == 0 ? 500 : 200;
    respond(fd, status, status == 200 ? "ok" : "unhealthy");
  } else if (strcmp(path, "/") == 0) {
    const char *greeting = getenv("GREETING");
    respond(fd, status, greeting ? greeting : "hello from probe");
  } else if (strcmp(path, "/exit") == 0) {
    respond(fd, status, "exiting");
    exit_after = 1;
  } else if (strncmp(path, "/slow", 5) == 0) {
    const char *ms = strstr(path, "ms=");
    long wait = ms ? strtol(ms + 3, NULL, 10) : 1000;
    struct timespec pause = {wait / 1000, (wait % 1000) * 1000000L};
    nanosleep(&pause, NULL);
    respond(fd, status, "slept");
  } else if (strncmp(path, "/spin", 5) == 0) {
    /* Burns N ms of this thread's CPU time (not wall time), however much a CPU limit slows it. */
    const char *ms = strstr(path, "ms=");
    long burn = ms ? strtol(ms + 3, NULL, 10) : 100;
    struct timespec start, now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
    volatile unsigned long spins = 0;
    do {
      for (int i = 0; i < 100000; i++) spins++;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L < burn);
    respond(fd, status, "spun");
  } else {
    status = 404;
    respond(fd, status, "not found\n");
  }
  close(fd);
  printf("%s %s %d\n", method, path, status);
  if (exit_after) {
    printf("exiting with code 3 as asked\n");
    exit(3);
  }
  pthread_mutex_lock(&lock);
  in_flight--;
  pthread_cond_broadcast(&idle);
  pthread_mutex_unlock(&lock);
  return NULL;
}

/* SIGTERM is blocked in every thread and taken here, so no request is cut short by a handler. */
static void *await_sigterm(void *arg) {
  sigset_t *set = arg;
  int signal_number;
  sigwait(set, &signal_number);
  printf("SIGTERM: finishing in-flight requests\n");
  stopping = 1;
  shutdown(listen_fd, SHUT_RDWR); /* wakes accept() */
  return NULL;
}

/*
 * `probe-server echo`: a stand-in for a debug shell, for the engine contract. Each line read from
 * stdin comes back on stdout as "uid=<uid> <line>"; the line "fail" writes "failing" to stderr and
 * exits 7; the end of stdin exits 0.
 */
static int echo_lines(void) {
  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (strcmp(line, "fail") == 0) {
      fprintf(stderr, "failing\n");
      return 7;
    }
    printf("uid=%d %s\n", (int)getuid(), line);
  }
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 1 && strcmp(argv[1], "echo") == 0) return echo_lines();
  const char *exit_at_once = getenv("EXIT_AT_ONCE");
  if (exit_at_once && strcmp(exit_at_once, "1") == 0) {
    printf("EXIT_AT_ONCE=1: exiting with code 1\n");
    return 1;
  }
  const char *port_text = getenv("PORT");
  int port = port_text ? atoi(port_text) : 8080;

  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigaddset(&term, SIGINT);
  pthread_sigmask(SIG_BLOCK, &term, NULL);
  signal(SIGPIPE, SIG_IGN);

  listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  int yes = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  struct sockaddr_in address = {0};
  address.sin_family = AF_INET;
  address.sin_port = htons((unsigned short)port);
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(listen_fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(listen_fd, 128) != 0) {
    fprintf(stderr, "cannot listen on port %d: %s\n", port, strerror(errno));
    return 2;
  }
  pthread_t signal_thread;
  pthread_create(&signal_thread, NULL, await_sigterm, &term);
  printf("probe listening on :%d as uid %d\n", port, (int)getuid());

  while (!stopping) {
    int fd = accept(listen_fd, NULL, NULL);
    if (fd < 0) {
      if (stopping) break;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break;
    }
    pthread_mutex_lock(&lock);
    in_flight++;
    pthread_mutex_unlock(&lock);
    pthread_t worker;
    if (pthread_create(&worker, NULL, serve, (void *)(long)fd) != 0) {
      close(fd);
      pthread_mutex_lock(&lock);
      in_flight--;
      pthread_mutex_unlock(&lock);
      continue;
    }
    pthread_detach(worker);
  }
  pthread_mutex_lock(&lock);
  while (in_flight > 0) pthread_cond_wait(&idle, &lock);
  pthread_mutex_unlock(&lock);
  printf("stopped cleanly\n");
  return 0;
}
