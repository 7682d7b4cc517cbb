/* html.c — the report model (reports/model.c) as one self-contained HTML page.
 *
 * Last stage of the pipeline: it reads the model tree only. The page has no
 * script and loads nothing: CSS is inline, charts are inline SVG (svg.c), and
 * a Content-Security-Policy meta forbids every fetch. Every string from the
 * model passes through pa__html_esc_n; element ids made from model strings
 * keep only [A-Za-z0-9._-] and spell other bytes in hex. CSS classes come
 * from closed sets, never from model text. */
#include "html.h"
#include "html_int.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- output -------------------------------------------------------------- */

void pa__html_put(struct pa__html_w *w, const char *s) { fputs(s, w->f); }

void pa__html_putf(struct pa__html_w *w, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vfprintf(w->f, fmt, ap);
  va_end(ap);
}

/* The length of the valid UTF-8 sequence at p (1..4), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, uint32_t *cp_out)
{
  unsigned char c = p[0];
  size_t n;
  uint32_t cp, min;

  if (c < 0x80) {
    *cp_out = c;
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
    min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
    min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
    min = 0x10000;
  } else
    return 0;
  for (size_t i = 1; i < n; i++) { /* a NUL stops here too: it is no continuation byte */
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  *cp_out = cp;
  return n;
}

/* Characters that must not reach the page: controls, and the bidirectional
 * embeddings, overrides and isolates that could make text read otherwise
 * than it is stored. */
static bool dropped(uint32_t cp)
{
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F;
}

void pa__html_esc_n(struct pa__html_w *w, const char *s, size_t max_cp)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t chars = 0;

  if (!s)
    return;
  while (*p) {
    uint32_t cp;
    size_t n = utf8_len(p, &cp);
    if (max_cp && chars == max_cp) {
      fputs("…", w->f);
      return;
    }
    if (n == 0) {
      fputs("\xEF\xBF\xBD", w->f); /* U+FFFD for a byte that is no UTF-8 */
      p++;
      chars++;
      continue;
    }
    if (cp == '\t' || cp == '\n' || cp == '\r') {
      fputc(' ', w->f);
      chars++;
    } else if (dropped(cp)) {
      /* nothing */
    } else if (cp == '&') {
      fputs("&amp;", w->f);
      chars++;
    } else if (cp == '<') {
      fputs("&lt;", w->f);
      chars++;
    } else if (cp == '>') {
      fputs("&gt;", w->f);
      chars++;
    } else if (cp == '"') {
      fputs("&quot;", w->f);
      chars++;
    } else if (cp == '\'') {
      fputs("&#39;", w->f);
      chars++;
    } else {
      fwrite(p, 1, n, w->f);
      chars++;
    }
    p += n;
  }
}

/* An element id from model text: prefix, then s with [A-Za-z0-9._-] kept
 * and every other byte as _XX, so distinct texts give distinct ids and no
 * id can leave its attribute. */
static void put_anchor(struct pa__html_w *w, const char *prefix, const char *s)
{
  pa__html_put(w, prefix);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
        *p == '.' || *p == '-')
      fputc(*p, w->f);
    else
      fprintf(w->f, "_%02X", *p);
  }
}

/* ---- reading the model (absent or mistyped members read as absent) ------- */

static const char *jstr(const json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t jint(const json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  if (json_is_integer(v))
    return (int64_t)json_integer_value(v);
  if (json_is_real(v)) {
    double d = json_real_value(v);
    return d >= 0 && d < 9e18 ? (int64_t)d : 0;
  }
  return 0;
}

static const json_t *jarr(const json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  return json_is_array(v) ? v : NULL;
}

static const json_t *jobj(const json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  return json_is_object(v) ? v : NULL;
}

static size_t jlen(const json_t *a) { return a ? json_array_size(a) : 0; }

/* ---- small pieces of markup ---------------------------------------------- */

static void put_label(struct pa__html_w *w, enum pa_label id)
{
  pa__html_esc(w, pa__html_L(w, id));
}

/* A value of a closed set in the page's language; an unknown one as it is. */
static void put_value(struct pa__html_w *w, const char *kind, const char *v)
{
  const char *l = pa_i18n_value(w->lang, kind, v);
  if (!v)
    pa__html_put(w, "—");
  else
    pa__html_esc(w, l ? l : v);
}

/* An ISO time as "2026-11-03 02:14:05+09:00" in a <time> element. */
static void put_time(struct pa__html_w *w, const char *iso)
{
  if (!iso) {
    pa__html_put(w, "—");
    return;
  }
  pa__html_put(w, "<time datetime=\"");
  pa__html_esc(w, iso);
  pa__html_put(w, "\">");
  if (strlen(iso) > 10 && iso[10] == 'T') {
    char d[11];
    memcpy(d, iso, 10);
    d[10] = 0;
    pa__html_esc(w, d);
    pa__html_put(w, " ");
    pa__html_esc(w, iso + 11);
  } else {
    pa__html_esc(w, iso);
  }
  pa__html_put(w, "</time>");
}

/* The date part (the first 10 characters) of an ISO time; "…" when absent. */
static void put_date(struct pa__html_w *w, const char *iso)
{
  char d[11];
  size_t n = iso ? strlen(iso) : 0;
  if (!iso) {
    pa__html_put(w, "…");
    return;
  }
  if (n > 10)
    n = 10;
  memcpy(d, iso, n);
  d[n] = 0;
  pa__html_esc(w, d);
}

/* Any scalar: a string escaped, a number, yes/no, "—" for null or absent. */
static void put_scalar(struct pa__html_w *w, const json_t *v)
{
  if (json_is_string(v))
    pa__html_esc(w, json_string_value(v));
  else if (json_is_integer(v))
    pa__html_putf(w, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v))
    pa__html_putf(w, "%g", json_real_value(v));
  else if (json_is_true(v))
    put_label(w, PA_L_YES);
  else if (json_is_false(v))
    put_label(w, PA_L_NO);
  else
    pa__html_put(w, "—");
}

static void td_str(struct pa__html_w *w, const char *s)
{
  pa__html_put(w, "<td>");
  if (s)
    pa__html_esc(w, s);
  else
    pa__html_put(w, "—");
  pa__html_put(w, "</td>");
}

