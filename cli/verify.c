/* verify.c — `pacsaudit verify`: proves the raw store is intact.
 *
 * Re-hashes every kept message and re-computes the hash chain; a message
 * changed, removed from the middle or reordered breaks it. */
#include "cli.h"

#include "analyzer/log.h"
#include "analyzer/seal.h"
#include "analyzer/store.h"
#include "analyzer/tm.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void help(FILE *f)
{
  fprintf(f, "usage: pacsaudit verify [--db FILE] [--seals SEALS --pub PUB.pem]\n"
             "                        [--deep [--decoders DIR|FILE] [--tz ZONE]]\n"
             "\n"
             "Checks the hash chain of the raw message store: every message against its\n"
             "SHA-256, and every chain link against the one before it. Messages whose\n"
             "bytes the nightly retention dropped are checked by their chain link.\n"
             "\n"
             "With --seals, also proves every prefix that `pacsaudit seal` sealed into\n"
             "SEALS intact and unshortened (its sealed row is there with the sealed\n"
             "chain_hash and row count), checking each seal's signature with PUB.pem,\n"
             "and says how many rows came after the last seal (docs/evidence.md).\n"
             "\n"
             "With --deep, also re-parses every raw message with today's parsers (the\n"
             "feed that ingest and listen use, into a scratch store in a temporary\n"
             "folder) and compares the events, audit_details, atna_participants and\n"
             "atna_objects rows it yields with those stored for that message: each row\n"
             "added (stored, not yielded), removed (yielded, not stored) or changed\n"
             "(column, stored and re-parsed value) is named. Events of captures (no raw\n"
             "message), rows retention dropped the bytes of, and quarantined messages\n"
             "are counted apart. Give the --decoders and --tz that ingest was given.\n"
             "\n"
             "options:\n"
             "  --db FILE       database (default $PACSAUDIT_DB or ./pacsaudit.db)\n"
             "  --seals FILE    the seal file (with --pub)\n"
             "  --pub FILE      the sealing key's Ed25519 public key, PEM\n"
             "  --deep          also compare the derived rows with a re-parse of raw\n"
             "  --decoders P    site decoders ingest used (with --deep)\n"
             "  --tz ZONE       zone of zone-less syslog times ingest used (with --deep)\n"
             "  -h, --help      this text\n"
             "\n"
             "exit status: 0 the chain and every seal hold (and, with --deep, every derived\n"
             "row matches), 1 tampering found (the first bad row, each seal that fails and\n"
             "each derived row that differs are named), 2 usage error, a database that\n"
             "cannot be opened, a bad key or a bad seal file line (file and line named),\n"
             "3 internal error\n");
}

/* Reads the public key and every line of the seal file; an exit code (2:
 * a bad key, an unreadable file or a line that is not a seal, said with
 * the file and line). */
static int load_seals(const char *seals, const char *pub, pa_seal_key **key,
                      struct pa_cli_seal_line **lines, size_t *n)
{
  struct pa_seal seal;
  struct pa_err err;
  int r;

  pa_err_clear(&err);
  if (pa_seal_key_load_public(pub, key, &err)) {
    pa_cli_line(stderr, "pacsaudit: %s", err.msg);
    return PA_EXIT_INPUT;
  }
  if ((r = pa_cli_seal_lines_read(seals, lines, n)))
    goto fail;
  r = PA_EXIT_INPUT;
  if (!*n) {
    pa_cli_line(stderr, "pacsaudit: %s: holds no seal", seals);
    goto fail;
  }
  for (size_t i = 0; i < *n; i++) {
    pa_err_clear(&err);
    if (pa_seal_parse((*lines)[i].text, (*lines)[i].len, &seal, &err)) {
      pa_cli_line(stderr, "pacsaudit: %s: line %lu: %s", seals, (*lines)[i].lineno, err.msg);
      goto fail;
    }
  }
  return PA_EXIT_OK;
fail:
  pa_seal_key_free(*key);
  *key = NULL;
  pa_cli_seal_lines_free(*lines, *n);
  *lines = NULL;
  *n = 0;
  return r;
}

/* Checks every seal against the store, whose chain verify has walked:
 * bad_id is the first row that broke it (0: none), so a seal past it
 * cannot be trusted to the stored chain_hash. Prints a line per seal that
 * fails and a summary; returns an exit code. */
