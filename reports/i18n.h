/* i18n.h — the fixed labels of the report renderings, in Japanese and English.
 *
 * Texts that come with the model (rule titles, explanations, checklist texts)
 * are already in the model's language; these are the renderer's own words:
 * headings, column names, and the names of strengths, severities and statuses.
 * Every label exists in both languages (the table below has one column each). */
#ifndef PA_I18N_H
#define PA_I18N_H

#include <stddef.h>

/* X(ID, English, Japanese) */
#define PA_LABEL_MAP(X)                                                         \
  X(TITLE, "PACS audit log review report", "PACS 監査ログ点検レポート")          \
  X(SITE, "Site", "施設")                                                       \
  X(GENERATED, "Generated", "作成日時")                                         \
  X(GENERATOR, "Generator", "作成ツール")                                        \
  X(CHECK_RUN, "Check run", "判定の実行")                                        \
  X(POLICY, "Policy", "ポリシー")                                               \
  X(TIMEZONE, "Time zone", "タイムゾーン")                                       \
  X(WORKING_HOURS, "Working hours", "業務時間")                                  \
  X(PSEUDONYMIZED, "Pseudonymized report: patient identifiers are keyed tokens; free text that could carry them is left out.", \
    "仮名化レポート: 患者識別子は鍵付きトークンに置き換え、識別子を含みうる自由記述は除いています。") \
  X(CONTENTS, "Contents", "目次")                                               \
  X(SUMMARY, "Summary", "概要")                                                 \
  X(PERIOD, "Period", "対象期間")                                               \
  X(OPEN_START, "(from the first record)", "(記録の最初から)")                    \
  X(OPEN_END, "(to the last record)", "(記録の最後まで)")                         \
  X(SOURCES, "Sources and their coverage of the period", "ログ源と対象期間のカバー率") \
  X(NO_SOURCES, "No source has data in this period.", "この期間のデータを持つログ源はありません。") \
  X(SOURCE, "Source", "ログ源")                                                 \
  X(ORIGIN, "Origin", "取得元")                                                 \
  X(FIRST, "First", "最初")                                                     \
  X(LAST, "Last", "最後")                                                       \
  X(EVENTS, "Events", "イベント数")                                              \
  X(COVERAGE, "Coverage", "カバー率")                                            \
  X(GAPS, "Gaps", "欠落期間")                                                   \
  X(NO_GAPS, "none", "なし")                                                    \
  X(HOURS_UNIT, "h", "時間")                                                    \
  X(COUNTS, "Counts", "件数")                                                   \
  X(FINDINGS_OPEN, "Open findings", "未対応の検出")                              \
  X(FINDINGS_EXCEPTED, "Excepted", "例外扱い")                                   \
  X(FINDINGS_ACK, "Acknowledged", "確認済み")                                    \
  X(FINDINGS_CLOSED, "Closed", "クローズ")                                       \
  X(FINDINGS_TOTAL, "Findings in total", "検出の合計")                           \
  X(BY_SEVERITY, "By severity", "重大度別")                                      \
  X(BY_STRENGTH, "By strength", "根拠の強さ別")                                  \
  X(CHARTS, "Charts", "グラフ")                                                 \
  X(CH_BY_RULE, "Findings by rule", "ルール別の検出件数")                          \
  X(CH_BY_SEVERITY, "Findings by severity", "重大度別の検出件数")                  \
  X(CH_PER_DAY, "Events per day by source", "ログ源別・日別イベント数")             \
  X(CH_BY_HOUR, "Activity by hour of day", "時間帯別の操作件数")                   \
  X(CH_TOP_USERS, "Top users by events", "イベント数の多い利用者")                  \
  X(CH_TOP_AES, "Top AE titles by events", "イベント数の多い AE タイトル")          \
  X(AX_RULE, "Rule", "ルール")                                                  \
  X(AX_SEVERITY, "Severity", "重大度")                                          \
  X(AX_FINDINGS, "Findings", "検出件数")                                         \
  X(AX_DATE, "Date", "日付")                                                    \
  X(AX_EVENTS, "Events", "イベント数")                                           \
  X(AX_HOUR, "Hour of day (site time)", "時刻 (施設の時刻)")                       \
  X(AX_USER, "User", "利用者")                                                  \
  X(AX_AE, "AE title", "AE タイトル")                                            \
  X(WORKING_HOURS_MARK, "shaded: working hours", "網掛け: 業務時間")              \
  X(NO_DATA, "no data", "データなし")                                            \
  X(CHART_CUT, "only the first days are drawn", "最初の日のみ描画")                \
  X(FINDINGS, "Findings by guideline item", "ガイドライン項目別の検出")             \
  X(NO_FINDINGS, "No findings in this period.", "この期間の検出はありません。")     \
  X(GUIDELINE_ITEM, "Guideline item", "ガイドライン項目")                          \
  X(NO_GUIDELINE, "(no guideline item)", "(ガイドライン項目なし)")                  \
  X(VIOLATION, "violation", "違反")                                              \
  X(FOR_REVIEW, "for review", "要確認")                                           \
  X(RULE, "Rule", "ルール")                                                     \
  X(STRENGTH, "Strength", "根拠の強さ")                                          \
  X(SEVERITY, "Severity", "重大度")                                              \
  X(STATUS, "Status", "状態")                                                   \
  X(SUBJECT, "Subject", "対象")                                                 \
  X(TIMES, "Times", "日時")                                                     \
  X(COUNT, "Count", "件数")                                                     \
  X(PART, "Part", "分割")                                                       \
  X(GUIDELINE, "Guideline", "ガイドライン")                                      \
  X(EXPLANATION, "Explanation", "説明")                                          \
  X(HISTORY, "History", "履歴")                                                 \
  X(BY, "By", "実施者")                                                         \
  X(AT, "At", "日時")                                                           \
  X(NOTE, "Note", "メモ")                                                       \
  X(REASON, "Reason", "理由")                                                   \
  X(EVIDENCE, "Evidence", "根拠となるイベント")                                   \
  X(EVIDENCE_SHOWN, "events shown of", "件を表示 / 全")                           \
  X(NO_EVIDENCE, "No linked events.", "関連づけられたイベントはありません。")         \
  X(EV_TIME, "Time", "日時")                                                    \
  X(EV_CODE, "Event", "イベント")                                                \
  X(EV_OP, "Operation", "操作")                                                 \
  X(EV_USER, "User", "利用者")                                                  \
  X(EV_SRC_IP, "Source IP", "送信元 IP")                                         \
  X(EV_SRC_AE, "Calling AE", "送信元 AE")                                        \
  X(EV_DST_AE, "Called AE", "送信先 AE")                                         \
  X(EV_PATIENT, "Patient", "患者")                                              \
  X(EV_STUDY, "Study", "検査")                                                  \
  X(EV_OUTCOME, "Outcome", "結果")                                              \
  X(EXCEPTED, "Excepted findings", "例外扱いの検出")                               \
  X(NO_EXCEPTED, "No excepted findings.", "例外扱いの検出はありません。")           \
  X(MAINTENANCE, "Maintenance windows (MT-01): patients touched", "保守作業時間帯 (MT-01): 参照された患者") \
  X(NO_MAINTENANCE, "No maintenance window with patient access.", "患者へのアクセスを伴う保守作業時間帯はありません。") \
  X(MT_WINDOW, "Window", "時間帯")                                               \
  X(MT_USER, "Maintenance user", "保守ユーザ")                                    \
  X(MT_PATIENT, "Patient", "患者")                                              \
  X(MT_FIRST, "First access", "最初のアクセス")                                    \
  X(MT_COUNT, "Events", "件数")                                                 \
  X(MT_PATIENTS, "patients", "名")                                               \
  X(MT_NO_PATIENTS, "No patient touched.", "参照された患者はいません。")             \
  X(CHECKLIST, "Guideline checklist", "ガイドライン チェックリスト")                \
  X(NO_CHECKLIST, "No checklist in this report.", "このレポートにチェックリストはありません。") \
  X(CK_ITEM, "Item", "項目")                                                    \
  X(CK_TEXT, "Requirement", "要求事項")                                          \
  X(CK_ANSWER, "Answer", "判定")                                                \
  X(CK_BASIS, "Basis", "根拠")                                                  \
  X(CK_RULES, "Rules", "ルール")                                                 \
  X(CK_FINDINGS, "Findings", "検出")                                             \
  X(CK_MISSING, "Missing input", "不足している入力")                                \
  X(ANSWER_YES, "Yes", "はい")                                                   \
  X(ANSWER_NO, "No", "いいえ")                                                   \
  X(ANSWER_UNDECIDABLE, "Cannot be decided", "判定不能")                           \
  X(NOT_DECIDABLE, "What audit data cannot decide", "監査データでは判定できない事項") \
  X(NOT_DECIDABLE_LEAD, "These items cannot be decided from audit logs; check them by other means (documents, settings, interviews).", \
    "以下の事項は監査ログからは判定できません。文書・設定・聞き取りなど別の方法で確認してください。") \
  X(RULES, "Rules applied", "適用したルール")                                      \
  X(RU_DECIDED, "Decided", "判定")                                              \
  X(RU_WHY, "Why not decided", "判定できない理由")                                  \
  X(RU_DISABLED, "disabled", "無効")                                             \
  X(YES, "yes", "はい")                                                         \
  X(NO, "no", "いいえ")                                                         \
  X(REVIEW, "Reviewer sign-off", "点検者の確認")                                   \
  X(REVIEW_RECORDED, "Sign-off recorded with pacsaudit review.", "pacsaudit review で記録された確認です。") \
  X(REVIEW_BLANK, "No sign-off is recorded for this period: sign here by hand.", "この期間の確認は記録されていません。以下に手書きで記入してください。") \
  X(REVIEWER, "Reviewer", "点検者")                                              \
  X(REVIEW_DATE, "Date", "日付")                                                 \
  X(REVIEW_PERIOD, "Period reviewed", "点検した期間")                               \
  X(SIGNATURE, "Signature", "署名")                                              \
  X(STRENGTH_DIRECT, "direct", "直接")                                           \
  X(STRENGTH_DERIVED, "derived", "派生")                                         \
  X(STRENGTH_ADVISORY, "advisory", "参考")                                       \
  X(SEV_CRITICAL, "critical", "緊急")                                            \
  X(SEV_HIGH, "high", "高")                                                     \
  X(SEV_MEDIUM, "medium", "中")                                                 \
  X(SEV_LOW, "low", "低")                                                       \
  X(SEV_INFO, "info", "情報")                                                   \
  X(ST_OPEN, "open", "未対応")                                                   \
  X(ST_EXCEPTED, "excepted", "例外")                                             \
  X(ST_ACKNOWLEDGED, "acknowledged", "確認済み")                                  \
  X(ST_CLOSED, "closed", "クローズ")

enum pa_label {
#define X(id, en, ja) PA_L_##id,
  PA_LABEL_MAP(X)
#undef X
  PA_LABEL_COUNT
};

enum pa_lang { PA_LANG_JA, PA_LANG_EN };

/* "en" -> PA_LANG_EN; anything else (NULL, "ja", unknown) -> PA_LANG_JA, the default. */
enum pa_lang pa_i18n_lang(const char *name);

/* The label in lang: a static string, never NULL. */
const char *pa_i18n(enum pa_lang lang, enum pa_label id);

/* The label for a model value of a closed set (strength, severity, status),
 * e.g. ("severity", "high") -> "高" in Japanese; NULL when the value is not
 * one this table knows (the caller then shows the value itself, escaped). */
const char *pa_i18n_value(enum pa_lang lang, const char *kind, const char *value);

#endif
