/* model_checklist.c — the guideline checklist (guideline-6.0.md, "The
 * checklist in the report") and what audit data cannot decide.
 *
 * One row per item; a rule belongs to a row when one of its citations is
 * one of the row's refs (as the pack's rule files write them). The answer:
 *   いいえ   a non-advisory rule of the row has a finding open or
 *            acknowledged in the period (`findings` lists them);
 *   はい     every enabled rule of the row was decided by the latest check
 *            run and none has such a finding;
 *   判定不能 otherwise; `missing` says why, rule by rule. */
#include "model_int.h"

#include <string.h>

static const struct item {
  const char *ref;
  const char *refs[4]; /* the citations that belong to it */
  const char *ja, *en;
} items[] = {
  {"シス14①", {"シス14①"}, "利用者の識別・認証を行う", "Identify and authenticate every user"},
  {"シス14②", {"シス14②"}, "ID とパスワードを本人しか知り得ない状態に保つ（共用 ID を使わない）",
   "Credentials known only to their owner: no shared IDs"},
  {"シス14④", {"シス14④"}, "申請に基づき権限を付与し、管理者が確認する",
   "Privileges granted on request and confirmed"},
  {"シス14⑥", {"シス14⑥"}, "二要素認証を採用する", "Two-factor authentication"},
  {"企13③④", {"企13③", "企13④", "企13③④"},
   "人事情報と整合した ID 付与、資格・権限規程に応じた利用権限",
   "IDs follow HR status; privileges follow role"},
  {"シス11①", {"シス11①"}, "非常時用アカウントの使用を検知・監査し、復帰後は使わせない",
   "Break-glass accounts: detect and audit every use; disable after recovery"},
  {"シス10④", {"シス10④"}, "リモートメンテナンスのアクセスログを収集し、作業計画書と照合する",
   "Maintenance access logged and reconciled with the work plan"},
  {"シス13⑫", {"シス13⑫"}, "通信の相手先が正当であることを相互認証で確認する",
   "Peers authenticate each other"},
  {"シス13 (13.3)", {"シス13", "シス13 (13.3)"}, "回線または送信する医療情報を暗号化する",
   "Encrypt the line or the payload"},
  {"シス17①", {"シス17①"},
   "アクセスログを記録し定期的に確認する（ログイン時刻、アクセス時間、操作した医療情報を特定できる）",
   "Log who, when and which patient data, and review the logs periodically"},
  {"シス17②", {"シス17②"}, "アクセスログへのアクセスを制限し、不当な削除・改ざん・追加を防ぐ",
   "Restrict access to logs; prevent deletion, alteration and insertion"},
  {"シス17③", {"シス17③"}, "信頼できる時刻源に同期する", "Trusted, synchronized time"},
  {"企5②③", {"企5②", "企5③", "企5②③"}, "証跡の改ざんを防止し、収集した証跡をレビューする",
   "Protect and review the evidence"},
};
#define N_ITEMS (sizeof items / sizeof items[0])

static const char *const undecidable_ja[] = {
  "文書化された手順（シス14① の文書、14④ の手順、17④ の監査計画）",
  "パスワードの長さと複雑さ",
  "初期パスワードの変更",
  "IC カード忘れ時の代替手段の規定",
};
static const char *const undecidable_en[] = {
  "Written procedures (the シス14① document, the 14④ procedure, the 17④ audit plan)",
  "Password length and complexity",
  "Change of initial passwords",
  "The fallback rule when an IC card is not at hand",
};

static int belongs(const struct item *it, const char *ref)
{
  for (size_t k = 0; ref && k < 4 && it->refs[k]; k++)
    if (!strcmp(it->refs[k], ref))
      return 1;
  return 0;
}

int pa__rep_ref_order(const char *ref)
{
  for (size_t i = 0; i < N_ITEMS; i++)
    if (belongs(&items[i], ref))
      return (int)i;
  return (int)N_ITEMS;
}

