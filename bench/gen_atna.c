/* gen_atna.c — writes the synthetic ATNA workload (atna_gen.h) to a file.
 *
 *   pa_bench_gen [-n N] [-s SEED] [-f FIRST] [--octet] [-o FILE]
 *
 * N messages (default 1,000,000) numbered FIRST.. (default 0) of stream SEED
 * (default 1), one RFC 5424 line each (the XML on the same line, LF after
 * it); with --octet, RFC 6587 octet-counted frames ("LEN SP MSG", no LF), as
 * a TCP sender writes them. Prints the count and bytes on stderr. */
#include "atna_gen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_u64(const char *s, uint64_t *v)
{
  char *end;
  errno = 0;
  *v = strtoull(s, &end, 10);
  return errno || end == s || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
  uint64_t n = 1000000, seed = 1, first = 0, bytes = 0;
  const char *path = NULL;
  int octet = 0;
  static char line[PA_GEN_MAX_LINE];
  static char obuf[1 << 20];
  FILE *f = stdout;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--octet")) {
      octet = 1;
    } else if (i + 1 < argc && (!strcmp(a, "-n") || !strcmp(a, "-s") || !strcmp(a, "-f") ||
                                !strcmp(a, "-o"))) {
      const char *v = argv[++i];
      if (a[1] == 'o')
        path = v;
      else if (parse_u64(v, a[1] == 'n' ? &n : a[1] == 's' ? &seed : &first)) {
        fprintf(stderr, "pa_bench_gen: %s takes a number\n", a);
        return 2;
      }
    } else {
      fprintf(stderr, "usage: pa_bench_gen [-n N] [-s SEED] [-f FIRST] [--octet] [-o FILE]\n");
      return 2;
    }
  }
  if (path && !(f = fopen(path, "wb"))) {
    fprintf(stderr, "pa_bench_gen: %s: %s\n", path, strerror(errno));
    return 2;
  }
  setvbuf(f, obuf, _IOFBF, sizeof obuf);
  for (uint64_t i = first; i < first + n; i++) {
    size_t len = pa_gen_line(seed, i, line, sizeof line, !octet);
    if (octet)
      bytes += (uint64_t)fprintf(f, "%zu ", len);
    if (fwrite(line, 1, len, f) != len) {
      fprintf(stderr, "pa_bench_gen: write error: %s\n", strerror(errno));
      return 2;
    }
    bytes += len;
  }
  if (fflush(f) != 0 || (path && fclose(f) != 0)) {
    fprintf(stderr, "pa_bench_gen: write error: %s\n", strerror(errno));
    return 2;
  }
  fprintf(stderr, "pa_bench_gen: %llu messages, %llu bytes (%.0f per message)\n",
          (unsigned long long)n, (unsigned long long)bytes, n ? (double)bytes / (double)n : 0.0);
  return 0;
}
