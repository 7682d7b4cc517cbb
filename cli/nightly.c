/* nightly.c — `pacsaudit nightly`: the compliance job a timer or cron runs.
 *
 * One run, under a lock: ingest what is new from the configured inputs,
 * check the rules, write the reports named by date, apply the raw
 * retention, and print one summary line. Exit 0 with no new findings, 1
 * with new findings, 2 on an error (the steps after an input error still
 * run, so what was received is judged and reported). Re-running over the
 * same data finds nothing new. The config's keys are a contract other
 * tools write (docs/nightly.md). */
#include "cli.h"
#include "nightly_conf.h"

#include "analyzer/log.h"
#include "analyzer/policy.h"
#include "analyzer/store.h"
#include "analyzer/tm.h"
#include "analyzer/tz.h"
#include "reports/report.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static void help(FILE *f)
{
  fprintf(
    f,
    "usage: pacsaudit nightly --config FILE [--wait]\n"
    "\n"
    "The nightly compliance job: ingests what is new from the configured inputs,\n"
    "runs check, writes the reports named by date (also when there is nothing\n"
    "to report, so a reader knows the job ran), drops raw messages past the\n"
    "retention, and prints one summary line. A run over the same data again\n"
    "finds nothing new.\n"
    "\n"
    "The config is JSON (docs/nightly.md); relative paths are read from the\n"
    "config file's folder:\n"
    "  {\"db\": \"/var/lib/pacsaudit/audit.db\",\n"
    "   \"inputs\": [\"/var/log/pacs/atna.log*\", \"/srv/captures/*.pcap\"],\n"
    "   \"policy\": \"/etc/pacsaudit/policy.json\",\n"
    "   \"rules\": [\"/etc/pacsaudit/rules.d\"],\n"
    "   \"reports\": {\"dir\": \"/var/lib/pacsaudit/reports\", \"formats\": [\"html\", \"json\"],\n"
    "               \"lang\": \"ja\"},\n"
    "   \"retention\": {\"raw_days\": 1825},\n"
    "   \"seal\": {\"key\": \"/etc/pacsaudit-seal/seal.pem\", \"out\": \"/srv/seals/audit.seals\"},\n"
    "   \"lock\": \"/run/pacsaudit/nightly.lock\"}\n"
    "\n"
    "options:\n"
    "  --config FILE   the job's config (required)\n"
    "  --wait          when another run holds the lock, wait for it instead of\n"
    "                  exiting\n"
    "  -h, --help      this text\n"
    "\n"
    "exit status: 0 no new findings, 1 new findings, 2 an error (a bad config, an\n"
    "input that could not be read, another run holding the lock, a seal that could\n"
    "not be made: a bad key, or a chain broken or rewritten), 3 internal error\n");
}

/* Takes the job's lock: an flock on the lock file, released when the
 * process ends however it ends. Returns the fd, or -1 with the reason said. */
static int take_lock(const struct pa_nightly_conf *c, int wait)
{
  int fd = open(c->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  char pid[32];
  int n;

  if (fd < 0) {
    pa_cli_line(stderr, "pacsaudit: %s: lock: %s: %s", c->path, c->lock, strerror(errno));
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB)) {
    if (errno != EWOULDBLOCK || !wait) {
      pa_cli_line(stderr,
                  "pacsaudit: nightly: another run holds the lock %s; not started"
                  " (--wait waits for it)",
                  c->lock);
      close(fd);
      return -1;
    }
    pa_cli_line(stderr, "pacsaudit: nightly: another run holds the lock %s; waiting", c->lock);
    if (flock(fd, LOCK_EX)) {
      pa_cli_line(stderr, "pacsaudit: nightly: lock %s: %s", c->lock, strerror(errno));
      close(fd);
      return -1;
    }
  }
  n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) || write(fd, pid, (size_t)n) != n)
    pa_log(PA_LOG_WARN, "%s: cannot write the pid", c->lock);
  return fd;
}

/* The inputs' globs expanded, then ingest over them. A glob that matches
 * nothing is fine (no rotated file yet); a plain path that is not there
 * is an error naming its key. Returns ingest's exit code, or 2. */
