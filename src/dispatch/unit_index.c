/*
 * unit_index.c — the in-memory index of units' latest positions and the k
 * nearest units matching a filter.
 *
 * Layout. Units live in a dense array of slots (swap-removed), found by id
 * through an open-addressing map. Units with a position are also filed in a
 * grid of cells of GRID_DEG degrees (1.1 km of latitude, 0.95 km of
 * longitude in Suzhou), one grid per (type, status) "layer", so a query for
 * available units of one type only ever looks at those. A cell keeps a
 * compact copy of what the scan needs (position, its time, home area) so a
 * query reads cells sequentially and touches a slot only for the final hits.
 * Cells are grouped in blocks of 8×8 with a 64-bit occupancy mask; one map
 * keyed by (layer, block) finds a block, and a query skips empty cells by
 * mask and empty blocks whole. Empty cells and blocks go back to free lists,
 * so moving units leave no trail. The cell size suits a city's thousands of
 * units (a layer of a few hundred over 8,000 km² is found within a few
 * rings); for far denser layers a finer grid would scan fewer units.
 *
 * Query. Rings of cells around the query point, growing one cell at a time;
 * after each ring the distance from the point to the edge of the searched
 * rectangle bounds whatever lies outside it (exactly: along a meridian for
 * the north and south edges, to the meridian's great circle for the east and
 * west edges). The search stops once the k-th best is nearer than that bound,
 * the bound passes the radius, or the rectangle covers every occupied cell of
 * the layers asked for. A search that has visited more cells than a plain
 * scan would cost (sparse layers, the poles) finishes as a plain scan, so the
 * worst case stays near a linear pass. Each query keeps the blocks it has
 * looked up, since every ring crosses the same blocks as the one before.
 * Distances are geo_distance_m's haversine step for step (cosines cached,
 * the square root and arcsine only for candidates that can still enter), so
 * they match what the rest of the project reports to the last bit.
 *
 * Shortfall. When fewer than k units are found the reasons are counted by
 * one linear pass over all units: it happens when the answer is already
 * small, and counting stale or out-of-radius units any other way would need
 * per-cell counters for every condition.
 *
 * Concurrency: a sequence lock. Writers take a mutex and bump a sequence
 * number to odd before changing anything and to even after. Readers take no
 * lock and write nothing shared: they note the sequence, read, and start
 * again if it was odd or has changed, so a query sees every update whole
 * and a reader that is preempted mid-query holds nobody up (a lock held by
 * a preempted reader would stall every writer, and with more busy threads
 * than cores that happens all the time). After READ_TRIES failed tries a
 * reader takes the writers' mutex, so a storm of updates cannot starve it.
 * Because a reader may be looking at anything while a writer works:
 *  - every field a reader reads is stored and loaded as a relaxed atomic
 *    (LD/ST below), so the races are defined behaviour and all of them are
 *    settled by the sequence check;
 *  - arrays carry their capacity in the same allocation, are published with
 *    release stores, and an outgrown array is kept (on the retired list,
 *    freed with the index) because a reader may still be in it; arrays grow
 *    by doubling, so what is retired stays below what is live;
 *  - a reader checks every index it reads against the capacity of the array
 *    it indexes and bounds every loop, so a torn read ends in a retry, never
 *    outside an allocation.
 */
#include "dispatch/unit_index.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "geo/coord.h"

#define LAYERS (32 * UNIT_STATUS_COUNT)
#define GRID_PER_DEG 100 /* cells per degree */
#define GRID_DEG (1.0 / GRID_PER_DEG)
#define GRID_NX (360 * GRID_PER_DEG)
#define GRID_NY (180 * GRID_PER_DEG)
#define EARTH_MEAN_RADIUS_M 6371008.8
#define DEG_RAD (M_PI / 180.0)
#define BLOCK_SIDE 8    /* divides GRID_NX and GRID_NY */
#define BLOCK_CACHE 64  /* a power of two */
#define READ_TRIES 16
#define NO_CELL UINT32_MAX
#define MAP_EMPTY UINT64_MAX

/* Relaxed atomic access to fields readers and the writer share. */
#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define LD_ACQ(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define ST_REL(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

static double ldd(const double *p)
{
	double v;
	__atomic_load(p, &v, __ATOMIC_RELAXED);
	return v;
}

static void std_(double *p, double v)
{
	__atomic_store(p, &v, __ATOMIC_RELAXED);
}

/* An open-addressing table from a 64-bit key to a 32-bit value (linear probing, backward-shift delete). */
struct maptab {
	uint32_t cap; /* power of two; fixed for the table's life */
	uint32_t n;
	uint32_t *vals;  /* into the same allocation, after keys */
	uint64_t keys[]; /* MAP_EMPTY where free */
};

/* What a scan needs of a unit, copied into its cell. */
struct cell_ent {
	double lon, lat;
	double cos_lat; /* of lat, for the haversine */
	int64_t pos_at;
	int64_t id;
	uint32_t home_area;
	uint32_t slot;
};

struct ent_arr {
	uint32_t cap;
	struct cell_ent v[];
};

struct cell {
	struct ent_arr *ents; /* NULL until the first unit */
	uint32_t n;
	uint32_t next_free; /* in the free list when unused */
};

struct cell_arr {
	uint32_t cap;
	struct cell v[];
};

/*
 * BLOCK_SIDE × BLOCK_SIDE cells of one layer: which are occupied, and
 * where they are. Blocks let a search skip empty ground 64 cells at a time
 * and find a cell without hashing it.
 */
struct block {
	uint64_t mask;
	uint32_t cell[BLOCK_SIDE * BLOCK_SIDE]; /* valid where mask has the bit */
	uint32_t next_free;                     /* in the free list when unused */
};

struct block_arr {
	uint32_t cap;
	struct block v[];
};

struct slot {
	struct unit_rec u;
	uint32_t cell; /* NO_CELL when the unit has no position */
	uint32_t pos;  /* index in the cell's ents */
};

struct slot_arr {
	uint32_t cap;
	struct slot v[];
};

