/* i18n.c — the report renderers' fixed labels in Japanese and English. */
#include "i18n.h"

#include <string.h>

static const char *const labels[PA_LABEL_COUNT][2] = {
#define X(id, en, ja) [PA_L_##id] = {ja, en},
  PA_LABEL_MAP(X)
#undef X
};

enum pa_lang pa_i18n_lang(const char *name)
{
  return name && strcmp(name, "en") == 0 ? PA_LANG_EN : PA_LANG_JA;
}

const char *pa_i18n(enum pa_lang lang, enum pa_label id)
{
  if ((unsigned)id >= PA_LABEL_COUNT)
    return "";
  return labels[id][lang == PA_LANG_EN ? 1 : 0];
}

static const struct {
  const char *kind, *value;
  enum pa_label label;
} values[] = {
  {"strength", "direct", PA_L_STRENGTH_DIRECT},
  {"strength", "derived", PA_L_STRENGTH_DERIVED},
  {"strength", "advisory", PA_L_STRENGTH_ADVISORY},
  {"severity", "critical", PA_L_SEV_CRITICAL},
  {"severity", "high", PA_L_SEV_HIGH},
  {"severity", "medium", PA_L_SEV_MEDIUM},
  {"severity", "low", PA_L_SEV_LOW},
  {"severity", "info", PA_L_SEV_INFO},
  {"status", "open", PA_L_ST_OPEN},
  {"status", "excepted", PA_L_ST_EXCEPTED},
  {"status", "acknowledged", PA_L_ST_ACKNOWLEDGED},
  {"status", "closed", PA_L_ST_CLOSED},
  {"answer", "はい", PA_L_ANSWER_YES},
  {"answer", "いいえ", PA_L_ANSWER_NO},
  {"answer", "判定不能", PA_L_ANSWER_UNDECIDABLE},
};

const char *pa_i18n_value(enum pa_lang lang, const char *kind, const char *value)
{
  if (!kind || !value)
    return NULL;
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
    if (strcmp(values[i].kind, kind) == 0 && strcmp(values[i].value, value) == 0)
      return pa_i18n(lang, values[i].label);
  return NULL;
}
