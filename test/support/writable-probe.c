/*
 * The writable-paths test's workload: checks, as the user it runs as, that the folder in argv[1]
 * still holds the image's file argv[2] with its content, that the file can be appended to and a
 * new file made beside it, and prints the folder's mode and owner. Exits 0 only if all held.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  char path[4096];
  int ok = 1;
  struct stat st;
  if (stat(argv[1], &st) != 0) return 3;
  printf("folder mode=%o uid=%d gid=%d\n", st.st_mode & 07777, (int)st.st_uid, (int)st.st_gid);
  snprintf(path, sizeof path, "%s/%s", argv[1], argv[2]);
  int kept = open(path, O_RDWR | O_APPEND);
  char buf[256] = "";
  if (kept < 0) {
    printf("image file: cannot open: %s\n", strerror(errno));
    ok = 0;
  } else {
    ssize_t n = read(kept, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("image file: %s", buf);
    if (write(kept, "appended\n", 9) != 9) {
      printf("image file: cannot append\n");
      ok = 0;
    }
    close(kept);
  }
  snprintf(path, sizeof path, "%s/made-at-run-time", argv[1]);
  int made = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
  printf("new file: %s\n", made < 0 ? "cannot create" : "created");
  if (made < 0) ok = 0;
  printf("%s\n", ok ? "writable-probe ok" : "writable-probe failed");
  fflush(stdout);
  return ok ? 0 : 1;
}