static int run_ingest(const struct pa_nightly_conf *c, const char *tz, int *n_files)
{
  char **argv = NULL;
  size_t argc = 0, cap = 8;
  glob_t g[PA_NIGHTLY_MAX_LIST];
  size_t n_glob = 0;
  int code = PA_EXIT_OK;

  *n_files = 0;
  for (size_t i = 0; i < c->n_inputs; i++) {
    int r = glob(c->inputs[i], 0, NULL, &g[n_glob]);
    if (r == GLOB_NOMATCH) {
      globfree(&g[n_glob]);
      if (!strpbrk(c->inputs[i], "*?[")) {
        pa_cli_line(stderr, "pacsaudit: %s: inputs[%zu]: %s: no such file", c->path, i,
                    c->inputs[i]);
        code = PA_EXIT_INPUT;
      }
      continue;
    }
    if (r) {
      pa_cli_line(stderr, "pacsaudit: %s: inputs[%zu]: %s: cannot be read", c->path, i,
                  c->inputs[i]);
      code = PA_EXIT_INPUT;
      continue;
    }
    cap += g[n_glob].gl_pathc;
    n_glob++;
  }
  if (!(argv = calloc(cap + 1, sizeof *argv))) {
    code = PA_EXIT_INTERNAL;
    goto out;
  }
  argv[argc++] = "ingest";
  argv[argc++] = "--quiet";
  argv[argc++] = "--db";
  argv[argc++] = c->db;
  if (tz) {
    argv[argc++] = "--tz";
    argv[argc++] = (char *)tz;
  }
  for (size_t i = 0; i < n_glob; i++)
    for (size_t j = 0; j < g[i].gl_pathc; j++)
      argv[argc++] = g[i].gl_pathv[j];
  *n_files = (int)(argc - (tz ? 6 : 4));
  if (*n_files) {
    int r;
    optind = 0; /* getopt again, in this process */
    r = pa_cmd_ingest((int)argc, argv);
    if (r > code)
      code = r;
  }
out:
  free(argv);
  for (size_t i = 0; i < n_glob; i++)
    globfree(&g[i]);
  return code;
}

/* What the last ingest run stored (the runs row it wrote). */
static void ingest_counts(pa_store *s, long long *events, long long *quarantined)
{
  sqlite3_stmt *q = NULL;

  *events = *quarantined = 0;
  if (sqlite3_prepare_v2(pa_store_handle(s),
                         "SELECT events, quarantined FROM runs WHERE command = 'ingest'"
                         " ORDER BY id DESC LIMIT 1",
                         -1, &q, NULL) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW) {
    *events = sqlite3_column_int64(q, 0);
    *quarantined = sqlite3_column_int64(q, 1);
  }
  sqlite3_finalize(q);
}

/* Builds the report once and writes it in each configured format to
 * DIR/pacsaudit-DATE.EXT (whole or not at all). *first: the first file
 * written. Returns 0 or an exit code. */
static int write_reports(const struct pa_nightly_conf *c, pa_store *s, const char *date,
                         char *first, size_t first_len)
{
  struct pa_report_opts o = {.lang = c->lang, .policy_path = c->policy};
  struct pa_err err;
  json_t *m = NULL;
  int code = PA_EXIT_OK;

  first[0] = 0;
  pa_err_clear(&err);
  if (pa_report_model_build(s, &o, &m, &err)) {
    pa_cli_line(stderr, "pacsaudit: %s: report: %s", c->db, err.msg);
    return PA_EXIT_INTERNAL;
  }
  for (size_t i = 0; i < c->n_formats && !code; i++) {
    struct pa_cli_out out;
    char path[4000];
    FILE *f;
    int ok;

    snprintf(path, sizeof path, "%s/pacsaudit-%s.%s", c->reports_dir, date, c->format_names[i]);
    if (!(f = pa_cli_out_open(&out, path))) {
      code = PA_EXIT_INPUT;
      break;
    }
    if (!(ok = pa_report_render(m, c->formats[i], f, &err) == PA_OK))
      pa_cli_line(stderr, "pacsaudit: %s: %s", path, err.msg);
    if (pa_cli_out_close(&out, ok))
      code = PA_EXIT_INTERNAL;
    else if (!first[0])
      snprintf(first, first_len, "%s", path);
  }
  json_decref(m);
  return code;
}

/* Today's date in the site's zone, for the reports' names. */
static void local_date(const char *tz_name, char out[11])
{
  char iso[40];

  pa_time_format(pa_time_now(), tz_name ? tz_name : "Asia/Tokyo", iso);
  memcpy(out, iso, 10);
  out[10] = 0;
}

