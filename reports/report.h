/* report.h — the report: one model built from the store, rendered as text,
 * JSON or CSV (docs/report-json.md documents the model).
 *
 * The model is a jansson object built once, in one read snapshot of the
 * store: the period's sources and their coverage, counts and charts, the
 * rules and what the latest check run decided, the findings with their
 * evidence, MT-01's maintenance windows, the guideline checklist and the
 * review sign-off. Strings from logs are kept as they are; each renderer
 * escapes for its medium. */
#ifndef PA_REPORT_H
#define PA_REPORT_H

#include "analyzer/err.h"
#include "analyzer/store.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

enum pa_report_format { PA_REPORT_TEXT, PA_REPORT_JSON, PA_REPORT_CSV, PA_REPORT_HTML };

struct pa_report_opts {
  const char *lang;             /* "ja" (default) or "en" */
  int64_t since_us, until_us;   /* µs UTC; 0 open; until is exclusive */
  const char *policy_path;      /* NULL: the policy the latest check run recorded, if any */
  const char *pseudonymize_key; /* KEYFILE path, or NULL */
};

/* "text", "json", "csv", "html" -> *out; PA_MALFORMED otherwise. */
pa_rc pa_report_format_parse(const char *name, enum pa_report_format *out);

/* The site's zone name for reading --since/--until: the policy at
 * policy_path, else the one the latest check run recorded, else
 * "Asia/Tokyo", into tz (size bytes). PA_IO / PA_MALFORMED (err names the
 * file) when policy_path is given and cannot be loaded. */
pa_rc pa_report_site_tz(pa_store *s, const char *policy_path, char *tz, size_t size,
                        struct pa_err *err);

/* Builds the model from the store, in one read snapshot. *out is the
 * caller's: json_decref. PA_IO / PA_MALFORMED when an input file (the
 * policy, the key file) cannot be used, err naming it; PA_DB, PA_NOMEM. */
pa_rc pa_report_model_build(pa_store *s, const struct pa_report_opts *o, json_t **out,
                            struct pa_err *err);

/* Renders model m in format f to out. PA_IO when writing fails;
 * PA_MALFORMED for a format not built in. */
pa_rc pa_report_render(const json_t *m, enum pa_report_format f, FILE *out,
                       struct pa_err *err);

/* The renderers pa_report_render dispatches to. */
pa_rc pa_report_render_json(const json_t *m, FILE *out, struct pa_err *err);
pa_rc pa_report_render_text(const json_t *m, FILE *out, struct pa_err *err);
pa_rc pa_report_render_csv(const json_t *m, FILE *out, struct pa_err *err);

#endif
