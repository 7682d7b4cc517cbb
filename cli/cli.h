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

/* The database path: --db, else $PACSAUDIT_DB, else "pacsaudit.db". */
const char *pa_cli_default_db(void);

#endif
