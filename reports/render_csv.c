/* render_csv.c — one row per finding, RFC 4180 (CRLF, fields quoted when
 * they hold a comma, a quote or a line break, quotes doubled). A cell that
 * starts with =, +, -, @, a tab or a CR gets a leading single quote, so a
 * spreadsheet cannot read it as a formula. */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cols[] = {
  "id", "rule_id", "title", "strength", "violation", "severity", "status", "subject", "first",
  "last", "count", "evidence_total", "guideline", "part_label", "reason", NULL};

static int cell(FILE *out, const char *s)
{
  int quote = strpbrk(s, ",\"\r\n") != NULL;
  if (quote && fputc('"', out) == EOF)
    return -1;
  if (strchr("=+-@\t\r", *s) && *s && fputc('\'', out) == EOF)
    return -1;
  for (; *s; s++) {
    if (*s == '"' && fputc('"', out) == EOF)
      return -1;
    if (fputc(*s, out) == EOF)
      return -1;
  }
  return quote && fputc('"', out) == EOF ? -1 : 0;
}

/* A value as its cell text: strings as they are, numbers, booleans as
 * true/false, arrays of strings joined by a space, null empty. */
static int value(FILE *out, const json_t *v)
{
  char buf[64];
  if (json_is_string(v))
    return cell(out, json_string_value(v));
  if (json_is_integer(v)) {
    snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    return cell(out, buf);
  }
  if (json_is_boolean(v))
    return cell(out, json_is_true(v) ? "true" : "false");
  if (json_is_array(v)) {
    char *joined = NULL;
    size_t len = 0, i;
    json_t *e;
    FILE *mem = open_memstream(&joined, &len);
    int rc;
    if (!mem)
      return -1;
    json_array_foreach(v, i, e) fprintf(mem, "%s%s", i ? " " : "", json_string_value(e) ?: "");
    rc = fclose(mem) ? -1 : cell(out, joined);
    free(joined);
    return rc;
  }
  return 0;
}

pa_rc pa_report_render_csv(const json_t *m, FILE *out, struct pa_err *err)
{
  size_t i;
  json_t *f;
  int bad = 0;

  for (size_t k = 0; cols[k]; k++)
    bad |= fprintf(out, "%s%s", k ? "," : "", cols[k]) < 0;
  bad |= fputs("\r\n", out) == EOF;
  json_array_foreach(json_object_get(m, "findings"), i, f) {
    for (size_t k = 0; cols[k]; k++) {
      if (k)
        bad |= fputc(',', out) == EOF;
      bad |= value(out, json_object_get(f, cols[k]));
    }
    bad |= fputs("\r\n", out) == EOF;
  }
  if (bad || fflush(out))
    return pa_err_set(err, PA_IO, UINT64_MAX, 0, "report: cannot write the CSV");
  return PA_OK;
}
