/* test_html.c — the HTML rendering of the report model (reports/html.c,
 * svg.c, i18n.c): sections and anchors, charts, labels by strength and
 * language, escaping of hostile model strings, empty models, write errors. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "reports/html.h"
#include "reports/i18n.h"
#include "tests/unit/pa_test.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Renders m into a malloc'd string the caller frees; asserts success. */
static char *render(const json_t *m)
{
  char *buf = NULL;
  size_t len = 0;
  struct pa_err err;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  pa_err_clear(&err);
  assert_int_equal(pa_report_render_html(m, f, &err), PA_OK);
  assert_int_equal(fclose(f), 0);
  assert_non_null(buf);
  assert_int_equal(strlen(buf), len); /* no NUL byte inside */
  return buf;
}

static json_t *load_sample(void)
{
  char path[1024];
  json_error_t je;
  json_t *m;
  pa_test_fixture_path(path, sizeof path, "report/model-sample.json");
  m = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
  if (!m)
    fprintf(stderr, "%s:%d: %s\n", path, je.line, je.text);
  assert_non_null(m);
  return m;
}

/* No coordinate or number came out as NaN or infinity. */
static void assert_finite(const char *h)
{
  static const char *const bad[] = {"=\"nan", "=\"-nan", "=\"inf", "=\"-inf",
                                    ">nan<",  ">-nan<",  ">inf<",  "NaN"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (strstr(h, bad[i]))
      fail_msg("%s in the page", bad[i]);
}

static size_t count(const char *hay, const char *needle)
{
  size_t n = 0, nl = strlen(needle);
  for (const char *p = strstr(hay, needle); p; p = strstr(p + nl, needle))
    n++;
  return n;
}

/* The text of the finding article with this id, malloc'd. */
static char *article(const char *html, int id)
{
  char key[32];
  const char *a, *e;
  snprintf(key, sizeof key, "id=\"f-%d\"", id);
  a = strstr(html, key);
  assert_non_null(a);
  e = strstr(a, "</article>");
  assert_non_null(e);
  return strndup(a, (size_t)(e - a));
}

/* Every tag in the page is one the renderer writes: a tag that came from the
 * model would be some other name (script, img) or not a tag at all. */
static void assert_only_our_tags(const char *html)
{
  static const char *const ok[] = {
    "!DOCTYPE", "html",    "head",    "meta", "title",   "style", "body",  "header", "h1",
    "h2",       "h3",      "h4",      "dl",   "dt",      "dd",    "p",     "nav",    "ol",
    "ul",       "li",      "a",       "main", "section", "table", "thead", "tbody",  "tr",
    "th",       "td",      "span",    "time", "figure",  "svg",   "text",  "line",   "rect",
    "g",        "article", "caption", "br",   "div",     "strong"};
  for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
    const char *n = p + 1;
    size_t len = 0, i;
    if (*n == '/')
      n++;
    while (n[len] && (n[len] == '!' || (n[len] >= 'a' && n[len] <= 'z') ||
                      (n[len] >= 'A' && n[len] <= 'Z') || (n[len] >= '0' && n[len] <= '9')))
      len++;
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++)
      if (strlen(ok[i]) == len && strncmp(ok[i], n, len) == 0)
        break;
    if (i == sizeof ok / sizeof ok[0])
      fail_msg("unexpected tag at: %.40s", p);
  }
}

/* The sample model: every section, the six charts with a size, anchors, the
 * checklist's links and missing inputs, the CSP. */
