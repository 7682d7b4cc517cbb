/* fuzz_rule.c — libFuzzer target for the rule loader and compiler: the input
 * as one rule file. pa_ruleset_load_string validates it and compiles it once
 * with the defaults; a rule that loads is compiled again over a closed
 * period with threshold overrides, as `check --policy` does, so the
 * override and threshold paths run too. Seeds: every rule file of rules/pack. */
#include "rules/compile.h"
#include "rules/rule.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A policy's thresholds, fixed per name: none for some, a count ("3") for
 * some, a duration ("10m") for the rest, so a name meets each kind of
 * override whatever its declared type. */
static const char *override(void *ctx, const char *rule_id, const char *name)
{
  static const char *const texts[] = {NULL, "3", "10m"};
  unsigned h = 0;
  (void)ctx;
  (void)rule_id;
  for (const char *s = name; *s; s++)
    h = h * 31 + (unsigned char)*s;
  return texts[h % 3];
}

/* Every problem is one line (rule.h), whatever the input. */
static void count_line(void *ctx, const char *line)
{
  if (strchr(line, '\n') || strchr(line, '\r'))
    abort();
  *(size_t *)ctx += strlen(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  size_t chars = 0;
  struct pa_diag d = {count_line, &chars, 0, 0};
  pa_ruleset *rs = pa_ruleset_new();

  if (!rs)
    return 0;
  if (pa_ruleset_load_string(rs, "fuzz.json", (const char *)data, size, 0, &d) == PA_OK &&
      pa_ruleset_count(rs) == 1) {
    struct pa_compile_opts o = {0};
    struct pa_compiled c;
    o.param = override;
    o.since_us = INT64_C(1767193200000000);  /* 2026-01-01T00:00+09:00 */
    o.until_us = INT64_C(1769871600000000);  /* a month later */
    o.data_end_us = INT64_C(1769785200000000);
    (void)pa_rule_compile(pa_ruleset_get(rs, 0), &o, &c, &d);
    pa_compiled_cleanup(&c);
  }
  pa_ruleset_free(rs);
  return 0;
}