/* A layer's occupied cells lie within [x0,x1]×[y0,y1] (grown only; reset when the layer empties). */
struct layer {
	uint32_t units;
	int32_t x0, x1, y0, y1;
};

struct unit_index {
	_Alignas(64) uint64_t seq; /* odd while a writer is changing things */
	_Alignas(64) pthread_mutex_t wlock;
	struct slot_arr *slots;
	uint32_t nslots;
	struct maptab *by_id;    /* id -> slot */
	struct maptab *by_block; /* (layer, bx, by) -> block */
	struct block_arr *blocks;
	uint32_t nblocks, free_block;
	struct cell_arr *cells;
	uint32_t ncells, free_cell;
	struct layer layers[LAYERS];
	void **retired; /* outgrown arrays, freed with the index */
	size_t nretired, cap_retired;
};

/* ---- the writer's side of the sequence lock ---- */

static void write_begin(struct unit_index *ix)
{
	pthread_mutex_lock(&ix->wlock);
	ST(ix->seq, ix->seq + 1);
	atomic_thread_fence(memory_order_release);
}

static void write_end(struct unit_index *ix)
{
	ST_REL(ix->seq, ix->seq + 1);
	pthread_mutex_unlock(&ix->wlock);
}

/* Makes room to retire one more array, so that growing never fails half-way. */
static int retire_reserve(struct unit_index *ix)
{
	if (ix->nretired == ix->cap_retired) {
		size_t ncap = ix->cap_retired ? ix->cap_retired * 2 : 16;
		void **nr = realloc(ix->retired, ncap * sizeof *nr);
		if (!nr)
			return SG_ENOMEM;
		ix->retired = nr;
		ix->cap_retired = ncap;
	}
	return 0;
}

static void retire(struct unit_index *ix, void *p)
{
	if (p)
		ix->retired[ix->nretired++] = p;
}

/*
 * A copy of an array (header of hsize bytes, n elements of esize) with
 * room for ncap, its capacity set; NULL when out of memory. The caller
 * publishes it and retires the old one.
 */
static void *arr_grow(const void *old, size_t hsize, size_t esize, uint32_t n, uint32_t ncap)
{
	char *p = malloc(hsize + (size_t)ncap * esize);

	if (!p)
		return NULL;
	if (old)
		memcpy(p + hsize, (const char *)old + hsize, (size_t)n * esize);
	*(uint32_t *)p = ncap;
	return p;
}

/* ---- the map ---- */

static size_t map_hash(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

/* The value for key, or NO_CELL. Safe for readers: at most cap probes. */
static uint32_t map_get(const struct maptab *t, uint64_t key)
{
	if (!t)
		return NO_CELL;
	for (size_t i = map_hash(key, t->cap), n = 0; n < t->cap; i = (i + 1) & (t->cap - 1), n++) {
		uint64_t k = LD(t->keys[i]);
		if (k == key)
			return LD(t->vals[i]);
		if (k == MAP_EMPTY)
			return NO_CELL;
	}
	return NO_CELL;
}

static struct maptab *map_new(uint32_t cap)
{
	struct maptab *t = malloc(sizeof *t + (size_t)cap * (sizeof(uint64_t) + sizeof(uint32_t)));

	if (!t)
		return NULL;
	t->cap = cap;
	t->n = 0;
	t->vals = (uint32_t *)(t->keys + cap);
	memset(t->keys, 0xff, (size_t)cap * sizeof(uint64_t));
	return t;
}

/* Inserts or overwrites; grows into a new table when three quarters full. SG_ENOMEM changes nothing. */
static int map_set(struct unit_index *ix, struct maptab **tp, uint64_t key, uint32_t val)
{
	struct maptab *t = *tp;
	size_t i;

	if (!t || (t->n + 1) * 4 > t->cap * 3) {
		struct maptab *nt = map_new(t ? t->cap * 2 : 64);
		if (!nt || retire_reserve(ix)) {
			free(nt);
			return SG_ENOMEM;
		}
		for (size_t j = 0; t && j < t->cap; j++) {
			if (t->keys[j] == MAP_EMPTY)
				continue;
			size_t h = map_hash(t->keys[j], nt->cap);
			while (nt->keys[h] != MAP_EMPTY)
				h = (h + 1) & (nt->cap - 1);
			nt->keys[h] = t->keys[j];
			nt->vals[h] = t->vals[j];
		}
		nt->n = t ? t->n : 0;
		ST_REL(*tp, nt);
		retire(ix, t);
		t = nt;
	}
	for (i = map_hash(key, t->cap); t->keys[i] != MAP_EMPTY && t->keys[i] != key;
	     i = (i + 1) & (t->cap - 1))
		;
	if (t->keys[i] == MAP_EMPTY)
		t->n++;
	/* The value first: a reader that finds the key must not find a stale value with it. */
	ST(t->vals[i], val);
	ST(t->keys[i], key);
	return 0;
}

/* Deletes key if present, shifting later entries of its run back so lookups need no tombstones. */
static void map_del(struct maptab *t, uint64_t key)
{
	size_t mask, i, j;

	if (!t)
		return;
	mask = t->cap - 1;
	for (i = map_hash(key, t->cap); t->keys[i] != key; i = (i + 1) & mask)
		if (t->keys[i] == MAP_EMPTY)
			return;
	t->n--;
	for (j = i;;) {
		j = (j + 1) & mask;
		if (t->keys[j] == MAP_EMPTY)
			break;
		size_t h = map_hash(t->keys[j], t->cap);
		/* The entry at j may move to i only if its home is not in (i, j] (cyclically). */
		if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
			ST(t->vals[i], t->vals[j]);
			ST(t->keys[i], t->keys[j]);
			i = j;
		}
	}
	ST(t->keys[i], MAP_EMPTY);
}

/* ---- records, field by field ---- */

static void ent_store(struct cell_ent *e, const struct cell_ent *v)
{
	std_(&e->lon, v->lon);
	std_(&e->lat, v->lat);
	std_(&e->cos_lat, v->cos_lat);
	ST(e->pos_at, v->pos_at);
	ST(e->id, v->id);
	ST(e->home_area, v->home_area);
	ST(e->slot, v->slot);
}