static void th(struct pa__html_w *w, enum pa_label id)
{
  pa__html_put(w, "<th>");
  put_label(w, id);
  pa__html_put(w, "</th>");
}

static void section_open(struct pa__html_w *w, const char *id, enum pa_label title)
{
  pa__html_putf(w, "<section id=\"%s\"><h2>", id);
  put_label(w, title);
  pa__html_put(w, "</h2>\n");
}

static void para(struct pa__html_w *w, const char *cls, enum pa_label id)
{
  pa__html_putf(w, "<p class=\"%s\">", cls);
  put_label(w, id);
  pa__html_put(w, "</p>\n");
}

/* A comma-separated list of the strings of array a. */
static void put_list(struct pa__html_w *w, const json_t *a)
{
  size_t n = jlen(a), shown = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *v = json_array_get(a, i);
    if (!json_is_string(v))
      continue;
    if (shown++)
      pa__html_put(w, ", ");
    pa__html_esc(w, json_string_value(v));
  }
  if (!shown)
    pa__html_put(w, "—");
}

/* The first guideline ref of a finding or rule, NULL when it has none. */
static const char *first_ref(const json_t *o)
{
  json_t *v = json_array_get(jarr(o, "guideline"), 0);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool str_eq(const char *a, const char *b)
{
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The only place a finding is called a violation: the model says so (its
 * strength is direct). A derived or advisory finding is "for review". */
static bool is_violation(const json_t *f)
{
  return json_is_true(json_object_get(f, "violation"));
}

static const char *severity_class(const char *sev)
{
  static const char *const known[] = {"critical", "high", "medium", "low", "info"};
  for (size_t i = 0; sev && i < sizeof known / sizeof known[0]; i++)
    if (strcmp(sev, known[i]) == 0)
      return known[i];
  return "other";
}

/* ---- the page ------------------------------------------------------------ */

static const char css[] =
  ":root{--fg:#1a1a1a;--muted:#555;--line:#c8c8c8;--bg2:#f3f5f7}"
  "body{font-family:\"Noto Sans CJK JP\",\"Noto Sans JP\",\"Hiragino Sans\",\"Yu Gothic\","
  "Meiryo,sans-serif;color:var(--fg);margin:0 auto;max-width:1000px;padding:16px;"
  "font-size:14px;line-height:1.5}"
  "h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;border-bottom:2px solid #1565c0;"
  "padding-bottom:2px;margin-top:28px}h3{font-size:16px;margin:18px 0 6px}"
  "h4{font-size:14px;margin:0 0 6px}"
  "table{border-collapse:collapse;margin:6px 0 12px;width:100%}"
  "th,td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top;"
  "overflow-wrap:anywhere}"
  "th{background:var(--bg2);font-weight:600}td.n,th.n{text-align:right}"
  "table.kv{width:auto}table.kv th{white-space:nowrap}"
  "table.ev{font-size:11px}table.ev td{word-break:break-all}"
  "dl.meta{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:0}"
  "dl.meta dt{color:var(--muted)}dl.meta dd{margin:0}"
  ".note{color:var(--muted)}.pseudo{border:2px solid #6a1b9a;padding:6px 10px;color:#6a1b9a}"
  "nav ol{columns:2;margin:6px 0}"
  ".badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;font-weight:600;"
  "border:1px solid}"
  ".badge.violation{background:#c62828;color:#fff;border-color:#c62828}"
  ".badge.review{background:#fff;color:#8d6e00;border-color:#c9a400}"
  ".sev{font-weight:600}.sev-critical{color:#6d0000}.sev-high{color:#c62828}"
  ".sev-medium{color:#ef6c00}.sev-low{color:#8d6e00}.sev-info,.sev-other{color:#455a64}"
  "article.finding{border:1px solid var(--line);border-left:5px solid #78909c;padding:8px 10px;"
  "margin:10px 0}"
  "article.finding.fs-critical,article.finding.fs-high{border-left-color:#c62828}"
  "article.finding.fs-medium{border-left-color:#ef6c00}"
  "article.finding.fs-low{border-left-color:#f9a825}"
  ".explanation{margin:4px 0 8px}"
  ".cov{display:inline-block;width:80px;height:10px;background:#e0e0e0;vertical-align:middle;"
  "margin-right:6px}.cov span{display:block;height:10px;background:#2e7d32}"
  ".ans-yes{color:#2e7d32;font-weight:600}.ans-no{color:#c62828;font-weight:600}"
  ".ans-undecidable{color:#8d6e00;font-weight:600}"
  "figure.chart{margin:8px 0 16px}figure.chart svg{max-width:100%;height:auto;display:block}"
  "svg text{font-family:inherit;fill:#1a1a1a;font-size:11px}svg .ct{font-size:14px;font-weight:600}"
  "svg .al{font-size:12px;fill:#333}svg .tk{font-size:10px;fill:#444}svg .vl{font-size:10px}"
  "svg .nd{font-size:14px;fill:#888}svg .grid{stroke:#e6e6e6}svg .ax{stroke:#333}"
  "svg .work{fill:#fff3c4}"
  ".sign{display:grid;grid-template-columns:max-content 1fr;gap:18px 12px;max-width:560px;"
  "margin-top:10px}.sign .line{border-bottom:1px solid #333;min-height:1.4em}"
  "@page{size:A4;margin:15mm}"
  "@media print{body{max-width:none;padding:0;font-size:10pt}nav{display:none}"
  "table{font-size:9pt}table.ev{font-size:7pt}"
  "section{break-before:page}section#summary{break-before:auto}"
  "figure.chart,article.finding header,tr{break-inside:avoid}thead{display:table-header-group}"
  "h2,h3,h4{break-after:avoid}a{color:inherit;text-decoration:none}"
  "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

static void head(struct pa__html_w *w, const json_t *m)
{
  const json_t *site = jobj(m, "site"), *period = jobj(m, "period");
  pa__html_putf(w,
                "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">\n"
                "<meta name=\"referrer\" content=\"no-referrer\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<meta name=\"generator\" content=\"",
                w->lang == PA_LANG_EN ? "en" : "ja");
  pa__html_esc(w, jstr(m, "generator"));
  pa__html_put(w, "\">\n<title>");
  put_label(w, PA_L_TITLE);
  if (jstr(site, "name")) {
    pa__html_put(w, " — ");
    pa__html_esc(w, jstr(site, "name"));
  }
  if (jstr(period, "since") || jstr(period, "until")) {
    pa__html_put(w, " — ");
    put_date(w, jstr(period, "since"));
    pa__html_put(w, " / ");
    put_date(w, jstr(period, "until"));
  }
  pa__html_putf(w, "</title>\n<style>%s</style>\n</head>\n<body>\n", css);
}

static void put_period(struct pa__html_w *w, const json_t *period)
{
  const char *since = jstr(period, "since"), *until = jstr(period, "until");
  if (since)
    put_time(w, since);
  else
    put_label(w, PA_L_OPEN_START);
  pa__html_put(w, " – ");
  if (until)
    put_time(w, until);
  else
    put_label(w, PA_L_OPEN_END);
}

static void header(struct pa__html_w *w, const json_t *m)
{
  const json_t *site = jobj(m, "site"), *run = jobj(m, "run");
  const json_t *wh = jarr(site, "working_hours");

  pa__html_put(w, "<header><h1>");
  put_label(w, PA_L_TITLE);
  pa__html_put(w, "</h1>\n<dl class=\"meta\">");
  pa__html_put(w, "<dt>");
  put_label(w, PA_L_SITE);
  pa__html_put(w, "</dt><dd>");
  pa__html_esc(w, jstr(site, "name") ? jstr(site, "name") : "—");
  pa__html_put(w, "</dd><dt>");
  put_label(w, PA_L_PERIOD);
  pa__html_put(w, "</dt><dd>");
  put_period(w, jobj(m, "period"));
  pa__html_put(w, "</dd><dt>");
  put_label(w, PA_L_TIMEZONE);
  pa__html_put(w, "</dt><dd>");
  pa__html_esc(w, jstr(site, "timezone") ? jstr(site, "timezone") : "—");
  pa__html_put(w, "</dd>");
  if (jlen(wh)) {
    pa__html_put(w, "<dt>");
    put_label(w, PA_L_WORKING_HOURS);
    pa__html_put(w, "</dt><dd>");
    for (size_t i = 0; i < jlen(wh); i++) {
      const json_t *r = json_array_get(wh, i);
      if (i)
        pa__html_put(w, "; ");
      pa__html_esc(w, jstr(r, "days"));
      pa__html_put(w, " ");
      pa__html_esc(w, jstr(r, "from"));
      pa__html_put(w, "–");
      pa__html_esc(w, jstr(r, "to"));
    }
    pa__html_put(w, "</dd>");
  }
  pa__html_put(w, "<dt>");
  put_label(w, PA_L_GENERATED);
  pa__html_put(w, "</dt><dd>");
  put_time(w, jstr(m, "generated_at"));
  pa__html_put(w, " (");
  pa__html_esc(w, jstr(m, "generator"));
  pa__html_put(w, ")</dd>");
  if (run) {
    pa__html_put(w, "<dt>");
    put_label(w, PA_L_CHECK_RUN);
    pa__html_putf(w, "</dt><dd>#%lld, ", (long long)jint(run, "id"));
    put_time(w, jstr(run, "at"));
    if (jstr(run, "policy")) {
      pa__html_put(w, ", ");
      put_label(w, PA_L_POLICY);
      pa__html_put(w, ": ");
      pa__html_esc(w, jstr(run, "policy"));
    }
    pa__html_put(w, "</dd>");
  }
  pa__html_put(w, "</dl>\n");
  if (json_is_true(json_object_get(m, "pseudonymized")))
    para(w, "pseudo", PA_L_PSEUDONYMIZED);
  pa__html_put(w, "</header>\n");
}

static void nav(struct pa__html_w *w)
{
  static const struct {
    const char *id;
    enum pa_label l;
  } s[] = {{"summary", PA_L_SUMMARY},
           {"charts", PA_L_CHARTS},
           {"findings", PA_L_FINDINGS},
           {"excepted", PA_L_EXCEPTED},
           {"maintenance", PA_L_MAINTENANCE},
           {"checklist", PA_L_CHECKLIST},
           {"not-decidable", PA_L_NOT_DECIDABLE},
           {"rules", PA_L_RULES},
           {"review", PA_L_REVIEW}};
  pa__html_put(w, "<nav><h2>");
  put_label(w, PA_L_CONTENTS);
  pa__html_put(w, "</h2><ol>");
  for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
    pa__html_putf(w, "<li><a href=\"#%s\">", s[i].id);
    put_label(w, s[i].l);
    pa__html_put(w, "</a></li>");
  }
  pa__html_put(w, "</ol></nav>\n");
}

/* ---- summary ------------------------------------------------------------- */

static void summary(struct pa__html_w *w, const json_t *m)
{
  const json_t *sources = jarr(m, "sources"), *counts = jobj(m, "counts");
  const json_t *fc = jobj(counts, "findings");
  static const struct {
    const char *k;
    enum pa_label l;
  } fk[] = {{"open", PA_L_FINDINGS_OPEN},
            {"acknowledged", PA_L_FINDINGS_ACK},
            {"closed", PA_L_FINDINGS_CLOSED},
            {"excepted", PA_L_FINDINGS_EXCEPTED},
            {"total", PA_L_FINDINGS_TOTAL}};
  static const char *const sev_order[] = {"critical", "high", "medium", "low", "info"};
  static const char *const str_order[] = {"direct", "derived", "advisory"};

  section_open(w, "summary", PA_L_SUMMARY);
  pa__html_put(w, "<p><strong>");
  put_label(w, PA_L_PERIOD);
  pa__html_put(w, ":</strong> ");
  put_period(w, jobj(m, "period"));
  pa__html_put(w, "</p>\n<h3>");
  put_label(w, PA_L_SOURCES);
  pa__html_put(w, "</h3>\n");
  if (!jlen(sources)) {
    para(w, "note", PA_L_NO_SOURCES);
  } else {
    pa__html_put(w, "<table class=\"sources\"><thead><tr>");
    th(w, PA_L_SOURCE);
    th(w, PA_L_ORIGIN);
    th(w, PA_L_FIRST);
    th(w, PA_L_LAST);
    th(w, PA_L_EVENTS);
    th(w, PA_L_COVERAGE);
    th(w, PA_L_GAPS);
    pa__html_put(w, "</tr></thead><tbody>\n");
    for (size_t i = 0; i < jlen(sources); i++) {
      const json_t *s = json_array_get(sources, i), *gaps = jarr(s, "gaps");
      json_t *cv = json_object_get(s, "coverage");
      double cov = json_is_number(cv) ? json_number_value(cv) : -1;
      pa__html_put(w, "<tr>");
      td_str(w, jstr(s, "source"));
      td_str(w, jstr(s, "origin"));
      pa__html_put(w, "<td>");
      put_time(w, jstr(s, "first"));
      pa__html_put(w, "</td><td>");
      put_time(w, jstr(s, "last"));
      pa__html_putf(w, "</td><td class=\"n\">%lld</td><td>", (long long)jint(s, "events"));
      if (cov >= 0) {
        if (cov > 1)
          cov = 1;
        pa__html_putf(w, "<span class=\"cov\"><span style=\"width:%.0f%%\"></span></span>%.1f%%",
                      cov * 100, cov * 100);
      } else {
        pa__html_put(w, "—");
      }
      pa__html_put(w, "</td><td>");
      if (!jlen(gaps))
        put_label(w, PA_L_NO_GAPS);
      for (size_t g = 0; g < jlen(gaps); g++) {
        const json_t *gp = json_array_get(gaps, g);
        json_t *h = json_object_get(gp, "hours");
        if (g)
          pa__html_put(w, "<br>");
        put_time(w, jstr(gp, "from"));
        pa__html_put(w, " – ");
        put_time(w, jstr(gp, "to"));
        if (json_is_number(h)) {
          pa__html_putf(w, " (%.1f ", json_number_value(h));
          put_label(w, PA_L_HOURS_UNIT);
          pa__html_put(w, ")");
        }
      }
      pa__html_put(w, "</td></tr>\n");
    }
    pa__html_put(w, "</tbody></table>\n");
  }

  pa__html_put(w, "<h3>");
  put_label(w, PA_L_COUNTS);
  pa__html_put(w, "</h3>\n<table class=\"kv counts\"><tbody><tr>");
  th(w, PA_L_EVENTS);
  pa__html_putf(w, "<td class=\"n\">%lld</td></tr>", (long long)jint(counts, "events"));
  for (size_t i = 0; i < sizeof fk / sizeof fk[0]; i++) {
    pa__html_put(w, "<tr>");
    th(w, fk[i].l);
    pa__html_putf(w, "<td class=\"n\">%lld</td></tr>", (long long)jint(fc, fk[i].k));
  }
  pa__html_put(w, "<tr>");
  th(w, PA_L_BY_SEVERITY);
  pa__html_put(w, "<td>");
  for (size_t i = 0; i < sizeof sev_order / sizeof sev_order[0]; i++) {
    json_t *v = json_object_get(jobj(counts, "by_severity"), sev_order[i]);
    if (!v)
      continue;
    pa__html_putf(w, "<span class=\"sev sev-%s\">", sev_order[i]);
    put_value(w, "severity", sev_order[i]);
    pa__html_putf(w, "</span> %lld &nbsp; ",
                  (long long)(json_is_integer(v) ? json_integer_value(v) : 0));
  }
  pa__html_put(w, "</td></tr><tr>");
  th(w, PA_L_BY_STRENGTH);
  pa__html_put(w, "<td>");
  for (size_t i = 0; i < sizeof str_order / sizeof str_order[0]; i++) {
    put_value(w, "strength", str_order[i]);
    pa__html_putf(w, " %lld &nbsp; ", (long long)jint(jobj(counts, "by_strength"), str_order[i]));
  }
  pa__html_put(w, "</td></tr></tbody></table>\n</section>\n");
}

/* ---- charts -------------------------------------------------------------- */

/* Bars from an array of {key: label, count_key: n}; at most PA_HTML_MAX_BARS. */
static void bars_from(struct pa__html_w *w, const json_t *a, const char *key, const char *count_key,
                      enum pa_label title, enum pa_label xl, enum pa_label yl, bool severity)
{
  struct pa__svg_bar bars[PA_HTML_MAX_BARS];
  size_t n = 0;
  for (size_t i = 0; i < jlen(a) && n < PA_HTML_MAX_BARS; i++) {
    const json_t *o = json_array_get(a, i);
    const char *label = jstr(o, key);
    if (!json_is_object(o))
      continue;
    bars[n].value = jint(o, count_key);
    bars[n].fill = severity ? pa__html_severity_color(label) : "#1565c0";
    if (severity && pa_i18n_value(w->lang, "severity", label))
      label = pa_i18n_value(w->lang, "severity", label);
    bars[n].label = label ? label : "—";
    n++;
  }
  pa__svg_hbars(w, pa__html_L(w, title), pa__html_L(w, xl), pa__html_L(w, yl), bars, n);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The index of s in v[0..n), or n. */
static size_t find_str(const char *const *v, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0)
      return i;
  return n;
}

static pa_rc per_day(struct pa__html_w *w, const json_t *a)
{
  size_t n = jlen(a), nd = 0, nd_all, ns = 0;
  const char **dates = NULL, *series[PA_HTML_MAX_SERIES];
  int64_t *v = NULL;
  pa_rc rc = PA_NOMEM;

  dates = malloc((n ? n : 1) * sizeof *dates);
  if (!dates)
    goto out;
  for (size_t i = 0; i < n; i++) {
    const json_t *o = json_array_get(a, i);
    const char *d = jstr(o, "date"), *s = jstr(o, "source");
    if (!d || !s)
      continue;
    if (find_str(dates, nd, d) == nd)
      dates[nd++] = d;
    if (find_str(series, ns, s) == ns && ns < PA_HTML_MAX_SERIES)
      series[ns++] = s;
  }
  qsort(dates, nd, sizeof *dates, cmp_str);
  nd_all = nd; /* the chart draws the first PA_HTML_MAX_DAYS and says so */
  if (nd > PA_HTML_MAX_DAYS)
    nd = PA_HTML_MAX_DAYS;
  v = calloc((nd ? nd : 1) * (ns ? ns : 1), sizeof *v);
  if (!v)
    goto out;
  for (size_t i = 0; i < n; i++) {
    const json_t *o = json_array_get(a, i);
    const char *d = jstr(o, "date"), *s = jstr(o, "source");
    size_t di, si;
    int64_t e = jint(o, "events");
    if (!d || !s)
      continue;
    di = find_str(dates, nd, d);
    si = find_str(series, ns, s);
    if (di < nd && si < ns && e > 0 && v[di * ns + si] <= INT64_MAX - e)
      v[di * ns + si] += e;
  }
  pa__svg_stacked(w, pa__html_L(w, PA_L_CH_PER_DAY), pa__html_L(w, PA_L_AX_DATE),
                  pa__html_L(w, PA_L_AX_EVENTS), dates, nd_all, series, ns, v);
  rc = PA_OK;
out:
  free(dates);
  free(v);
  return rc;
}

static void by_hour(struct pa__html_w *w, const json_t *charts)
{
  const json_t *h = jarr(charts, "by_hour"), *wh = jarr(charts, "working_hours");
  int64_t v[24] = {0};
  unsigned char work[24] = {0};

  for (size_t i = 0; i < 24 && i < jlen(h); i++) {
    json_t *x = json_array_get(h, i);
    v[i] = json_is_integer(x) && json_integer_value(x) > 0 ? (int64_t)json_integer_value(x) : 0;
  }
  for (size_t i = 0; i < jlen(wh); i++) {
    const json_t *r = json_array_get(wh, i);
    int64_t from = jint(r, "from_hour"), to = jint(r, "to_hour");
    if (from < 0 || from > 24 || to < 0 || to > 24)
      continue;
    for (int64_t x = from; x != to; x = (x + 1) % 24) { /* from > to runs over midnight */
      if (x == 24)
        break;
      work[x] = 1;
    }
  }
  pa__svg_hours(w, pa__html_L(w, PA_L_CH_BY_HOUR), pa__html_L(w, PA_L_AX_HOUR),
                pa__html_L(w, PA_L_AX_EVENTS), v, work);
}

static pa_rc charts(struct pa__html_w *w, const json_t *m)
{
  const json_t *c = jobj(m, "charts");
  pa_rc rc;

  section_open(w, "charts", PA_L_CHARTS);
  bars_from(w, jarr(c, "findings_by_rule"), "rule_id", "count", PA_L_CH_BY_RULE, PA_L_AX_FINDINGS,
            PA_L_AX_RULE, false);
  bars_from(w, jarr(c, "findings_by_severity"), "severity", "count", PA_L_CH_BY_SEVERITY,
            PA_L_AX_FINDINGS, PA_L_AX_SEVERITY, true);
  if ((rc = per_day(w, jarr(c, "events_per_day"))) != PA_OK)
    return rc;
  by_hour(w, c);
  bars_from(w, jarr(c, "top_users"), "id", "events", PA_L_CH_TOP_USERS, PA_L_AX_EVENTS,
            PA_L_AX_USER, false);
  bars_from(w, jarr(c, "top_aes"), "id", "events", PA_L_CH_TOP_AES, PA_L_AX_EVENTS, PA_L_AX_AE,
            false);
  pa__html_put(w, "</section>\n");
  return PA_OK;
}

/* ---- findings ------------------------------------------------------------ */

static void evidence(struct pa__html_w *w, const json_t *f)
{
  static const struct {
    const char *k;
    enum pa_label l;
  } cols[] = {
    {"source", PA_L_SOURCE},      {"origin", PA_L_ORIGIN},     {"event_code", PA_L_EV_CODE},
    {"op", PA_L_EV_OP},           {"user_id", PA_L_EV_USER},   {"src_ip", PA_L_EV_SRC_IP},
    {"src_ae", PA_L_EV_SRC_AE},   {"dst_ae", PA_L_EV_DST_AE},  {"patient_id", PA_L_EV_PATIENT},
    {"study_uid", PA_L_EV_STUDY}, {"outcome", PA_L_EV_OUTCOME}};
  const json_t *ev = jarr(f, "evidence");
  size_t n = jlen(ev);
  int64_t total = jint(f, "evidence_total");

  pa__html_put(w, "<h4>");
  put_label(w, PA_L_EVIDENCE);
  pa__html_put(w, "</h4>");
  if (!n) {
    para(w, "note", PA_L_NO_EVIDENCE);
    return;
  }
  pa__html_put(w, "<table class=\"ev\"><caption class=\"note\">");
  pa__html_putf(w, "%zu ", n);
  put_label(w, PA_L_EVIDENCE_SHOWN);
  pa__html_putf(w, " %lld</caption><thead><tr><th>#</th>",
                (long long)(total > (int64_t)n ? total : (int64_t)n));
  th(w, PA_L_EV_TIME);
  for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++)
    th(w, cols[c].l);
  pa__html_put(w, "</tr></thead><tbody>\n");
  for (size_t i = 0; i < n; i++) {
    const json_t *e = json_array_get(ev, i);
    pa__html_put(w, "<tr><td>");
    put_scalar(w, json_object_get(e, "event_id"));
    pa__html_put(w, "</td><td>");
    put_time(w, jstr(e, "ts"));
    pa__html_put(w, "</td>");
    for (size_t c = 0; c < sizeof cols / sizeof cols[0]; c++) {
      pa__html_put(w, "<td>");
      put_scalar(w, json_object_get(e, cols[c].k));
      pa__html_put(w, "</td>");
    }
    pa__html_put(w, "</tr>\n");
  }
  pa__html_put(w, "</tbody></table>\n");
}

