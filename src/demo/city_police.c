/*
 * city_police.c — the demo city's police layers: about 100 station areas,
 * apportioned to counties and named after the street or town they lie in
 * ("平江派出所"), and about 1,900 police grids apportioned to the stations
 * ("平江派出所第3警务网格").
 *
 * Not the governance layers (city_gov.c): the two are drawn independently,
 * and a station's boundary follows no street's. Exports (city_internal.h)
 * demo__build_police only.
 */
#include "demo/city_internal.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* No station gets fewer police grids than this. */
#define DEMO_MIN_GRIDS_PER_STATION 4

/*
 * Splits total into n shares proportional to w (largest remainder, ties to
 * the lower index), each at least min_each; total must be at least
 * n * min_each.
 */
static int apportion(const double *w, size_t n, unsigned total, unsigned min_each, unsigned *out)
{
	double sum = 0, *rem;
	unsigned left, given = 0;

	if (n == 0 || total < (unsigned)n * min_each)
		return SG_EINVAL;
	left = total - (unsigned)n * min_each;
	rem = malloc(n * sizeof *rem);
	if (!rem)
		return SG_ENOMEM;
	for (size_t i = 0; i < n; i++)
		sum += w[i];
	for (size_t i = 0; i < n; i++) {
		double exact = sum > 0 ? left * w[i] / sum : (double)left / (double)n;
		out[i] = (unsigned)exact;
		rem[i] = exact - out[i];
		given += out[i];
	}
	while (given < left) {
		size_t best = 0;
		for (size_t i = 1; i < n; i++)
			if (rem[i] > rem[best])
				best = i;
		out[best]++;
		rem[best] = -1.0;
		given++;
	}
	for (size_t i = 0; i < n; i++)
		out[i] += min_each;
	free(rem);
	return SG_OK;
}

/* A county's police weight: population-ish, 社区 count 1, 村 and others 0.5. */
static double county_weight(const struct demo__build *b, const struct demo__division *county)
{
	double w = 0;

	for (size_t t = 0; t < county->nchildren; t++) {
		const struct demo__division *tw = &b->div.v[county->first_child + (long)t];
		for (size_t v = 0; v < tw->nchildren; v++) {
			const struct demo__division *vi = &b->div.v[tw->first_child + (long)v];
			w += demo__village_is_shequ(vi) ? 1.0 : 0.5;
		}
	}
	return w;
}

/* Station base names used so far and how often, for numbering repeats. */
struct name_counts {
	char (*base)[64];
	unsigned *count;
	size_t n, alloc;
};

/*
 * A station's name, after the street or town its seed lies in, as real ones
 * are ("平江派出所"); stations in a zone without such a name take the
 * county's short name ("园区派出所"). A repeated base is numbered:
 * "狮山第二派出所".
 */
static int station_name(struct demo__build *b, const struct demo__division *county,
			struct geo_point seed, struct name_counts *nc, char *out, size_t size)
{
	const struct demo__county_info *ci = demo__county_lookup(county->code);
	char base[64] = "";
	size_t i;
	int k;

	for (size_t t = 0; t < county->nchildren && !base[0]; t++) {
		const struct demo__division *tw = &b->div.v[county->first_child + (long)t];
		const struct area *a = &b->out->v[tw->area_idx];

		if (seed.lon < a->bbox.min_lon || seed.lon > a->bbox.max_lon ||
		    seed.lat < a->bbox.min_lat || seed.lat > a->bbox.max_lat ||
		    !geo_mpoly_contains(&a->geom, seed))
			continue;
		if (!demo__township_base_name(tw->name, base, sizeof base))
			base[0] = '\0';
		break;
	}
	if (!base[0])
		snprintf(base, sizeof base, "%s", ci ? ci->station_prefix : county->name);
	for (i = 0; i < nc->n; i++)
		if (strcmp(nc->base[i], base) == 0)
			break;
	if (i == nc->n) {
		if (nc->n == nc->alloc) {
			size_t na = nc->alloc ? nc->alloc * 2 : 128;
			char(*nb)[64] = realloc(nc->base, na * sizeof *nb);
			if (nb)
				nc->base = nb;
			unsigned *cnt = realloc(nc->count, na * sizeof *cnt);
			if (cnt)
				nc->count = cnt;
			if (!nb || !cnt)
				return SG_ENOMEM;
			nc->alloc = na;
		}
		memcpy(nc->base[i], base, sizeof base);
		nc->count[i] = 0;
		nc->n++;
	}
	nc->count[i]++;
	if (nc->count[i] == 1) {
		k = snprintf(out, size, "%s派出所", base);
	} else {
		char num[16];
		demo__chinese_number(nc->count[i], num, sizeof num);
		k = snprintf(out, size, "%s第%s派出所", base, num);
	}
	return k < 0 || (size_t)k >= size ? SG_EINTERNAL : SG_OK;
}

