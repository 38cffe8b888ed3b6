/*
 * index.c — the in-memory area index: a two-level grid of precomputed cells
 * answering "which area of each layer contains this point" without touching
 * whole polygons. This file is the query path; the overview below covers
 * the whole index.
 *
 * Not a general spatial index (no ranges, no nearest): point location only,
 * for a fixed set of areas. Not the build either: geo/index_build.c
 * precomputes the cells, in the layout geo/index_internal.h describes.
 * Exports geo_index_locate, geo_index_memory and geo_index_free.
 *
 * How a query is answered
 * -----------------------
 * The bounding box of every vertex is cut into a uniform grid of top cells;
 * a top cell with many edges is cut again into 2^k x 2^k sub-cells (k <= 5).
 * Every final cell (top or sub) has one record, found from the top entry
 * alone or through one 32-bit reference in the sub array. The record holds,
 * for every layer at once:
 *
 *   - the base answer: per layer, the area covering the whole cell, if any;
 *   - the variable candidates: areas with edges in the cell, with a
 *     reference mask saying which of them contain a reference point;
 *   - the cell's edges of those areas, each stored once with a mask of the
 *     candidates it bounds (an edge shared by neighbours, or by areas of
 *     several layers, is one edge), grouped into horizontal strips.
 *
 * A query copies the base answer, takes the reference mask, flips it by
 * every edge of its strip that the ray from the point towards +longitude
 * crosses, and lets each remaining candidate override its layer's answer.
 * Where several areas of a layer contain the point the lowest id wins. A
 * cell with no edges — most of any city — costs one cache line, and such
 * records are shared, so the most used stay in the processor's caches.
 *
 * Why this reproduces geo_mpoly_contains exactly
 * ----------------------------------------------
 * geo_mpoly_contains counts, over every edge of an area, the edges e with
 * lo(e) <= y < hi(e) that lie strictly east of p (exact predicate). Split the
 * area's edges for a cell with box B (the cell grown by a margin m that
 * dwarfs rounding in the cell lookup) into L, the edges that touch B (a
 * conservative test against B grown by 2m), and the rest. An edge not in L
 * has its part inside B's latitude band [Y0, Y1] wholly west of B, wholly
 * east, or no such part. For a point p in B at latitude y, a west edge never
 * counts, and an east edge (or an edge with no part in the band) counts
 * exactly when [a.lat <= y] != [b.lat <= y]. Summed along a maximal run of
 * consecutive east-or-outside edges that telescopes to
 * [s.lat <= y] xor [t.lat <= y] for the run's end vertices s and t. Hence
 *
 *   parity(p) = sum over L of cross(e, p)           (stored edges, exact test)
 *             xor R0                                 (east edges crossing y = Y0)
 *             xor #{ v : v.lat <= y }                (breakpoints)
 *
 * where the breakpoints are the run ends inside the band, which are the
 * vertices v with Y0 < v.lat <= Y1 and v.lon > X1 shared by an edge in L and
 * one not in L. R0 (per candidate) is the reference mask, and each
 * breakpoint becomes a virtual vertical edge far to the east, from v.lat up,
 * so the query loop needs nothing else. R0 comes from west-going sweeps of
 * each line y = Y0 (sweep_band, geo/index_build.c). Horizontal edges never
 * count and are not stored, though they take part in finding the run ends.
 * An area with no edge in L is uniform over the cell: inside exactly when
 * its R0 is odd. A strip lists the stored edges whose latitude span meets
 * it: the only ones that can count for a point in it.
 *
 * Every side test uses the exact geo_orient2d_sign (through a floating-point
 * filter), and R0 and the breakpoints are decided with margins far above
 * rounding, so geo_index_locate gives geo_mpoly_contains's answer for every
 * point, on boundaries too.
 *
 * The layout is tuned for a query that is mostly waiting on one record from
 * memory; docs/PERFORMANCE.md ("Locate") has the figures.
 */
#include "geo/index.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geo/index_internal.h"

/* Shewchuk's bound on the rounded 2x2 orientation determinant. */
#define ORIENT_ERRBOUND ((3.0 + 16.0 * (DBL_EPSILON / 2)) * (DBL_EPSILON / 2))

/* ------------------------------------------------------------------------ */
/* Queries                                                                   */

/*
 * The exact side test, out of line and taking plain doubles: rarely needed,
 * and a call with geo_point arguments inlined here makes the compiler pack
 * the query point into a vector through the stack, a store-forwarding stall.
 */
static __attribute__((noinline)) bool west_of_exact(double ax, double ay, double bx, double by,
						    double px, double py)
{
	return geo_orient2d_sign((struct geo_point){ax, ay}, (struct geo_point){bx, by},
				 (struct geo_point){px, py}) > 0;
}