static void history(struct pa__html_w *w, const json_t *f)
{
  const json_t *h = jarr(f, "history");
  if (!jlen(h))
    return;
  pa__html_put(w, "<h4>");
  put_label(w, PA_L_HISTORY);
  pa__html_put(w, "</h4><table class=\"history\"><thead><tr>");
  th(w, PA_L_STATUS);
  th(w, PA_L_BY);
  th(w, PA_L_AT);
  th(w, PA_L_NOTE);
  pa__html_put(w, "</tr></thead><tbody>");
  for (size_t i = 0; i < jlen(h); i++) {
    const json_t *e = json_array_get(h, i);
    pa__html_put(w, "<tr><td>");
    put_value(w, "status", jstr(e, "status"));
    pa__html_put(w, "</td>");
    td_str(w, jstr(e, "by"));
    pa__html_put(w, "<td>");
    put_time(w, jstr(e, "at"));
    pa__html_put(w, "</td>");
    td_str(w, jstr(e, "note"));
    pa__html_put(w, "</tr>");
  }
  pa__html_put(w, "</tbody></table>\n");
}

static void kv_open(struct pa__html_w *w, enum pa_label l)
{
  pa__html_put(w, "<tr>");
  th(w, l);
  pa__html_put(w, "<td>");
}

static void finding(struct pa__html_w *w, const json_t *f)
{
  const char *sev = jstr(f, "severity"), *rule = jstr(f, "rule_id");
  bool viol = is_violation(f);

  pa__html_putf(w, "<article class=\"finding fs-%s\" id=\"f-%lld\"><header><h4>",
                severity_class(sev), (long long)jint(f, "id"));
  pa__html_putf(w, "<span class=\"badge %s\">", viol ? "violation" : "review");
  put_label(w, viol ? PA_L_VIOLATION : PA_L_FOR_REVIEW);
  pa__html_putf(w, "</span> #%lld ", (long long)jint(f, "id"));
  if (rule) {
    pa__html_put(w, "<a href=\"#");
    put_anchor(w, "rule-", rule);
    pa__html_put(w, "\">");
    pa__html_esc(w, rule);
    pa__html_put(w, "</a> ");
  }
  pa__html_esc(w, jstr(f, "title"));
  pa__html_put(w, "</h4></header>\n<table class=\"kv\"><tbody>");
  kv_open(w, PA_L_STRENGTH);
  put_value(w, "strength", jstr(f, "strength"));
  pa__html_put(w, "</td></tr>");
  kv_open(w, PA_L_SEVERITY);
  pa__html_putf(w, "<span class=\"sev sev-%s\">", severity_class(sev));
  put_value(w, "severity", sev);
  pa__html_put(w, "</span></td></tr>");
  kv_open(w, PA_L_STATUS);
  put_value(w, "status", jstr(f, "status"));
  pa__html_put(w, "</td></tr>");
  kv_open(w, PA_L_SUBJECT);
  pa__html_esc(w, jstr(f, "subject") ? jstr(f, "subject") : "—");
  pa__html_put(w, "</td></tr>");
  kv_open(w, PA_L_TIMES);
  put_time(w, jstr(f, "first"));
  pa__html_put(w, " – ");
  put_time(w, jstr(f, "last"));
  pa__html_put(w, "</td></tr>");
  kv_open(w, PA_L_COUNT);
  pa__html_putf(w, "%lld</td></tr>", (long long)jint(f, "count"));
  if (jstr(f, "part_label")) {
    kv_open(w, PA_L_PART);
    pa__html_esc(w, jstr(f, "part_label"));
    pa__html_put(w, "</td></tr>");
  }
  kv_open(w, PA_L_GUIDELINE);
  put_list(w, jarr(f, "guideline"));
  pa__html_put(w, "</td></tr>");
  if (jstr(f, "reason")) {
    kv_open(w, PA_L_REASON);
    pa__html_esc(w, jstr(f, "reason"));
    pa__html_put(w, "</td></tr>");
  }
  pa__html_put(w, "</tbody></table>\n<p class=\"explanation\">");
  pa__html_esc(w, jstr(f, "explanation"));
  pa__html_put(w, "</p>\n");
  history(w, f);
  evidence(w, f);
  pa__html_put(w, "</article>\n");
}