static void rec_store(struct unit_rec *d, const struct unit_rec *v)
{
	ST(d->id, v->id);
	ST(d->type, v->type);
	ST(d->status, v->status);
	ST(d->home_area, v->home_area);
	ST(d->has_pos, v->has_pos);
	std_(&d->lon, v->lon);
	std_(&d->lat, v->lat);
	ST(d->pos_at, v->pos_at);
	ST(d->version, v->version);
	for (size_t i = 0; i < sizeof d->callsign; i++)
		ST(d->callsign[i], v->callsign[i]);
}

/*
 * What a nearest query answers of a hit: everything but the version and the
 * callsign, which live past the first 48 bytes of the slot; leaving them out
 * keeps each hit to the memory it read before the index held them.
 */
static void rec_load_hot(const struct unit_rec *s, struct unit_rec *out)
{
	out->id = LD(s->id);
	out->type = LD(s->type);
	out->status = LD(s->status);
	out->home_area = LD(s->home_area);
	out->has_pos = LD(s->has_pos);
	out->lon = ldd(&s->lon);
	out->lat = ldd(&s->lat);
	out->pos_at = LD(s->pos_at);
	out->version = 0;
	out->callsign[0] = '\0';
}

static void rec_load(const struct unit_rec *s, struct unit_rec *out)
{
	memset(out, 0, sizeof *out);
	out->id = LD(s->id);
	out->type = LD(s->type);
	out->status = LD(s->status);
	out->home_area = LD(s->home_area);
	out->has_pos = LD(s->has_pos);
	out->lon = ldd(&s->lon);
	out->lat = ldd(&s->lat);
	out->pos_at = LD(s->pos_at);
	out->version = LD(s->version);
	/* A torn read may leave no NUL: the copy always ends with one. */
	for (size_t i = 0; i + 1 < sizeof out->callsign; i++)
		if (!(out->callsign[i] = LD(s->callsign[i])))
			break;
}

static void slot_store(struct slot *d, const struct slot *v)
{
	rec_store(&d->u, &v->u);
	ST(d->cell, v->cell);
	ST(d->pos, v->pos);
}

/* ---- grid ---- */

/* The column of lon without wrapping: +180 gives GRID_NX, one past the last. */
static int32_t cell_x_raw(double lon)
{
	return (int32_t)floor((lon + 180.0) * GRID_PER_DEG);
}

/* The column a unit is filed in: +180 is -180. */
static int32_t cell_x(double lon)
{
	int32_t x = cell_x_raw(lon);
	return x >= GRID_NX ? x - GRID_NX : x;
}

static int32_t cell_y(double lat)
{
	int32_t y = (int32_t)floor((lat + 90.0) * GRID_PER_DEG);
	return y >= GRID_NY ? GRID_NY - 1 : y; /* the north pole joins the last row */
}

static unsigned layer_of(const struct unit_rec *u)
{
	return (unsigned)u->type * UNIT_STATUS_COUNT + u->status;
}

/* The key of the block holding cell (x, y) of a layer; x already wrapped. */
static uint64_t block_key(unsigned layer, int32_t x, int32_t y)
{
	return (uint64_t)layer << 40 | (uint64_t)(uint32_t)(x / BLOCK_SIDE) << 20 |
	       (uint64_t)(uint32_t)(y / BLOCK_SIDE);
}

static unsigned block_bit(int32_t x, int32_t y)
{
	return (unsigned)(y % BLOCK_SIDE * BLOCK_SIDE + x % BLOCK_SIDE);
}

/* A free cell from the pool (grown as needed), or NO_CELL when out of memory. */
static uint32_t cell_take(struct unit_index *ix)
{
	struct cell_arr *old = ix->cells;
	uint32_t c = ix->free_cell, cap = old ? old->cap : 0;

	if (c != NO_CELL) {
		ix->free_cell = old->v[c].next_free;
		ST(old->v[c].n, 0);
		return c;
	}
	if (ix->ncells == cap) {
		struct cell_arr *na;
		if (retire_reserve(ix))
			return NO_CELL;
		na = arr_grow(old, sizeof *na, sizeof na->v[0], ix->ncells, cap ? cap * 2 : 256);
		if (!na)
			return NO_CELL;
		ST_REL(ix->cells, na);
		retire(ix, old);
	}
	c = ix->ncells++;
	ST(ix->cells->v[c].ents, NULL);
	ST(ix->cells->v[c].n, 0);
	return c;
}

static void cell_give(struct unit_index *ix, uint32_t c)
{
	ix->cells->v[c].next_free = ix->free_cell;
	ix->free_cell = c;
}

/* A free, empty block from the pool, or NO_CELL when out of memory. */
static uint32_t block_take(struct unit_index *ix)
{
	struct block_arr *old = ix->blocks;
	uint32_t b = ix->free_block, cap = old ? old->cap : 0;

	if (b != NO_CELL) {
		ix->free_block = old->v[b].next_free;
	} else {
		if (ix->nblocks == cap) {
			struct block_arr *na;
			if (retire_reserve(ix))
				return NO_CELL;
			na = arr_grow(old, sizeof *na, sizeof na->v[0], ix->nblocks,
				      cap ? cap * 2 : 64);
			if (!na)
				return NO_CELL;
			ST_REL(ix->blocks, na);
			retire(ix, old);
		}
		b = ix->nblocks++;
	}
	ST(ix->blocks->v[b].mask, 0);
	return b;
}

static void block_give(struct unit_index *ix, uint32_t b)
{
	ix->blocks->v[b].next_free = ix->free_block;
	ix->free_block = b;
}

/* Room for one more entry in cell c. SG_ENOMEM changes nothing. */
static int cell_reserve(struct unit_index *ix, uint32_t c)
{
	struct cell *cell = &ix->cells->v[c];
	struct ent_arr *old = cell->ents, *na;
	uint32_t cap = old ? old->cap : 0;

	if (cell->n < cap)
		return 0;
	if (retire_reserve(ix))
		return SG_ENOMEM;
	na = arr_grow(old, sizeof *na, sizeof na->v[0], cell->n, cap ? cap * 2 : 4);
	if (!na)
		return SG_ENOMEM;
	ST_REL(cell->ents, na);
	retire(ix, old);
	return 0;
}