/* Entry i of a table of 16-bit numbers. */
static inline uint32_t h16(const union unit *t, uint32_t i)
{
	return t[i >> 2].h[i & 3];
}

/*
 * Whether the ray from (px, py) towards +longitude crosses the upward edge
 * (ax, ay) -> (bx, by) under the half-open rule: ay <= py < by and the point
 * strictly west of the edge. Without branches where the filter is sure
 * (nearly always): a mispredicted branch on data that has just come from
 * memory costs more than the arithmetic it saves.
 */
static inline uint32_t crosses(double ax, double ay, double bx, double by, double px, double py)
{
	double left = (ax - px) * (by - py);
	double right = (ay - py) * (bx - px);
	double det = left - right;
	double bound = ORIENT_ERRBOUND * (fabs(left) + fabs(right));
	uint32_t span = (ay <= py) & (py < by);
	if (__builtin_expect(fabs(det) <= bound, 0))
		return span && west_of_exact(ax, ay, bx, by, px, py);
	return span & (det > 0);
}

/* Flips, in mask, the bits of the edges numbered tbl[from..to) that the ray from (px, py) crosses.
 */
static inline uint32_t eval_edges(const union unit *em, const union unit *tbl, uint32_t from,
				  uint32_t to, const union unit *edges, uint32_t mask, double px,
				  double py)
{
	for (uint32_t q = from; q < to; q++) {
		uint32_t i = h16(tbl, q);
		const union unit *e = edges + 4 * (size_t)i;
		mask ^= em[i >> 2].h[i & 3] & -crosses(e[0].d, e[1].d, e[2].d, e[3].d, px, py);
	}
	return mask;
}

/*
 * The parts of a group g with ne edges and nv variable candidates, 2^slog
 * strips: the table right after the first word (none without edges), the
 * edge masks, the edges, then the answer part.
 */
struct group_parts {
	const union unit *tbl, *em, *edges, *tail;
};

static inline struct group_parts group_parts(const union unit *g, uint32_t ne, unsigned slog)
{
	struct group_parts r;
	r.tbl = g + 1;
	size_t tn = ne ? h16(r.tbl, 1u << slog) : 0; /* the last offset is the table's length */
	r.em = r.tbl + (tn + 3) / 4;
	r.edges = r.em + (ne + 3) / 4;
	r.tail = r.edges + 4 * (size_t)ne;
	return r;
}

/*
 * A record of several groups (more than GROUP_VAR_MAX variable candidates:
 * overlapping areas, never a tiling). Variable candidates come in id order
 * across the groups, so the first found of a layer wins; the base answer
 * fills the layers none was found for.
 */
static __attribute__((noinline)) unsigned locate_groups(const struct geo_index *idx,
							const union unit *g, unsigned slog,
							uint32_t strip, double px, double py,
							int64_t ids[GEO_INDEX_MAX_LAYERS])
{
	const union unit *base = NULL;
	unsigned hits = 0, seen = 0;
	for (bool first = true;; first = false) {
		uint64_t h = g[0].u;
		uint32_t ne = (uint32_t)(h & HDR_NE_MAX), nv = (uint32_t)(h >> HDR_NV_SHIFT) & 31;
		struct group_parts gp = group_parts(g, ne, slog);
		const unsigned char *lpos = (const unsigned char *)gp.tail;
		const union unit *vid = gp.tail + (nv + 7) / 8;
		if (first) {
			base = vid;
			vid += idx->nl;
		}
		uint32_t mask = (uint32_t)(h >> HDR_R0_SHIFT) & 0xffff;
		if (ne)
			mask = eval_edges(gp.em, gp.tbl, h16(gp.tbl, strip), h16(gp.tbl, strip + 1),
					  gp.edges, mask, px, py);
		for (; mask; mask &= mask - 1) {
			unsigned j = (unsigned)__builtin_ctz(mask), l = lpos[j];
			if (seen >> l & 1)
				continue;
			seen |= 1u << l;
			ids[idx->layer_of[l]] = vid[j].i;
			hits++;
		}
		if (!(h & HDR_MORE))
			break;
		g = vid + nv;
	}
	for (unsigned l = 0; l < idx->nl; l++) {
		if (seen >> l & 1 || base[l].i == 0)
			continue;
		ids[idx->layer_of[l]] = base[l].i;
		hits++;
	}
	return hits;
}

/*
 * The record of p's cell: copy its base answer, flip the reference mask by
 * every stored edge the ray from p towards +longitude crosses, and let the
 * variable candidates left in the mask override the base answer. A query is
 * mostly waiting for its record to come from memory; the fewer instructions
 * it has left to run after that, the sooner the processor reaches the next
 * query's loads, so the common path is kept short and free of branches on
 * the record where it can be. (__builtin_ctz compiles to rep bsf, which
 * runs as the cheap tzcnt.)
 */
