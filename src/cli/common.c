/* common.c — option parsing and the set-up steps commands share. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "base/err.h"
#include "base/log.h"
#include "demo/city.h"
#include "demo/forces.h"
#include "demo/history.h"
#include "geo/fusion.h"

const char *cli_opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i + 1 < argc; i++) {
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	}
	return NULL;
}

int cli_flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], name) == 0)
			return 1;
	}
	return 0;
}

static int in_list(const char *s, const char *const *list)
{
	for (; list && *list; list++) {
		if (strcmp(s, *list) == 0)
			return 1;
	}
	return 0;
}

int cli_check_opts(int argc, char **argv, const char *const *with_value,
		   const char *const *flags)
{
	for (int i = 0; i < argc; i++) {
		if (in_list(argv[i], with_value)) {
			if (i + 1 >= argc) {
				fprintf(stderr, "safegrid: %s needs a value\n", argv[i]);
				return 2;
			}
			i++;
		} else if (!in_list(argv[i], flags)) {
			fprintf(stderr, "safegrid: unknown option or argument \"%s\"\n", argv[i]);
			return 2;
		}
	}
	return 0;
}

int cli_fusion_refresh(struct store *s, uint64_t *nsplit)
{
	struct area_set set;
	struct fusion_input *police = NULL, *gov = NULL;
	struct fusion_row *rows = NULL;
	size_t np = 0, ng = 0;
	int rc;

	area_set_init(&set);
	if ((rc = store_areas_load(s, &set)))
		goto out;
	police = malloc((set.n + 1) * sizeof *police);
	gov = malloc((set.n + 1) * sizeof *gov);
	if (!police || !gov) {
		rc = SG_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < set.n; i++) {
		struct fusion_input in = { set.v[i].id, &set.v[i].geom };
		if (set.v[i].kind == AREA_POLICE_GRID)
			police[np++] = in;
		else if (set.v[i].kind == AREA_GOV_GRID)
			gov[ng++] = in;
	}
	if ((rc = fusion_compute(police, np, gov, ng, &rows)))
		goto out;
	if ((rc = store_fusion_replace(s, rows, ng)))
		goto out;
	if (nsplit) {
		*nsplit = 0;
		for (size_t i = 0; i < ng; i++)
			*nsplit += rows[i].split != 0;
	}
out:
	free(rows);
	free(police);
	free(gov);
	area_set_release(&set);
	return rc;
}

struct demo_account {
	const char *name, *role, *password;
	const char *scope_code;  /* NULL: see scope_kind */
	enum area_kind scope_kind; /* first area of this kind under 姑苏区 */
};

/* Demonstration accounts only: their passwords are printed and documented. */
static const struct demo_account demo_accounts[] = {
	{ "admin", "admin", "safegrid-admin", "320500", AREA_CITY },
	{ "commander", "commander", "safegrid-demo", "320500", AREA_CITY },
	{ "gusu", "commander", "safegrid-demo", "320508", AREA_DISTRICT },
	{ "officer", "station_officer", "safegrid-demo", NULL, AREA_STATION },
	{ "gridworker", "grid_worker", "safegrid-demo", NULL, AREA_GOV_GRID },
	{ "analyst", "analyst", "safegrid-demo", "320500", AREA_CITY },
};

void cli_demo_print_accounts(void)
{
	printf("demo accounts (name / password / role / scope):\n");
	for (size_t i = 0; i < sizeof demo_accounts / sizeof demo_accounts[0]; i++) {
		const struct demo_account *a = &demo_accounts[i];
		printf("  %-11s %-15s %-16s %s\n", a->name, a->password, a->role,
		       a->scope_code ? a->scope_code
				     : a->scope_kind == AREA_STATION ? "first station of 姑苏区"
								     : "first governance grid of 姑苏区");
	}
}

/* The first area of kind whose ancestors include the district with code dcode. */
static int64_t first_under(const struct area_set *set, enum area_kind kind, const char *dcode)
{
	for (size_t i = 0; i < set->n; i++) {
		long p = set->v[i].parent_idx;
		if (set->v[i].kind != kind)
			continue;
		while (p >= 0 && strcmp(set->v[p].code, dcode) != 0)
			p = set->v[p].parent_idx;
		if (p >= 0)
			return set->v[i].id;
	}
	return 0;
}

static void demo_progress(void *ctx, size_t done, size_t expected)
{
	(void)ctx;
	(void)done;
	(void)expected;
}

int cli_demo_fill(struct store *s, uint64_t seed, bool history)
{
	struct area_set set;
	size_t n = 0;
	uint64_t nsplit = 0;
	int rc;

	if ((rc = store_areas_count(s, &n)))
		return rc;
	if (n)
		return SG_ECONFLICT;
	area_set_init(&set);
	SG_LOG(SG_LOG_INFO, "msg=\"building the demo city\" seed=%llu", (unsigned long long)seed);
	if ((rc = demo_city_build(seed, &set, demo_progress, NULL)))
		goto out;
	if ((rc = store_areas_insert(s, &set)))
		goto out;
	if ((rc = cli_fusion_refresh(s, &nsplit)))
		goto out;
	SG_LOG(SG_LOG_INFO, "msg=\"demo city stored\" areas=%zu split_grids=%llu", set.n,
	       (unsigned long long)nsplit);
	for (size_t i = 0; i < sizeof demo_accounts / sizeof demo_accounts[0]; i++) {
		const struct demo_account *a = &demo_accounts[i];
		struct store_user u;
		int64_t scope = 0;
		memset(&u, 0, sizeof u);
		if (a->scope_code) {
			if ((rc = store_area_find_code(s, a->scope_code, &scope, NULL)))
				goto out;
		} else {
			scope = first_under(&set, a->scope_kind, "320508");
		}
		snprintf(u.name, sizeof u.name, "%s", a->name);
		snprintf(u.role, sizeof u.role, "%s", a->role);
		if ((rc = auth_password_hash(a->password, u.pw_hash)))
			goto out;
		u.scope = &scope;
		u.nscope = scope ? 1 : 0;
		if ((rc = store_user_add(s, &u, NULL)))
			goto out;
	}
	{
		struct demo_forces_counts fc;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		if ((rc = demo_forces_load(s, &set, seed,
					   (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, &fc)))
			goto out;
		SG_LOG(SG_LOG_INFO, "msg=\"demo forces stored\" orgs=%zu people=%zu units=%zu", fc.orgs,
		       fc.people, fc.units);
	}
	if (history) {
		size_t ncases = 0;
		SG_LOG(SG_LOG_INFO, "msg=\"loading three years of demo history\"");
		if ((rc = demo_history_load(s, &set, seed, (int64_t)time(NULL), &ncases)))
			goto out;
		SG_LOG(SG_LOG_INFO, "msg=\"demo history stored\" cases=%zu", ncases);
	}
out:
	area_set_release(&set);
	return rc;
}