static void test_sample_sections(void **state)
{
  (void)state;
  json_t *m = load_sample();
  char *h = render(m);
  static const char *const sections[] = {
    "<section id=\"summary\">",       "<section id=\"charts\">",      "<section id=\"findings\">",
    "<section id=\"excepted\">",      "<section id=\"maintenance\">", "<section id=\"checklist\">",
    "<section id=\"not-decidable\">", "<section id=\"rules\">",       "<section id=\"review\">"};

  assert_true(
    strncmp(h, "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">", 61) == 0);
  assert_non_null(strstr(h, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                            "'none'; style-src 'unsafe-inline'; img-src data:;"));
  for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
    assert_non_null(strstr(h, sections[i]));
  assert_int_equal(count(h, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"680\" height=\""),
                   6);
  assert_int_equal(count(h, "</svg>"), 6);
  assert_non_null(strstr(h, "ルール別の検出件数"));
  assert_non_null(strstr(h, "時間帯別の操作件数"));
  assert_non_null(strstr(h, "class=\"work\"")); /* working hours shaded */
  assert_non_null(strstr(h, "網掛け: 業務時間"));
  assert_null(strstr(h, "データなし")); /* every chart has data */
  for (int id = 101; id <= 105; id++) {
    char a[32];
    snprintf(a, sizeof a, "id=\"f-%d\"", id);
    assert_int_equal(count(h, a), 1);
  }
  /* grouped by guideline item, the excepted one apart */
  assert_non_null(strstr(h, "<h3 id=\"g-"));
  assert_true(strstr(h, "id=\"f-105\"") > strstr(h, "<section id=\"excepted\">"));
  assert_true(strstr(h, "id=\"f-104\"") < strstr(h, "<section id=\"excepted\">"));
  assert_non_null(strstr(h, "訓練 (2026-11-03 防災訓練計画書 No.12)")); /* its reason */
  /* acknowledged and closed: who and when */
  assert_non_null(strstr(h, "<td>yamada</td><td><time datetime=\"2026-11-06T10:15:00+09:00\">"));
  assert_non_null(strstr(h, "<td>suzuki</td>"));
  /* checklist: いいえ links its findings, 判定不能 names what is missing */
  assert_non_null(
    strstr(h, "<td class=\"ans-no\">いいえ</td><td>ルール: <a href=\"#rule-AC-01\">AC-01</a>"
              "<br>検出: <a href=\"#f-101\">#101</a>"));
  assert_non_null(strstr(h, "<td class=\"ans-undecidable\">判定不能</td>"));
  assert_non_null(strstr(h, "不足している入力: 職員名簿 (roster)"));
  assert_int_equal(count(h, "class=\"ans-yes\""), 2);
  assert_non_null(strstr(h, "<tr id=\"rule-AC-01\">"));
  assert_non_null(strstr(h, "<li>パスワードの長さと複雑さ</li>"));
  /* coverage and gaps */
  assert_non_null(strstr(h, "85.7%"));
  assert_non_null(strstr(h, "(24.0 時間)"));
  /* review absent: blank lines to sign */
  assert_non_null(strstr(h, "この期間の確認は記録されていません"));
  assert_non_null(strstr(h, "<div>署名</div><div class=\"line\"></div>"));
  assert_non_null(strstr(h, "@page{size:A4"));
  assert_non_null(strstr(h, "section{break-before:page}"));
  assert_only_our_tags(h);
  free(h);
  json_decref(m);
}

/* Only a direct finding the model calls a violation is called one. */
static void test_violation_wording(void **state)
{
  (void)state;
  json_t *m = load_sample();
  char *h = render(m), *a;

  a = article(h, 101); /* direct, violation */
  assert_non_null(strstr(a, "<span class=\"badge violation\">違反</span>"));
  free(a);
  a = article(h, 102); /* advisory */
  assert_non_null(strstr(a, "<span class=\"badge review\">要確認</span>"));
  assert_null(strstr(a, "違反"));
  free(a);
  a = article(h, 103); /* derived: for review, not a violation */
  assert_non_null(strstr(a, "要確認"));
  assert_null(strstr(a, "違反"));
  free(a);
  free(h);
  json_decref(m);
}

/* Hostile strings from logs come out as text, never markup. */
static void test_escaping(void **state)
{
  (void)state;
  json_t *m = load_sample();
  char *h = render(m);

  assert_null(strstr(h, "<script"));
  assert_null(strstr(h, "<img"));
  assert_null(strstr(h, "]]>"));
  assert_null(strchr(h, '\x1b'));
  assert_non_null(strstr(h, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert_non_null(strstr(h, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
  assert_non_null(strstr(h, "]]&gt;"));
  assert_non_null(strstr(h, "[31mroot[0m")); /* ESC dropped, the rest kept */
  /* in SVG text too: the top users chart (label cut at 24 characters) */
  assert_non_null(strstr(h, "<text class=\"yl\""));
  assert_non_null(strstr(h, "&quot;&gt;&lt;img src=x onerror=ale…</text>"));
  assert_only_our_tags(h);
  free(h);
  json_decref(m);
}

/* Controls (C0, DEL, C1) and bidi overrides are dropped, invalid UTF-8
 * becomes U+FFFD, quotes become entities, also in an id made from a rule id. */
static void test_control_chars(void **state)
{
  (void)state;
  char hostile[64], *h;
  json_t *m;
  size_t n = 0;

  for (int c = 1; c < 0x20; c++)
    hostile[n++] = (char)c;
  memcpy(hostile + n,
         "\x7f"
         "A\xc2\x85"
         "B\xe2\x80\xae"
         "C'\"",
         11);
  n += 11;
  hostile[n] = 0;
  m = json_pack("{s:s, s:{s:s}, s:[{s:s, s:s, s:[s], s:[], s:[]}], s:[{s:s, s:b}]}", "lang", "en",
                "site", "name", hostile, "checklist", "ref", hostile, "answer", "いいえ", "rules",
                "x\" onmouseover=\"1", "findings", "missing", "rules", "id", "x\" onmouseover=\"1",
                "decided", 1);
  assert_non_null(m);
  h = render(m);
  for (const unsigned char *p = (const unsigned char *)h; *p; p++)
    if (*p < 0x20 && *p != '\n')
      fail_msg("control byte 0x%02x in the page", *p);
  assert_null(strstr(h, "\xc2\x85"));
  assert_null(strstr(h, "\xe2\x80\xae"));
  assert_non_null(strstr(h, "ABC&#39;&quot;"));
  assert_null(strstr(h, "onmouseover=\""));
  assert_non_null(strstr(h, "href=\"#rule-x_22_20onmouseover_3D_221\""));
  assert_non_null(strstr(h, "<tr id=\"rule-x_22_20onmouseover_3D_221\">"));
  assert_non_null(strstr(h, "いいえ (No)"));
  assert_only_our_tags(h);
  free(h);
  json_decref(m);
}

/* An empty model (and one with empty arrays) still gives the whole page,
 * each chart empty with a note, nothing divided by zero. */
static void test_zero_data(void **state)
{
  (void)state;
  json_t *m = json_object();
  char *h = render(m);

  assert_int_equal(count(h, "</svg>"), 6);
  assert_int_equal(count(h, "<text class=\"nd\""), 6);
  assert_int_equal(count(h, "データなし"), 6);
  assert_non_null(strstr(h, "この期間の検出はありません。"));
  assert_non_null(strstr(h, "例外扱いの検出はありません。"));
  assert_non_null(strstr(h, "(記録の最初から)"));
  assert_finite(h);
  assert_only_our_tags(h);
  free(h);
  json_decref(m);

  m = json_loads("{\"lang\": \"en\", \"charts\": {\"findings_by_rule\": [], "
                 "\"findings_by_severity\": [], \"events_per_day\": [], \"by_hour\": "
                 "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0], \"working_hours\": [], "
                 "\"top_users\": [], \"top_aes\": []}, \"sources\": [], \"findings\": [], "
                 "\"maintenance\": [], \"checklist\": [], \"review\": null, "
                 "\"counts\": {\"events\": 0, \"findings\": {\"total\": 0}}}",
                 0, NULL);
  assert_non_null(m);
  h = render(m);
  assert_non_null(strstr(h, "<html lang=\"en\">"));
  assert_int_equal(count(h, ">no data</text>"), 6);
  assert_non_null(strstr(h, "No findings in this period."));
  assert_non_null(strstr(h, "No sign-off is recorded for this period"));
  assert_finite(h);
  free(h);
  json_decref(m);
}

/* MT-01: the patients of a window in time order, with counts. */
static void test_maintenance_order(void **state)
{
  (void)state;
  json_t *m = load_sample();
  char *h = render(m);
  const char *s = strstr(h, "<section id=\"maintenance\">");
  const char *a = strstr(s, "<td>P000900</td>"), *b = strstr(s, "<td>P000950</td>");
  const char *c = strstr(s, "<td>&quot;&gt;&lt;img");

  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(c);
  assert_true(a < b && b < c);
  assert_non_null(strstr(s, "(3 名) <a href=\"#f-104\">#104</a>"));
  assert_non_null(strstr(a, "<td class=\"n\">3</td>"));
  free(h);
  json_decref(m);
}

/* A recorded review fills the sign-off block; English labels throughout. */
static void test_review_english(void **state)
{
  (void)state;
  json_t *m = load_sample();
  char *h, *a;

  json_object_set_new(m, "lang", json_string("en"));
  json_object_set_new(m, "review",
                      json_pack("{s:s, s:s, s:s, s:s, s:s}", "by", "<b>Dr. Tanaka</b>", "at",
                                "2026-11-10T09:00:00+09:00", "note", "ok", "from",
                                "2026-11-02T00:00:00+09:00", "to", "2026-11-09T00:00:00+09:00"));
  h = render(m);
  assert_non_null(strstr(h, "<html lang=\"en\">"));
  assert_non_null(strstr(h, "Reviewer sign-off"));
  assert_non_null(strstr(h, "Sign-off recorded with pacsaudit review."));
  assert_non_null(
    strstr(h, "<div>Reviewer</div><div class=\"line\">&lt;b&gt;Dr. Tanaka&lt;/b&gt;</div>"));
  assert_non_null(strstr(h, "2026-11-10 09:00:00+09:00"));
  assert_non_null(strstr(h, "Events per day by source"));
  a = article(h, 101);
  assert_non_null(strstr(a, ">violation</span>"));
  free(a);
  a = article(h, 102);
  assert_non_null(strstr(a, ">for review</span>"));
  assert_null(strstr(a, "violation"));
  free(a);
  free(h);
  json_decref(m);
}

/* Big and odd numbers: a capped day count, negative and huge values. */
static void test_odd_numbers(void **state)
{
  (void)state;
  json_t *m =
    json_pack("{s:{s:[], s:[{s:s, s:I}, {s:s, s:i}]}}", "charts", "events_per_day", "top_users",
              "id", "a", "events", (json_int_t)INT64_MAX, "id", "b", "events", -5);
  json_t *days = json_object_get(json_object_get(m, "charts"), "events_per_day");
  char *h;

  for (int i = 0; i < 500; i++) {
    char d[16];
    snprintf(d, sizeof d, "%d-%02d-%02d", 2020 + i / 336, 1 + i / 28 % 12, 1 + i % 28);
    json_array_append_new(days, json_pack("{s:s, s:s, s:i}", "date", d, "source",
                                          i % 2 ? "atna" : "fhir", "events", i));
  }
  h = render(m);
  assert_non_null(strstr(h, "最初の日のみ描画"));
  assert_finite(h);
  assert_null(strstr(h, "width=\"-"));
  assert_null(strstr(h, "height=\"-"));
  free(h);
  json_decref(m);
}

/* Members of the wrong type read as absent: no crash, a whole page. */
static void test_mistyped_model(void **state)
{
  (void)state;
  json_t *m = json_loads(
    "{\"lang\": 3, \"site\": [], \"period\": \"x\", \"run\": {\"id\": \"y\"}, "
    "\"sources\": [1, \"a\", null, {\"gaps\": [null, 2], \"coverage\": \"z\"}], "
    "\"counts\": {\"findings\": []}, \"charts\": {\"by_hour\": [1, \"2\", -3], "
    "\"events_per_day\": [null, {\"date\": 1}], \"working_hours\": [{\"from_hour\": 30}, "
    "{\"from_hour\": 22, \"to_hour\": 6}], \"top_users\": [1, {\"id\": null}]}, "
    "\"findings\": [null, 1, {\"id\": \"q\", \"evidence\": [null, {}], \"history\": [1], "
    "\"guideline\": [2]}], \"maintenance\": [{\"patients\": [null, 3]}, 7], "
    "\"checklist\": [null, {\"answer\": 5, \"findings\": [\"1\"], \"rules\": [9]}], "
    "\"not_decidable\": [1, null], \"rules\": [[], {\"id\": 4}], \"review\": 1}",
    0, NULL);
  char *h;

  assert_non_null(m);
  h = render(m);
  assert_int_equal(count(h, "</svg>"), 6);
  assert_non_null(strstr(h, "</html>\n"));
  /* 22:00 to 06:00 runs over midnight: hours 22, 23 and 0..5 shaded */
  assert_int_equal(count(h, "<rect class=\"work\" x="), 8 + 1);
  assert_finite(h);
  assert_only_our_tags(h);
  free(h);
  json_decref(m);
}

static void test_errors(void **state)
{
  (void)state;
  struct pa_err err;
  json_t *a = json_array(), *m = json_object();
  FILE *ro = fopen("/dev/null", "r");

  pa_err_clear(&err);
  assert_int_equal(pa_report_render_html(a, stdout, &err), PA_MALFORMED);
  assert_non_null(ro);
  assert_int_equal(pa_report_render_html(m, ro, &err), PA_IO);
  fclose(ro);
  json_decref(a);
  json_decref(m);
}

static void test_i18n(void **state)
{
  (void)state;
  for (int i = 0; i < PA_LABEL_COUNT; i++) {
    assert_true(pa_i18n(PA_LANG_JA, (enum pa_label)i)[0] != 0);
    assert_true(pa_i18n(PA_LANG_EN, (enum pa_label)i)[0] != 0);
  }
  assert_int_equal(pa_i18n_lang("en"), PA_LANG_EN);
  assert_int_equal(pa_i18n_lang(NULL), PA_LANG_JA);
  assert_int_equal(pa_i18n_lang("fr"), PA_LANG_JA);
  assert_string_equal(pa_i18n_value(PA_LANG_JA, "severity", "high"), "高");
  assert_string_equal(pa_i18n_value(PA_LANG_EN, "strength", "advisory"), "advisory");
  assert_null(pa_i18n_value(PA_LANG_EN, "severity", "<x>"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sample_sections),
    cmocka_unit_test(test_violation_wording),
    cmocka_unit_test(test_escaping),
    cmocka_unit_test(test_control_chars),
    cmocka_unit_test(test_zero_data),
    cmocka_unit_test(test_maintenance_order),
    cmocka_unit_test(test_review_english),
    cmocka_unit_test(test_odd_numbers),
    cmocka_unit_test(test_mistyped_model),
    cmocka_unit_test(test_errors),
    cmocka_unit_test(test_i18n),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