/*
 * Files slot s (which has a position) in its layer's cell, creating the
 * block and the cell as needed. SG_ENOMEM leaves everything as it was.
 */
static int grid_add(struct unit_index *ix, uint32_t s)
{
	struct slot *sl = &ix->slots->v[s];
	unsigned layer = layer_of(&sl->u), bit;
	int32_t x = cell_x(sl->u.lon), y = cell_y(sl->u.lat);
	uint64_t key = block_key(layer, x, y);
	uint32_t b = map_get(ix->by_block, key), c = NO_CELL;
	bool new_block = false, new_cell = false;
	struct cell *cell;
	struct block *blk;
	struct layer *ly = &ix->layers[layer];
	struct cell_ent e;

	if (b == NO_CELL) {
		if ((b = block_take(ix)) == NO_CELL)
			return SG_ENOMEM;
		if (map_set(ix, &ix->by_block, key, b)) {
			block_give(ix, b);
			return SG_ENOMEM;
		}
		new_block = true;
	}
	bit = block_bit(x, y);
	if (ix->blocks->v[b].mask >> bit & 1) {
		c = ix->blocks->v[b].cell[bit];
	} else {
		if ((c = cell_take(ix)) == NO_CELL)
			goto fail;
		new_cell = true;
	}
	if (cell_reserve(ix, c))
		goto fail;
	blk = &ix->blocks->v[b];
	cell = &ix->cells->v[c];
	e = (struct cell_ent){ sl->u.lon, sl->u.lat, cos(sl->u.lat * DEG_RAD), sl->u.pos_at,
			       sl->u.id, sl->u.home_area, s };
	ent_store(&cell->ents->v[cell->n], &e);
	ST(sl->cell, c);
	ST(sl->pos, cell->n);
	ST(cell->n, cell->n + 1);
	if (new_cell) {
		ST(blk->cell[bit], c);
		ST(blk->mask, blk->mask | (uint64_t)1 << bit);
	}
	if (ly->units == 0) {
		ST(ly->x0, x);
		ST(ly->x1, x);
		ST(ly->y0, y);
		ST(ly->y1, y);
	} else {
		ST(ly->x0, x < ly->x0 ? x : ly->x0);
		ST(ly->x1, x > ly->x1 ? x : ly->x1);
		ST(ly->y0, y < ly->y0 ? y : ly->y0);
		ST(ly->y1, y > ly->y1 ? y : ly->y1);
	}
	ST(ly->units, ly->units + 1);
	return 0;
fail:
	if (new_cell && c != NO_CELL)
		cell_give(ix, c);
	if (new_block) {
		map_del(ix->by_block, key);
		block_give(ix, b);
	}
	return SG_ENOMEM;
}

/* Takes slot s out of its cell (if it is in one); emptied cells and blocks go back to their pools. */
static void grid_del(struct unit_index *ix, uint32_t s)
{
	struct slot *sl = &ix->slots->v[s];
	struct cell *cell;
	uint32_t n;

	if (sl->cell == NO_CELL)
		return;
	cell = &ix->cells->v[sl->cell];
	n = cell->n - 1;
	if (sl->pos != n) {
		const struct cell_ent *last = &cell->ents->v[n];
		ent_store(&cell->ents->v[sl->pos], last);
		ST(ix->slots->v[last->slot].pos, sl->pos);
	}
	ST(cell->n, n);
	if (n == 0) {
		int32_t x = cell_x(sl->u.lon), y = cell_y(sl->u.lat);
		uint64_t key = block_key(layer_of(&sl->u), x, y);
		uint32_t b = map_get(ix->by_block, key);
		struct block *blk = &ix->blocks->v[b];
		ST(blk->mask, blk->mask & ~((uint64_t)1 << block_bit(x, y)));
		cell_give(ix, sl->cell);
		if (!blk->mask) {
			map_del(ix->by_block, key);
			block_give(ix, b);
		}
	}
	ST(ix->layers[layer_of(&sl->u)].units, ix->layers[layer_of(&sl->u)].units - 1);
	ST(sl->cell, NO_CELL);
}

/* ---- public API ---- */

const char *unit_status_name(enum unit_status s)
{
	switch (s) {
	case UNIT_OFF_DUTY: return "off_duty";
	case UNIT_AVAILABLE: return "available";
	case UNIT_DISPATCHED: return "dispatched";
	case UNIT_ON_SCENE: return "on_scene";
	case UNIT_BUSY: return "busy";
	default: return "unknown";
	}
}

int unit_status_parse(const char *s, enum unit_status *out)
{
	if (!s)
		return SG_EINVAL;
	for (int i = 0; i < UNIT_STATUS_COUNT; i++) {
		if (strcmp(s, unit_status_name((enum unit_status)i)) == 0) {
			*out = (enum unit_status)i;
			return 0;
		}
	}
	return SG_EINVAL;
}

int unit_index_new(struct unit_index **out)
{
	struct unit_index *ix = calloc(1, sizeof *ix);

	if (!ix)
		return SG_ENOMEM;
	if (pthread_mutex_init(&ix->wlock, NULL) != 0) {
		free(ix);
		return SG_ENOMEM;
	}
	ix->free_cell = NO_CELL;
	ix->free_block = NO_CELL;
	*out = ix;
	return 0;
}

void unit_index_free(struct unit_index *ix)
{
	if (!ix)
		return;
	for (uint32_t c = 0; c < ix->ncells; c++)
		free(ix->cells->v[c].ents);
	free(ix->cells);
	free(ix->blocks);
	free(ix->slots);
	free(ix->by_id);
	free(ix->by_block);
	for (size_t i = 0; i < ix->nretired; i++)
		free(ix->retired[i]);
	free(ix->retired);
	pthread_mutex_destroy(&ix->wlock);
	free(ix);
}

size_t unit_index_count(struct unit_index *ix)
{
	return LD(ix->nslots);
}

static bool coord_ok(double lon, double lat)
{
	/* Written so NaN fails too. */
	return lon >= -180.0 && lon <= 180.0 && lat >= -90.0 && lat <= 90.0;
}

