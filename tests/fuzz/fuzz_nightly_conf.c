/* fuzz_nightly_conf.c — libFuzzer target for the nightly job's config reader
 * (cli/nightly_conf.c): the input as the config's text, as if read from
 * /etc/pacsaudit/nightly.json. On success the config must be whole: a
 * database path, a lock, paths made absolute from the config's folder,
 * the lists within their bounds, a seal with both its key and its output
 * or neither, and at least one report format where there is a report
 * folder. Every problem is said in lines without control characters.
 * Seeds: docs/nightly.md's example, the demo's and the e2e test's
 * configs, and near misses. */
#include "cli/cli.h"
#include "cli/nightly_conf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int absolute(const char *p) { return p && p[0] == '/'; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct pa_nightly_conf c;
  char *said = NULL;
  size_t said_len = 0;
  FILE *msgs = open_memstream(&said, &said_len);

  if (!msgs)
    return 0;
  if (pa_nightly_conf_parse(&c, "/etc/pacsaudit/nightly.json", (const char *)data, size, msgs) ==
      0) {
    if (!absolute(c.db) || !absolute(c.lock) || (c.policy && !absolute(c.policy)) ||
        c.n_inputs > PA_NIGHTLY_MAX_LIST || c.n_rules > PA_CHECK_MAX_SITE_RULES ||
        !c.seal_key != !c.seal_out || (c.reports_dir && !c.n_formats) || c.raw_days < 0 ||
        (strcmp(c.lang, "ja") && strcmp(c.lang, "en")))
      abort();
    for (size_t i = 0; i < c.n_inputs; i++)
      if (!absolute(c.inputs[i]))
        abort();
  }
  pa_nightly_conf_free(&c);
  fclose(msgs);
  for (size_t i = 0; i < said_len; i++) /* one line a problem, nothing else */
    if ((unsigned char)said[i] < 0x20 && said[i] != '\n')
      abort();
  free(said);
  return 0;
}
