/* log.c — diagnostics on stderr. */
#include "log.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

enum pa_log_level pa_log_threshold = PA_LOG_WARN;

void pa_log_at(enum pa_log_level lv, const char *file, int line, const char *fmt, ...)
{
  static const char *const tag[] = {"error", "warning", "info", "debug"};
  char msg[2048], shown[4 * sizeof msg];
  va_list ap;

  /* messages carry file names and values from the input: a control byte
   * in them must not move the cursor, retitle the terminal or forge a line */
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  pa_escape_ctl(shown, sizeof shown, msg);
  /* one call a line: lines of check's lanes (threads) do not mix */
  if (lv == PA_LOG_DEBUG)
    fprintf(stderr, "pacsaudit: %s: %s (%s:%d)\n", tag[lv], shown, file, line);
  else
    fprintf(stderr, "pacsaudit: %s: %s\n", tag[lv], shown);
}