static const char *policy_tz(const char *path, int *bad_out)
{
  static char name[128];
  struct pa_err err;
  pa_policy *p;

  *bad_out = 0;
  if (!path)
    return NULL;
  pa_err_clear(&err);
  if (pa_policy_load(path, &p, &err) != PA_OK) {
    /* check says every error of it; here only that nothing ran */
    pa_cli_line(stderr, "pacsaudit: %s: %s (pacsaudit policy lint %s)", path, err.msg, path);
    *bad_out = 1;
    return NULL;
  }
  snprintf(name, sizeof name, "%s", pa_policy_tz_name(p));
  pa_policy_free(p);
  return name;
}

int pa_cmd_nightly(int argc, char **argv)
{
  static const struct option opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"wait", no_argument, NULL, 'w'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  struct pa_check_args ca = {.format = "text", .pack = 1, .silent = 1};
  struct pa_check_summary sum;
  const char *config_path = NULL, *tz;
  struct pa_nightly_conf c;
  char date[11], report[4096] = "", sealed[128] = "";
  long long events = 0, quarantined = 0;
  uint64_t pruned = 0;
  int ch, wait = 0, lock_fd = -1, files = 0, bad_policy, code, r;
  pa_store *s = NULL;

  while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (ch) {
    case 'c': config_path = optarg; break;
    case 'w': wait = 1; break;
    case 'h': help(stdout); return PA_EXIT_OK;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (optind != argc || !config_path) {
    help(stderr);
    return PA_EXIT_INPUT;
  }
  if (pa_nightly_conf_load(&c, config_path, stderr)) {
    pa_nightly_conf_free(&c);
    return PA_EXIT_INPUT;
  }
  tz = policy_tz(c.policy, &bad_policy);
  if (bad_policy || (lock_fd = take_lock(&c, wait)) < 0) {
    pa_nightly_conf_free(&c);
    return PA_EXIT_INPUT;
  }

  code = run_ingest(&c, tz, &files);
  if (code == PA_EXIT_INTERNAL)
    goto out;

  ca.db_path = c.db;
  ca.policy_path = c.policy;
  for (size_t i = 0; i < c.n_rules; i++)
    ca.site_rules[ca.n_site++] = c.rules[i];
  r = pa_cli_check(&ca, &sum);
  if (r == PA_EXIT_INPUT || r == PA_EXIT_INTERNAL) {
    code = r > code ? r : code;
    goto out;
  }

  if ((r = pa_cli_open_store(c.db, &s))) {
    code = r;
    goto out;
  }
  if (files)
    ingest_counts(s, &events, &quarantined);
  local_date(tz, date);
  if (c.reports_dir && (r = write_reports(&c, s, date, report, sizeof report)) > code)
    code = r;
  if (c.raw_days) {
    int64_t up_to;
    int64_t cut = pa_time_now() - (int64_t)c.raw_days * 86400 * 1000000;
    if (pa_store_raw_prune(s, cut, sum.run_id, &pruned, &up_to)) {
      pa_cli_line(stderr, "pacsaudit: %s: retention: %s", c.db, pa_store_errmsg(s));
      code = PA_EXIT_INTERNAL;
    }
  }
  if (c.seal_key) {
    /* the last step: a seal over everything this run stored (seal opens
     * the database itself) */
    if (pa_store_close(s) && code < PA_EXIT_INPUT)
      code = PA_EXIT_INTERNAL;
    s = NULL;
    r = pa_cli_seal(c.db, c.seal_key, c.seal_out, c.seal_syslog, 1, sealed, sizeof sealed);
    /* a chain that cannot be sealed (broken, rewritten) is no routine
     * finding: the job failed, and stderr says why */
    if (r == PA_EXIT_FINDINGS)
      r = PA_EXIT_INPUT;
    if (r > code)
      code = r;
    if (r)
      snprintf(sealed, sizeof sealed, "NOT sealed (exit %d)", r);
  }
  pa_cli_line(stdout,
              "nightly %s: %d inputs, %lld events, %lld quarantined; %llu new findings, %llu open,"
              " %zu of %zu rules undecidable; %s%s%s; %llu raw messages past retention%s%s",
              date, files, events, quarantined, sum.n_new, sum.n_open, sum.n_undecidable,
              sum.n_rules, report[0] ? "report " : "no report", report,
              c.n_formats > 1 && report[0] ? " (and other formats)" : "",
              (unsigned long long)pruned, sealed[0] ? "; " : "", sealed);
  if (!code && sum.n_new)
    code = PA_EXIT_FINDINGS;
out:
  if (pa_store_close(s) && code < PA_EXIT_INPUT)
    code = PA_EXIT_INTERNAL;
  close(lock_fd);
  pa_nightly_conf_free(&c);
  return code;
}
