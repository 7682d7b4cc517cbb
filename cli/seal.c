/* seal.c — `pacsaudit seal`: appends a signed checkpoint of the raw hash
 * chain to a seal file kept away from the database (docs/evidence.md), a
 * copy to the database's seals table, and optionally a line to syslog.
 * Also the seal file reader that `verify --seals` shares. */
#include "cli.h"

#include "analyzer/log.h"
#include "analyzer/seal.h"
#include "analyzer/store.h"
#include "analyzer/store_seal.h"
#include "analyzer/tm.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

static void help(FILE *f)
{
  fprintf(f,
          "usage: pacsaudit seal --key KEY.pem --out SEALS [--db FILE] [--syslog]\n"
          "\n"
          "Checks the raw store's hash chain, then appends one signed line to SEALS:\n"
          "the chain's head (last raw id and its chain_hash), the row count and the\n"
          "time, signed with the Ed25519 private key KEY.pem (openssl genpkey\n"
          "-algorithm ed25519). A copy goes into the database (table seals). Keep\n"
          "the key and SEALS where the database's administrators cannot write\n"
          "(docs/evidence.md); `pacsaudit verify --seals SEALS --pub PUB.pem` then\n"
          "proves every sealed prefix intact and unshortened.\n"
          "\n"
          "options:\n"
          "  --db FILE    database (default $PACSAUDIT_DB or ./pacsaudit.db)\n"
          "  --key FILE   the Ed25519 private key, PEM\n"
          "  --out FILE   the seal file to append to (created 0640 if missing)\n"
          "  --syslog     also log the seal line to syslog (facility authpriv)\n"
          "  -h, --help   this text\n"
          "\n"
          "exit status: 0 sealed, 1 the chain is broken or no longer matches the\n"
          "last seal in SEALS (nothing sealed), 2 bad input (key, seal file,\n"
          "database), 3 internal error\n");
}

void pa_cli_seal_lines_free(struct pa_cli_seal_line *l, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(l[i].text);
  free(l);
}

int pa_cli_seal_lines_read(const char *path, struct pa_cli_seal_line **out, size_t *n_out)
{
  struct pa_cli_seal_line *l = NULL;
  size_t n = 0, cap = 0, linecap = 0;
  unsigned long lineno = 0;
  char *buf = NULL;
  ssize_t len;
  FILE *f;

  *out = NULL;
  *n_out = 0;
  if (!(f = fopen(path, "r"))) {
    pa_cli_line(stderr, "pacsaudit: %s: %s", path, strerror(errno));
    return PA_EXIT_INPUT;
  }
  while ((len = getline(&buf, &linecap, f)) >= 0) {
    lineno++;
    if (len > 0 && buf[len - 1] == '\n')
      buf[--len] = '\0';
    else if (len > 0) {
      pa_cli_line(stderr, "pacsaudit: %s: line %lu: cut short (no newline): a seal being"
                          " written, or a damaged file", path, lineno);
      goto bad;
    }
    if (len == 0)
      continue;
    if ((size_t)len >= PA_SEAL_LINE_MAX || memchr(buf, '\0', (size_t)len)) {
      pa_cli_line(stderr, "pacsaudit: %s: line %lu: not a seal (too long or binary)", path,
                  lineno);
      goto bad;
    }
    if (n == cap) {
      size_t nc = cap ? 2 * cap : 64;
      struct pa_cli_seal_line *nl = realloc(l, nc * sizeof *nl);
      if (!nl)
        goto nomem;
      l = nl;
      cap = nc;
    }
    if (!(l[n].text = strdup(buf)))
      goto nomem;
    l[n].len = (size_t)len;
    l[n].lineno = lineno;
    n++;
  }
  if (ferror(f)) {
    pa_cli_line(stderr, "pacsaudit: %s: %s", path, strerror(errno));
    goto bad;
  }
  fclose(f);
  free(buf);
  *out = l;
  *n_out = n;
  return PA_EXIT_OK;
nomem:
  pa_log(PA_LOG_ERROR, "out of memory");
  fclose(f);
  free(buf);
  pa_cli_seal_lines_free(l, n);
  return PA_EXIT_INTERNAL;
bad:
  fclose(f);
  free(buf);
  pa_cli_seal_lines_free(l, n);
  return PA_EXIT_INPUT;
}