/* Puts slot s back as old was (after a failed change); a unit that cannot be re-filed loses its position. */
static void slot_restore(struct unit_index *ix, uint32_t s, const struct slot *old)
{
	struct slot *sl = &ix->slots->v[s];

	slot_store(sl, old);
	ST(sl->cell, NO_CELL);
	if (old->u.has_pos && grid_add(ix, s))
		ST(sl->u.has_pos, false);
}

int unit_index_put(struct unit_index *ix, const struct unit_rec *u)
{
	uint32_t s;
	struct slot old, fresh;
	bool is_new;
	int rc = 0;

	if (u->id <= 0 || u->type >= 32 || u->status >= UNIT_STATUS_COUNT ||
	    (u->has_pos && !coord_ok(u->lon, u->lat)))
		return SG_EINVAL;
	write_begin(ix);
	s = map_get(ix->by_id, (uint64_t)u->id);
	is_new = s == NO_CELL;
	if (is_new) {
		struct slot_arr *oa = ix->slots;
		uint32_t cap = oa ? oa->cap : 0;
		if (ix->nslots == cap) {
			struct slot_arr *na;
			if ((rc = retire_reserve(ix)))
				goto out;
			na = arr_grow(oa, sizeof *na, sizeof na->v[0], ix->nslots, cap ? cap * 2 : 64);
			if (!na) {
				rc = SG_ENOMEM;
				goto out;
			}
			ST_REL(ix->slots, na);
			retire(ix, oa);
		}
		s = ix->nslots;
		if ((rc = map_set(ix, &ix->by_id, (uint64_t)u->id, s)))
			goto out;
		memset(&fresh, 0, sizeof fresh);
		fresh.cell = NO_CELL;
		slot_store(&ix->slots->v[s], &fresh);
		ST(ix->nslots, ix->nslots + 1);
	}
	old = ix->slots->v[s];
	grid_del(ix, s);
	fresh.u = *u;
	fresh.u.callsign[sizeof fresh.u.callsign - 1] = '\0';
	if (!u->has_pos) {
		fresh.u.lon = fresh.u.lat = 0;
		fresh.u.pos_at = 0;
	}
	fresh.cell = NO_CELL;
	fresh.pos = 0;
	slot_store(&ix->slots->v[s], &fresh);
	if (u->has_pos && (rc = grid_add(ix, s))) {
		if (is_new) {
			map_del(ix->by_id, (uint64_t)u->id);
			ST(ix->nslots, ix->nslots - 1);
		} else {
			slot_restore(ix, s, &old);
		}
	}
out:
	write_end(ix);
	return rc;
}

int unit_index_move(struct unit_index *ix, int64_t id, double lon, double lat, int64_t at_ms)
{
	uint32_t s;
	struct slot *sl;
	int rc = 0;

	if (!coord_ok(lon, lat))
		return SG_EINVAL;
	write_begin(ix);
	s = map_get(ix->by_id, (uint64_t)id);
	if (s == NO_CELL) {
		rc = SG_ENOTFOUND;
		goto out;
	}
	sl = &ix->slots->v[s];
	if (sl->u.has_pos && at_ms < sl->u.pos_at)
		goto out; /* older than what we hold: arrived out of order */
	if (sl->u.has_pos && cell_x(lon) == cell_x(sl->u.lon) && cell_y(lat) == cell_y(sl->u.lat)) {
		/* Same cell: update in place, the common case for a moving unit. */
		struct cell_ent *e = &ix->cells->v[sl->cell].ents->v[sl->pos];
		std_(&sl->u.lon, lon);
		std_(&sl->u.lat, lat);
		ST(sl->u.pos_at, at_ms);
		std_(&e->lon, lon);
		std_(&e->lat, lat);
		std_(&e->cos_lat, cos(lat * DEG_RAD));
		ST(e->pos_at, at_ms);
		goto out;
	}
	{
		struct slot old = *sl;
		grid_del(ix, s);
		ST(sl->u.has_pos, true);
		std_(&sl->u.lon, lon);
		std_(&sl->u.lat, lat);
		ST(sl->u.pos_at, at_ms);
		if ((rc = grid_add(ix, s)))
			slot_restore(ix, s, &old);
	}
out:
	write_end(ix);
	return rc;
}

int unit_index_set_status(struct unit_index *ix, int64_t id, enum unit_status status,
			  int64_t version)
{
	uint32_t s;
	struct slot *sl;
	int rc = 0;

	if ((unsigned)status >= UNIT_STATUS_COUNT)
		return SG_EINVAL;
	write_begin(ix);
	s = map_get(ix->by_id, (uint64_t)id);
	if (s == NO_CELL) {
		rc = SG_ENOTFOUND;
		goto out;
	}
	sl = &ix->slots->v[s];
	if (version && version < sl->u.version)
		goto out; /* a later commit already reached the index */
	if (sl->u.status == status)
		goto done;
	if (!sl->u.has_pos) {
		ST(sl->u.status, (uint8_t)status);
		goto done;
	}
	{
		struct slot old = *sl;
		grid_del(ix, s);
		ST(sl->u.status, (uint8_t)status);
		if ((rc = grid_add(ix, s))) {
			slot_restore(ix, s, &old);
			goto out;
		}
	}
done:
	if (version)
		ST(sl->u.version, version);
out:
	write_end(ix);
	return rc;
}

int unit_index_remove(struct unit_index *ix, int64_t id)
{
	uint32_t s, last;
	int rc = 0;

	write_begin(ix);
	s = map_get(ix->by_id, (uint64_t)id);
	if (s == NO_CELL) {
		rc = SG_ENOTFOUND;
		goto out;
	}
	grid_del(ix, s);
	map_del(ix->by_id, (uint64_t)id);
	last = ix->nslots - 1;
	if (s != last) {
		/* The last slot moves into the hole: repoint its map entry and cell entry. */
		struct slot *d = &ix->slots->v[s];
		slot_store(d, &ix->slots->v[last]);
		map_set(ix, &ix->by_id, (uint64_t)d->u.id, s); /* overwrites: cannot grow */
		if (d->cell != NO_CELL)
			ST(ix->cells->v[d->cell].ents->v[d->pos].slot, s);
	}
	ST(ix->nslots, last);
out:
	write_end(ix);
	return rc;
}