/* 1 when rule r (a model rules[] entry) cites item it. */
static int cites(const struct item *it, const json_t *r)
{
  size_t i;
  json_t *g;
  json_array_foreach(json_object_get(r, "guideline"), i, g) if (belongs(it, json_string_value(g)))
    return 1;
  return 0;
}

static int str_is(const json_t *v, const char *s)
{
  return json_is_string(v) && !strcmp(json_string_value(v), s);
}

/* The findings of rule id that answer いいえ: open or acknowledged, and
 * direct or derived (a derived check is a test of a required control; an
 * advisory one is for review only). */
static void violations(const json_t *findings, const char *id, json_t *out)
{
  size_t i;
  json_t *f;
  json_array_foreach(findings, i, f) {
    json_t *st = json_object_get(f, "status");
    if (str_is(json_object_get(f, "rule_id"), id) &&
        !str_is(json_object_get(f, "strength"), "advisory") &&
        (str_is(st, "open") || str_is(st, "acknowledged")))
      json_array_append(out, json_object_get(f, "id"));
  }
}

/* Sorts an array of integers in place (a handful of finding ids). */
static void sort_ids(json_t *a)
{
  size_t n = json_array_size(a);
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0; j--) {
      json_int_t x = json_integer_value(json_array_get(a, j - 1));
      json_int_t y = json_integer_value(json_array_get(a, j));
      if (x <= y)
        break;
      json_array_set_new(a, j - 1, json_integer(y));
      json_array_set_new(a, j, json_integer(x));
    }
}

static json_t *row(struct pa_mctx *c, const struct item *it)
{
  json_t *rules = json_array(), *fids = json_array(), *missing = json_array(), *r;
  json_t *findings = json_object_get(c->m, "findings");
  int enabled = 0, undecided = 0;
  const char *answer;
  size_t i;

  json_array_foreach(json_object_get(c->m, "rules"), i, r) {
    const char *id = json_string_value(json_object_get(r, "id"));
    char why[512];
    if (!id || !cites(it, r))
      continue;
    json_array_append_new(rules, json_string(id));
    violations(findings, id, fids);
    if (json_is_true(json_object_get(r, "disabled")))
      continue;
    enabled++;
    if (json_is_true(json_object_get(r, "decided")))
      continue;
    undecided++;
    snprintf(why, sizeof why, "%s: %s", id,
             json_string_value(json_object_get(r, "why")) ?: "undecided");
    json_array_append_new(missing, json_string(why));
  }
  if (!json_array_size(rules))
    json_array_append_new(missing, json_string(c->ja ? "この項目を判定するルールがない"
                                                     : "no rule covers this item"));
  else if (!enabled)
    json_array_append_new(missing, json_string(c->ja ? "この項目のルールはすべて無効化されている"
                                                     : "every rule of this item is disabled"));
  sort_ids(fids);
  answer = json_array_size(fids) ? "いいえ" : enabled && !undecided ? "はい" : "判定不能";
  if (strcmp(answer, "判定不能"))
    json_array_clear(missing);
  return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "ref", it->ref, "text",
                   c->ja ? it->ja : it->en, "answer", answer, "rules", rules, "findings", fids,
                   "missing", missing);
}

pa_rc pa__rep_checklist(struct pa_mctx *c)
{
  json_t *cl = json_array(), *nd = json_array();
  json_object_set_new(c->m, "checklist", cl);
  json_object_set_new(c->m, "not_decidable", nd);
  for (size_t i = 0; i < N_ITEMS; i++) {
    json_t *r = row(c, &items[i]);
    if (!r || json_array_append_new(cl, r))
      return PA_NOMEM;
  }
  for (size_t i = 0; i < 4; i++)
    if (json_array_append_new(nd, json_string(c->ja ? undecidable_ja[i] : undecidable_en[i])))
      return PA_NOMEM;
  return PA_OK;
}
