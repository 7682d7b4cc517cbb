/* datadir.c — the rule pack's and decoders' folders (see datadir.h). */
#include "datadir.h"

#include "pa_version.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SRCDIR_MARKER "pacsaudit-srcdir"

static const struct {
  const char *env;       /* override */
  const char *installed; /* under <datadir>/pacsaudit */
  const char *source;    /* under the source tree */
} place[] = {
    [PA_DATA_RULES] = {"PACSAUDIT_PACK", "rules", "rules/pack"},
    [PA_DATA_DECODERS] = {"PACSAUDIT_DECODERS", "decoders", "collectors/decoders"},
    [PA_DATA_DEMO] = {"PACSAUDIT_DEMO", "demo", "fixtures/scenario"},
};
#define N_PLACES (sizeof place / sizeof place[0])

static char found[N_PLACES][PATH_MAX];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int is_dir(const char *p)
{
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The running binary's folder into buf; 0 when /proc/self/exe cannot tell. */
static int exe_dir(char *buf, size_t size)
{
  ssize_t n = readlink("/proc/self/exe", buf, size - 1);
  char *slash;
  if (n <= 0 || (size_t)n >= size - 1)
    return 0;
  buf[n] = '\0';
  slash = strrchr(buf, '/');
  if (!slash)
    return 0;
  *slash = '\0';
  return 1;
}

/* The source tree named by the build tree's marker beside the binary. */
static int srcdir_from_marker(const char *dir, char *buf, size_t size)
{
  char path[PATH_MAX];
  FILE *f;
  size_t n;
  if (snprintf(path, sizeof path, "%s/" SRCDIR_MARKER, dir) >= (int)sizeof path)
    return 0;
  f = fopen(path, "r");
  if (!f)
    return 0;
  n = fread(buf, 1, size - 1, f);
  fclose(f);
  buf[n] = '\0';
  n = strcspn(buf, "\r\n");
  buf[n] = '\0';
  return n > 0 && n < size - 1 && buf[0] == '/';
}

/* base/sub into out when that is a folder. */
static int take(char *out, const char *base, const char *sub)
{
  char p[PATH_MAX];
  if (snprintf(p, sizeof p, "%s/%s", base, sub) >= (int)sizeof p || !is_dir(p))
    return 0;
  memcpy(out, p, strlen(p) + 1);
  return 1;
}

static void locate(void)
{
  char dir[PATH_MAX], inst[PATH_MAX], src[PATH_MAX];
  int have_dir = exe_dir(dir, sizeof dir);
  int have_inst = have_dir && snprintf(inst, sizeof inst, "%s/" PA_DATADIR_FROM_BINDIR, dir) <
                                  (int)sizeof inst;
  int have_src = have_dir && srcdir_from_marker(dir, src, sizeof src);

  for (size_t i = 0; i < N_PLACES; i++) {
    const char *env = getenv(place[i].env);
    if (env && *env && strlen(env) < sizeof found[i]) {
      memcpy(found[i], env, strlen(env) + 1);
      continue;
    }
    if (have_inst && take(found[i], inst, place[i].installed))
      continue;
    if (have_src && take(found[i], src, place[i].source))
      continue;
    snprintf(found[i], sizeof found[i], "%s/%s", PA_DATADIR, place[i].installed);
  }
}

const char *pa_datadir(enum pa_data what)
{
  pthread_once(&once, locate);
  return found[what];
}