static bool is_excepted(const json_t *f) { return str_eq(jstr(f, "status"), "excepted"); }

static void findings(struct pa__html_w *w, const json_t *m)
{
  const json_t *fs = jarr(m, "findings");
  size_t n = jlen(fs), shown = 0;

  section_open(w, "findings", PA_L_FINDINGS);
  /* Groups in the order their guideline item first appears (the model sorts
   * by it; this keeps a group whole even if it did not). */
  for (size_t i = 0; i < n; i++) {
    const json_t *f = json_array_get(fs, i);
    const char *ref = first_ref(f);
    bool seen = false;
    if (!json_is_object(f) || is_excepted(f))
      continue;
    for (size_t j = 0; j < i && !seen; j++) {
      const json_t *g = json_array_get(fs, j);
      seen = json_is_object(g) && !is_excepted(g) && str_eq(first_ref(g), ref);
    }
    if (seen)
      continue;
    pa__html_put(w, "<h3 id=\"");
    put_anchor(w, "g-", ref ? ref : "");
    pa__html_put(w, "\">");
    put_label(w, PA_L_GUIDELINE_ITEM);
    pa__html_put(w, ": ");
    if (ref)
      pa__html_esc(w, ref);
    else
      put_label(w, PA_L_NO_GUIDELINE);
    pa__html_put(w, "</h3>\n");
    for (size_t j = i; j < n; j++) {
      const json_t *g = json_array_get(fs, j);
      if (json_is_object(g) && !is_excepted(g) && str_eq(first_ref(g), ref)) {
        finding(w, g);
        shown++;
      }
    }
  }
  if (!shown)
    para(w, "note", PA_L_NO_FINDINGS);
  pa__html_put(w, "</section>\n");

  section_open(w, "excepted", PA_L_EXCEPTED);
  shown = 0;
  for (size_t i = 0; i < n; i++) {
    const json_t *f = json_array_get(fs, i);
    if (json_is_object(f) && is_excepted(f)) {
      finding(w, f);
      shown++;
    }
  }
  if (!shown)
    para(w, "note", PA_L_NO_EXCEPTED);
  pa__html_put(w, "</section>\n");
}

