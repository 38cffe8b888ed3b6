/*
 * index_internal.h — what the two halves of the area index share: the layout
 * of a built index (top entries, cell references, records) and struct
 * geo_index itself. geo/index_build.c writes this layout; geo/index.c reads
 * it. The overview and the argument for exactness are at the top of
 * geo/index.c.
 *
 * Not a public API (include geo/index.h): only src/geo/index*.c include it.
 * It declares no functions; its macros and types have no linkage and keep
 * the short names they had when both halves were one file.
 */
#ifndef SAFEGRID_GEO_INDEX_INTERNAL_H
#define SAFEGRID_GEO_INDEX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geo/index.h"

/* Deepest sub-division of a top cell: 2^5 x 2^5 sub-cells. At most 7 (3 bits). */
#define SUB_LEVELS 5

/*
 * Top entries: the level k of the top cell (3 bits) and either, at level 0,
 * the cell's own reference (29 bits), or the index of the first of its 4^k
 * cell references in the sub array (29 bits). A cell reference: the
 * record's cache line and how many lines follow it (4 bits, at most 15
 * told), so that a query asks for all the lines of its record at once.
 * Records without edges are shared between cells (see emit_record in
 * geo/index_build.c), which keeps the most used ones in the processor's
 * caches.
 */
#define TOP_LEVEL_SHIFT 29
#define OFFSET_MAX	((1u << TOP_LEVEL_SHIFT) - 1)
#define REF_LINE_SHIFT	4
#define REF_LINES_MAX	15u
#define REF_LINE_MAX	((1u << (32 - REF_LINE_SHIFT)) - 1)
/* The largest record line a level-0 top entry can hold. */
#define REF_LINE_MAX_TOP ((1u << (TOP_LEVEL_SHIFT - REF_LINE_SHIFT)) - 1)

/*
 * A record is one or more groups. The first word of a group packs: the
 * number of stored edges (16 bits), the number nv of variable candidates
 * (5 bits), a flag for another group after this one, the variable
 * candidates' reference mask (16 bits) and, in the first group, how many
 * layers the base answer fills (5 bits). What the point test needs comes
 * next, so that it starts on the record's first cache line: the strip table
 * (groups with edges only), a 16-bit mask per edge, and the edges as four
 * doubles each, lower end first, sorted by lower latitude. Then what the
 * answer needs: the variable candidates' layer positions (one byte each);
 * in the first group only, the base answer, one id (or 0) per layer
 * position; and the variable candidates' ids.
 *
 * The strip table cuts the cell into S horizontal strips of whole fine rows
 * (S = min(4, rows of the cell); a query knows its strip from its fine row):
 * S + 1 16-bit offsets into the table, then the 16-bit edge numbers each
 * strip lists: the edges whose latitude span meets it. A query tests only
 * its strip's edges, about a third of the cell's.
 *
 * A variable candidate is an area with edges (or breakpoints) in the cell,
 * decided per point through the mask. The base answer holds, per layer, the
 * area covering the whole cell if there is one (the lowest id such area;
 * candidates of higher id can never win and are dropped). A variable
 * candidate containing the point overrides it: it has a lower id. Variable
 * candidates are ordered by layer, then id, so the first one found of a
 * layer wins. A cell inside one area of each of seven layers is one cache
 * line: the first word and seven ids. Records start on a cache line.
 */
#define GROUP_VAR_MAX  16
#define STRIPS_LOG_MAX 2 /* up to 4 strips per record */
#define HDR_NE_MAX     0xffffu
#define HDR_NV_SHIFT   16
#define HDR_MORE       (1ull << 21)
#define HDR_R0_SHIFT   22
#define HDR_HITS_SHIFT 38
#define RECORD_ALIGN   8 /* units: 64 bytes */

/* The pool is read as 64-bit words, doubles, ids or pairs of 32-bit words. */
union unit {
	uint64_t u;
	int64_t i;
	double d;
	uint32_t w[2];
	uint16_t h[4];
};

struct geo_index {
	/* The bbox of all vertices: outside it nothing is inside. */
	double x0, y0, x1, y1;
	/* The fine grid, ntx << SUB_LEVELS by nty << SUB_LEVELS cells; cells per degree. */
	double inv_fw, inv_fh;
	uint32_t nfx, nfy;
	uint32_t ntx, nty;
	/* The layers present; layer_of maps a layer position to its layer. Dense:
	 * layers 0 .. nl - 1 with nl <= 8, so a base answer is ids[0..8). */
	unsigned nl;
	bool dense;
	unsigned layer_of[GEO_INDEX_MAX_LAYERS];
	uint32_t *top;	    /* ntx * nty entries */
	uint32_t *sub;	    /* cell references */
	union unit *pool;   /* records */
	size_t alloc_bytes; /* of top, sub and pool, as allocated */
};

#endif
