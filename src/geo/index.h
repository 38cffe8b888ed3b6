/*
 * index.h — the in-memory area index: for a point, every area containing it.
 *
 * Built once from a set of areas (each with a layer, normally its kind) and
 * then read-only, so any number of threads may query one index at once; a new
 * set of areas means a new index swapped in by the owner.
 *
 * For each layer a query answers at most one area: the lowest-id area of
 * that layer whose geometry contains the point by geo_mpoly_contains. The
 * index gives exactly that answer for every point, points on boundaries
 * included (its side tests are exact, see geo/index.c).
 *
 * The boundary rule is geo_mpoly_contains's half-open crossing rule: an
 * edge counts for point p when min(a.lat, b.lat) <= p.lat < max(a.lat, b.lat)
 * and p lies strictly west of it. Equivalently, a point on a boundary
 * belongs to the areas containing p + (e, e^2) for every small enough e > 0:
 * the point is nudged a hair east, then a far smaller hair north. So a point
 * on an edge shared by two areas of a tiling belongs to exactly one: the
 * area on the edge's east side, or for a horizontal edge the one to its
 * north; a vertex shared by several areas belongs to the one that covers
 * the region just east-north-east of it. "Shared" means the two areas have
 * the edge with bit-identical end points; where neighbours' boundaries
 * differ in the last bits, a point exactly on them may lie in neither or in
 * both, and then no area or the lowest id is answered. If areas of a layer
 * overlap (imported data need not tile), the lowest id wins.
 */
#ifndef SAFEGRID_GEO_INDEX_H
#define SAFEGRID_GEO_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "geo/coord.h"
#include "geo/polygon.h"

#define GEO_INDEX_MAX_LAYERS 16

struct geo_index;

struct geo_index_input {
	int64_t id;                  /* > 0 */
	unsigned layer;              /* < GEO_INDEX_MAX_LAYERS */
	const struct geo_mpoly *geom; /* borrowed during geo_index_build only */
};

/*
 * Builds an index over n areas. The index copies what it needs; the inputs
 * may be freed afterwards. *out is set only on success; caller frees with
 * geo_index_free.
 */
int geo_index_build(const struct geo_index_input *areas, size_t n, struct geo_index **out);
void geo_index_free(struct geo_index *idx);

/*
 * Fills ids[layer] with the containing area's id, or 0 where no area of that
 * layer contains p, for every layer < GEO_INDEX_MAX_LAYERS. Returns the number
 * of layers with a hit. Thread-safe; allocation-free.
 */
unsigned geo_index_locate(const struct geo_index *idx, struct geo_point p,
			  int64_t ids[GEO_INDEX_MAX_LAYERS]);

/* Memory held by the index, in bytes (for /metrics). */
size_t geo_index_memory(const struct geo_index *idx);

#endif