/* ---- MT-01 --------------------------------------------------------------- */

struct patient_ref {
  const char *first; /* borrowed from the model; "" when absent */
  size_t index;      /* in the window's patients array */
};

static int cmp_patient(const void *a, const void *b)
{
  const struct patient_ref *x = a, *y = b;
  int c = strcmp(x->first, y->first);
  return c ? c : (x->index < y->index ? -1 : x->index > y->index);
}

static pa_rc maintenance(struct pa__html_w *w, const json_t *m)
{
  const json_t *mt = jarr(m, "maintenance");
  section_open(w, "maintenance", PA_L_MAINTENANCE);
  if (!jlen(mt))
    para(w, "note", PA_L_NO_MAINTENANCE);
  for (size_t i = 0; i < jlen(mt); i++) {
    const json_t *win = json_array_get(mt, i), *ps = jarr(win, "patients");
    size_t np = jlen(ps);
    struct patient_ref *order = malloc((np ? np : 1) * sizeof *order);
    if (!order)
      return PA_NOMEM;
    for (size_t j = 0; j < np; j++) {
      const char *first = jstr(json_array_get(ps, j), "first");
      order[j].first = first ? first : "";
      order[j].index = j;
    }
    /* in time order: ISO times of one zone sort as strings */
    qsort(order, np, sizeof *order, cmp_patient);
    pa__html_put(w, "<h3>");
    put_label(w, PA_L_MT_WINDOW);
    pa__html_put(w, ": ");
    put_time(w, jstr(win, "from"));
    pa__html_put(w, " – ");
    put_time(w, jstr(win, "to"));
    pa__html_put(w, ", ");
    put_label(w, PA_L_MT_USER);
    pa__html_put(w, ": ");
    pa__html_esc(w, jstr(win, "user") ? jstr(win, "user") : "—");
    pa__html_putf(w, " (%zu ", np);
    put_label(w, PA_L_MT_PATIENTS);
    pa__html_put(w, ")");
    if (json_is_integer(json_object_get(win, "finding_id")))
      pa__html_putf(w, " <a href=\"#f-%lld\">#%lld</a>", (long long)jint(win, "finding_id"),
                    (long long)jint(win, "finding_id"));
    pa__html_put(w, "</h3>\n");
    if (!np) {
      para(w, "note", PA_L_MT_NO_PATIENTS);
    } else {
      pa__html_put(w, "<table class=\"mt\"><thead><tr><th class=\"n\">#</th>");
      th(w, PA_L_MT_PATIENT);
      th(w, PA_L_MT_FIRST);
      pa__html_put(w, "<th class=\"n\">");
      put_label(w, PA_L_MT_COUNT);
      pa__html_put(w, "</th></tr></thead><tbody>\n");
      for (size_t j = 0; j < np; j++) {
        const json_t *p = json_array_get(ps, order[j].index);
        pa__html_putf(w, "<tr><td class=\"n\">%zu</td>", j + 1);
        td_str(w, jstr(p, "patient_id"));
        pa__html_put(w, "<td>");
        put_time(w, jstr(p, "first"));
        pa__html_putf(w, "</td><td class=\"n\">%lld</td></tr>\n", (long long)jint(p, "count"));
      }
      pa__html_put(w, "</tbody></table>\n");
    }
    free(order);
  }
  pa__html_put(w, "</section>\n");
  return PA_OK;
}