int pa_cli_seal_match(pa_store *s, const struct pa_seal *seal, char *why, size_t cap,
                      long long *after_out)
{
  uint8_t chain[PA_SHA256_LEN];
  int64_t rows, after;
  int found;

  why[0] = '\0';
  if (pa_store_raw_at(s, seal->last_id, &found, chain, &rows, &after))
    return -1;
  *after_out = after;
  if (seal->last_id == 0)
    return 0; /* an empty store: every prefix of anything holds it */
  if (!found) {
    snprintf(why, cap,
             "raw row %lld, the last one sealed, is gone: raw was shortened or rows were"
             " deleted (%lld rows up to it now, %lld sealed)",
             (long long)seal->last_id, (long long)rows, (long long)seal->rows);
    return 1;
  }
  if (memcmp(chain, seal->head, PA_SHA256_LEN)) {
    snprintf(why, cap,
             "raw row %lld: chain_hash differs from the sealed head: a row up to it was"
             " changed, added or removed, and the chain recomputed after the seal",
             (long long)seal->last_id);
    return 1;
  }
  if (rows != seal->rows) {
    snprintf(why, cap, "raw holds %lld rows up to row %lld, the seal says %lld",
             (long long)rows, (long long)seal->last_id, (long long)seal->rows);
    return 1;
  }
  return 0;
}

/* The last seal of path made with k, if path exists and holds one, must
 * still match the store: a seal over a chain rewritten since would bless
 * the rewrite. Returns an exit code. */
static int check_last_seal(pa_store *s, const char *db, const char *path, const pa_seal_key *k)
{
  struct pa_cli_seal_line *l = NULL;
  struct pa_seal seal;
  struct pa_err err;
  char why[256];
  long long after;
  size_t n = 0;
  int r, m;

  if (access(path, F_OK) && errno == ENOENT)
    return PA_EXIT_OK;
  if ((r = pa_cli_seal_lines_read(path, &l, &n)))
    return r;
  r = PA_EXIT_OK;
  for (size_t i = n; i-- > 0;) {
    pa_err_clear(&err);
    if (pa_seal_parse(l[i].text, l[i].len, &seal, &err)) {
      pa_cli_line(stderr, "pacsaudit: %s: line %lu: %s", path, l[i].lineno, err.msg);
      r = PA_EXIT_INPUT;
      break;
    }
    if (strcmp(seal.key_id, pa_seal_key_id(k)))
      continue; /* another key's seal (a key rotated): not ours to check */
    if (pa_seal_check(k, &seal, l[i].text)) {
      pa_cli_line(stderr, "pacsaudit: %s: line %lu: the signature does not verify: the line"
                          " was altered", path, l[i].lineno);
      r = PA_EXIT_FINDINGS;
      break;
    }
    if ((m = pa_cli_seal_match(s, &seal, why, sizeof why, &after)) < 0) {
      pa_log(PA_LOG_ERROR, "%s: %s", db, pa_store_errmsg(s));
      r = PA_EXIT_INTERNAL;
    } else if (m) {
      pa_cli_line(stderr, "pacsaudit: %s: no longer matches the seal of %s line %lu: %s;"
                          " not sealed (run pacsaudit verify)", db, path, l[i].lineno, why);
      r = PA_EXIT_FINDINGS;
    }
    break;
  }
  pa_cli_seal_lines_free(l, n);
  return r;
}

/* Appends line and a newline to path in one write, then fsyncs it. */
static int append_line(const char *path, const char *line)
{
  size_t len = strlen(line);
  char buf[PA_SEAL_LINE_MAX + 1];
  int fd, ok;

  memcpy(buf, line, len);
  buf[len++] = '\n';
  if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0) {
    pa_cli_line(stderr, "pacsaudit: %s: %s", path, strerror(errno));
    return -1;
  }
  ok = write(fd, buf, len) == (ssize_t)len && fsync(fd) == 0;
  if (!ok)
    pa_cli_line(stderr, "pacsaudit: %s: %s", path, strerror(errno));
  if (close(fd) && ok) {
    pa_cli_line(stderr, "pacsaudit: %s: %s", path, strerror(errno));
    ok = 0;
  }
  return ok ? 0 : -1;
}

