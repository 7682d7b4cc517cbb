/* out.c — what the commands print, and the files they write.
 *
 * A line printed for people is escaped: file names, user names and AE
 * titles come from the input, and a control byte in them must not reach the
 * terminal (move the cursor, retitle the window, forge a summary line).
 *
 * An output file appears whole or not at all. Reports are read by people and by other tools while the next one is being
 * written (a nightly job, a web server serving the reports folder): each is
 * written to a temporary file beside its place, flushed to disk, and renamed
 * over it. A failure leaves the old file, if any, as it was. */
#include "cli.h"

#include "analyzer/err.h"
#include "analyzer/tm.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FILE *pa_cli_out_open(struct pa_cli_out *o, const char *path)
{
  int fd;

  o->path = path;
  o->f = NULL;
  if (snprintf(o->tmp, sizeof o->tmp, "%s.XXXXXX", path) >= (int)sizeof o->tmp) {
    fprintf(stderr, "pacsaudit: %s: path too long\n", path);
    return NULL;
  }
  if ((fd = mkstemp(o->tmp)) < 0) {
    fprintf(stderr, "pacsaudit: %s: cannot create: %s\n", path, strerror(errno));
    return NULL;
  }
  if (!(o->f = fdopen(fd, "w"))) {
    fprintf(stderr, "pacsaudit: %s: %s\n", path, strerror(errno));
    close(fd);
    unlink(o->tmp);
  }
  return o->f;
}

int pa_cli_out_close(struct pa_cli_out *o, int ok)
{
  int err = 0;

  if (!o->f)
    return -1;
  if (ok && (fflush(o->f) || fsync(fileno(o->f))))
    err = errno;
  if (fclose(o->f) && ok && !err)
    err = errno;
  o->f = NULL;
  if (ok && !err && rename(o->tmp, o->path))
    err = errno;
  if (!ok || err) {
    if (err)
      fprintf(stderr, "pacsaudit: %s: cannot write: %s\n", o->path, strerror(err));
    unlink(o->tmp);
    return -1;
  }
  return 0;
}

void pa_cli_line(FILE *f, const char *fmt, ...)
{
  char line[4096], shown[4 * sizeof line];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  pa_escape_ctl(shown, sizeof shown, line);
  fputs(shown, f);
  fputc('\n', f);
}

int pa_cli_parse_time(const char *opt, const char *t, const char *tz, int64_t *us)
{
  if (pa_time_parse_iso(t, strlen(t), tz, us, NULL, NULL) == PA_OK)
    return 0;
  pa_cli_line(stderr, "pacsaudit: %s: \"%s\" is not a time (2026-11-01 or 2026-11-01T08:00)",
              opt, t);
  return -1;
}

int pa_cli_parse_count(const char *s, long long min, long long max, long long *out)
{
  char *end;
  long long v;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}
