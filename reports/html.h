/* html.h — the HTML rendering of the report model (reports/model.c).
 *
 * One self-contained file: inline CSS and inline SVG charts, no script, no
 * fetch from the network (a Content-Security-Policy meta forbids all), an A4
 * print stylesheet with a page break before each section. Labels follow the
 * model's "lang" ("ja" default, "en"); every string from the model is escaped
 * for HTML text and attribute context, control characters dropped.
 *
 * Wording: a finding is called a violation ("違反") only when the model's
 * "violation" is true AND its strength is "direct"; every other finding is
 * "for review" ("要確認"), as issue 8 asks (a derived or advisory finding is
 * never called a violation), even where the model marks a derived one. */
#ifndef PA_HTML_H
#define PA_HTML_H

#include "analyzer/err.h"

#include <jansson.h>
#include <stdio.h>

/* Renders model m (the tree docs/report-model describes; borrowed, only
 * read) as HTML to out. Members absent or of the wrong type are shown as
 * absent; an empty model still gives a whole page with empty charts.
 * Returns PA_OK; PA_MALFORMED when m is not a JSON object; PA_NOMEM; PA_IO
 * when writing to out failed (out is left in an unknown state). */
pa_rc pa_report_render_html(const json_t *m, FILE *out, struct pa_err *err);

#endif
