/* pa_html_render.c — test tool: renders a report model JSON file as HTML.
 *
 *   pa_html_render MODEL.json OUT.html
 *
 * The browser test (test_html_browser.sh) uses it so that it depends on the
 * HTML renderer alone, not on a store or the `report` command. Exit 0 on
 * success, 1 on an error (said on stderr), 2 on usage. */
#include "reports/html.h"

#include <jansson.h>
#include <stdio.h>

int main(int argc, char **argv)
{
  json_error_t je;
  struct pa_err err;
  json_t *m;
  FILE *out;
  pa_rc rc;

  if (argc != 3) {
    fprintf(stderr, "usage: pa_html_render MODEL.json OUT.html\n");
    return 2;
  }
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
  return 0;
}
