/*
 * index_build.c — builds the area index: from a set of areas, the grid of
 * top cells and their sub-division levels, the reference parities from
 * west-going sweeps, and for every final cell a record of its base answer,
 * its candidates and their cell-local edges and breakpoints, records
 * without edges shared. Writes the layout of geo/index_internal.h.
 *
 * Not the query path: geo/index.c answers points from what is built here
 * (and frees it), and its opening comment holds the overview and the
 * argument for why these records reproduce geo_mpoly_contains exactly.
 * Exports geo_index_build (geo/index.h).
 */
#include "geo/index.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/err.h"
#include "geo/index_internal.h"

/*
 * A top cell is divided until its sub-cells hold at most this many edges on
 * average (summed over layers, before shared edges are merged and before
 * strips cut them down to what one query tests), or the deepest level is
 * reached. Tuned on the demo city: smaller means more records and memory
 * for no speed, since a query's cost is one record fetched from memory.
 */
#define EDGES_PER_QUERY_TARGET 48.0

/* Aim for this many edges per top cell when sizing the top grid (tuned likewise). */
#define EDGES_PER_TOP_CELL 6.0
#define TOP_CELLS_MAX	   (1u << 18)

/* ------------------------------------------------------------------------ */
/* Building: scratch containers                                              */

/* A growable array of fixed-size elements; build-time only. */
struct vec {
	void *p;
	size_t n, alloc, elem;
};

static void vec_init(struct vec *v, size_t elem)
{
	v->p = NULL;
	v->n = v->alloc = 0;
	v->elem = elem;
}

static void vec_release(struct vec *v)
{
	free(v->p);
	vec_init(v, v->elem);
}

static int vec_reserve(struct vec *v, size_t need)
{
	if (need <= v->alloc)
		return SG_OK;
	size_t n = v->alloc ? v->alloc * 2 : 64;
	if (n < need)
		n = need;
	if (n > SIZE_MAX / v->elem)
		return SG_ENOMEM;
	void *p = realloc(v->p, n * v->elem);
	if (!p)
		return SG_ENOMEM;
	v->p = p;
	v->alloc = n;
	return SG_OK;
}

/* Appends one element copied from x; on SG_ENOMEM v is unchanged. */
static int vec_push(struct vec *v, const void *x)
{
	int rc = vec_reserve(v, v->n + 1);
	if (rc)
		return rc;
	memcpy((char *)v->p + v->n * v->elem, x, v->elem);
	v->n++;
	return SG_OK;
}

#define VEC_AT(v, type, i) (((type *)(v)->p)[i])

/* ------------------------------------------------------------------------ */
/* Building: state                                                           */

struct bedge {
	uint32_t a;    /* the edge is v[a] -> v[a + 1] */
	uint32_t slot; /* its area */
	uint32_t ring;
};

struct bring {
	uint32_t first, n; /* edges first .. first + n - 1, cyclic */
};

/* A crossing of a horizontal line by an edge, for the west-going sweeps. */
struct crossing {
	double x;
	uint32_t layer, slot;
};

/* A candidate area of one layer in one cell. */
struct cand {
	uint32_t layer, slot;
	uint32_t r0;	 /* parity at the reference, from edges not stored */
	uint32_t e0, ne; /* its stored edges, in bld.cedges */
	uint32_t b0, nb; /* its breakpoint latitudes, in bld.bps */
};

/* An edge (or breakpoint) of a record being assembled. */
struct out_edge {
	double ax, ay, bx, by;
	uint64_t mask;
};

/* A shared record in the dedup table: pool offset + 1 (0: empty slot), length in units. */
struct dedup_slot {
	uint32_t off1, len;
};

/* A box in degrees. */
struct box {
	double x0, y0, x1, y1;
};

struct bld {
	/* areas in slot order: by layer, then id */
	size_t nslots;
	int64_t *ids;
	uint8_t *slot_layer;
	unsigned nl;
	unsigned layer_of[GEO_INDEX_MAX_LAYERS];
	struct geo_point *v;
	struct bedge *e;
	struct bring *rings;
	size_t nv, ne, nrings;

	/* grid */
	double x0, y0, x1, y1;
	double fw, fh, m;
	double far_x, far_y; /* beyond every query: where breakpoint edges stand */
	uint32_t ntx, nty;

	/* top cells: edge lists (CSR) and levels */
	uint32_t *tc_off, *tc_edges;
	uint8_t *level;

	/* output */
	uint32_t *top;
	struct vec pool;	  /* union unit */
	struct vec sub;		  /* uint32_t: cell references */
	struct dedup_slot *dedup; /* open addressing over records without edges */
	size_t dedup_cap, dedup_n;

	/* scratch */
	uint32_t *stamp;     /* per edge: serial of the cell whose list holds it */
	uint32_t *row_stamp; /* per edge: top row + 1 that collected it */
	uint32_t serial;
	uint32_t *in_s, *listed; /* per slot: set-membership stamps */
	uint32_t sstamp;
	uint8_t *odd;  /* per slot: parity during a sweep */
	uint32_t *pos; /* per slot: position in members */
	size_t *band_base;
	struct vec members;			      /* uint32_t: slots of odd parity */
	struct vec band_edges;			      /* uint32_t */
	struct vec crossings;			      /* struct crossing */
	struct vec snap_start, snap_count, snap_pool; /* uint32_t */
	struct vec pairs;			      /* uint32_t[2]: (cell, edge) */
	struct vec sub_off, sub_edges;		      /* uint32_t: per-sub-cell edge lists */
	struct vec cell;   /* uint32_t[2]: (slot, edge) of the cell being built */
	struct vec cands;  /* struct cand */
	struct vec cedges; /* struct out_edge */
	struct vec bps;	   /* double */
	struct vec outs;   /* struct out_edge */
	struct vec rec;	   /* union unit: the record being built */
	struct vec table;  /* uint16_t: a strip table being built */
	uint32_t cell_i0, cell_j0, cell_step; /* the cell being built, in fine cells */
};

static void bld_init(struct bld *b)
{
	memset(b, 0, sizeof *b);
	vec_init(&b->pool, sizeof(union unit));
	vec_init(&b->sub, sizeof(uint32_t));
	vec_init(&b->members, sizeof(uint32_t));
	vec_init(&b->band_edges, sizeof(uint32_t));
	vec_init(&b->crossings, sizeof(struct crossing));
	vec_init(&b->snap_start, sizeof(uint32_t));
	vec_init(&b->snap_count, sizeof(uint32_t));
	vec_init(&b->snap_pool, sizeof(uint32_t));
	vec_init(&b->pairs, 2 * sizeof(uint32_t));
	vec_init(&b->sub_off, sizeof(uint32_t));
	vec_init(&b->sub_edges, sizeof(uint32_t));
	vec_init(&b->cell, 2 * sizeof(uint32_t));
	vec_init(&b->cands, sizeof(struct cand));
	vec_init(&b->cedges, sizeof(struct out_edge));
	vec_init(&b->bps, sizeof(double));
	vec_init(&b->outs, sizeof(struct out_edge));
	vec_init(&b->rec, sizeof(union unit));
	vec_init(&b->table, sizeof(uint16_t));
}

