/* render_text.c — the report for people on a terminal or in a mail, in
 * the model's language. Every string from the model goes through esc():
 * control bytes (C0, DEL: pa_escape_ctl; C1 and the bidi controls as
 * \uXXXX) never reach the terminal. Tables are aligned by display width
 * (a CJK character takes two columns). */
#include "report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- escaping and width ----------------------------------------------- */

/* Decodes the UTF-8 character at s (valid: jansson checked it); *len its bytes. */
static unsigned cp_at(const unsigned char *s, size_t *len)
{
  if (s[0] < 0x80) { *len = 1; return s[0]; }
  if ((s[0] & 0xe0) == 0xc0 && s[1]) { *len = 2; return (s[0] & 0x1fu) << 6 | (s[1] & 0x3f); }
  if ((s[0] & 0xf0) == 0xe0 && s[1] && s[2]) {
    *len = 3;
    return (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3f);
  }
  if ((s[0] & 0xf8) == 0xf0 && s[1] && s[2] && s[3]) {
    *len = 4;
    return (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 | (s[3] & 0x3f);
  }
  *len = 1;
  return 0xfffd;
}

static int is_hidden_ctl(unsigned cp)
{
  return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x061c;
}

/* s with every control escaped: malloc'd, the caller frees; NULL on no memory. */
static char *esc(const char *s)
{
  size_t n = strlen(s), o = 0, l;
  char *c0 = malloc(4 * n + 1), *out;
  if (!c0)
    return NULL;
  pa_escape_ctl(c0, 4 * n + 1, s);
  if (!(out = malloc(6 * strlen(c0) + 1))) {
    free(c0);
    return NULL;
  }
  for (const unsigned char *p = (const unsigned char *)c0; *p; p += l) {
    unsigned cp = cp_at(p, &l);
    if (is_hidden_ctl(cp))
      o += (size_t)snprintf(out + o, 7, "\\u%04x", cp);
    else {
      memcpy(out + o, p, l);
      o += l;
    }
  }
  out[o] = '\0';
  free(c0);
  return out;
}

static int is_wide(unsigned cp)
{
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) ||
         (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
         (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
         (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd);
}

static size_t dwidth(const char *s)
{
  size_t w = 0, l;
  for (const unsigned char *p = (const unsigned char *)s; *p; p += l)
    w += is_wide(cp_at(p, &l)) ? 2 : 1;
  return w;
}

/* Writes s escaped. */
static void put(FILE *o, const char *s)
{
  char *e = esc(s ? s : "");
  fputs(e ? e : "?", o);
  free(e);
}

static const char *str(const json_t *obj, const char *key)
{
  return json_string_value(json_object_get(obj, key));
}

/* ---- tables ----------------------------------------------------------- */

#define MAX_COLS 10

struct table {
  size_t ncol, nrow, cap;
  char **cell; /* escaped, row-major */
};

/* Adds a row of ncol strings (NULL shown as "-"). */
static void row_add(struct table *t, ...)
{
  va_list ap;
  char **nc;
  if (t->nrow == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 16;
    if (!(nc = realloc(t->cell, cap * t->ncol * sizeof *nc)))
      return;
    t->cell = nc;
    t->cap = cap;
  }
  va_start(ap, t);
  for (size_t k = 0; k < t->ncol; k++) {
    const char *s = va_arg(ap, const char *);
    t->cell[t->nrow * t->ncol + k] = esc(s ? s : "-");
  }
  va_end(ap);
  t->nrow++;
}

static void table_print(FILE *o, struct table *t, const char *indent)
{
  size_t w[MAX_COLS] = {0};
  for (size_t r = 0; r < t->nrow; r++)
    for (size_t k = 0; k < t->ncol; k++) {
      const char *c = t->cell[r * t->ncol + k];
      size_t dw = c ? dwidth(c) : 1;
      if (dw > w[k])
        w[k] = dw;
    }
  for (size_t r = 0; r < t->nrow; r++) {
    fputs(indent, o);
    for (size_t k = 0; k < t->ncol; k++) {
      const char *c = t->cell[r * t->ncol + k];
      fputs(c ? c : "?", o);
      if (k + 1 < t->ncol)
        fprintf(o, "%*s", (int)(w[k] - (c ? dwidth(c) : 1) + 2), "");
    }
    fputc('\n', o);
  }
  for (size_t i = 0; i < t->nrow * t->ncol; i++)
    free(t->cell[i]);
  free(t->cell);
  t->cell = NULL;
  t->nrow = t->cap = 0;
}

/* ---- labels ----------------------------------------------------------- */

enum lbl {
  L_TITLE, L_SITE, L_TZ, L_PERIOD, L_OPEN, L_GENERATED, L_RUN, L_NO_RUN, L_PSEUDO, L_SOURCES,
  L_SOURCE, L_ORIGIN, L_FIRST, L_LAST, L_EVENTS, L_COVERAGE, L_GAP, L_COUNTS, L_FINDINGS,
  L_CHECKLIST, L_REF, L_ANSWER, L_ITEM, L_LINKED, L_MISSING, L_SUBJECT, L_COUNT, L_STATUS,
  L_VIOLATION, L_ADVISORY, L_EVIDENCE, L_OF, L_EXCEPTED, L_REASON, L_HISTORY, L_MAINT,
  L_PATIENT, L_RULES, L_DECIDED, L_UNDECIDED, L_NOT_DECIDABLE, L_REVIEW, L_NO_REVIEW,
  L_REVIEWER, L_DATE, L_SIGN, L_NONE, L_OTHER, L_SEVERITY, L_STRENGTH, L_TIME, L_CODE, L_USER,
  L_OUTCOME, L_RULE, L_STRENGTH1, L_SEVERITY1, L_N
};
static const char *const labels[L_N][2] = {
  [L_TITLE] = {"pacsaudit audit report", "pacsaudit 監査レポート"},
  [L_SITE] = {"Site", "施設"}, [L_TZ] = {"Time zone", "タイムゾーン"},
  [L_PERIOD] = {"Period", "対象期間"}, [L_OPEN] = {"(open)", "(指定なし)"},
  [L_GENERATED] = {"Generated", "作成日時"}, [L_RUN] = {"Check run", "判定の実行"},
  [L_NO_RUN] = {"no check run recorded", "check の実行記録なし"},
  [L_PSEUDO] = {"Pseudonymized: patient ids are keyed tokens; free text is left out",
                "仮名化済み: 患者 ID は鍵付きトークン、自由記述は省略"},
  [L_SOURCES] = {"Sources", "ログの取得元"}, [L_SOURCE] = {"source", "種別"},
  [L_ORIGIN] = {"origin", "取得元"}, [L_FIRST] = {"first", "最初"}, [L_LAST] = {"last", "最後"},
  [L_EVENTS] = {"events", "件数"}, [L_COVERAGE] = {"coverage", "カバー率"},
  [L_GAP] = {"gap", "欠落"}, [L_COUNTS] = {"Counts", "集計"},
  [L_FINDINGS] = {"Findings", "検出事項"}, [L_CHECKLIST] = {"Guideline checklist", "ガイドライン チェックリスト"},
  [L_REF] = {"item", "項目"}, [L_ANSWER] = {"answer", "回答"}, [L_ITEM] = {"requirement", "要件"},
  [L_LINKED] = {"findings", "該当"}, [L_MISSING] = {"missing", "不足"},
  [L_SUBJECT] = {"subject", "対象"}, [L_COUNT] = {"count", "件数"},
  [L_STATUS] = {"status", "状態"}, [L_VIOLATION] = {"violation", "違反"},
  [L_ADVISORY] = {"for review (not called a violation)", "要確認 (違反とは判定しない)"},
  [L_EVIDENCE] = {"evidence", "根拠"}, [L_OF] = {"of", "件中"},
  [L_EXCEPTED] = {"Excepted findings", "例外として扱った検出事項"},
  [L_REASON] = {"reason", "理由"}, [L_HISTORY] = {"history", "履歴"},
  [L_MAINT] = {"Maintenance windows (MT-01): patients touched", "保守作業 (MT-01): 参照された患者"},
  [L_PATIENT] = {"patient", "患者"}, [L_RULES] = {"Rules", "ルール"},
  [L_DECIDED] = {"decided", "判定済み"}, [L_UNDECIDED] = {"undecided", "判定不能"},
  [L_NOT_DECIDABLE] = {"Not decidable from audit data", "監査ログからは判定できない事項"},
  [L_REVIEW] = {"Review sign-off", "レビュー確認"},
  [L_NO_REVIEW] = {"no sign-off recorded", "確認の記録なし"},
  [L_REVIEWER] = {"Reviewer", "確認者"}, [L_DATE] = {"Date", "日付"},
  [L_SIGN] = {"Signature", "署名"}, [L_NONE] = {"none", "なし"},
  [L_OTHER] = {"Other", "その他"}, [L_SEVERITY] = {"by severity", "重大度別"},
  [L_STRENGTH] = {"by strength", "根拠の強さ別"}, [L_TIME] = {"time", "日時"},
  [L_CODE] = {"event", "イベント"}, [L_USER] = {"user", "利用者"},
  [L_OUTCOME] = {"outcome", "結果"}, [L_RULE] = {"rule", "ルール"},
  [L_STRENGTH1] = {"strength", "強さ"}, [L_SEVERITY1] = {"severity", "重大度"},
};

struct tctx {
  FILE *o;
  const json_t *m;
  int ja;
};

static const char *L(const struct tctx *t, enum lbl l)
{
  return labels[l][t->ja];
}

static void heading(const struct tctx *t, enum lbl l)
{
  fprintf(t->o, "\n== %s ==\n", L(t, l));
}

static void int_text(const json_t *v, char out[32])
{
  snprintf(out, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
}

/* ---- sections --------------------------------------------------------- */

static void header(const struct tctx *t)
{
  const json_t *site = json_object_get(t->m, "site"), *p = json_object_get(t->m, "period");
  const json_t *run = json_object_get(t->m, "run");
  fprintf(t->o, "%s\n", L(t, L_TITLE));
  fprintf(t->o, "%s: ", L(t, L_SITE));
  put(t->o, str(site, "name") ?: "-");
  fprintf(t->o, "\n%s: ", L(t, L_TZ));
  put(t->o, str(site, "timezone"));
  fprintf(t->o, "\n%s: %s .. %s\n", L(t, L_PERIOD), str(p, "since") ?: L(t, L_OPEN),
          str(p, "until") ?: L(t, L_OPEN));
  fprintf(t->o, "%s: %s\n", L(t, L_GENERATED), str(t->m, "generated_at") ?: "-");
  if (json_is_object(run)) {
    fprintf(t->o, "%s: #%" JSON_INTEGER_FORMAT " %s", L(t, L_RUN),
            json_integer_value(json_object_get(run, "id")), str(run, "at") ?: "-");
    if (str(run, "policy")) {
      fputs(" (", t->o);
      put(t->o, str(run, "policy"));
      fputc(')', t->o);
    }
    fputc('\n', t->o);
  } else
    fprintf(t->o, "%s: %s\n", L(t, L_RUN), L(t, L_NO_RUN));
  if (json_is_true(json_object_get(t->m, "pseudonymized")))
    fprintf(t->o, "%s\n", L(t, L_PSEUDO));
}

static void sources(const struct tctx *t)
{
  struct table tb = {6, 0, 0, NULL};
  size_t i, k;
  json_t *s, *g;
  heading(t, L_SOURCES);
  row_add(&tb, L(t, L_SOURCE), L(t, L_ORIGIN), L(t, L_FIRST), L(t, L_LAST), L(t, L_EVENTS),
          L(t, L_COVERAGE));
  json_array_foreach(json_object_get(t->m, "sources"), i, s) {
    char n[32], cov[16];
    int_text(json_object_get(s, "events"), n);
    snprintf(cov, sizeof cov, "%.1f%%", 100 * json_number_value(json_object_get(s, "coverage")));
    row_add(&tb, str(s, "source"), str(s, "origin"), str(s, "first"), str(s, "last"), n, cov);
  }
  table_print(t->o, &tb, "  ");
  json_array_foreach(json_object_get(t->m, "sources"), i, s)
    json_array_foreach(json_object_get(s, "gaps"), k, g) {
      fprintf(t->o, "  %s ", L(t, L_GAP));
      put(t->o, str(s, "source"));
      fputc(' ', t->o);
      put(t->o, str(s, "origin"));
      fprintf(t->o, ": %s .. %s (%.1f h)\n", str(g, "from") ?: "-", str(g, "to") ?: "-",
              json_number_value(json_object_get(g, "hours")));
    }
}

static void counts(const struct tctx *t)
{
  const json_t *c = json_object_get(t->m, "counts");
  static const char *const groups[] = {"findings", "by_severity", "by_strength"};
  static const enum lbl glabel[] = {L_FINDINGS, L_SEVERITY, L_STRENGTH};
  const char *k;
  json_t *v;
  heading(t, L_COUNTS);
  fprintf(t->o, "  %s: %" JSON_INTEGER_FORMAT "\n", L(t, L_EVENTS),
          json_integer_value(json_object_get(c, "events")));
  for (size_t i = 0; i < 3; i++) {
    fprintf(t->o, "  %s:", L(t, glabel[i]));
    json_object_foreach(json_object_get(c, groups[i]), k, v) {
      fputc(' ', t->o);
      put(t->o, k);
      fprintf(t->o, " %" JSON_INTEGER_FORMAT, json_integer_value(v));
    }
    fputc('\n', t->o);
  }
}

/* A JSON array of ids or strings, joined. */
static void put_list(FILE *o, const json_t *a, const char *sep, const char *prefix)
{
  size_t i;
  json_t *v;
  json_array_foreach(a, i, v) {
    fprintf(o, "%s%s", i ? sep : "", prefix);
    if (json_is_integer(v))
      fprintf(o, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
      put(o, json_string_value(v));
  }
}

static void checklist(const struct tctx *t)
{
  struct table tb = {3, 0, 0, NULL};
  size_t i;
  json_t *r;
  heading(t, L_CHECKLIST);
  row_add(&tb, L(t, L_REF), L(t, L_ANSWER), L(t, L_ITEM));
  json_array_foreach(json_object_get(t->m, "checklist"), i, r)
    row_add(&tb, str(r, "ref"), str(r, "answer"), str(r, "text"));
  table_print(t->o, &tb, "  ");
  json_array_foreach(json_object_get(t->m, "checklist"), i, r) {
    const json_t *f = json_object_get(r, "findings"), *mi = json_object_get(r, "missing");
    if (json_array_size(f)) {
      fputs("  ", t->o);
      put(t->o, str(r, "ref"));
      fprintf(t->o, " %s: ", L(t, L_LINKED));
      put_list(t->o, f, " ", "#");
      fputc('\n', t->o);
    }
    if (json_array_size(mi)) {
      fputs("  ", t->o);
      put(t->o, str(r, "ref"));
      fprintf(t->o, " %s: ", L(t, L_MISSING));
      put_list(t->o, mi, "; ", "");
      fputc('\n', t->o);
    }
  }
}

static void evidence(const struct tctx *t, const json_t *f)
{
  struct table tb = {8, 0, 0, NULL};
  size_t i;
  json_t *e;
  if (!json_array_size(json_object_get(f, "evidence")))
    return;
  fprintf(t->o, "    %s (%" JSON_INTEGER_FORMAT "):\n", L(t, L_EVIDENCE),
          json_integer_value(json_object_get(f, "evidence_total")));
  row_add(&tb, L(t, L_TIME), L(t, L_SOURCE), L(t, L_CODE), L(t, L_USER), "AE",
          L(t, L_PATIENT), L(t, L_OUTCOME), L(t, L_ORIGIN));
  json_array_foreach(json_object_get(f, "evidence"), i, e) {
    char oc[32] = "-";
    if (json_is_integer(json_object_get(e, "outcome")))
      int_text(json_object_get(e, "outcome"), oc);
    row_add(&tb, str(e, "ts"), str(e, "source"), str(e, "event_code"), str(e, "user_id"),
            str(e, "src_ae"), str(e, "patient_id"), oc, str(e, "origin"));
  }
  table_print(t->o, &tb, "      ");
}

static void finding(const struct tctx *t, const json_t *f)
{
  size_t i;
  json_t *h;
  fprintf(t->o, "\n  #%" JSON_INTEGER_FORMAT " ", json_integer_value(json_object_get(f, "id")));
  put(t->o, str(f, "rule_id"));
  fputs(" ", t->o);
  put(t->o, str(f, "title"));
  fprintf(t->o, "\n    [%s] ",
          json_is_true(json_object_get(f, "violation")) ? L(t, L_VIOLATION) : L(t, L_ADVISORY));
  put(t->o, str(f, "strength") ?: "-");
  fputc('/', t->o);
  put(t->o, str(f, "severity") ?: "-");
  fprintf(t->o, ", %s: ", L(t, L_STATUS));
  put(t->o, str(f, "status") ?: "-");
  fputc('\n', t->o);
  fprintf(t->o, "    %s: ", L(t, L_SUBJECT));
  put(t->o, str(f, "subject") ?: "-");
  if (str(f, "part_label")) {
    fputs(" (", t->o);
    put(t->o, str(f, "part_label"));
    fputc(')', t->o);
  }
  fprintf(t->o, "; %s .. %s; %s %" JSON_INTEGER_FORMAT "\n", str(f, "first") ?: "-",
          str(f, "last") ?: "-", L(t, L_COUNT), json_integer_value(json_object_get(f, "count")));
  fputs("    ", t->o);
  put(t->o, str(f, "explanation"));
  fputc('\n', t->o);
  if (str(f, "reason")) {
    fprintf(t->o, "    %s: ", L(t, L_REASON));
    put(t->o, str(f, "reason"));
    fputc('\n', t->o);
  }
  json_array_foreach(json_object_get(f, "history"), i, h) {
    fprintf(t->o, "    %s: ", L(t, L_HISTORY));
    put(t->o, str(h, "status"));
    fputs(" ", t->o);
    put(t->o, str(h, "by"));
    fputc(' ', t->o);
    put(t->o, str(h, "at") ?: "-");
    if (str(h, "note")) {
      fputs(": ", t->o);
      put(t->o, str(h, "note"));
    }
    fputc('\n', t->o);
  }
  evidence(t, f);
}

/* The findings by guideline item (their first ref); excepted ones apart. */
static void findings(const struct tctx *t)
{
  const json_t *all = json_object_get(t->m, "findings");
  const char *group = NULL;
  size_t i;
  json_t *f;
  heading(t, L_FINDINGS);
  json_array_foreach(all, i, f) {
    const char *ref = json_string_value(json_array_get(json_object_get(f, "guideline"), 0));
    if (!strcmp(str(f, "status") ?: "", "excepted"))
      continue;
    if (!group || strcmp(group, ref ? ref : "")) {
      group = ref ? ref : "";
      fputs("\n-- ", t->o);
      put(t->o, *group ? group : L(t, L_OTHER));
      fputs(" --\n", t->o);
    }
    finding(t, f);
  }
  if (!json_array_size(all))
    fprintf(t->o, "  %s\n", L(t, L_NONE));
  heading(t, L_EXCEPTED);
  int any = 0;
  json_array_foreach(all, i, f) {
    if (strcmp(str(f, "status") ?: "", "excepted"))
      continue;
    any = 1;
    finding(t, f);
  }
  if (!any)
    fprintf(t->o, "  %s\n", L(t, L_NONE));
}

static void maintenance(const struct tctx *t)
{
  const json_t *mt = json_object_get(t->m, "maintenance");
  size_t i, k;
  json_t *w, *p;
  if (!json_array_size(mt))
    return;
  heading(t, L_MAINT);
  json_array_foreach(mt, i, w) {
    struct table tb = {3, 0, 0, NULL};
    fprintf(t->o, "  #%" JSON_INTEGER_FORMAT " ",
            json_integer_value(json_object_get(w, "finding_id")));
    put(t->o, str(w, "user"));
    fprintf(t->o, " %s .. %s\n", str(w, "from") ?: "-", str(w, "to") ?: "-");
    row_add(&tb, L(t, L_FIRST), L(t, L_PATIENT), L(t, L_COUNT));
    json_array_foreach(json_object_get(w, "patients"), k, p) {
      char n[32];
      int_text(json_object_get(p, "count"), n);
      row_add(&tb, str(p, "first"), str(p, "patient_id"), n);
    }
    if (tb.nrow == 1)
      row_add(&tb, L(t, L_NONE), "", "");
    table_print(t->o, &tb, "    ");
  }
}

static void rules(const struct tctx *t)
{
  struct table tb = {5, 0, 0, NULL};
  size_t i;
  json_t *r;
  heading(t, L_RULES);
  row_add(&tb, L(t, L_RULE), L(t, L_STRENGTH1), L(t, L_SEVERITY1), L(t, L_FINDINGS),
          L(t, L_STATUS));
  json_array_foreach(json_object_get(t->m, "rules"), i, r) {
    char n[32];
    int_text(json_object_get(r, "findings"), n);
    row_add(&tb, str(r, "id"), str(r, "strength"), str(r, "severity"), n,
            json_is_true(json_object_get(r, "decided")) ? L(t, L_DECIDED) : str(r, "why"));
  }
  table_print(t->o, &tb, "  ");
}

static void closing(const struct tctx *t)
{
  const json_t *rv = json_object_get(t->m, "review");
  heading(t, L_NOT_DECIDABLE);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(t->m, "not_decidable"), i, v) {
    fputs("  - ", t->o);
    put(t->o, json_string_value(v));
    fputc('\n', t->o);
  }
  heading(t, L_REVIEW);
  if (!json_is_object(rv)) {
    fprintf(t->o, "  (%s)\n  %s: ____________________\n  %s: ____________________\n"
                  "  %s: ____________________\n", L(t, L_NO_REVIEW), L(t, L_REVIEWER),
            L(t, L_DATE), L(t, L_SIGN));
    return;
  }
  fprintf(t->o, "  %s: ", L(t, L_REVIEWER));
  put(t->o, str(rv, "by"));
  fprintf(t->o, "\n  %s: ", L(t, L_DATE));
  put(t->o, str(rv, "at"));
  fprintf(t->o, "\n  %s: ", L(t, L_PERIOD));
  put(t->o, str(rv, "from") ?: "-");
  fputs(" .. ", t->o);
  put(t->o, str(rv, "to") ?: "-");
  if (str(rv, "note")) {
    fputs("\n  ", t->o);
    put(t->o, str(rv, "note"));
  }
  fputc('\n', t->o);
}

pa_rc pa_report_render_text(const json_t *m, FILE *out, struct pa_err *err)
{
  struct tctx t = {out, m, strcmp(str(m, "lang") ?: "ja", "en") != 0};
  header(&t);
  sources(&t);
  counts(&t);
  checklist(&t);
  findings(&t);
  maintenance(&t);
  rules(&t);
  closing(&t);
  if (ferror(out) || fflush(out))
    return pa_err_set(err, PA_IO, UINT64_MAX, 0, "report: cannot write the text");
  return PA_OK;
}