/* ---- checklist, not decidable, rules, review ----------------------------- */

static void checklist(struct pa__html_w *w, const json_t *m)
{
  const json_t *ck = jarr(m, "checklist");
  section_open(w, "checklist", PA_L_CHECKLIST);
  if (!jlen(ck)) {
    para(w, "note", PA_L_NO_CHECKLIST);
    pa__html_put(w, "</section>\n");
    return;
  }
  pa__html_put(w, "<table class=\"checklist\"><thead><tr>");
  th(w, PA_L_CK_ITEM);
  th(w, PA_L_CK_TEXT);
  th(w, PA_L_CK_ANSWER);
  th(w, PA_L_CK_BASIS);
  pa__html_put(w, "</tr></thead><tbody>\n");
  for (size_t i = 0; i < jlen(ck); i++) {
    const json_t *r = json_array_get(ck, i), *rules = jarr(r, "rules");
    const json_t *fs = jarr(r, "findings"), *missing = jarr(r, "missing");
    const char *ans = jstr(r, "answer");
    const char *cls = str_eq(ans, "はい")       ? "ans-yes"
                      : str_eq(ans, "いいえ")   ? "ans-no"
                      : str_eq(ans, "判定不能") ? "ans-undecidable"
                                                : "ans-other";
    pa__html_putf(w, "<tr id=\"ck-%zu\">", i + 1);
    td_str(w, jstr(r, "ref"));
    td_str(w, jstr(r, "text"));
    pa__html_putf(w, "<td class=\"%s\">", cls);
    pa__html_esc(w, ans ? ans : "—");
    if (w->lang == PA_LANG_EN && pa_i18n_value(w->lang, "answer", ans)) {
      pa__html_put(w, " (");
      pa__html_esc(w, pa_i18n_value(w->lang, "answer", ans));
      pa__html_put(w, ")");
    }
    pa__html_put(w, "</td><td>");
    if (jlen(rules)) {
      put_label(w, PA_L_CK_RULES);
      pa__html_put(w, ": ");
      for (size_t j = 0, k = 0; j < jlen(rules); j++) {
        json_t *id = json_array_get(rules, j);
        if (!json_is_string(id))
          continue;
        if (k++)
          pa__html_put(w, ", ");
        pa__html_put(w, "<a href=\"#");
        put_anchor(w, "rule-", json_string_value(id));
        pa__html_put(w, "\">");
        pa__html_esc(w, json_string_value(id));
        pa__html_put(w, "</a>");
      }
    }
    if (jlen(fs)) {
      pa__html_put(w, "<br>");
      put_label(w, PA_L_CK_FINDINGS);
      pa__html_put(w, ":");
      for (size_t j = 0; j < jlen(fs); j++) {
        json_t *id = json_array_get(fs, j);
        if (json_is_integer(id))
          pa__html_putf(w, " <a href=\"#f-%lld\">#%lld</a>", (long long)json_integer_value(id),
                        (long long)json_integer_value(id));
      }
    }
    if (jlen(missing)) {
      pa__html_put(w, "<br>");
      put_label(w, PA_L_CK_MISSING);
      pa__html_put(w, ": ");
      put_list(w, missing);
    }
    pa__html_put(w, "</td></tr>\n");
  }
  pa__html_put(w, "</tbody></table>\n</section>\n");
}