static void bld_release(struct bld *b)
{
	free(b->ids);
	free(b->slot_layer);
	free(b->v);
	free(b->e);
	free(b->rings);
	free(b->tc_off);
	free(b->tc_edges);
	free(b->level);
	free(b->top);
	free(b->dedup);
	free(b->stamp);
	free(b->row_stamp);
	free(b->in_s);
	free(b->listed);
	free(b->odd);
	free(b->pos);
	free(b->band_base);
	vec_release(&b->pool);
	vec_release(&b->sub);
	vec_release(&b->members);
	vec_release(&b->band_edges);
	vec_release(&b->crossings);
	vec_release(&b->snap_start);
	vec_release(&b->snap_count);
	vec_release(&b->snap_pool);
	vec_release(&b->pairs);
	vec_release(&b->sub_off);
	vec_release(&b->sub_edges);
	vec_release(&b->cell);
	vec_release(&b->cands);
	vec_release(&b->cedges);
	vec_release(&b->bps);
	vec_release(&b->outs);
	vec_release(&b->rec);
	vec_release(&b->table);
}

/* ------------------------------------------------------------------------ */
/* Building: inputs                                                          */

struct order_key {
	unsigned layer;
	int64_t id;
	size_t at;
};

static int cmp_order_key(const void *x, const void *y)
{
	const struct order_key *a = x, *c = y;
	if (a->layer != c->layer)
		return a->layer < c->layer ? -1 : 1;
	if (a->id != c->id)
		return a->id < c->id ? -1 : 1;
	return a->at < c->at ? -1 : a->at > c->at;
}

/*
 * Puts the areas in slot order — by layer, then id, so that within a layer
 * "lowest id wins" is "lowest slot wins" — and copies their rings' vertices
 * and edges. SG_EINVAL for a bad id, layer or geometry, or a ring that is
 * not closed (the parity argument needs closed rings).
 */
