/* pa_html_render.c — test tool: renders a report model JSON file as HTML
 * and checks the page it wrote.
 *
 *   pa_html_render MODEL.json OUT.html
 *   pa_html_render --check PAGE.html      (the checks alone, on any page)
 *
 * The browser test (test_html_browser.sh) uses it so that it depends on the
 * HTML renderer alone, not on a store or the `report` command. Before the
 * browser sees the page, the page must be one whole document (doctype to
 * </html>) with its Content-Security-Policy, and hold no script, image,
 * frame or embedded object and no javascript: link, whatever strings the
 * model carries. Exit 0 when it renders and passes, 1 on an error or a failed
 * check (said on stderr), 2 on usage.
 *
 * A tool, not a test: it asserts nothing by itself. test_html_browser.sh
 * is the test, and it asserts both ways: every rendered page passes these
 * checks, and a page edited to break each one is refused by it, naming the
 * check. */
#include "reports/html.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* 1 when needle occurs in h[0..n) ignoring ASCII case. */
static int has_ci(const char *h, size_t n, const char *needle)
{
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (!strncasecmp(h + i, needle, k))
      return 1;
  return 0;
}

/* The checks of the page at path; the number that failed, each said. */
static int check_page(const char *path)
{
  /* text from the model has its < escaped, so each of these can only be
   * markup the renderer wrote */
  static const char *const banned[] = {"<script", "<img", "<iframe", "<object", "<embed",
                                       "href=\"javascript:"};
  FILE *f = fopen(path, "rb");
  char *h = NULL;
  long n;
  int bad = 0;

  if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
      !(h = malloc((size_t)n + 1)) || fread(h, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "pa_html_render: %s: cannot read the page back\n", path);
    if (f)
      fclose(f);
    free(h);
    return 1;
  }
  fclose(f);
  h[n] = 0;
  if (strncmp(h, "<!DOCTYPE html>", 15) && ++bad)
    fprintf(stderr, "pa_html_render: %s: does not start with <!DOCTYPE html>\n", path);
  if ((n < 8 || strcmp(h + n - 8, "</html>\n")) && ++bad)
    fprintf(stderr, "pa_html_render: %s: does not end with </html>\n", path);
  if (!strstr(h, "http-equiv=\"Content-Security-Policy\"") && ++bad)
    fprintf(stderr, "pa_html_render: %s: no Content-Security-Policy\n", path);
  for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
    if (has_ci(h, (size_t)n, banned[i]) && ++bad)
      fprintf(stderr, "pa_html_render: %s: holds \"%s\"\n", path, banned[i]);
  free(h);
  return bad;
}

int main(int argc, char **argv)
{
  json_error_t je;
  struct pa_err err;
  json_t *m;
  FILE *out;
  pa_rc rc;

  if (argc != 3) {
    fprintf(stderr, "usage: pa_html_render MODEL.json OUT.html\n"
                    "       pa_html_render --check PAGE.html\n");
    return 2;
  }
  /* the test shows with it that each check can fail on a page that breaks it */
  if (!strcmp(argv[1], "--check"))
    return check_page(argv[2]) ? 1 : 0;
  m = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &je);
  if (!m) {
    fprintf(stderr, "pa_html_render: %s:%d: %s\n", argv[1], je.line, je.text);
    return 1;
  }
  out = fopen(argv[2], "wb");
  if (!out) {
    perror(argv[2]);
    json_decref(m);
    return 1;
  }
  pa_err_clear(&err);
  rc = pa_report_render_html(m, out, &err);
  if (fclose(out) != 0 && rc == PA_OK)
    rc = PA_IO;
  json_decref(m);
  if (rc != PA_OK) {
    fprintf(stderr, "pa_html_render: %s: %s\n", pa_strerror(rc), err.msg);
    return 1;
  }
  return check_page(argv[2]) ? 1 : 0;
}