/*
 * Stations and police grids. About DEMO_STATIONS stations are apportioned to
 * counties by county_weight (at least two each) and drawn like streets, near
 * the core with probability the county's share of 社区 where it has rural
 * villages; codes are "<county>-PSnn". DEMO_POLICE_GRIDS grids are
 * apportioned to counties by the same weight, then to a county's stations by
 * the square root of their area (so small central stations get denser
 * grids), at least DEMO_MIN_GRIDS_PER_STATION each; names "<station>第N警务网格",
 * codes "<station code>-nnn".
 */
int demo__build_police(struct demo__build *b, struct demo__scratch *s)
{
	double *w = NULL;
	unsigned *nst = NULL, *ngr = NULL;
	long *station_idx = NULL;
	size_t nstations = 0;
	struct name_counts nc = { 0 };
	char name[256], code[AREA_CODE_MAX];
	int rc = SG_OK;

	w = calloc(b->ncounties, sizeof *w);
	nst = calloc(b->ncounties, sizeof *nst);
	ngr = calloc(b->ncounties, sizeof *ngr);
	station_idx = calloc(DEMO_STATIONS, sizeof *station_idx);
	if (!w || !nst || !ngr || !station_idx) {
		rc = SG_ENOMEM;
		goto out;
	}
	for (size_t c = 0; c < b->ncounties; c++)
		w[c] = county_weight(b, &b->div.v[b->county_first + (long)c]);
	rc = apportion(w, b->ncounties, DEMO_STATIONS, 2, nst);
	if (rc == SG_OK)
		rc = apportion(w, b->ncounties, DEMO_POLICE_GRIDS, 0, ngr);

	for (size_t c = 0; rc == SG_OK && c < b->ncounties; c++) {
		const struct demo__division *county = &b->div.v[b->county_first + (long)c];
		size_t first = nstations, shequ = 0, all = 0;
		struct demo__core core;
		bool use_core;
		double p;

		for (size_t t = 0; t < county->nchildren; t++) {
			const struct demo__division *tw = &b->div.v[county->first_child + (long)t];
			for (size_t v = 0; v < tw->nchildren; v++, all++)
				shequ +=
				    demo__village_is_shequ(&b->div.v[tw->first_child + (long)v]);
		}
		p = all ? (double)shequ / (double)all : 0.0;
		use_core = shequ < all && demo__county_core(b, county, &core);
		rc = demo__scratch_reserve(s, nst[c]);
		if (rc != SG_OK)
			break;
		for (unsigned i = 0; i < nst[c]; i++)
			s->p_core[i] = p;
		rc = demo__split_area(b, county->area_idx, nst[c], DEMO_STREAM_STATIONS,
				      use_core ? &core : NULL, s->p_core, true, s->seeds, s->cells);
		for (unsigned i = 0; rc == SG_OK && i < nst[c]; i++) {
			int k = snprintf(code, sizeof code, "%s-PS%02u", county->code, i + 1);
			if (k < 0 || (size_t)k >= sizeof code) {
				rc = SG_EINTERNAL;
				break;
			}
			rc = station_name(b, county, s->seeds[i], &nc, name, sizeof name);
			if (rc == SG_OK)
				rc = area_set_push(b->out, AREA_STATION, code, name, county->area_idx, 0,
						   &s->cells[i], NULL);
			if (rc == SG_OK)
				station_idx[nstations++] = (long)(b->out->n - 1);
		}
		if (rc != SG_OK)
			break;

		/* This county's grids, over its stations by the square root of their area. */
		double sw[DEMO_STATIONS];
		unsigned per[DEMO_STATIONS];
		for (size_t i = first; i < nstations; i++)
			sw[i - first] = sqrt(b->out->v[station_idx[i]].area_m2);
		if (ngr[c] < nst[c] * DEMO_MIN_GRIDS_PER_STATION)
			ngr[c] = nst[c] * DEMO_MIN_GRIDS_PER_STATION;
		rc = apportion(sw, nstations - first, ngr[c], DEMO_MIN_GRIDS_PER_STATION, per);
		for (size_t i = first; rc == SG_OK && i < nstations; i++) {
			long st = station_idx[i];
			unsigned n = per[i - first];

			rc = demo__scratch_reserve(s, n);
			if (rc == SG_OK)
				rc = demo__split_area(b, st, n, DEMO_STREAM_POLICE_GRIDS, NULL,
						      NULL, true, s->seeds, s->cells);
			for (unsigned g = 0; rc == SG_OK && g < n; g++) {
				/* Re-read: pushing may move the set. */
				const struct area *sa = &b->out->v[st];
				int k1 = snprintf(name, sizeof name, "%s第%u警务网格", sa->name, g + 1);
				int k2 = snprintf(code, sizeof code, "%s-%03u", sa->code, g + 1);
				if (k1 < 0 || (size_t)k1 >= sizeof name || k2 < 0 ||
				    (size_t)k2 >= sizeof code)
					rc = SG_EINTERNAL;
				else
					rc = area_set_push(b->out, AREA_POLICE_GRID, code, name, st, 0,
							   &s->cells[g], NULL);
			}
			demo__report(b, false);
		}
	}
out:
	free(w);
	free(nst);
	free(ngr);
	free(station_idx);
	free(nc.base);
	free(nc.count);
	return rc;
}
