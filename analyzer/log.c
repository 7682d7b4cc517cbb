/* log.c — diagnostics on stderr. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

enum pa_log_level pa_log_threshold = PA_LOG_WARN;

void pa_log_at(enum pa_log_level lv, const char *file, int line, const char *fmt, ...)
{
  static const char *const tag[] = {"error", "warning", "info", "debug"};
  va_list ap;

  fprintf(stderr, "pacsaudit: %s: ", tag[lv]);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (lv == PA_LOG_DEBUG)
    fprintf(stderr, " (%s:%d)", file, line);
  fputc('\n', stderr);
}
