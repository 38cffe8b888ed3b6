/*
 * city_gov.c — the demo city's governance layers: streets and towns, and
 * communities and villages, with their real codes and names as Voronoi
 * pieces of their parents, and the synthetic governance grids of each
 * community ("华盛社区第3网格").
 *
 * Not the police layers (city_police.c), which are drawn independently of
 * these. Exports (city_internal.h) demo__build_streets,
 * demo__build_communities and demo__build_gov_grids.
 */
#include "demo/city_internal.h"

#include <stdbool.h>
#include <stdio.h>

#include "base/err.h"

/* Share of a township's villages that are 社区 (urban). */
static double township_urban_share(const struct demo__build *b, const struct demo__division *t)
{
	size_t shequ = 0;

	for (size_t v = 0; v < t->nchildren; v++)
		shequ += demo__village_is_shequ(&b->div.v[t->first_child + (long)v]);
	return t->nchildren ? (double)shequ / (double)t->nchildren : 0.0;
}

/*
 * Streets and towns: each county's real townships as Voronoi pieces of it.
 * In counties that have towns (镇), a township is drawn near the urban core
 * with probability its share of 社区, so 街道 come out small and central and
 * towns large; in all-urban counties every seed is uniform.
 */
int demo__build_streets(struct demo__build *b, struct demo__scratch *s)
{
	int rc = SG_OK;

	for (size_t c = 0; rc == SG_OK && c < b->ncounties; c++) {
		const struct demo__division *county = &b->div.v[b->county_first + (long)c];
		struct demo__core core;
		bool has_towns = false, use_core;

		for (size_t t = 0; t < county->nchildren; t++)
			has_towns |=
			    demo__township_is_town(&b->div.v[county->first_child + (long)t]);
		use_core = has_towns && demo__county_core(b, county, &core);
		rc = demo__scratch_reserve(s, county->nchildren);
		if (rc != SG_OK)
			break;
		for (size_t t = 0; t < county->nchildren; t++)
			s->p_core[t] = township_urban_share(b, &b->div.v[county->first_child + (long)t]);
		rc = demo__split_area(b, county->area_idx, county->nchildren, DEMO_STREAM_STREETS,
				      use_core ? &core : NULL, s->p_core, false, s->seeds,
				      s->cells);
		for (size_t t = 0; rc == SG_OK && t < county->nchildren; t++) {
			struct demo__division *tw = &b->div.v[county->first_child + (long)t];
			rc = area_set_push(b->out, AREA_STREET, tw->code, tw->name, county->area_idx, 0,
					   &s->cells[t], NULL);
			tw->area_idx = (long)(b->out->n - 1);
		}
		demo__report(b, false);
	}
	return rc;
}

/* Communities and villages: each township's real villages as uniform Voronoi pieces of it. */
int demo__build_communities(struct demo__build *b, struct demo__scratch *s)
{
	int rc = SG_OK;

	for (size_t i = 0; rc == SG_OK && i < b->div.n; i++) {
		const struct demo__division *tw = &b->div.v[i];

		if (tw->level != DEMO_DIV_TOWNSHIP || tw->nchildren == 0)
			continue;
		rc = demo__scratch_reserve(s, tw->nchildren);
		if (rc == SG_OK)
			rc = demo__split_area(b, tw->area_idx, tw->nchildren,
					      DEMO_STREAM_COMMUNITIES, NULL, NULL, false, s->seeds,
					      s->cells);
		for (size_t v = 0; rc == SG_OK && v < tw->nchildren; v++) {
			struct demo__division *vi = &b->div.v[tw->first_child + (long)v];
			rc = area_set_push(b->out, AREA_COMMUNITY, vi->code, vi->name, tw->area_idx, 0,
					   &s->cells[v], NULL);
			vi->area_idx = (long)(b->out->n - 1);
		}
		demo__report(b, false);
	}
	return rc;
}

/*
 * Governance grids: "<community>第N网格" (the community without its
 * committee: 华盛社区第3网格), code = community code + 3 digits, numbered
 * north to south.
 */
int demo__build_gov_grids(struct demo__build *b, struct demo__scratch *s)
{
	char name[256], base[192], code[AREA_CODE_MAX];
	int rc = SG_OK;

	for (size_t i = 0; rc == SG_OK && i < b->div.n; i++) {
		const struct demo__division *vi = &b->div.v[i];

		if (vi->level != DEMO_DIV_VILLAGE)
			continue;
		rc = demo__scratch_reserve(s, vi->ngrids);
		if (rc == SG_OK)
			rc = demo__split_area(b, vi->area_idx, vi->ngrids, DEMO_STREAM_GOV_GRIDS,
					      NULL, NULL, true, s->seeds, s->cells);
		demo__community_short_name(vi->name, base, sizeof base);
		for (unsigned g = 0; rc == SG_OK && g < vi->ngrids; g++) {
			int k1 = snprintf(name, sizeof name, "%s第%u网格", base, g + 1);
			int k2 = snprintf(code, sizeof code, "%s%03u", vi->code, g + 1);
			if (k1 < 0 || (size_t)k1 >= sizeof name || k2 < 0 || (size_t)k2 >= sizeof code)
				rc = SG_EINTERNAL;
			else
				rc = area_set_push(b->out, AREA_GOV_GRID, code, name, vi->area_idx, 0,
						   &s->cells[g], NULL);
		}
		demo__report(b, false);
	}
	return rc;
}
