/*
 * cli.h — the safegrid command line: one function per command, and the
 * set-up steps they share. main.c only dispatches.
 *
 * Every command takes argc/argv after its own name, prints its errors to
 * stderr, and returns the process exit code (0 success, 1 failure, 2 usage).
 */
#ifndef SAFEGRID_CLI_CLI_H
#define SAFEGRID_CLI_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

int cli_serve(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_import(int argc, char **argv);
/* `import people FILE.csv --db FILE` (argv starts at "people"). */
int cli_import_people(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_coord(int argc, char **argv);

/*
 * Recomputes the grid fusion (双网融合) from the stored police and
 * governance grids and replaces the stored mapping.
 */
int cli_fusion_refresh(struct store *s, uint64_t *nsplit);

/*
 * Fills an empty store with the demo city for seed and the demo accounts,
 * and, with history, the three years of synthetic cases up to now (about a
 * minute). Refuses (SG_ECONFLICT) if the store already holds areas.
 */
int cli_demo_fill(struct store *s, uint64_t seed, bool history);

struct app;
struct cli_simulator;

/*
 * Starts the demo city's simulator (serve --demo --simulate RATE): reports
 * at rate_per_min on average, shaped by the hour of day; units patrol, are
 * dispatched by the policy, acknowledge, arrive, clear. app is borrowed
 * until cli_simulator_stop, which must come before the HTTP server and the
 * store stop. *out set on success.
 */
int cli_simulator_start(struct app *app, double rate_per_min, uint64_t seed,
			struct cli_simulator **out);
/* Stops the simulator's thread and frees it. NULL does nothing. */
void cli_simulator_stop(struct cli_simulator *sim);

/* The demo accounts, printed by serve --demo and demo. */
void cli_demo_print_accounts(void);

/*
 * Finds "--name value" in argv; returns the value or NULL. A flag without a
 * value (e.g. --demo) is found with cli_flag.
 */
const char *cli_opt(int argc, char **argv, const char *name);
int cli_flag(int argc, char **argv, const char *name);
/* Refuses options not in the NULL-terminated list (prints which); 0 if all known. */
int cli_check_opts(int argc, char **argv, const char *const *known_with_value,
		   const char *const *known_flags);

#endif