/* ---- the readers' side of the sequence lock ---- */

/*
 * Runs fn(ix, arg) until it has read a state no writer touched meanwhile:
 * optimistically READ_TRIES times, then under the writers' mutex. fn
 * returns true when it saw an index out of bounds (a torn read, which the
 * sequence check would catch anyway) and must tolerate any torn state.
 */
static void read_consistent(struct unit_index *ix, bool (*fn)(struct unit_index *, void *),
			    void *arg)
{
	for (int tries = 0; tries < READ_TRIES; tries++) {
		uint64_t s1 = LD_ACQ(ix->seq);
		bool torn;
		if (s1 & 1) {
			sched_yield(); /* a writer is at work: let it finish */
			continue;
		}
		torn = fn(ix, arg);
		atomic_thread_fence(memory_order_acquire);
		if (!torn && LD(ix->seq) == s1)
			return;
	}
	pthread_mutex_lock(&ix->wlock);
	fn(ix, arg);
	pthread_mutex_unlock(&ix->wlock);
}

struct get_args {
	int64_t id;
	struct unit_rec rec;
	int rc;
};

static bool get_once(struct unit_index *ix, void *arg)
{
	struct get_args *a = arg;
	const struct slot_arr *sa = LD_ACQ(ix->slots);
	uint32_t s = map_get(LD_ACQ(ix->by_id), (uint64_t)a->id);

	a->rc = SG_ENOTFOUND;
	if (s == NO_CELL)
		return false;
	if (!sa || s >= sa->cap)
		return true;
	rec_load(&sa->v[s].u, &a->rec);
	a->rc = 0;
	return false;
}

int unit_index_get(struct unit_index *ix, int64_t id, struct unit_rec *out)
{
	struct get_args a = { id, { 0 }, 0 };

	read_consistent(ix, get_once, &a);
	if (!a.rc)
		*out = a.rec;
	return a.rc;
}

/* ---- nearest ---- */

/* The best k so far, nearest first; ties by smaller id. */
struct topk_ent {
	double d;
	int64_t id;
	uint32_t slot;
};

struct topk {
	struct topk_ent h[UNIT_QUERY_MAX_K];
	unsigned n, k;
};

/* The distance a candidate must beat to enter (infinity until k are held). */
static double topk_worst(const struct topk *t)
{
	return t->n < t->k ? INFINITY : t->h[t->n - 1].d;
}

static void topk_offer(struct topk *t, double d, int64_t id, uint32_t slot)
{
	unsigned i;

	if (t->n == t->k) {
		const struct topk_ent *w = &t->h[t->n - 1];
		if (d > w->d || (d == w->d && id > w->id))
			return;
		t->n--;
	}
	for (i = t->n; i > 0 && (t->h[i - 1].d > d || (t->h[i - 1].d == d && t->h[i - 1].id > id)); i--)
		t->h[i] = t->h[i - 1];
	t->h[i].d = d;
	t->h[i].id = id;
	t->h[i].slot = slot;
	t->n++;
}

/* A query's fixed conditions, the arrays it reads, and what the scan has found so far. */
struct qctx {
	const struct unit_query *q;
	struct geo_point p;
	double lat_rad, cos_lat; /* of the query point */
	double limit_h;          /* haversine h past which a candidate cannot enter (with a margin) */
	size_t cost;             /* work done, in units scanned; block lookups count four */
	bool torn;               /* an index read was out of bounds: a writer was at work */
	const struct slot_arr *slots;
	const struct cell_arr *cells;
	const struct block_arr *blocks;
	const struct maptab *by_block;
	/* The blocks this query has looked up (a ring goes over the same blocks as the last). */
	struct {
		uint64_t key;
		uint32_t b;
	} seen[BLOCK_CACHE];
	struct topk top;
};

/* A block through the query's cache: each block is looked up once per query. */
static const struct block *block_find(struct qctx *c, uint64_t key)
{
	unsigned i = (unsigned)(key ^ key >> 17 ^ key >> 40) & (BLOCK_CACHE - 1);
	uint32_t b;

	if (c->seen[i].key != key) {
		c->seen[i].key = key;
		c->seen[i].b = map_get(c->by_block, key);
		c->cost += 4;
	}
	b = c->seen[i].b;
	if (b == NO_CELL)
		return NULL;
	if (!c->blocks || b >= c->blocks->cap) {
		c->torn = true;
		return NULL;
	}
	return &c->blocks->v[b];
}

/* The haversine h of a distance: h = sin²(d / 2R). */
static double dist_to_h(double d)
{
	double s = sin(d / (2.0 * EARTH_MEAN_RADIUS_M));
	return s * s;
}

/* Sets limit_h from the radius and the k-th best, a hair wide so rounding never turns one away. */
static void update_limit(struct qctx *c)
{
	double lim = topk_worst(&c->top);

	if (c->q->within_m > 0 && c->q->within_m < lim)
		lim = c->q->within_m;
	c->limit_h = isinf(lim) ? INFINITY : dist_to_h(lim) * (1.0 + 1e-9) + 1e-30;
}

/*
 * Offers one positioned unit of a matching layer. The distance is
 * geo_distance_m's haversine step for step (with the cosines cached), so
 * it is the same number to the last bit; the full distance is computed
 * only for candidates whose h can still make the list.
 */
static void consider(struct qctx *c, const struct cell_ent *e)
{
	double lat2, dlat, dlon, s1, s2, h, d;

	if (LD(e->pos_at) < c->q->min_pos_at)
		return;
	if (c->q->scope && !catalog_visible(c->q->scope, LD(e->home_area)))
		return;
	lat2 = ldd(&e->lat) * DEG_RAD;
	dlat = lat2 - c->lat_rad;
	dlon = (ldd(&e->lon) - c->p.lon) * DEG_RAD;
	s1 = sin(dlat / 2.0);
	if (s1 * s1 > c->limit_h)
		return; /* the latitude alone puts it too far */
	s2 = sin(dlon / 2.0);
	h = s1 * s1 + c->cos_lat * ldd(&e->cos_lat) * s2 * s2;
	if (h > c->limit_h)
		return;
	if (h > 1.0)
		h = 1.0;
	d = 2.0 * EARTH_MEAN_RADIUS_M * asin(sqrt(h));
	if (c->q->within_m > 0 && d > c->q->within_m)
		return;
	topk_offer(&c->top, d, LD(e->id), LD(e->slot));
	if (c->top.n == c->top.k)
		update_limit(c);
}