unsigned geo_index_locate(const struct geo_index *idx, struct geo_point p,
			  int64_t ids[GEO_INDEX_MAX_LAYERS])
{
	/*
	 * The coordinates are taken apart at once: kept as a pair, compilers
	 * tend to spill the two halves and reload them as one vector, a
	 * store-forwarding stall that waits for every older instruction —
	 * the previous query included — to retire.
	 */
	double px = p.lon, py = p.lat;
	/* Constant-size copies compile to a few vector moves (memset may become rep stos). */
	static const int64_t none[GEO_INDEX_MAX_LAYERS];
	/* Written to be false for NaN too. */
	if (!idx || !(px >= idx->x0 && px <= idx->x1 && py >= idx->y0 && py <= idx->y1)) {
		memcpy(ids, none, sizeof none);
		return 0;
	}
	uint32_t fx = (uint32_t)((px - idx->x0) * idx->inv_fw);
	uint32_t fy = (uint32_t)((py - idx->y0) * idx->inv_fh);
	if (fx >= idx->nfx)
		fx = idx->nfx - 1;
	if (fy >= idx->nfy)
		fy = idx->nfy - 1;
	uint32_t t = idx->top[(size_t)(fy >> SUB_LEVELS) * idx->ntx + (fx >> SUB_LEVELS)];
	uint32_t k = t >> TOP_LEVEL_SHIFT, sh = SUB_LEVELS - k, kmask = (1u << k) - 1;
	uint32_t ref = t & OFFSET_MAX;
	if (k)
		ref = idx->sub[ref + ((((fy >> sh) & kmask) << k) | ((fx >> sh) & kmask))];
	const union unit *g = idx->pool + (size_t)(ref >> REF_LINE_SHIFT) * RECORD_ALIGN;
	/* Ask for every line of the record at once rather than one after another. */
	for (uint32_t i = 1; i <= (ref & REF_LINES_MAX); i++)
		__builtin_prefetch(g + i * RECORD_ALIGN);
	/* The cell spans 2^(SUB_LEVELS - k) fine rows; p's strip is from its row. */
	unsigned rlog = SUB_LEVELS - k, slog = rlog < STRIPS_LOG_MAX ? rlog : STRIPS_LOG_MAX;
	uint32_t strip = (fy & ((1u << rlog) - 1)) >> (rlog - slog);
	uint64_t h = g[0].u;
	if (h == 0 || __builtin_expect(h & HDR_MORE, 0)) {
		memcpy(ids, none, sizeof none);
		if (h == 0)
			return 0; /* no area near: most of a city's bounding box */
		return locate_groups(idx, g, slog, strip, px, py, ids);
	}
	uint32_t ne = (uint32_t)(h & HDR_NE_MAX), nv = (uint32_t)(h >> HDR_NV_SHIFT) & 31;
	unsigned hits = (unsigned)(h >> HDR_HITS_SHIFT) & 31, seen = 0;
	struct group_parts gp = group_parts(g, ne, slog);
	const unsigned char *lpos = (const unsigned char *)gp.tail;
	const union unit *base = gp.tail + (nv + 7) / 8, *vid = base + idx->nl;
	if (idx->dense) {
		/*
		 * Eight ids straight from the record (those past nl are whatever
		 * follows the base answer, cleared just after; the pool ends with
		 * slack for it) and eight zeros: a handful of moves.
		 */
		memcpy(ids, base, 8 * sizeof *ids);
		memcpy(ids + 8, none, 8 * sizeof *ids);
		for (unsigned l = idx->nl; l < 8; l++)
			ids[l] = 0;
	} else {
		memcpy(ids, none, sizeof none);
		for (unsigned l = 0; l < idx->nl; l++)
			ids[idx->layer_of[l]] = base[l].i;
	}
	uint32_t mask = (uint32_t)(h >> HDR_R0_SHIFT) & 0xffff;
	if (ne)
		mask = eval_edges(gp.em, gp.tbl, h16(gp.tbl, strip), h16(gp.tbl, strip + 1),
				  gp.edges, mask, px, py);
	for (; mask; mask &= mask - 1) {
		unsigned j = (unsigned)__builtin_ctz(mask), l = lpos[j];
		if (seen >> l & 1)
			continue;
		seen |= 1u << l;
		int64_t *out = &ids[idx->layer_of[l]];
		hits += *out == 0;
		*out = vid[j].i;
	}
	return hits;
}

size_t geo_index_memory(const struct geo_index *idx)
{
	if (!idx)
		return 0;
	return sizeof *idx + idx->alloc_bytes;
}

void geo_index_free(struct geo_index *idx)
{
	if (!idx)
		return;
	free(idx->top);
	free(idx->sub);
	free(idx->pool);
	free(idx);
}