static int check_seals(pa_store *s, const char *db, const char *path, const pa_seal_key *key,
                       const struct pa_cli_seal_line *l, size_t n, int64_t bad_id)
{
  size_t ok = 0, failed = 0, other_key = 0, skipped = 0;
  int64_t last_id = -1, last_good = 0;
  long long after = 0, a;
  unsigned long last_line = 0;
  struct pa_seal seal;
  struct pa_err err;
  char why[256];
  int m;

  for (size_t i = 0; i < n; i++) {
    pa_err_clear(&err);
    pa_seal_parse(l[i].text, l[i].len, &seal, &err); /* parsed once already */
    if (strcmp(seal.key_id, pa_seal_key_id(key))) {
      other_key++;
      continue;
    }
    if (pa_seal_check(key, &seal, l[i].text)) {
      pa_cli_line(stdout, "%s: line %lu: seal signature does NOT verify: the line was altered",
                  path, l[i].lineno);
      failed++;
      continue;
    }
    if (bad_id && seal.last_id >= bad_id) {
      skipped++; /* the chain is broken below it: said above */
      continue;
    }
    if ((m = pa_cli_seal_match(s, &seal, why, sizeof why, &a)) < 0) {
      pa_log(PA_LOG_ERROR, "%s: %s", db, pa_store_errmsg(s));
      return PA_EXIT_INTERNAL;
    }
    if (m) {
      char when[40];
      pa_time_format(seal.at, NULL, when);
      pa_cli_line(stdout, "%s: seal of %s (%s line %lu) BROKEN: %s", db, when, path,
                  l[i].lineno, why);
      if (seal.last_id > last_good)
        pa_cli_line(stdout, "%s:   the change lies in raw rows %lld to %lld%s", db,
                    (long long)last_good + 1, (long long)seal.last_id,
                    last_good ? " (the seal up to the row before holds)" : "");
      failed++;
      continue;
    }
    if (seal.last_id > last_good)
      last_good = seal.last_id;
    ok++;
    if (seal.last_id >= last_id) {
      last_id = seal.last_id;
      last_line = l[i].lineno;
      after = a;
    }
  }
  if (other_key)
    pa_cli_line(stdout, "%s: %zu seals were made with another key than %s; not checked", path,
                other_key, pa_seal_key_id(key));
  if (skipped)
    pa_cli_line(stdout, "%s: %zu seals past raw row %lld, where the chain breaks, not checked",
                path, skipped, (long long)bad_id);
  if (!ok && !failed && !skipped) {
    pa_cli_line(stderr, "pacsaudit: %s: no seal made with key %s (is %s the right key?)", path,
                pa_seal_key_id(key), "--pub");
    return PA_EXIT_INPUT;
  }
  if (failed)
    pa_cli_line(stdout, "%s: %zu of %zu seals BROKEN", db, failed, ok + failed + skipped);
  else if (ok)
    pa_cli_line(stdout, "%s: %zu seals hold: every sealed prefix is intact and unshortened;"
                        " %lld raw rows came after the last seal (%s line %lu)",
                db, ok, after, path, last_line);
  return failed || skipped ? PA_EXIT_FINDINGS : PA_EXIT_OK;
}

int pa_cmd_verify(int argc, char **argv)
{
  static const struct option opts[] = {
    {"db", required_argument, NULL, 'd'},
    {"seals", required_argument, NULL, 's'},
    {"pub", required_argument, NULL, 'p'},
    {"deep", no_argument, NULL, 'D'},
    {"decoders", required_argument, NULL, 'c'},
    {"tz", required_argument, NULL, 'z'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *db = pa_cli_default_db(), *seals = NULL, *pub = NULL;
  const char *decoders = NULL, *tz = NULL;
  int deep = 0;
  struct pa_cli_seal_line *lines = NULL;
  size_t n_lines = 0;
  pa_seal_key *key = NULL;
  struct pa_err err;
  pa_store *s;
  uint64_t n;
  int64_t bad, kept_to, kept_at;
  pa_rc rc;
  int c, r;

  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'd': db = optarg; break;
    case 's': seals = optarg; break;
    case 'p': pub = optarg; break;
    case 'D': deep = 1; break;
    case 'c': decoders = optarg; break;
    case 'z': tz = optarg; break;
    case 'h': help(stdout); return PA_EXIT_OK;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (optind != argc || !seals != !pub || (!deep && (decoders || tz))) {
    help(stderr);
    return PA_EXIT_INPUT;
  }
  pa_err_clear(&err);
  /* the seals first: a bad key or line is bad input, whatever the store holds */
  if (seals && (r = load_seals(seals, pub, &key, &lines, &n_lines)))
    return r;
  /* a reader: a typo in --db must not leave an empty database behind */
  if ((r = pa_cli_open_store_mode(db, PA_STORE_RDONLY, &s))) {
    pa_seal_key_free(key);
    pa_cli_seal_lines_free(lines, n_lines);
    return r;
  }
  /* the chain and the seals from one snapshot */
  if (pa_store_read_begin(s)) {
    pa_log(PA_LOG_ERROR, "%s: %s", db, pa_store_errmsg(s));
    pa_store_close(s);
    pa_seal_key_free(key);
    pa_cli_seal_lines_free(lines, n_lines);
    return PA_EXIT_INTERNAL;
  }
  rc = pa_store_verify_raw(s, &n, &bad, &err);
  if (rc == PA_OK && (rc = pa_store_raw_retention(s, &kept_to, &kept_at)) == PA_OK) {
    pa_cli_line(stdout, "%s: raw store intact: %llu messages, hash chain verified", db,
                (unsigned long long)n);
    if (kept_to) {
      char when[40];
      pa_time_format(kept_at, NULL, when);
      pa_cli_line(stdout, "%s: rows up to id %lld are kept by their hash only (retention, %s)", db,
                  (long long)kept_to, when);
    }
  } else if (rc == PA_MALFORMED)
    pa_cli_line(stdout, "%s: raw store BROKEN after %llu good messages: %s", db,
                (unsigned long long)n, err.msg);
  else
    pa_log(PA_LOG_ERROR, "%s: %s", db, pa_store_errmsg(s));
  r = rc == PA_OK ? PA_EXIT_OK : rc == PA_MALFORMED ? PA_EXIT_FINDINGS : PA_EXIT_INTERNAL;
  if (seals && r != PA_EXIT_INTERNAL) {
    int sr = check_seals(s, db, seals, key, lines, n_lines, rc == PA_OK ? 0 : bad);
    if (sr > r)
      r = sr;
  }
  if (deep && r != PA_EXIT_INTERNAL) {
    int dr = pa_cli_verify_deep(s, db, decoders, tz);
    if (dr > r)
      r = dr;
  }
  pa_store_read_end(s);
  pa_store_close(s);
  pa_seal_key_free(key);
  pa_cli_seal_lines_free(lines, n_lines);
  return r;
}