static void not_decidable(struct pa__html_w *w, const json_t *m)
{
  const json_t *nd = jarr(m, "not_decidable");
  section_open(w, "not-decidable", PA_L_NOT_DECIDABLE);
  para(w, "lead", PA_L_NOT_DECIDABLE_LEAD);
  pa__html_put(w, "<ul>");
  for (size_t i = 0; i < jlen(nd); i++) {
    json_t *v = json_array_get(nd, i);
    if (!json_is_string(v))
      continue;
    pa__html_put(w, "<li>");
    pa__html_esc(w, json_string_value(v));
    pa__html_put(w, "</li>");
  }
  pa__html_put(w, "</ul>\n</section>\n");
}

static void rules(struct pa__html_w *w, const json_t *m)
{
  const json_t *rs = jarr(m, "rules");
  section_open(w, "rules", PA_L_RULES);
  if (!jlen(rs)) {
    pa__html_put(w, "<p class=\"note\">—</p></section>\n");
    return;
  }
  pa__html_put(w, "<table class=\"rules\"><thead><tr>");
  th(w, PA_L_RULE);
  th(w, PA_L_STRENGTH);
  th(w, PA_L_SEVERITY);
  th(w, PA_L_GUIDELINE);
  th(w, PA_L_RU_DECIDED);
  th(w, PA_L_CK_FINDINGS);
  pa__html_put(w, "</tr></thead><tbody>\n");
  for (size_t i = 0; i < jlen(rs); i++) {
    const json_t *r = json_array_get(rs, i);
    const char *id = jstr(r, "id");
    pa__html_put(w, "<tr id=\"");
    put_anchor(w, "rule-", id ? id : "");
    pa__html_put(w, "\"><td><strong>");
    pa__html_esc(w, id ? id : "—");
    pa__html_put(w, "</strong> ");
    pa__html_esc(w, jstr(r, "title"));
    if (json_is_true(json_object_get(r, "disabled"))) {
      pa__html_put(w, " (");
      put_label(w, PA_L_RU_DISABLED);
      pa__html_put(w, ")");
    }
    pa__html_put(w, "</td><td>");
    put_value(w, "strength", jstr(r, "strength"));
    pa__html_putf(w, "</td><td class=\"sev sev-%s\">", severity_class(jstr(r, "severity")));
    put_value(w, "severity", jstr(r, "severity"));
    pa__html_put(w, "</td><td>");
    put_list(w, jarr(r, "guideline"));
    pa__html_put(w, "</td><td>");
    put_label(w, json_is_true(json_object_get(r, "decided")) ? PA_L_YES : PA_L_NO);
    if (jstr(r, "why")) {
      pa__html_put(w, ": ");
      pa__html_esc(w, jstr(r, "why"));
    }
    pa__html_putf(w, "</td><td class=\"n\">%lld</td></tr>\n", (long long)jint(r, "findings"));
  }
  pa__html_put(w, "</tbody></table>\n</section>\n");
}

