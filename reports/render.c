/* render.c — pa_report_render: one renderer a format. */
#include "report.h"
#include "html.h"

pa_rc pa_report_render(const json_t *m, enum pa_report_format f, FILE *out, struct pa_err *err)
{
  switch (f) {
  case PA_REPORT_TEXT: return pa_report_render_text(m, out, err);
  case PA_REPORT_JSON: return pa_report_render_json(m, out, err);
  case PA_REPORT_CSV: return pa_report_render_csv(m, out, err);
  case PA_REPORT_HTML: return pa_report_render_html(m, out, err);
  default: break;
  }
  return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "report: this format is not built in");
}
