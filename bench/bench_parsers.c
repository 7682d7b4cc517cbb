/* bench_parsers.c — parse rate of the audit-message parsers on one message
 * in a loop (msgs/s and MB/s), to compare with design.md's measured limits
 * (libxml2 SAX2 reused context ≈ 270k msgs/s, jansson ≈ 38k msgs/s).
 *
 *   bench_parsers FILE.xml|FILE.json [seconds]
 *
 * Not built by CMake (no bench/ target yet); build by hand:
 *   cc -O2 -I. bench/bench_parsers.c build/libpa_collectors.a build/libpa_core.a \
 *      $(pkg-config --libs libxml-2.0 jansson sqlite3 zlib libcrypto) */
#include "collectors/atna_xml.h"
#include "collectors/fhir_audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pa_rc sink_audit(void *ctx, const struct pa_audit *a)
{
  (*(size_t *)ctx) += a->n_participants;
  return PA_OK;
}

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
  FILE *f;
  static uint8_t buf[1 << 22];
  size_t len, parts = 0, n = 0;
  double secs = argc > 2 ? strtod(argv[2], NULL) : 3.0, t0, t;
  int xml;
  pa_atna *x = NULL;
  struct pa_sink sink = {0};
  struct pa_msg_ctx ctx = {"bench", 1, 0, NULL, "UTC"};

  if (argc < 2 || !(f = fopen(argv[1], "rb"))) {
    fprintf(stderr, "usage: bench_parsers FILE.xml|FILE.json [seconds]\n");
    return 2;
  }
  len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  xml = strstr(argv[1], ".xml") != NULL;
  sink.ctx = &parts;
  sink.audit = sink_audit;
  if (xml && pa_atna_new(&x) != PA_OK)
    return 3;
  t0 = now();
  do {
    for (int i = 0; i < 1000; i++) {
      struct pa_err e;
      size_t got;
      pa_rc rc = xml ? pa_atna_parse(x, buf, len, &ctx, &sink, &e)
                     : pa_fhir_parse(buf, len, &ctx, &sink, &got, &e);
      if (rc != PA_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], e.msg);
        return 1;
      }
    }
    n += 1000;
    t = now() - t0;
  } while (t < secs);
  printf("%s: %zu bytes, %zu msgs, %.0f msgs/s, %.1f MB/s\n", argv[1], len, n, (double)n / t,
         (double)n * (double)len / t / 1e6);
  pa_atna_free(x);
  return 0;
}