/* The entries of cell ci and how many, or NULL (torn) when they do not fit together. */
static const struct ent_arr *cell_ents(struct qctx *c, uint32_t ci, uint32_t *n)
{
	const struct ent_arr *ents;

	if (!c->cells || ci >= c->cells->cap) {
		c->torn = true;
		return NULL;
	}
	ents = LD_ACQ(c->cells->v[ci].ents);
	*n = LD(c->cells->v[ci].n);
	if (!ents || *n > ents->cap) {
		c->torn = true;
		return NULL;
	}
	return ents;
}

/* Every unit, one by one: the fallback when the rings would cost more. */
static void scan_all(struct unit_index *ix, struct qctx *c)
{
	uint32_t n = LD(ix->nslots);

	c->top.n = 0;
	update_limit(c);
	if (n && (!c->slots || n > c->slots->cap)) {
		c->torn = true;
		return;
	}
	for (uint32_t s = 0; s < n && !c->torn; s++) {
		const struct slot *sl = &c->slots->v[s];
		uint32_t ci = LD(sl->cell), pos = LD(sl->pos), cn;
		unsigned type = LD(sl->u.type), status = LD(sl->u.status);
		const struct ent_arr *ents;

		if (ci == NO_CELL || (c->q->type_mask && !(c->q->type_mask >> (type & 31) & 1)) ||
		    (c->q->status_mask && !(c->q->status_mask >> (status & 31) & 1)))
			continue;
		if (!(ents = cell_ents(c, ci, &cn)))
			return;
		if (pos >= cn) {
			c->torn = true;
			return;
		}
		consider(c, &ents->v[pos]);
	}
}

static void scan_cell(struct qctx *c, uint32_t ci)
{
	uint32_t n;
	const struct ent_arr *ents = cell_ents(c, ci, &n);

	for (uint32_t j = 0; ents && j < n; j++)
		consider(c, &ents->v[j]);
	c->cost += ents ? n : 0;
}

/*
 * Scans len cells of one layer from (x0, y0): a row (dx = 1) or a column
 * (dx = 0). Rows may run off the grid's ends in x and wrap. Works a block
 * at a time: one lookup, then only the occupied cells of the run's stretch
 * through the block, found in its mask.
 */
static void scan_run(struct qctx *c, unsigned layer, int32_t x0, int32_t y0, int32_t dx,
		     int32_t len)
{
	if (dx) {
		if (y0 < 0 || y0 >= GRID_NY)
			return;
		for (int32_t i = 0; i < len;) {
			int32_t x = ((x0 + i) % GRID_NX + GRID_NX) % GRID_NX;
			int32_t in = x % BLOCK_SIDE, n = BLOCK_SIDE - in;
			const struct block *blk = block_find(c, block_key(layer, x, y0));

			n = n < len - i ? n : len - i;
			if (blk) {
				unsigned row = (unsigned)(y0 % BLOCK_SIDE) * BLOCK_SIDE;
				uint64_t bits = LD(blk->mask) >> (row + (unsigned)in) &
						(((uint64_t)1 << n) - 1);
				while (bits) {
					unsigned bit = row + (unsigned)in + (unsigned)__builtin_ctzll(bits);
					bits &= bits - 1;
					scan_cell(c, LD(blk->cell[bit]));
				}
			}
			i += n;
		}
		return;
	}
	/* A column: clip it to the rows that exist. */
	if (y0 < 0) {
		len += y0;
		y0 = 0;
	}
	if (y0 + len > GRID_NY)
		len = GRID_NY - y0;
	x0 = (x0 % GRID_NX + GRID_NX) % GRID_NX;
	for (int32_t i = 0; i < len;) {
		int32_t y = y0 + i, in = y % BLOCK_SIDE, n = BLOCK_SIDE - in;
		const struct block *blk = block_find(c, block_key(layer, x0, y));

		n = n < len - i ? n : len - i;
		if (blk) {
			uint64_t mask = LD(blk->mask);
			for (int32_t j = 0; j < n; j++) {
				unsigned bit = block_bit(x0, y + j);
				if (mask >> bit & 1)
					scan_cell(c, LD(blk->cell[bit]));
			}
		}
		i += n;
	}
}

/*
 * A lower bound on the distance from p to any point outside the cells
 * [x0,x1]×[y0,y1], columns unwrapped around p's own (cell_x_raw), with
 * x1 - x0 well under 180 degrees. North and south: the latitude difference
 * along a meridian, which no path can beat. East and west: the distance to
 * the great circle of the edge meridian, which every path that leaves
 * sideways must cross (or pass a pole, which lies on it).
 */
static double outside_bound(struct geo_point p, double cos_lat, int32_t x0, int32_t x1, int32_t y0,
			    int32_t y1)
{
	double south = y0 * GRID_DEG - 90.0, north = (y1 + 1) * GRID_DEG - 90.0;
	double west = x0 * GRID_DEG - 180.0, east = (x1 + 1) * GRID_DEG - 180.0;
	double b = INFINITY, m;

	if (y0 > 0)
		b = fmin(b, (p.lat - south) * DEG_RAD * EARTH_MEAN_RADIUS_M);
	if (y1 < GRID_NY - 1)
		b = fmin(b, (north - p.lat) * DEG_RAD * EARTH_MEAN_RADIUS_M);
	m = fmin(p.lon - west, east - p.lon);
	b = fmin(b, asin(fmin(1.0, cos_lat * sin(m * DEG_RAD))) * EARTH_MEAN_RADIUS_M);
	/* Rounding in the edges and the trigonometry: give a millimetre. */
	return b - 1e-3 - b * 1e-9;
}