static void sign_row(struct pa__html_w *w, enum pa_label l)
{
  pa__html_put(w, "<div>");
  put_label(w, l);
  pa__html_put(w, "</div><div class=\"line\">");
}

static void review(struct pa__html_w *w, const json_t *m)
{
  const json_t *r = jobj(m, "review");
  section_open(w, "review", PA_L_REVIEW);
  para(w, "note", r ? PA_L_REVIEW_RECORDED : PA_L_REVIEW_BLANK);
  pa__html_put(w, "<div class=\"sign\">");
  sign_row(w, PA_L_REVIEWER);
  if (r)
    pa__html_esc(w, jstr(r, "by"));
  pa__html_put(w, "</div>");
  sign_row(w, PA_L_REVIEW_DATE);
  if (r)
    put_time(w, jstr(r, "at"));
  pa__html_put(w, "</div>");
  sign_row(w, PA_L_REVIEW_PERIOD);
  if (r) {
    put_time(w, jstr(r, "from"));
    pa__html_put(w, " – ");
    put_time(w, jstr(r, "to"));
  }
  pa__html_put(w, "</div>");
  sign_row(w, PA_L_NOTE);
  if (r)
    pa__html_esc(w, jstr(r, "note"));
  pa__html_put(w, "</div>");
  sign_row(w, PA_L_SIGNATURE);
  pa__html_put(w, "</div></div>\n</section>\n");
}

pa_rc pa_report_render_html(const json_t *m, FILE *out, struct pa_err *err)
{
  struct pa__html_w w = {.f = out, .lang = PA_LANG_JA, .next_id = 0};
  pa_rc rc;

  if (!json_is_object(m))
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "report model is not a JSON object");
  w.lang = pa_i18n_lang(jstr(m, "lang"));
  head(&w, m);
  header(&w, m);
  nav(&w);
  pa__html_put(&w, "<main>\n");
  summary(&w, m);
  if ((rc = charts(&w, m)) != PA_OK)
    goto fail;
  findings(&w, m);
  if ((rc = maintenance(&w, m)) != PA_OK)
    goto fail;
  checklist(&w, m);
  not_decidable(&w, m);
  rules(&w, m);
  review(&w, m);
  pa__html_put(&w, "</main>\n</body>\n</html>\n");
  if (fflush(out) != 0 || ferror(out))
    return pa_err_set(err, PA_IO, UINT64_MAX, 0, "cannot write the HTML report");
  return PA_OK;
fail:
  return pa_err_set(err, rc, UINT64_MAX, 0, "HTML report: %s", pa_strerror(rc));
}