static int load_areas(struct bld *b, const struct geo_index_input *areas, size_t n)
{
	struct order_key *order = NULL;
	unsigned present = 0, lidx[GEO_INDEX_MAX_LAYERS] = {0};
	size_t nv = 0, nrings = 0;
	int rc = SG_EINVAL;

	if (n > 0 && !areas)
		return SG_EINVAL;
	if (n >= UINT32_MAX / 2)
		return SG_ETOOBIG;
	for (size_t i = 0; i < n; i++) {
		if (areas[i].id <= 0 || areas[i].layer >= GEO_INDEX_MAX_LAYERS || !areas[i].geom)
			return SG_EINVAL;
		present |= 1u << areas[i].layer;
		nv += areas[i].geom->npts;
		nrings += areas[i].geom->nrings;
	}
	if (nv >= UINT32_MAX / 2 || nrings >= UINT32_MAX / 2)
		return SG_ETOOBIG;
	for (unsigned l = 0; l < GEO_INDEX_MAX_LAYERS; l++) {
		if (present & (1u << l)) {
			lidx[l] = b->nl;
			b->layer_of[b->nl++] = l;
		}
	}

	order = malloc((n ? n : 1) * sizeof *order);
	b->ids = malloc((n ? n : 1) * sizeof *b->ids);
	b->slot_layer = malloc(n ? n : 1);
	b->v = malloc((nv ? nv : 1) * sizeof *b->v);
	b->e = malloc((nv ? nv : 1) * sizeof *b->e);
	b->rings = malloc((nrings ? nrings : 1) * sizeof *b->rings);
	if (!order || !b->ids || !b->slot_layer || !b->v || !b->e || !b->rings) {
		rc = SG_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = (struct order_key){areas[i].layer, areas[i].id, i};
	if (n > 1)
		qsort(order, n, sizeof *order, cmp_order_key);

	b->nslots = n;
	for (size_t s = 0; s < n; s++) {
		const struct geo_mpoly *g = areas[order[s].at].geom;
		b->ids[s] = order[s].id;
		b->slot_layer[s] = (uint8_t)lidx[order[s].layer];
		for (uint32_t r = 0; r < g->nrings; r++) {
			const struct geo_point *p = g->pts + g->ring_off[r];
			uint32_t len = geo_mpoly_ring_len(g, r);
			if (len < 2)
				continue; /* no edge: geo_mpoly_contains ignores it too */
			if (p[0].lon != p[len - 1].lon || p[0].lat != p[len - 1].lat)
				goto out;
			for (uint32_t k = 0; k < len; k++)
				if (!isfinite(p[k].lon) || !isfinite(p[k].lat))
					goto out;
			uint32_t base = (uint32_t)b->nv;
			memcpy(b->v + b->nv, p, len * sizeof *p);
			b->nv += len;
			b->rings[b->nrings] = (struct bring){(uint32_t)b->ne, len - 1};
			for (uint32_t k = 0; k + 1 < len; k++)
				b->e[b->ne++] =
				    (struct bedge){base + k, (uint32_t)s, (uint32_t)b->nrings};
			b->nrings++;
		}
	}
	rc = SG_OK;
out:
	free(order);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Building: grid geometry                                                   */

/*
 * The box of the fine-cell range [i0, i1) x [j0, j1), grown by grow. The one
 * place cell boundaries are computed, so every use agrees to the bit.
 */
static struct box cell_box(const struct bld *b, uint32_t i0, uint32_t i1, uint32_t j0, uint32_t j1,
			   double grow)
{
	struct box r = {
	    b->x0 + (double)i0 * b->fw - grow,
	    b->y0 + (double)j0 * b->fh - grow,
	    b->x0 + (double)i1 * b->fw + grow,
	    b->y0 + (double)j1 * b->fh + grow,
	};
	return r;
}

static bool edge_horizontal(const struct bld *b, uint32_t e)
{
	return b->v[b->e[e].a].lat == b->v[b->e[e].a + 1].lat;
}

/*
 * Whether edge e may touch box x (a cell grown by 2m): bounding boxes
 * overlap and the corners are not all strictly on one side of the edge's
 * line. Rounded arithmetic is enough: an edge touching the cell grown by m
 * passes at least m inside this box, far beyond rounding, and an edge
 * listed needlessly costs time, never correctness.
 */
static bool edge_touches(const struct bld *b, uint32_t e, struct box x)
{
	struct geo_point p = b->v[b->e[e].a], q = b->v[b->e[e].a + 1];
	if (fmax(p.lon, q.lon) < x.x0 || fmin(p.lon, q.lon) > x.x1 || fmax(p.lat, q.lat) < x.y0 ||
	    fmin(p.lat, q.lat) > x.y1)
		return false;
	double dx = q.lon - p.lon, dy = q.lat - p.lat;
	double c0 = dx * (x.y0 - p.lat) - dy * (x.x0 - p.lon);
	double c1 = dx * (x.y0 - p.lat) - dy * (x.x1 - p.lon);
	double c2 = dx * (x.y1 - p.lat) - dy * (x.x0 - p.lon);
	double c3 = dx * (x.y1 - p.lat) - dy * (x.x1 - p.lon);
	bool pos = c0 > 0 && c1 > 0 && c2 > 0 && c3 > 0;
	bool neg = c0 < 0 && c1 < 0 && c2 < 0 && c3 < 0;
	return !pos && !neg;
}

/*
 * Appends (cell, e) to b->pairs for every cell that edge e may touch, in a
 * grid of ncols x nrows cells of step x step fine cells whose south-west
 * fine cell is (bi, bj).
 */
static int rasterize(struct bld *b, uint32_t e, uint32_t bi, uint32_t bj, uint32_t step,
		     uint32_t ncols, uint32_t nrows)
{
	struct geo_point p = b->v[b->e[e].a], q = b->v[b->e[e].a + 1];
	double g = 2 * b->m;
	double cw = b->fw * step, ch = b->fh * step;
	double ox = b->x0 + (double)bi * b->fw, oy = b->y0 + (double)bj * b->fh;
	/* Candidate range widened by a cell against rounding; edge_touches decides. */
	double c0 = floor((fmin(p.lon, q.lon) - g - ox) / cw) - 1;
	double c1 = floor((fmax(p.lon, q.lon) + g - ox) / cw) + 1;
	double r0 = floor((fmin(p.lat, q.lat) - g - oy) / ch) - 1;
	double r1 = floor((fmax(p.lat, q.lat) + g - oy) / ch) + 1;
	if (c1 < 0 || r1 < 0 || c0 >= ncols || r0 >= nrows)
		return SG_OK;
	uint32_t ca = c0 < 0 ? 0 : (uint32_t)c0, cb = c1 >= ncols ? ncols - 1 : (uint32_t)c1;
	uint32_t ra = r0 < 0 ? 0 : (uint32_t)r0, rb = r1 >= nrows ? nrows - 1 : (uint32_t)r1;
	for (uint32_t r = ra; r <= rb; r++) {
		for (uint32_t c = ca; c <= cb; c++) {
			struct box x = cell_box(b, bi + c * step, bi + (c + 1) * step,
						bj + r * step, bj + (r + 1) * step, g);
			if (!edge_touches(b, e, x))
				continue;
			uint32_t pair[2] = {r * ncols + c, e};
			int rc = vec_push(&b->pairs, pair);
			if (rc)
				return rc;
		}
	}
	return SG_OK;
}

/*
 * Sizes the grid over the vertices' bbox: top cells of about
 * EDGES_PER_TOP_CELL edges, at most TOP_CELLS_MAX of them, and fine cells
 * never narrower than 1e-7 of the coordinates' magnitude, so that the margin
 * m (1e-4 of a fine cell) stays a million times above rounding.
 */
static void size_grid(struct bld *b)
{
	double mag = 1.0 + fmax(fmax(fabs(b->x0), fabs(b->x1)), fmax(fabs(b->y0), fabs(b->y1)));
	double minw = 1e-7 * mag * (double)(1u << SUB_LEVELS);
	double w = fmax(b->x1 - b->x0, minw), h = fmax(b->y1 - b->y0, minw);
	double want = fmin(fmax((double)b->ne / EDGES_PER_TOP_CELL, 1.0), (double)TOP_CELLS_MAX);
	double s = fmax(sqrt(w * h / want), minw);
	double nx = fmin(ceil(w / s), (double)TOP_CELLS_MAX);
	double ny = ceil(h / s);
	if (nx * ny > TOP_CELLS_MAX)
		ny = fmax(1.0, floor((double)TOP_CELLS_MAX / nx));
	b->ntx = (uint32_t)fmax(1.0, nx);
	b->nty = (uint32_t)fmax(1.0, ny);
	b->fw = w / (double)((uint64_t)b->ntx << SUB_LEVELS);
	b->fh = h / (double)((uint64_t)b->nty << SUB_LEVELS);
	b->m = 1e-4 * fmin(b->fw, b->fh);
	b->far_x = b->x1 + w + 1.0;
	b->far_y = b->y1 + h + 1.0;
}

/* Every edge into the top cells it may touch: CSR lists, each in edge order. */
static int build_top_lists(struct bld *b)
{
	size_t ncells = (size_t)b->ntx * b->nty;
	uint32_t *fill = NULL;
	int rc = SG_OK;

	b->pairs.n = 0;
	for (uint32_t e = 0; e < b->ne && !rc; e++)
		rc = rasterize(b, e, 0, 0, 1u << SUB_LEVELS, b->ntx, b->nty);
	if (rc)
		return rc;
	if (b->pairs.n >= UINT32_MAX)
		return SG_ETOOBIG;
	b->tc_off = calloc(ncells + 1, sizeof *b->tc_off);
	b->tc_edges = malloc((b->pairs.n ? b->pairs.n : 1) * sizeof *b->tc_edges);
	fill = malloc(ncells * sizeof *fill);
	if (!b->tc_off || !b->tc_edges || !fill) {
		rc = SG_ENOMEM;
		goto out;
	}
	const uint32_t *pr = b->pairs.p;
	for (size_t i = 0; i < b->pairs.n; i++)
		b->tc_off[pr[2 * i] + 1]++;
	for (size_t c = 0; c < ncells; c++)
		b->tc_off[c + 1] += b->tc_off[c];
	memcpy(fill, b->tc_off, ncells * sizeof *fill);
	for (size_t i = 0; i < b->pairs.n; i++)
		b->tc_edges[fill[pr[2 * i]]++] = pr[2 * i + 1];
out:
	free(fill);
	return rc;
}

/*
 * Chooses each top cell's level: the shallowest whose sub-cells hold on
 * average at most EDGES_PER_QUERY_TARGET non-horizontal edges (counted per
 * sub-cell they touch).
 */
static int choose_levels(struct bld *b)
{
	size_t ncells = (size_t)b->ntx * b->nty;
	int rc = SG_OK;

	b->level = calloc(ncells, 1);
	if (!b->level)
		return SG_ENOMEM;
	for (size_t c = 0; c < ncells && !rc; c++) {
		uint32_t tx = (uint32_t)(c % b->ntx), ty = (uint32_t)(c / b->ntx);
		size_t cnt = 0;
		for (uint32_t i = b->tc_off[c]; i < b->tc_off[c + 1]; i++)
			cnt += !edge_horizontal(b, b->tc_edges[i]);
		unsigned k = 0;
		while (k < SUB_LEVELS &&
		       (double)cnt > EDGES_PER_QUERY_TARGET * (double)(1u << (2 * k))) {
			k++;
			b->pairs.n = 0;
			for (uint32_t i = b->tc_off[c]; i < b->tc_off[c + 1] && !rc; i++) {
				uint32_t e = b->tc_edges[i];
				if (!edge_horizontal(b, e))
					rc = rasterize(b, e, tx << SUB_LEVELS, ty << SUB_LEVELS,
						       1u << (SUB_LEVELS - k), 1u << k, 1u << k);
			}
			cnt = b->pairs.n;
		}
		b->level[c] = (uint8_t)k;
	}
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Building: reference parities, by west-going sweeps                        */

/*
 * Where edge e (not horizontal, crossing latitude y under the half-open
 * rule) crosses y. Never inlined, so the sweep and the per-cell correction
 * compare the very same rounded value with a cell's middle.
 */
static __attribute__((noinline)) double crossing_x(const struct bld *b, uint32_t e, double y)
{
	struct geo_point p = b->v[b->e[e].a], q = b->v[b->e[e].a + 1];
	if (p.lat > q.lat) {
		struct geo_point t = p;
		p = q;
		q = t;
	}
	return p.lon + (y - p.lat) * ((q.lon - p.lon) / (q.lat - p.lat));
}

static bool edge_crosses_line(const struct bld *b, uint32_t e, double y)
{
	return (b->v[b->e[e].a].lat <= y) != (b->v[b->e[e].a + 1].lat <= y);
}

static int cmp_crossing(const void *x, const void *y)
{
	const struct crossing *a = x, *c = y;
	if (a->layer != c->layer)
		return a->layer < c->layer ? -1 : 1;
	if (a->x != c->x)
		return a->x > c->x ? -1 : 1; /* east first */
	return a->slot < c->slot ? -1 : a->slot > c->slot;
}

/* Flips slot's membership of the set of odd parity. */
static int toggle_odd(struct bld *b, uint32_t slot)
{
	if (b->odd[slot]) {
		uint32_t *mem = b->members.p;
		uint32_t at = b->pos[slot], last = mem[b->members.n - 1];
		mem[at] = last;
		b->pos[last] = at;
		b->members.n--;
		b->odd[slot] = 0;
		return SG_OK;
	}
	int rc = vec_push(&b->members, &slot);
	if (rc)
		return rc;
	b->pos[slot] = (uint32_t)(b->members.n - 1);
	b->odd[slot] = 1;
	return SG_OK;
}

/* The snapshot of layer l for sub-cell sub of top cell tx in the current band. */
static size_t snap_index(const struct bld *b, uint32_t tx, uint32_t sub, unsigned l)
{
	return (b->band_base[tx] + sub) * b->nl + l;
}

/*
 * For every final cell of top row ty and every layer, records S: the areas
 * crossed an odd number of times by the cell's bottom line y = Y0 east of
 * the cell's middle. Each needed line is swept once from east to west.
 */
static int sweep_band(struct bld *b, uint32_t ty, size_t nfinal)
{
	unsigned kmax = 0;
	int rc;

	for (uint32_t tx = 0; tx < b->ntx; tx++)
		if (b->level[(size_t)ty * b->ntx + tx] > kmax)
			kmax = b->level[(size_t)ty * b->ntx + tx];

	/* The band's non-horizontal edges, once each: every edge crossing a
	 * line of the band crosses it inside one of the band's top cells. */
	b->band_edges.n = 0;
	for (uint32_t tx = 0; tx < b->ntx; tx++) {
		size_t c = (size_t)ty * b->ntx + tx;
		for (uint32_t i = b->tc_off[c]; i < b->tc_off[c + 1]; i++) {
			uint32_t e = b->tc_edges[i];
			if (b->row_stamp[e] == ty + 1 || edge_horizontal(b, e))
				continue;
			b->row_stamp[e] = ty + 1;
			if ((rc = vec_push(&b->band_edges, &e)))
				return rc;
		}
	}

	if ((rc = vec_reserve(&b->snap_start, nfinal * b->nl)) ||
	    (rc = vec_reserve(&b->snap_count, nfinal * b->nl)))
		return rc;
	b->snap_start.n = b->snap_count.n = nfinal * b->nl;
	b->snap_pool.n = 0;
	uint32_t *start = b->snap_start.p, *count = b->snap_count.p;

	for (uint32_t jl = 0; jl < (1u << SUB_LEVELS); jl += 1u << (SUB_LEVELS - kmax)) {
		uint32_t j = (ty << SUB_LEVELS) + jl;
		/* Y0 of every cell whose bottom fine row is j (cell_box's arithmetic). */
		double y = cell_box(b, 0, 1, j, j + 1, b->m).y0;
		b->crossings.n = 0;
		for (size_t i = 0; i < b->band_edges.n; i++) {
			uint32_t e = VEC_AT(&b->band_edges, uint32_t, i);
			if (!edge_crosses_line(b, e, y))
				continue;
			struct crossing c = {crossing_x(b, e, y), b->slot_layer[b->e[e].slot],
					     b->e[e].slot};
			if ((rc = vec_push(&b->crossings, &c)))
				return rc;
		}
		if (b->crossings.n > 1)
			qsort(b->crossings.p, b->crossings.n, sizeof(struct crossing),
			      cmp_crossing);
		const struct crossing *cr = b->crossings.p;
		size_t ci = 0;
		for (unsigned l = 0; l < b->nl; l++) {
			for (uint32_t tx = b->ntx; tx-- > 0;) {
				unsigned k = b->level[(size_t)ty * b->ntx + tx];
				uint32_t step = 1u << (SUB_LEVELS - k);
				if (jl % step)
					continue;
				for (uint32_t sx = 1u << k; sx-- > 0;) {
					uint32_t i0 = (tx << SUB_LEVELS) + sx * step;
					struct box x =
					    cell_box(b, i0, i0 + step, j, j + step, b->m);
					double mid = 0.5 * (x.x0 + x.x1);
					while (ci < b->crossings.n && cr[ci].layer == l &&
					       cr[ci].x > mid)
						if ((rc = toggle_odd(b, cr[ci++].slot)))
							return rc;
					size_t si = snap_index(b, tx, ((jl / step) << k) + sx, l);
					start[si] = (uint32_t)b->snap_pool.n;
					count[si] = (uint32_t)b->members.n;
					for (size_t mi = 0; mi < b->members.n; mi++)
						if ((rc = vec_push(
							 &b->snap_pool,
							 &VEC_AT(&b->members, uint32_t, mi))))
							return rc;
				}
			}
			/* The rest of the line: each ring crosses it an even number of
			 * times, so this empties the set for the next layer. */
			while (ci < b->crossings.n && cr[ci].layer == l)
				if ((rc = toggle_odd(b, cr[ci++].slot)))
					return rc;
		}
	}
	return SG_OK;
}

/* ------------------------------------------------------------------------ */
/* Building: records                                                         */

static int cmp_cell_entry(const void *x, const void *y)
{
	const uint32_t *a = x, *c = y;
	if (a[0] != c[0])
		return a[0] < c[0] ? -1 : 1;
	return a[1] < c[1] ? -1 : a[1] > c[1];
}

static int cmp_cand(const void *x, const void *y)
{
	const struct cand *a = x, *c = y;
	if (a->layer != c->layer)
		return a->layer < c->layer ? -1 : 1;
	return a->slot < c->slot ? -1 : a->slot > c->slot;
}

static int cmp_out_edge(const void *x, const void *y)
{
	const struct out_edge *a = x, *c = y;
	if (a->ay != c->ay)
		return a->ay < c->ay ? -1 : 1;
	if (a->ax != c->ax)
		return a->ax < c->ax ? -1 : 1;
	if (a->by != c->by)
		return a->by < c->by ? -1 : 1;
	if (a->bx != c->bx)
		return a->bx < c->bx ? -1 : 1;
	return 0;
}

static int push_unit(struct vec *v, uint64_t u)
{
	union unit x = {.u = u};
	return vec_push(v, &x);
}

static int push_double(struct vec *v, double d)
{
	union unit x = {.d = d};
	return vec_push(v, &x);
}

/* Whether a candidate covers the cell whole: no edge, no breakpoint, inside at the reference. */
static bool cand_constant(const struct cand *c)
{
	return c->ne == 0 && c->nb == 0;
}

/*
 * Writes the strip table of the current cell for the edges o[0..ne) (in
 * order of lower latitude): a strip lists the edges whose latitude span
 * [ay, by) meets its rows grown by the margin, which covers every point a
 * query can assign to it.
 */
static int write_strips(struct bld *b, const struct out_edge *o, size_t ne)
{
	unsigned rlog = (unsigned)__builtin_ctz(b->cell_step);
	unsigned slog = rlog < STRIPS_LOG_MAX ? rlog : STRIPS_LOG_MAX;
	uint32_t ns = 1u << slog, rows = b->cell_step >> slog;
	int rc;

	b->table.n = 0;
	if ((rc = vec_reserve(&b->table, ns + 1)))
		return rc;
	b->table.n = ns + 1;
	for (uint32_t j = 0; j < ns; j++) {
		struct box x = cell_box(b, b->cell_i0, b->cell_i0 + b->cell_step,
					b->cell_j0 + j * rows, b->cell_j0 + (j + 1) * rows, b->m);
		VEC_AT(&b->table, uint16_t, j) = (uint16_t)b->table.n;
		for (size_t i = 0; i < ne; i++) {
			if (o[i].ay > x.y1 || o[i].by <= x.y0)
				continue;
			uint16_t v = (uint16_t)i;
			if ((rc = vec_push(&b->table, &v)))
				return rc;
		}
		if (b->table.n > 0xffff)
			return SG_ETOOBIG;
	}
	VEC_AT(&b->table, uint16_t, ns) = (uint16_t)b->table.n;
	for (size_t i = 0; i < b->table.n && !rc; i += 4) {
		union unit x = {.u = 0};
		for (size_t j = 0; j < 4 && i + j < b->table.n; j++)
			x.h[j] = VEC_AT(&b->table, uint16_t, i + j);
		rc = vec_push(&b->rec, &x);
	}
	return rc;
}

/*
 * Writes one group: the variable candidates cands[v[0..nv)] and, in the
 * first group, the base answer, laid out as geo/index_internal.h
 * describes. Edges of several candidates (shared by neighbours, or by areas
 * of different layers) are merged into one with the XOR of their masks; a
 * mask of 0 (an edge twice in one area) drops the edge.
 */
static int write_group(struct bld *b, const size_t *v, size_t nv, const int64_t *base, bool more)
{
	const struct cand *cands = b->cands.p;
	uint32_t r0 = 0;
	int rc = SG_OK;

	b->outs.n = 0;
	for (size_t i = 0; i < nv && !rc; i++) {
		const struct cand *c = &cands[v[i]];
		uint64_t bit = 1ull << i;
		if (c->r0)
			r0 |= (uint32_t)bit;
		for (uint32_t j = 0; j < c->ne && !rc; j++) {
			struct out_edge o = VEC_AT(&b->cedges, struct out_edge, c->e0 + j);
			o.mask = bit;
			rc = vec_push(&b->outs, &o);
		}
		for (uint32_t j = 0; j < c->nb && !rc; j++) {
			/* A breakpoint: a vertical edge far east, from its latitude up. */
			struct out_edge o = {b->far_x, VEC_AT(&b->bps, double, c->b0 + j), b->far_x,
					     b->far_y, bit};
			rc = vec_push(&b->outs, &o);
		}
	}
	if (rc)
		return rc;
	struct out_edge *o = b->outs.p;
	if (b->outs.n > 1)
		qsort(o, b->outs.n, sizeof *o, cmp_out_edge);
	size_t ne = 0;
	for (size_t i = 0; i < b->outs.n;) {
		struct out_edge m = o[i++];
		while (i < b->outs.n && cmp_out_edge(&m, &o[i]) == 0)
			m.mask ^= o[i++].mask;
		if (m.mask)
			o[ne++] = m;
	}
	if (ne > HDR_NE_MAX)
		return SG_ETOOBIG;
	uint64_t base_hits = 0;
	for (unsigned l = 0; base && l < b->nl; l++)
		base_hits += base[l] != 0;
	uint64_t h = (uint64_t)ne | (uint64_t)nv << HDR_NV_SHIFT | (uint64_t)r0 << HDR_R0_SHIFT |
		     base_hits << HDR_HITS_SHIFT;
	if (more)
		h |= HDR_MORE;
	rc = push_unit(&b->rec, h);
	if (ne && !rc)
		rc = write_strips(b, o, ne);
	for (size_t i = 0; i < ne && !rc; i += 4) {
		union unit x = {.u = 0};
		for (size_t j = 0; j < 4 && i + j < ne; j++)
			x.h[j] = (uint16_t)o[i + j].mask;
		rc = vec_push(&b->rec, &x);
	}
	for (size_t i = 0; i < ne && !rc; i++) {
		rc = push_double(&b->rec, o[i].ax);
		rc = rc ? rc : push_double(&b->rec, o[i].ay);
		rc = rc ? rc : push_double(&b->rec, o[i].bx);
		rc = rc ? rc : push_double(&b->rec, o[i].by);
	}
	for (size_t u = 0; u < (nv + 7) / 8 && !rc; u++) {
		unsigned char lpos[8] = {0};
		for (size_t i = 0; i < 8 && 8 * u + i < nv; i++)
			lpos[i] = (unsigned char)cands[v[8 * u + i]].layer;
		union unit x;
		memcpy(&x, lpos, 8);
		rc = vec_push(&b->rec, &x);
	}
	for (unsigned l = 0; base && l < b->nl && !rc; l++)
		rc = push_unit(&b->rec, (uint64_t)base[l]);
	for (size_t i = 0; i < nv && !rc; i++)
		rc = push_unit(&b->rec, (uint64_t)b->ids[cands[v[i]].slot]);
	return rc;
}

/*
 * Writes the record for the candidates b->cands (by layer, then slot) to
 * b->rec: the constant candidates make the base answer, the variable ones
 * go GROUP_VAR_MAX to a group.
 */
static int write_groups(struct bld *b)
{
	const struct cand *cands = b->cands.p;
	int64_t base[GEO_INDEX_MAX_LAYERS] = {0};
	size_t nvar = 0;
	int rc;

	for (size_t i = 0; i < b->cands.n; i++) {
		if (cand_constant(&cands[i]))
			base[cands[i].layer] = b->ids[cands[i].slot];
		else
			nvar++;
	}
	b->rec.n = 0;
	size_t v[GROUP_VAR_MAX], nv = 0, done = 0;
	bool first = true;
	for (size_t i = 0; i < b->cands.n; i++) {
		if (cand_constant(&cands[i]))
			continue;
		v[nv++] = i;
		done++;
		if (nv == GROUP_VAR_MAX && done < nvar) {
			if ((rc = write_group(b, v, nv, first ? base : NULL, true)))
				return rc;
			first = false;
			nv = 0;
		}
	}
	return write_group(b, v, nv, first ? base : NULL, false);
}

static uint64_t hash_units(const union unit *u, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		h ^= u[i].u;
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h;
}

/* Doubles the dedup table (or creates it). */
static int dedup_grow(struct bld *b)
{
	size_t cap = b->dedup_cap ? b->dedup_cap * 2 : 1024;
	struct dedup_slot *t = calloc(cap, sizeof *t);
	if (!t)
		return SG_ENOMEM;
	for (size_t i = 0; i < b->dedup_cap; i++) {
		struct dedup_slot d = b->dedup[i];
		if (!d.off1)
			continue;
		size_t at =
		    hash_units((const union unit *)b->pool.p + d.off1 - 1, d.len) & (cap - 1);
		while (t[at].off1)
			at = (at + 1) & (cap - 1);
		t[at] = d;
	}
	free(b->dedup);
	b->dedup = t;
	b->dedup_cap = cap;
	return SG_OK;
}

/* Appends zeroed units to the pool up to the next cache line. */
static int pool_align(struct bld *b)
{
	size_t start = (b->pool.n + RECORD_ALIGN - 1) / RECORD_ALIGN * RECORD_ALIGN;
	if (start == b->pool.n)
		return SG_OK;
	int rc = vec_reserve(&b->pool, start);
	if (rc)
		return rc;
	memset((union unit *)b->pool.p + b->pool.n, 0, (start - b->pool.n) * sizeof(union unit));
	b->pool.n = start;
	return SG_OK;
}

/* Appends n units to the pool. */
static int pool_put(struct bld *b, const union unit *u, size_t n)
{
	int rc = vec_reserve(&b->pool, b->pool.n + n);
	if (rc)
		return rc;
	memcpy((union unit *)b->pool.p + b->pool.n, u, n * sizeof *u);
	b->pool.n += n;
	return SG_OK;
}

/* The number of cache lines n units take. */
static size_t lines_of(size_t n)
{
	return (n + RECORD_ALIGN - 1) / RECORD_ALIGN;
}

/* A cell reference: the record's first cache line and how many more it takes. */
static uint32_t make_ref(size_t line, size_t len)
{
	size_t more = lines_of(len) - 1;
	return (uint32_t)line << REF_LINE_SHIFT |
	       (uint32_t)(more < REF_LINES_MAX ? more : REF_LINES_MAX);
}

/*
 * Appends the record in b->rec to the pool on a cache line and returns
 * its cell reference. A record without edges depends only on which areas cover the
 * cell, so such records are shared: cells inside the same areas of every
 * layer, and every cell outside all areas, reuse one.
 */
static int emit_record(struct bld *b, bool shareable, uint32_t *ref)
{
	const union unit *rec = b->rec.p;
	size_t len = b->rec.n, at = 0;
	int rc;

	if (shareable) {
		if (b->dedup_n * 2 >= b->dedup_cap && (rc = dedup_grow(b)))
			return rc;
		at = hash_units(rec, len) & (b->dedup_cap - 1);
		for (; b->dedup[at].off1; at = (at + 1) & (b->dedup_cap - 1)) {
			struct dedup_slot d = b->dedup[at];
			if (d.len == len && memcmp((const union unit *)b->pool.p + d.off1 - 1, rec,
						   len * sizeof *rec) == 0) {
				*ref = make_ref((d.off1 - 1) / RECORD_ALIGN, len);
				return SG_OK;
			}
		}
	}
	if ((rc = pool_align(b)))
		return rc;
	size_t start = b->pool.n;
	if (start / RECORD_ALIGN > REF_LINE_MAX || start + len >= UINT32_MAX)
		return SG_ETOOBIG;
	if ((rc = pool_put(b, rec, len)))
		return rc;
	*ref = make_ref(start / RECORD_ALIGN, len);
	if (shareable) {
		b->dedup[at] = (struct dedup_slot){(uint32_t)start + 1, (uint32_t)len};
		b->dedup_n++;
	}
	return SG_OK;
}

/*
 * Appends the candidates of layer l to b->cands (their edges to b->cedges,
 * breakpoints to b->bps) for the cell with box x (grown by m), whose edge
 * list (slot, edge) is b->cell sorted by slot, read from *cursor on, and
 * whose S is snap[0..ns). They end in slot order, cut after the first
 * candidate that wins unconditionally.
 */
static int layer_candidates(struct bld *b, struct box x, unsigned l, const uint32_t *snap,
			    uint32_t ns, size_t *cursor)
{
	const uint32_t *ce = b->cell.p;
	double mid = 0.5 * (x.x0 + x.x1);
	size_t first = b->cands.n;
	int rc = SG_OK;

	b->sstamp++;
	for (uint32_t i = 0; i < ns; i++)
		b->in_s[snap[i]] = b->sstamp;

	/* Areas with edges in the cell. */
	size_t i = *cursor;
	while (i < b->cell.n && b->slot_layer[ce[2 * i]] == l && !rc) {
		uint32_t slot = ce[2 * i];
		struct cand c = {l,
				 slot,
				 b->in_s[slot] == b->sstamp,
				 (uint32_t)b->cedges.n,
				 0,
				 (uint32_t)b->bps.n,
				 0};
		b->listed[slot] = b->sstamp;
		for (; i < b->cell.n && ce[2 * i] == slot && !rc; i++) {
			uint32_t e = ce[2 * i + 1];
			struct geo_point p = b->v[b->e[e].a], q = b->v[b->e[e].a + 1];
			if (p.lat != q.lat) {
				struct geo_point lo = p.lat < q.lat ? p : q,
						 hi = p.lat < q.lat ? q : p;
				struct out_edge o = {lo.lon, lo.lat, hi.lon, hi.lat, 0};
				rc = vec_push(&b->cedges, &o);
				/* Remove this edge's share of S: it is stored, not far. */
				if (lo.lat <= x.y0 && x.y0 < hi.lat && crossing_x(b, e, x.y0) > mid)
					c.r0 ^= 1;
			}
			/* Run ends: a vertex in the band, east of the cell, between
			 * this stored edge and a ring neighbour that is not stored. */
			const struct bring *r = &b->rings[b->e[e].ring];
			uint32_t prev = e == r->first ? r->first + r->n - 1 : e - 1;
			uint32_t next = e == r->first + r->n - 1 ? r->first : e + 1;
			if (!rc && b->stamp[prev] != b->serial && p.lat > x.y0 && p.lat <= x.y1 &&
			    p.lon > x.x1)
				rc = vec_push(&b->bps, &p.lat);
			if (!rc && b->stamp[next] != b->serial && q.lat > x.y0 && q.lat <= x.y1 &&
			    q.lon > x.x1)
				rc = vec_push(&b->bps, &q.lat);
		}
		c.ne = (uint32_t)b->cedges.n - c.e0;
		c.nb = (uint32_t)b->bps.n - c.b0;
		if (!rc)
			rc = vec_push(&b->cands, &c);
	}
	*cursor = i;
	/* Areas of S with no edge here cover the whole cell. */
	for (uint32_t k = 0; k < ns && !rc; k++) {
		if (b->listed[snap[k]] == b->sstamp)
			continue;
		struct cand c = {l, snap[k], 1, 0, 0, 0, 0};
		rc = vec_push(&b->cands, &c);
	}
	if (rc)
		return rc;

	struct cand *cs = (struct cand *)b->cands.p + first;
	size_t total = b->cands.n - first, n = 0;
	if (total > 1)
		qsort(cs, total, sizeof *cs, cmp_cand);
	for (size_t k = 0; k < total; k++) {
		bool constant = cs[k].ne == 0 && cs[k].nb == 0;
		if (constant && !cs[k].r0)
			continue; /* never inside here */
		cs[n++] = cs[k];
		if (constant)
			break; /* inside everywhere here: nobody after it can win */
	}
	b->cands.n = first + n;
	return SG_OK;
}

/*
 * Builds the record of one final cell — fine cells [i0, i0 + step) x
 * [j0, j0 + step), its edges edges[0..n), its S snapshots at snap_base —
 * into b->rec, and says whether it may be shared (it has no edges).
 */
static int build_cell(struct bld *b, uint32_t i0, uint32_t j0, uint32_t step, const uint32_t *edges,
		      size_t n, size_t snap_base, bool *shareable)
{
	struct box x = cell_box(b, i0, i0 + step, j0, j0 + step, b->m);
	int rc;

	b->cell_i0 = i0;
	b->cell_j0 = j0;
	b->cell_step = step;
	b->serial++;
	b->cell.n = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t pair[2] = {b->e[edges[i]].slot, edges[i]};
		b->stamp[edges[i]] = b->serial;
		if ((rc = vec_push(&b->cell, pair)))
			return rc;
	}
	if (b->cell.n > 1)
		qsort(b->cell.p, b->cell.n, 2 * sizeof(uint32_t), cmp_cell_entry);

	b->cands.n = b->cedges.n = b->bps.n = 0;
	size_t cursor = 0;
	for (unsigned l = 0; l < b->nl; l++) {
		uint32_t ns = VEC_AT(&b->snap_count, uint32_t, snap_base + l);
		const uint32_t *snap = NULL;
		if (ns)
			snap = (const uint32_t *)b->snap_pool.p +
			       VEC_AT(&b->snap_start, uint32_t, snap_base + l);
		if ((rc = layer_candidates(b, x, l, snap, ns, &cursor)))
			return rc;
	}
	*shareable = true;
	for (size_t i = 0; i < b->cands.n; i++)
		if (VEC_AT(&b->cands, struct cand, i).ne || VEC_AT(&b->cands, struct cand, i).nb)
			*shareable = false;
	return write_groups(b);
}

/*
 * Builds the records of top cell (tx, ty): one for a level-0 cell, or one
 * per sub-cell, and their references in the sub array.
 */
static int build_top_cell(struct bld *b, uint32_t tx, uint32_t ty)
{
	size_t c = (size_t)ty * b->ntx + tx;
	unsigned k = b->level[c];
	uint32_t n = 1u << k, step = 1u << (SUB_LEVELS - k);
	uint32_t bi = tx << SUB_LEVELS, bj = ty << SUB_LEVELS;
	size_t ns = (size_t)n * n, first = b->sub.n;
	bool shareable;
	uint32_t ref;
	int rc;

	if (k == 0) {
		rc = build_cell(b, bi, bj, step, b->tc_edges + b->tc_off[c],
				b->tc_off[c + 1] - b->tc_off[c], snap_index(b, tx, 0, 0),
				&shareable);
		if (!rc)
			rc = emit_record(b, shareable, &ref);
		if (!rc && (ref >> REF_LINE_SHIFT) > REF_LINE_MAX_TOP)
			rc = SG_ETOOBIG;
		if (!rc)
			b->top[c] = ref;
		return rc;
	}
	if (first + ns > OFFSET_MAX)
		return SG_ETOOBIG;
	if ((rc = vec_reserve(&b->sub, first + ns)))
		return rc;
	b->sub.n += ns;
	b->top[c] = (uint32_t)k << TOP_LEVEL_SHIFT | (uint32_t)first;

	/* Edge lists of the sub-cells, by counting sort of (sub-cell, edge). */
	b->pairs.n = 0;
	for (uint32_t i = b->tc_off[c]; i < b->tc_off[c + 1]; i++)
		if ((rc = rasterize(b, b->tc_edges[i], bi, bj, step, n, n)))
			return rc;
	if ((rc = vec_reserve(&b->sub_off, ns + 1)) ||
	    (rc = vec_reserve(&b->sub_edges, b->pairs.n)))
		return rc;
	uint32_t *so = b->sub_off.p, *se = b->sub_edges.p;
	const uint32_t *pr = b->pairs.p;
	memset(so, 0, (ns + 1) * sizeof *so);
	for (size_t i = 0; i < b->pairs.n; i++)
		so[pr[2 * i] + 1]++;
	for (size_t i = 0; i < ns; i++)
		so[i + 1] += so[i];
	for (size_t i = 0; i < b->pairs.n; i++)
		se[so[pr[2 * i]]++] = pr[2 * i + 1];
	/* The fill moved every start to the next one's; shift back. */
	memmove(so + 1, so, ns * sizeof *so);
	so[0] = 0;

	for (uint32_t s = 0; s < ns; s++) {
		rc = build_cell(b, bi + (s % n) * step, bj + (s / n) * step, step, se + so[s],
				so[s + 1] - so[s], snap_index(b, tx, s, 0), &shareable);
		if (!rc)
			rc = emit_record(b, shareable, &ref);
		if (rc)
			return rc;
		VEC_AT(&b->sub, uint32_t, first + s) = ref;
	}
	return SG_OK;
}

static int build_grid(struct bld *b)
{
	size_t ncells;
	int rc;

	size_grid(b);
	ncells = (size_t)b->ntx * b->nty;
	if ((rc = build_top_lists(b)) || (rc = choose_levels(b)))
		return rc;
	b->top = calloc(ncells, sizeof *b->top);
	b->stamp = calloc(b->ne, sizeof *b->stamp);
	b->row_stamp = calloc(b->ne, sizeof *b->row_stamp);
	b->in_s = calloc(b->nslots, sizeof *b->in_s);
	b->listed = calloc(b->nslots, sizeof *b->listed);
	b->odd = calloc(b->nslots, 1);
	b->pos = calloc(b->nslots, sizeof *b->pos);
	b->band_base = calloc(b->ntx, sizeof *b->band_base);
	if (!b->top || !b->stamp || !b->row_stamp || !b->in_s || !b->listed || !b->odd || !b->pos ||
	    !b->band_base)
		return SG_ENOMEM;
	for (uint32_t ty = 0; ty < b->nty; ty++) {
		size_t nfinal = 0;
		for (uint32_t tx = 0; tx < b->ntx; tx++) {
			b->band_base[tx] = nfinal;
			nfinal += (size_t)1 << (2 * b->level[(size_t)ty * b->ntx + tx]);
		}
		if ((rc = sweep_band(b, ty, nfinal)))
			return rc;
		for (uint32_t tx = 0; tx < b->ntx; tx++)
			if ((rc = build_top_cell(b, tx, ty)))
				return rc;
	}
	return SG_OK;
}

/*
 * Moves a vec's contents into a fresh array for the index to keep. Large
 * arrays are aligned to 2 MiB and offered to the kernel as huge pages: a
 * query touches a few random cache lines in tens of MiB, and with 4 KiB
 * pages nearly every one of them would also miss the TLB. Without
 * transparent huge pages this is an ordinary allocation. NULL on failure.
 */
#define HUGE_PAGE ((size_t)2 << 20)

static void *vec_take(struct vec *v, size_t *allocated)
{
	size_t bytes = v->n * v->elem, rounded;
	void *p;
	if (bytes >= HUGE_PAGE) {
		rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
		p = aligned_alloc(HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
		if (p)
			madvise(p, rounded, MADV_HUGEPAGE);
#endif
	} else {
		/* Records are laid out on cache lines relative to the start. */
		rounded = (bytes + 63) / 64 * 64 + 64;
		p = aligned_alloc(64, rounded);
	}
	if (p && bytes)
		memcpy(p, v->p, bytes);
	if (p) {
		vec_release(v);
		*allocated += rounded;
	}
	return p;
}

int geo_index_build(const struct geo_index_input *areas, size_t n, struct geo_index **out)
{
	struct geo_index *idx = calloc(1, sizeof *idx);
	struct bld b;
	int rc;

	bld_init(&b);
	if (!idx) {
		rc = SG_ENOMEM;
		goto out;
	}
	if ((rc = load_areas(&b, areas, n)))
		goto out;
	idx->nl = b.nl;
	memcpy(idx->layer_of, b.layer_of, sizeof idx->layer_of);
	idx->dense = b.nl <= 8 && (b.nl == 0 || b.layer_of[b.nl - 1] == b.nl - 1);
	/* An empty bbox (x0 > x1) makes every query miss before reading the grid. */
	idx->x0 = idx->y0 = 1.0;
	idx->x1 = idx->y1 = 0.0;
	if (b.ne > 0) {
		b.x0 = b.x1 = b.v[0].lon;
		b.y0 = b.y1 = b.v[0].lat;
		for (size_t i = 1; i < b.nv; i++) {
			b.x0 = fmin(b.x0, b.v[i].lon);
			b.x1 = fmax(b.x1, b.v[i].lon);
			b.y0 = fmin(b.y0, b.v[i].lat);
			b.y1 = fmax(b.y1, b.v[i].lat);
		}
		if ((rc = build_grid(&b)))
			goto out;
		idx->x0 = b.x0;
		idx->y0 = b.y0;
		idx->x1 = b.x1;
		idx->y1 = b.y1;
		idx->ntx = b.ntx;
		idx->nty = b.nty;
		idx->nfx = b.ntx << SUB_LEVELS;
		idx->nfy = b.nty << SUB_LEVELS;
		idx->inv_fw = 1.0 / b.fw;
		idx->inv_fh = 1.0 / b.fh;
		idx->top = b.top;
		b.top = NULL;
		idx->alloc_bytes = (size_t)b.ntx * b.nty * sizeof *idx->top;
		/* Slack: a query may read one line past the last record (see geo_index_locate). */
		for (unsigned i = 0; i < RECORD_ALIGN && !rc; i++)
			rc = push_unit(&b.pool, 0);
		if (rc)
			goto out;
		idx->sub = vec_take(&b.sub, &idx->alloc_bytes);
		idx->pool = vec_take(&b.pool, &idx->alloc_bytes);
		if (!idx->sub || !idx->pool) {
			rc = SG_ENOMEM;
			goto out;
		}
	}
	*out = idx;
	idx = NULL;
	rc = SG_OK;
out:
	geo_index_free(idx);
	bld_release(&b);
	return rc;
}