/* Counts, for the shortfall, why each unit of the right type in scope was not an answer. */
static void count_shortfall(struct unit_index *ix, struct qctx *c, struct unit_shortfall *why)
{
	const struct unit_query *q = c->q;
	uint32_t n = LD(ix->nslots);

	memset(why, 0, sizeof *why);
	if (n && (!c->slots || n > c->slots->cap)) {
		c->torn = true;
		return;
	}
	for (uint32_t s = 0; s < n; s++) {
		struct unit_rec u;
		bool status_ok;
		double d;

		rec_load(&c->slots->v[s].u, &u);
		status_ok = !q->status_mask || (q->status_mask >> (u.status & 31) & 1);
		if ((q->type_mask && !(q->type_mask >> (u.type & 31) & 1)) ||
		    (q->scope && !catalog_visible(q->scope, u.home_area)))
			continue;
		if (!u.has_pos) {
			why->no_position += status_ok;
			continue;
		}
		if (u.pos_at < q->min_pos_at) {
			why->position_too_old += status_ok;
			continue;
		}
		d = geo_distance_m(c->p, (struct geo_point){ u.lon, u.lat });
		if (q->within_m > 0 && d > q->within_m) {
			why->outside_radius += status_ok;
			continue;
		}
		why->wrong_status += !status_ok;
	}
}

struct nearest_args {
	const struct unit_query *q;
	struct unit_hit *out;
	unsigned *nout;
	struct unit_shortfall *why;
	struct qctx c;
};

/* One try at a query (see read_consistent). */
static bool nearest_once(struct unit_index *ix, void *arg)
{
	struct nearest_args *a = arg;
	const struct unit_query *q = a->q;
	struct qctx *c = &a->c;
	unsigned layers[LAYERS], nlayers = 0;
	int32_t cx, cy, bx0 = INT32_MAX, bx1 = INT32_MIN, by0 = INT32_MAX, by1 = INT32_MIN;
	size_t budget;

	c->q = q;
	c->p = (struct geo_point){ q->lon, q->lat };
	c->lat_rad = q->lat * DEG_RAD;
	c->cos_lat = cos(c->lat_rad);
	c->cost = 0;
	c->torn = false;
	c->slots = LD_ACQ(ix->slots);
	c->cells = LD_ACQ(ix->cells);
	c->blocks = LD_ACQ(ix->blocks);
	c->by_block = LD_ACQ(ix->by_block);
	memset(c->seen, 0xff, sizeof c->seen); /* MAP_EMPTY: no block has that key */
	c->top.n = 0;
	c->top.k = q->k;
	update_limit(c);

	for (unsigned t = 0; t < 32; t++) {
		if (q->type_mask && !(q->type_mask >> t & 1))
			continue;
		for (unsigned s = 0; s < UNIT_STATUS_COUNT; s++) {
			const struct layer *ly = &ix->layers[t * UNIT_STATUS_COUNT + s];
			int32_t x0 = LD(ly->x0), x1 = LD(ly->x1), y0 = LD(ly->y0), y1 = LD(ly->y1);
			if ((q->status_mask && !(q->status_mask >> s & 1)) || !LD(ly->units))
				continue;
			layers[nlayers++] = t * UNIT_STATUS_COUNT + s;
			bx0 = x0 < bx0 ? x0 : bx0;
			bx1 = x1 > bx1 ? x1 : bx1;
			by0 = y0 < by0 ? y0 : by0;
			by1 = y1 > by1 ? y1 : by1;
		}
	}
	/* Past this much work a plain pass over every unit is cheaper. */
	budget = LD(ix->nslots) + 64;
	cx = cell_x_raw(q->lon); /* +180 searches around column GRID_NX: runs wrap */
	cy = cell_y(q->lat);
	for (int32_t r = 0; nlayers && !c->torn; r++) {
		for (unsigned l = 0; l < nlayers; l++) {
			if (r == 0) {
				scan_run(c, layers[l], cx, cy, 1, 1);
				continue;
			}
			scan_run(c, layers[l], cx - r, cy - r, 1, 2 * r + 1);
			scan_run(c, layers[l], cx - r, cy + r, 1, 2 * r + 1);
			scan_run(c, layers[l], cx - r, cy - r + 1, 0, 2 * r - 1);
			scan_run(c, layers[l], cx + r, cy - r + 1, 0, 2 * r - 1);
		}
		if (cx - r <= bx0 && cx + r >= bx1 && cy - r <= by0 && cy + r >= by1)
			break; /* every occupied cell seen */
		double bound = outside_bound(c->p, c->cos_lat, cx - r, cx + r, cy - r, cy + r);
		if (topk_worst(&c->top) < bound)
			break;
		if (q->within_m > 0 && bound > q->within_m)
			break;
		if (c->cost > budget || r >= 4 * GRID_PER_DEG) {
			scan_all(ix, c);
			break;
		}
	}
	for (unsigned i = 0; i < c->top.n && !c->torn; i++) {
		uint32_t s = c->top.h[i].slot;
		if (!c->slots || s >= c->slots->cap) {
			c->torn = true;
			break;
		}
		rec_load_hot(&c->slots->v[s].u, &a->out[i].unit);
		a->out[i].distance_m = c->top.h[i].d;
	}
	*a->nout = c->top.n;
	if (a->why && c->top.n < q->k && !c->torn)
		count_shortfall(ix, c, a->why);
	else if (a->why)
		memset(a->why, 0, sizeof *a->why);
	return c->torn;
}

int unit_index_nearest(struct unit_index *ix, const struct unit_query *q, struct unit_hit *out,
		       unsigned *nout, struct unit_shortfall *why)
{
	struct nearest_args a;

	if (q->k < 1 || q->k > UNIT_QUERY_MAX_K || !coord_ok(q->lon, q->lat) ||
	    !(q->within_m >= 0) || isinf(q->within_m))
		return SG_EINVAL;
	a.q = q;
	a.out = out;
	a.nout = nout;
	a.why = why;
	read_consistent(ix, nearest_once, &a);
	return 0;
}
