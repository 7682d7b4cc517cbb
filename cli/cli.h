/* cli.h — the subcommands, one file each, and what they share.
 *
 * Each pa_cmd_* takes the arguments after its name and returns the process
 * exit code: 0 ok, 1 findings, 2 usage or input error, 3 internal error. */
#ifndef PA_CLI_H
#define PA_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { PA_EXIT_OK = 0, PA_EXIT_FINDINGS = 1, PA_EXIT_INPUT = 2, PA_EXIT_INTERNAL = 3 };

int pa_cmd_ingest(int argc, char **argv);
int pa_cmd_verify(int argc, char **argv);
int pa_cmd_listen(int argc, char **argv);
int pa_cmd_check(int argc, char **argv);
int pa_cmd_rules(int argc, char **argv);
int pa_cmd_policy(int argc, char **argv);
int pa_cmd_report(int argc, char **argv);
int pa_cmd_findings(int argc, char **argv);
int pa_cmd_review(int argc, char **argv);
int pa_cmd_query(int argc, char **argv);
int pa_cmd_nightly(int argc, char **argv);
int pa_cmd_demo(int argc, char **argv);
int pa_cmd_seal(int argc, char **argv);

/* What `check` runs with (its options), and what it found. */
#define PA_CHECK_MAX_SITE_RULES 16
struct pa_check_args {
  const char *db_path, *policy_path, *since, *until;
  const char *format;                 /* "text" or "json" */
  const char *site_rules[PA_CHECK_MAX_SITE_RULES];
  size_t n_site;
  int pack;                           /* 1: the built-in pack too */
  int quiet;                          /* only the summary line */
  int silent;                         /* nothing on stdout (nightly) */
  int threads;                        /* lanes of the engine; 0: one a CPU */
  int index_only;                     /* --read index: never a full scan for a read */
};
struct pa_check_summary {
  long long run_id;
  unsigned long long n_new, n_open;
  size_t n_rules, n_undecidable;
};
/* Runs check as the options in a say; returns its exit code. *sum is
 * filled when the rules ran. Shared by check and nightly. */
int pa_cli_check(const struct pa_check_args *a, struct pa_check_summary *sum);

/* Prints one line for people: fmt formatted, control bytes escaped
 * (pa_escape_ctl), then a newline (cli/out.c). */
void pa_cli_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reads the time of option opt (ISO 8601; a date is local midnight in zone
 * tz, NULL the default) into *us; 0, or -1 with the error said on stderr.
 * Shared by every command that takes --since / --until. */
int pa_cli_parse_time(const char *opt, const char *t, const char *tz, int64_t *us);

/* A whole decimal number s within [min, max] into *out; 0, or -1 (nothing
 * said: the caller names the option). */
int pa_cli_parse_count(const char *s, long long min, long long max, long long *out);

/* An output file written whole or not at all: to PATH.XXXXXX beside it,
 * then renamed over it (cli/out.c). */
struct pa_cli_out {
  const char *path; /* borrowed for the life of the struct */
  char tmp[4096];
  FILE *f;
};
/* Opens the temporary file: the stream to write, or NULL (said on stderr).
 * The file is mode 0600 (mkstemp): reports hold patient data. */
FILE *pa_cli_out_open(struct pa_cli_out *o, const char *path);
/* ok 1: flush, fsync and rename into place; ok 0: discard. 0 when the file
 * is in place; -1 otherwise (said on stderr; the temporary file is gone). */
int pa_cli_out_close(struct pa_cli_out *o, int ok);

/* The database path: --db, else $PACSAUDIT_DB, else "pacsaudit.db". */
const char *pa_cli_default_db(void);

struct pa_store;

/* Opens the database at db into *s (the caller's, closed with
 * pa_store_close). Returns PA_EXIT_OK; else logs why and returns
 * PA_EXIT_INPUT when the file cannot be used (bad path, not a database, a
 * newer schema, no permission) or PA_EXIT_INTERNAL when memory ran out. */
int pa_cli_open_store(const char *db, struct pa_store **s);
/* The same with pa_store_open_mode's flags (PA_STORE_RDONLY for a command
 * that only reads: a missing file is then an input error, not created). */
int pa_cli_open_store_mode(const char *db, int flags, struct pa_store **s);

/* `verify --deep` (verify_deep.c): re-parses every raw message of s (open,
 * inside a read transaction) into a scratch store with the decoders and
 * zone given (NULL: the built-in ones, the site default) and compares the
 * derived rows; prints each difference. An exit code: 0 all match, 1 a
 * difference, 2 bad decoders, 3 internal error. */
int pa_cli_verify_deep(struct pa_store *s, const char *db, const char *site_decoders,
                       const char *tz);

/* Seals (cli/seal.c, docs/evidence.md). Runs `seal`: checks the chain, signs
 * its head with the key at key_path, appends the line to out_path, copies it
 * into the database and, with use_syslog, to syslog. quiet: no line on
 * stdout; said (said_cap bytes, may be 0) gets a short summary. Returns
 * the exit code. Shared by seal and nightly. */
int pa_cli_seal(const char *db, const char *key_path, const char *out_path, int use_syslog,
                int quiet, char *said, size_t said_cap);

/* The non-empty lines of a seal file, with their line numbers. */
struct pa_cli_seal_line {
  char *text; /* owned, NUL-terminated, no newline */
  size_t len;
  unsigned long lineno;
};
/* Reads path into *out (pa_cli_seal_lines_free). An exit code: 2 with the
 * file (and line) said on stderr when it cannot be read or a line is cut
 * short, too long or binary. */
int pa_cli_seal_lines_read(const char *path, struct pa_cli_seal_line **out, size_t *n_out);
void pa_cli_seal_lines_free(struct pa_cli_seal_line *l, size_t n);

struct pa_seal;
/* Whether the store still holds the prefix seal sealed: 0 yes, 1 no (why
 * says which row and what, in why[cap]), -1 a database error. *after_out:
 * raw rows past the sealed row. Trusts the stored chain_hash of the sealed
 * row: run pa_store_verify_raw first, which proves it is the one the rows
 * up to it compute. */
int pa_cli_seal_match(struct pa_store *s, const struct pa_seal *seal, char *why, size_t cap,
                      long long *after_out);

#endif