int pa_cli_seal(const char *db, const char *key_path, const char *out_path, int use_syslog,
                int quiet, char *said, size_t said_cap)
{
  char line[PA_SEAL_LINE_MAX], head_hex[2 * PA_SHA256_LEN + 1];
  struct pa_seal seal;
  struct pa_err err;
  pa_seal_key *k = NULL;
  pa_store *s = NULL;
  uint64_t n;
  int64_t bad;
  pa_rc rc;
  int r;

  if (said_cap)
    said[0] = '\0';
  pa_err_clear(&err);
  if ((rc = pa_seal_key_load_private(key_path, &k, &err))) {
    pa_cli_line(stderr, "pacsaudit: %s", err.msg);
    return rc == PA_NOMEM ? PA_EXIT_INTERNAL : PA_EXIT_INPUT;
  }
  {
    struct stat st;
    if (stat(key_path, &st) == 0 && (st.st_mode & 077))
      pa_cli_line(stderr, "pacsaudit: %s: warning: the sealing key is readable by others"
                          " (chmod 600; docs/evidence.md)", key_path);
  }
  /* read-write only to add the copy; a missing database is an error */
  if ((r = pa_cli_open_store_mode(db, PA_STORE_NOCREATE, &s)))
    goto out;
  memset(&seal, 0, sizeof seal);
  /* the head and the check of the chain up to it from one snapshot */
  if (pa_store_read_begin(s)) {
    r = PA_EXIT_INTERNAL;
    pa_log(PA_LOG_ERROR, "%s: %s", db, pa_store_errmsg(s));
    goto out;
  }
  rc = pa_store_raw_head(s, &seal.last_id, &seal.rows, seal.head);
  if (rc == PA_OK || rc == PA_MALFORMED)
    rc = pa_store_verify_raw(s, &n, &bad, &err);
  if (rc == PA_OK)
    r = check_last_seal(s, db, out_path, k);
  else
    r = rc == PA_MALFORMED ? PA_EXIT_FINDINGS : PA_EXIT_INTERNAL;
  if (rc == PA_MALFORMED)
    pa_cli_line(stderr, "pacsaudit: %s: raw store BROKEN after %llu good messages: %s;"
                        " not sealed", db, (unsigned long long)n, err.msg);
  else if (rc)
    pa_log(PA_LOG_ERROR, "%s: %s", db, pa_store_errmsg(s));
  if (pa_store_read_end(s) && !r)
    r = PA_EXIT_INTERNAL;
  if (r)
    goto out;
  seal.at = pa_time_now();
  if ((rc = pa_seal_sign(k, &seal, line, sizeof line))) {
    pa_log(PA_LOG_ERROR, "signing failed: %s", pa_strerror(rc));
    r = PA_EXIT_INTERNAL;
    goto out;
  }
  if (append_line(out_path, line)) {
    r = PA_EXIT_INPUT;
    goto out;
  }
  if (pa_store_put_seal(s, seal.at, seal.last_id, seal.rows, seal.head, seal.key_id, line,
                        out_path)) {
    /* the seal file, which is what counts, has it: say so and go on */
    pa_log(PA_LOG_ERROR, "%s: the seal is in %s but its copy in the database failed: %s", db,
           out_path, pa_store_errmsg(s));
    r = PA_EXIT_INTERNAL;
  }
  if (use_syslog) {
    openlog("pacsaudit", LOG_PID, LOG_AUTHPRIV);
    syslog(LOG_NOTICE, "%s", line);
    closelog();
  }
  pa_hex(seal.head, 8, head_hex);
  if (said_cap)
    snprintf(said, said_cap, "sealed %lld raw rows up to id %lld", (long long)seal.rows,
             (long long)seal.last_id);
  if (!quiet)
    pa_cli_line(stdout, "%s: sealed %lld raw rows up to id %lld (head %s…, key %s) into %s", db,
                (long long)seal.rows, (long long)seal.last_id, head_hex, seal.key_id, out_path);
out:
  if (pa_store_close(s) && !r)
    r = PA_EXIT_INTERNAL;
  pa_seal_key_free(k);
  return r;
}

int pa_cmd_seal(int argc, char **argv)
{
  static const struct option opts[] = {
    {"db", required_argument, NULL, 'd'},
    {"key", required_argument, NULL, 'k'},
    {"out", required_argument, NULL, 'o'},
    {"syslog", no_argument, NULL, 's'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *db = pa_cli_default_db(), *key = NULL, *out = NULL;
  int c, use_syslog = 0;

  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'd': db = optarg; break;
    case 'k': key = optarg; break;
    case 'o': out = optarg; break;
    case 's': use_syslog = 1; break;
    case 'h': help(stdout); return PA_EXIT_OK;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (optind != argc || !key || !out) {
    help(stderr);
    return PA_EXIT_INPUT;
  }
  return pa_cli_seal(db, key, out, use_syslog, 0, NULL, 0);
}
