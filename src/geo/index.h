/*
 * index.h — the in-memory area index: for a point, every area containing it.
 *
 * Built once from a set of areas (each with a layer, normally its kind) and
 * then read-only, so any number of threads may query one index at once; a new
 * set of areas means a new index swapped in by the owner.
 *
 * For each layer a query answers at most one area. The rule for points on a
 * boundary: an edge is half-open — a point exactly on an edge shared by two
 * areas of a layer belongs to exactly one of them, the one for which the
 * even-odd crossing test with a ray towards +longitude counts the point
 * inside (edges include their lower endpoint in latitude and exclude their
 * upper one; a point on a vertical or sloped edge belongs to the area on its
 * +longitude side... see geo/index.c for the precise statement). If areas of a
 * layer overlap (imported data need not tile), the area with the lowest id wins.
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
