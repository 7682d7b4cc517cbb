/* render_json.c — the model as it is (docs/report-json.md), indented by 2,
 * keys in the model's order. */
#include "report.h"

pa_rc pa_report_render_json(const json_t *m, FILE *out, struct pa_err *err)
{
  if (json_dumpf(m, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) || fputc('\n', out) == EOF ||
      fflush(out))
    return pa_err_set(err, PA_IO, UINT64_MAX, 0, "report: cannot write the JSON");
  return PA_OK;
}
