/*
 * fusion.h — 双网融合: mapping each governance grid to the police grid it
 * overlaps most.
 *
 * For every governance grid: the police grid with the largest intersection
 * area (GEOS), the share of the governance grid's area that overlap covers,
 * and the runner-up. A grid whose runner-up covers more than
 * FUSION_SPLIT_RATIO of it is "split" — poorly aligned, reported to operators.
 * Overlaps under a millionth of the grid (rounding slivers along a boundary
 * both layers follow) are ignored; of two equal overlaps the police grid
 * given first wins. Areas are planar in longitude/latitude: only their ratio
 * is kept.
 */
#ifndef SAFEGRID_GEO_FUSION_H
#define SAFEGRID_GEO_FUSION_H

#include <stddef.h>
#include <stdint.h>

#include "geo/polygon.h"

#define FUSION_SPLIT_RATIO 0.10

struct fusion_input {
	int64_t id;
	const struct geo_mpoly *geom; /* borrowed for the call */
};

struct fusion_row {
	int64_t gov_grid_id;
	int64_t police_grid_id;   /* 0 if it overlaps no police grid */
	double ratio;             /* intersection area / governance grid area, 0..1 */
	int64_t second_police_grid_id; /* 0 if none */
	double second_ratio;
	int split;                /* second_ratio > FUSION_SPLIT_RATIO */
};

/*
 * Computes one row per governance grid, in the order given. *rows is set only
 * on success (caller frees with free()).
 */
int fusion_compute(const struct fusion_input *police, size_t npolice,
		   const struct fusion_input *gov, size_t ngov, struct fusion_row **rows);

#endif
