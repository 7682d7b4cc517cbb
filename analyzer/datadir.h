/* datadir.h — where the program's own data is: the rule pack, the
 * built-in decoders and the demo data. Every caller asks here; nothing else
 * knows the places.
 *
 * The places, in order:
 *  1. the environment, taken as given: $PACSAUDIT_PACK (the rule pack),
 *     $PACSAUDIT_DECODERS, $PACSAUDIT_DEMO;
 *  2. installed: beside the running binary (/proc/self/exe), at the install
 *     layout's bindir→datadir step, e.g. /usr/bin/pacsaudit reads
 *     /usr/share/pacsaudit/rules and /usr/share/pacsaudit/decoders, wherever
 *     the prefix was moved;
 *  3. a build tree: the file pacsaudit-srcdir beside the running binary,
 *     which CMake writes into the build folder (never installed); its one line
 *     is the source tree, whose rules/pack, collectors/decoders and
 *     fixtures/scenario are used;
 *  4. the configured install folder (CMAKE_INSTALL_FULL_DATADIR/pacsaudit).
 * 2 and 3 count only when the folder exists; otherwise 4 is returned, so an
 * error names where the data should be. No build-tree path is compiled in. */
#ifndef PA_DATADIR_H
#define PA_DATADIR_H

enum pa_data {
  PA_DATA_RULES,    /* the built-in rule pack */
  PA_DATA_DECODERS, /* the built-in syslog decoders */
  PA_DATA_DEMO,     /* the demo data: fixtures/scenario's inputs and policy */
};

/* The folder of what. Static string, valid for the life of the process;
 * computed once (thread-safe). */
const char *pa_datadir(enum pa_data what);

#endif
