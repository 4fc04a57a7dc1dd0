/*
 * dpkg's own version comparison as a filter, for test/version-oracle.test.ts. Reads lines
 * "A<TAB>B" on stdin and prints one line per pair: "<", "=" or ">", or "E" when dpkg refuses A or B.
 *
 * It calls libdpkg (libdpkg-dev) exactly as `dpkg --compare-versions` does: parseversion(), where a
 * warning ("version number does not start with digit", "invalid character") still compares and an
 * error ("nothing after colon", "embedded spaces", …) does not, then dpkg_version_compare().
 * One process for every pair, instead of one dpkg process per pair.
 */
#define LIBDPKG_VOLATILE_API 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dpkg/dpkg.h>
#include <dpkg/dpkg-db.h>
#include <dpkg/version.h>

static int parse(struct dpkg_version *version, const char *text) {
  struct dpkg_error err = DPKG_ERROR_INIT;
  int rc = parseversion(version, text, &err);
  int usable = rc == 0 || err.type == DPKG_MSG_WARN;
  dpkg_error_destroy(&err);
  return usable;
}

int main(void) {
  char *line = NULL;
  size_t capacity = 0;
  ssize_t length;
  while ((length = getline(&line, &capacity, stdin)) >= 0) {
    if (length > 0 && line[length - 1] == '\n') line[--length] = '\0';
    char *tab = strchr(line, '\t');
    if (tab == NULL) {
      fprintf(stderr, "dpkg-compare: expected A<TAB>B, got: %s\n", line);
      return 2;
    }
    *tab = '\0';
    struct dpkg_version a, b;
    if (!parse(&a, line) || !parse(&b, tab + 1)) {
      puts("E");
      continue;
    }
    int order = dpkg_version_compare(&a, &b);
    puts(order < 0 ? "<" : order > 0 ? ">" : "=");
  }
  free(line);
  return 0;
}
