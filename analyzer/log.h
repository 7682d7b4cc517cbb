/* log.h — diagnostics on stderr.
 *
 * Logs describe the program, never findings. At the default level they carry
 * no patient identifiers and no raw message bytes. */
#ifndef PA_LOG_H
#define PA_LOG_H

enum pa_log_level { PA_LOG_ERROR, PA_LOG_WARN, PA_LOG_INFO, PA_LOG_DEBUG };

extern enum pa_log_level pa_log_threshold;

void pa_log_at(enum pa_log_level lv, const char *file, int line, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

/* The level is checked before any argument is formatted. */
#define pa_log(lv, ...)                                         \
  do {                                                          \
    if ((lv) <= pa_log_threshold)                               \
      pa_log_at((lv), __FILE__, __LINE__, __VA_ARGS__);         \
  } while (0)

#endif
