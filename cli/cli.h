/* cli.h — the subcommands, one file each, and what they share.
 *
 * Each pa_cmd_* takes the arguments after its name and returns the process
 * exit code: 0 ok, 1 findings, 2 usage or input error, 3 internal error. */
#ifndef PA_CLI_H
#define PA_CLI_H

enum { PA_EXIT_OK = 0, PA_EXIT_FINDINGS = 1, PA_EXIT_INPUT = 2, PA_EXIT_INTERNAL = 3 };

int pa_cmd_ingest(int argc, char **argv);
int pa_cmd_verify(int argc, char **argv);
int pa_cmd_listen(int argc, char **argv);
int pa_cmd_check(int argc, char **argv);
int pa_cmd_rules(int argc, char **argv);
int pa_cmd_policy(int argc, char **argv);
int pa_cmd_report(int argc, char **argv);

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

#endif
