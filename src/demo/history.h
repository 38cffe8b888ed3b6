/*
 * history.h — the demo city's synthetic case history: years of closed cases
 * up to a given moment, so that the statistics show something to compare.
 *
 * Deterministic for a seed: categories with realistic shares taken from the
 * classification config (police matters about 60 %, diverted ones about
 * 40 %), places drawn from the governance grids (urban districts weighted up)
 * and located with the area index, a yearly decline (theft and fraud falling
 * faster), a weekly rhythm (government matters drop at weekends, night-life
 * matters rise) and a daily one (night peaks for fights and noise, office
 * hours for referrals, rush hours for traffic). Sources 110, 12345, app and
 * walk_in.
 *
 * Historical cases have no report and no history line (store/store.h,
 * store_history_load); their source, type, department and status say what
 * they were.
 */
#ifndef SAFEGRID_DEMO_HISTORY_H
#define SAFEGRID_DEMO_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "model/area.h"
#include "rules/classify.h"
#include "store/store.h"

struct demo_history_params {
	uint64_t seed;
	int64_t end;          /* Unix seconds: the history covers the days before this moment */
	int days;             /* local days (UTC+8) ending with end's day; 1..4000 */
	double per_day;       /* mean cases per day over the last year */
	double yearly_change; /* overall, e.g. -0.06; categories deviate around it */
};

/* Three years (1,096 days) up to end, about 2.2 million cases, -6 % a year. */
void demo_history_params_default(struct demo_history_params *p, uint64_t seed, int64_t end);

struct demo_history;

/*
 * Prepares a generator over the areas of set (ids assigned, i.e. stored;
 * at least one governance grid) with the categories and routing of cfg
 * (NULL: the shipped classify.json). Builds an area index (under a second
 * for the demo city). set and cfg are borrowed until demo_history_free.
 * *out set on success; caller frees with demo_history_free.
 */
int demo_history_new(const struct area_set *set, const struct classify_config *cfg,
		     const struct demo_history_params *p, struct demo_history **out);
void demo_history_free(struct demo_history *h);

/* The string tables the generated cases index into; borrowed from h. */
const struct store_history_tables *demo_history_tables(const struct demo_history *h);

/*
 * The next up to cap cases, oldest day first; *n == 0 once the history is
 * exhausted. A store_history_fn (ctx is the generator).
 */
int demo_history_next(void *h, struct store_history_case *out, size_t cap, size_t *n);

/*
 * Generates the default history up to end for the demo city in set and
 * loads it into s (one transaction). *ncases (may be NULL) gets the number of
 * cases loaded.
 */
int demo_history_load(struct store *s, const struct area_set *set, uint64_t seed, int64_t end,
		      size_t *ncases);

#endif
