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
 * Concurrency. A "big reader" lock: SHARDS reader-writer locks, each on its
 * own cache line. A reading thread takes only the shard assigned to it (per
 * thread, round robin), so readers never write a shared cache line and scale
 * with cores; a writer takes every shard in order, so it sees no reader and a
 * reader sees each update whole. The locks prefer writers, so a stream of
 * queries cannot starve position updates; an update holds the locks for well
 * under a microsecond.
 */
#include "dispatch/unit_index.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "geo/coord.h"

#define SHARDS 16
#define LAYERS (32 * UNIT_STATUS_COUNT)
#define GRID_PER_DEG 100 /* cells per degree */
#define GRID_DEG (1.0 / GRID_PER_DEG)
#define GRID_NX (360 * GRID_PER_DEG)
#define GRID_NY (180 * GRID_PER_DEG)
#define EARTH_MEAN_RADIUS_M 6371008.8
#define DEG_RAD (M_PI / 180.0)
#define BLOCK_SIDE 8 /* divides GRID_NX and GRID_NY */
#define BLOCK_CACHE 64 /* a power of two */
#define NO_CELL UINT32_MAX
#define MAP_EMPTY UINT64_MAX

/* An open-addressing map from a 64-bit key to a 32-bit value (linear probing, backward-shift delete). */
struct u64map {
	uint64_t *keys; /* MAP_EMPTY where free */
	uint32_t *vals;
	size_t cap;     /* power of two, or 0 */
	size_t n;
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

struct cell {
	struct cell_ent *ents;
	uint32_t n, cap;
	uint32_t next_free; /* in the free list when unused */
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

struct slot {
	struct unit_rec u;
	uint32_t cell; /* NO_CELL when the unit has no position */
	uint32_t pos;  /* index in the cell's ents */
};

/* A layer's occupied cells lie within [x0,x1]×[y0,y1] (grown only; reset when the layer empties). */
struct layer {
	uint32_t units;
	int32_t x0, x1, y0, y1;
};

struct shard {
	_Alignas(64) pthread_rwlock_t lock;
};

struct unit_index {
	struct shard shards[SHARDS];
	struct slot *slots;
	size_t nslots, cap_slots;
	struct u64map by_id;   /* id -> slot */
	struct u64map by_block; /* (layer, bx, by) -> block */
	struct block *blocks;
	uint32_t nblocks, cap_blocks, free_block;
	struct cell *cells;
	uint32_t ncells, cap_cells, free_cell;
	struct layer layers[LAYERS];
};

static atomic_uint next_shard;
static _Thread_local unsigned my_shard = UINT32_MAX;

/* ---- locking ---- */

static void lock_read(struct unit_index *ix, unsigned *shard)
{
	if (my_shard == UINT32_MAX)
		my_shard = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) % SHARDS;
	*shard = my_shard;
	pthread_rwlock_rdlock(&ix->shards[*shard].lock);
}

static void unlock_read(struct unit_index *ix, unsigned shard)
{
	pthread_rwlock_unlock(&ix->shards[shard].lock);
}

static void lock_write(struct unit_index *ix)
{
	for (unsigned i = 0; i < SHARDS; i++)
		pthread_rwlock_wrlock(&ix->shards[i].lock);
}

static void unlock_write(struct unit_index *ix)
{
	for (unsigned i = SHARDS; i-- > 0;)
		pthread_rwlock_unlock(&ix->shards[i].lock);
}

/* ---- the map ---- */

static size_t map_hash(uint64_t k, size_t cap)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return (size_t)k & (cap - 1);
}

/* The value for key, or NO_CELL. */
static uint32_t map_get(const struct u64map *m, uint64_t key)
{
	if (!m->cap)
		return NO_CELL;
	for (size_t i = map_hash(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == key)
			return m->vals[i];
		if (m->keys[i] == MAP_EMPTY)
			return NO_CELL;
	}
}

static int map_grow(struct u64map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64;
	uint64_t *nk = malloc(ncap * sizeof *nk);
	uint32_t *nv = malloc(ncap * sizeof *nv);

	if (!nk || !nv) {
		free(nk);
		free(nv);
		return SG_ENOMEM;
	}
	memset(nk, 0xff, ncap * sizeof *nk);
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == MAP_EMPTY)
			continue;
		size_t j = map_hash(m->keys[i], ncap);
		while (nk[j] != MAP_EMPTY)
			j = (j + 1) & (ncap - 1);
		nk[j] = m->keys[i];
		nv[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = nk;
	m->vals = nv;
	m->cap = ncap;
	return 0;
}

/* Inserts or overwrites. SG_ENOMEM leaves the map as it was. */
static int map_set(struct u64map *m, uint64_t key, uint32_t val)
{
	size_t i;

	if ((m->n + 1) * 4 > m->cap * 3) {
		int rc = map_grow(m);
		if (rc)
			return rc;
	}
	for (i = map_hash(key, m->cap); m->keys[i] != MAP_EMPTY && m->keys[i] != key;
	     i = (i + 1) & (m->cap - 1))
		;
	if (m->keys[i] == MAP_EMPTY)
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val;
	return 0;
}

/* Deletes key if present, shifting later entries of its run back so lookups need no tombstones. */
static void map_del(struct u64map *m, uint64_t key)
{
	size_t mask = m->cap - 1, i, j;

	if (!m->cap)
		return;
	for (i = map_hash(key, m->cap); m->keys[i] != key; i = (i + 1) & mask)
		if (m->keys[i] == MAP_EMPTY)
			return;
	m->n--;
	for (j = i;;) {
		j = (j + 1) & mask;
		if (m->keys[j] == MAP_EMPTY)
			break;
		size_t h = map_hash(m->keys[j], m->cap);
		/* The entry at j may move to i only if its home is not in (i, j] (cyclically). */
		if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = MAP_EMPTY;
}

static void map_release(struct u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
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
	uint32_t c = ix->free_cell;

	if (c != NO_CELL) {
		ix->free_cell = ix->cells[c].next_free;
		ix->cells[c].n = 0;
		return c;
	}
	if (ix->ncells == ix->cap_cells) {
		uint32_t ncap = ix->cap_cells ? ix->cap_cells * 2 : 256;
		struct cell *nc = realloc(ix->cells, ncap * sizeof *nc);
		if (!nc)
			return NO_CELL;
		ix->cells = nc;
		ix->cap_cells = ncap;
	}
	c = ix->ncells++;
	memset(&ix->cells[c], 0, sizeof ix->cells[c]);
	return c;
}

static void cell_give(struct unit_index *ix, uint32_t c)
{
	ix->cells[c].next_free = ix->free_cell;
	ix->free_cell = c;
}

/* A free, empty block from the pool, or NO_CELL when out of memory. */
static uint32_t block_take(struct unit_index *ix)
{
	uint32_t b = ix->free_block;

	if (b != NO_CELL) {
		ix->free_block = ix->blocks[b].next_free;
	} else {
		if (ix->nblocks == ix->cap_blocks) {
			uint32_t ncap = ix->cap_blocks ? ix->cap_blocks * 2 : 64;
			struct block *nb = realloc(ix->blocks, ncap * sizeof *nb);
			if (!nb)
				return NO_CELL;
			ix->blocks = nb;
			ix->cap_blocks = ncap;
		}
		b = ix->nblocks++;
	}
	ix->blocks[b].mask = 0;
	return b;
}

static void block_give(struct unit_index *ix, uint32_t b)
{
	ix->blocks[b].next_free = ix->free_block;
	ix->free_block = b;
}

/*
 * Files slot s (which has a position) in its layer's cell, creating the
 * block and the cell as needed. SG_ENOMEM leaves everything as it was.
 */
static int grid_add(struct unit_index *ix, uint32_t s)
{
	struct slot *sl = &ix->slots[s];
	unsigned layer = layer_of(&sl->u), bit;
	int32_t x = cell_x(sl->u.lon), y = cell_y(sl->u.lat);
	uint64_t key = block_key(layer, x, y);
	uint32_t b = map_get(&ix->by_block, key), c;
	bool new_block = false, new_cell = false;
	struct cell *cell;
	struct layer *ly = &ix->layers[layer];

	if (b == NO_CELL) {
		if ((b = block_take(ix)) == NO_CELL)
			return SG_ENOMEM;
		if (map_set(&ix->by_block, key, b)) {
			block_give(ix, b);
			return SG_ENOMEM;
		}
		new_block = true;
	}
	bit = block_bit(x, y);
	if (ix->blocks[b].mask >> bit & 1) {
		c = ix->blocks[b].cell[bit];
	} else {
		if ((c = cell_take(ix)) == NO_CELL)
			goto fail;
		new_cell = true;
	}
	cell = &ix->cells[c];
	if (cell->n == cell->cap) {
		uint32_t ncap = cell->cap ? cell->cap * 2 : 4;
		struct cell_ent *ne = realloc(cell->ents, ncap * sizeof *ne);
		if (!ne)
			goto fail;
		cell->ents = ne;
		cell->cap = ncap;
	}
	if (new_cell) {
		ix->blocks[b].cell[bit] = c;
		ix->blocks[b].mask |= (uint64_t)1 << bit;
	}
	cell->ents[cell->n] = (struct cell_ent){ sl->u.lon, sl->u.lat, cos(sl->u.lat * DEG_RAD),
						 sl->u.pos_at, sl->u.id, sl->u.home_area, s };
	sl->cell = c;
	sl->pos = cell->n++;
	if (ly->units++ == 0) {
		ly->x0 = ly->x1 = x;
		ly->y0 = ly->y1 = y;
	} else {
		ly->x0 = x < ly->x0 ? x : ly->x0;
		ly->x1 = x > ly->x1 ? x : ly->x1;
		ly->y0 = y < ly->y0 ? y : ly->y0;
		ly->y1 = y > ly->y1 ? y : ly->y1;
	}
	return 0;
fail:
	if (new_cell && c != NO_CELL)
		cell_give(ix, c);
	if (new_block) {
		map_del(&ix->by_block, key);
		block_give(ix, b);
	}
	return SG_ENOMEM;
}

/* Takes slot s out of its cell (if it is in one); emptied cells and blocks go back to their pools. */
static void grid_del(struct unit_index *ix, uint32_t s)
{
	struct slot *sl = &ix->slots[s];
	struct cell *cell;

	if (sl->cell == NO_CELL)
		return;
	cell = &ix->cells[sl->cell];
	cell->n--;
	if (sl->pos != cell->n) {
		cell->ents[sl->pos] = cell->ents[cell->n];
		ix->slots[cell->ents[sl->pos].slot].pos = sl->pos;
	}
	if (cell->n == 0) {
		int32_t x = cell_x(sl->u.lon), y = cell_y(sl->u.lat);
		uint64_t key = block_key(layer_of(&sl->u), x, y);
		uint32_t b = map_get(&ix->by_block, key);
		ix->blocks[b].mask &= ~((uint64_t)1 << block_bit(x, y));
		cell_give(ix, sl->cell);
		if (!ix->blocks[b].mask) {
			map_del(&ix->by_block, key);
			block_give(ix, b);
		}
	}
	ix->layers[layer_of(&sl->u)].units--;
	sl->cell = NO_CELL;
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
	pthread_rwlockattr_t attr;
	unsigned i;

	if (!ix)
		return SG_ENOMEM;
	pthread_rwlockattr_init(&attr);
	/* Writers first: a steady stream of queries must not hold position updates back. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	for (i = 0; i < SHARDS; i++) {
		if (pthread_rwlock_init(&ix->shards[i].lock, &attr) != 0)
			break;
	}
	pthread_rwlockattr_destroy(&attr);
	if (i < SHARDS) {
		while (i-- > 0)
			pthread_rwlock_destroy(&ix->shards[i].lock);
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
		free(ix->cells[c].ents);
	free(ix->cells);
	free(ix->blocks);
	free(ix->slots);
	map_release(&ix->by_id);
	map_release(&ix->by_block);
	for (unsigned i = 0; i < SHARDS; i++)
		pthread_rwlock_destroy(&ix->shards[i].lock);
	free(ix);
}

size_t unit_index_count(struct unit_index *ix)
{
	unsigned sh;
	size_t n;

	lock_read(ix, &sh);
	n = ix->nslots;
	unlock_read(ix, sh);
	return n;
}

static bool coord_ok(double lon, double lat)
{
	/* Written so NaN fails too. */
	return lon >= -180.0 && lon <= 180.0 && lat >= -90.0 && lat <= 90.0;
}

int unit_index_put(struct unit_index *ix, const struct unit_rec *u)
{
	uint32_t s;
	struct slot old;
	bool is_new;
	int rc = 0;

	if (u->id <= 0 || u->type >= 32 || u->status >= UNIT_STATUS_COUNT ||
	    (u->has_pos && !coord_ok(u->lon, u->lat)))
		return SG_EINVAL;
	lock_write(ix);
	s = map_get(&ix->by_id, (uint64_t)u->id);
	is_new = s == NO_CELL;
	if (is_new) {
		if (ix->nslots == ix->cap_slots) {
			size_t ncap = ix->cap_slots ? ix->cap_slots * 2 : 64;
			struct slot *ns = realloc(ix->slots, ncap * sizeof *ns);
			if (!ns) {
				rc = SG_ENOMEM;
				goto out;
			}
			ix->slots = ns;
			ix->cap_slots = ncap;
		}
		s = (uint32_t)ix->nslots;
		if ((rc = map_set(&ix->by_id, (uint64_t)u->id, s)))
			goto out;
		ix->nslots++;
		ix->slots[s].cell = NO_CELL;
	}
	old = ix->slots[s];
	grid_del(ix, s);
	ix->slots[s].u = *u;
	if (!u->has_pos) {
		ix->slots[s].u.lon = ix->slots[s].u.lat = 0;
		ix->slots[s].u.pos_at = 0;
	} else if ((rc = grid_add(ix, s))) {
		/* Put back what was there (its cell entry was just freed, so re-adding fits). */
		if (is_new) {
			map_del(&ix->by_id, (uint64_t)u->id);
			ix->nslots--;
		} else {
			ix->slots[s] = old;
			ix->slots[s].cell = NO_CELL;
			if (old.u.has_pos && grid_add(ix, s))
				ix->slots[s].u.has_pos = false;
		}
	}
out:
	unlock_write(ix);
	return rc;
}

int unit_index_move(struct unit_index *ix, int64_t id, double lon, double lat, int64_t at_ms)
{
	uint32_t s;
	struct slot *sl;
	int rc = 0;

	if (!coord_ok(lon, lat))
		return SG_EINVAL;
	lock_write(ix);
	s = map_get(&ix->by_id, (uint64_t)id);
	if (s == NO_CELL) {
		rc = SG_ENOTFOUND;
		goto out;
	}
	sl = &ix->slots[s];
	if (sl->u.has_pos && at_ms < sl->u.pos_at)
		goto out; /* older than what we hold: arrived out of order */
	if (sl->u.has_pos && cell_x(lon) == cell_x(sl->u.lon) && cell_y(lat) == cell_y(sl->u.lat)) {
		/* Same cell: update in place, the common case for a moving unit. */
		struct cell_ent *e = &ix->cells[sl->cell].ents[sl->pos];
		sl->u.lon = e->lon = lon;
		sl->u.lat = e->lat = lat;
		e->cos_lat = cos(lat * DEG_RAD);
		sl->u.pos_at = e->pos_at = at_ms;
		goto out;
	}
	{
		struct slot old = *sl;
		grid_del(ix, s);
		sl->u.has_pos = true;
		sl->u.lon = lon;
		sl->u.lat = lat;
		sl->u.pos_at = at_ms;
		if ((rc = grid_add(ix, s))) {
			*sl = old;
			sl->cell = NO_CELL;
			if (old.u.has_pos && grid_add(ix, s))
				sl->u.has_pos = false;
		}
	}
out:
	unlock_write(ix);
	return rc;
}

int unit_index_set_status(struct unit_index *ix, int64_t id, enum unit_status status)
{
	uint32_t s;
	struct slot *sl;
	int rc = 0;

	if ((unsigned)status >= UNIT_STATUS_COUNT)
		return SG_EINVAL;
	lock_write(ix);
	s = map_get(&ix->by_id, (uint64_t)id);
	if (s == NO_CELL) {
		rc = SG_ENOTFOUND;
		goto out;
	}
	sl = &ix->slots[s];
	if (sl->u.status == status)
		goto out;
	if (!sl->u.has_pos) {
		sl->u.status = (uint8_t)status;
		goto out;
	}
	{
		uint8_t was = sl->u.status;
		grid_del(ix, s);
		sl->u.status = (uint8_t)status;
		if ((rc = grid_add(ix, s))) {
			sl->u.status = was;
			if (grid_add(ix, s))
				sl->u.has_pos = false;
		}
	}
out:
	unlock_write(ix);
	return rc;
}

int unit_index_remove(struct unit_index *ix, int64_t id)
{
	uint32_t s, last;
	int rc = 0;

	lock_write(ix);
	s = map_get(&ix->by_id, (uint64_t)id);
	if (s == NO_CELL) {
		rc = SG_ENOTFOUND;
		goto out;
	}
	grid_del(ix, s);
	map_del(&ix->by_id, (uint64_t)id);
	last = (uint32_t)ix->nslots - 1;
	if (s != last) {
		/* The last slot moves into the hole: repoint its map entry and cell entry. */
		ix->slots[s] = ix->slots[last];
		map_set(&ix->by_id, (uint64_t)ix->slots[s].u.id, s); /* overwrites: cannot grow */
		if (ix->slots[s].cell != NO_CELL)
			ix->cells[ix->slots[s].cell].ents[ix->slots[s].pos].slot = s;
	}
	ix->nslots--;
out:
	unlock_write(ix);
	return rc;
}

int unit_index_get(struct unit_index *ix, int64_t id, struct unit_rec *out)
{
	unsigned sh;
	uint32_t s;
	int rc = 0;

	lock_read(ix, &sh);
	s = map_get(&ix->by_id, (uint64_t)id);
	if (s == NO_CELL)
		rc = SG_ENOTFOUND;
	else
		*out = ix->slots[s].u;
	unlock_read(ix, sh);
	return rc;
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

/* A query's fixed conditions, and what the scan has found so far. */
struct qctx {
	const struct unit_query *q;
	struct geo_point p;
	double lat_rad, cos_lat; /* of the query point */
	double limit_h;          /* haversine h past which a candidate cannot enter (with a margin) */
	size_t cost;             /* work done, in units scanned; block lookups count four */
	/* The blocks this query has looked up (a ring goes over the same blocks as the last). */
	struct { uint64_t key; uint32_t b; } seen[BLOCK_CACHE];
	struct topk top;
};

/* A block of the map through the query's cache: each block is looked up once per query. */
static uint32_t block_find(struct unit_index *ix, struct qctx *c, uint64_t key)
{
	unsigned i = (unsigned)(key ^ key >> 17 ^ key >> 40) & (BLOCK_CACHE - 1);

	if (c->seen[i].key != key) {
		c->seen[i].key = key;
		c->seen[i].b = map_get(&ix->by_block, key);
		c->cost += 4;
	}
	return c->seen[i].b;
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

	if (e->pos_at < c->q->min_pos_at)
		return;
	if (c->q->scope && !catalog_visible(c->q->scope, e->home_area))
		return;
	lat2 = e->lat * DEG_RAD;
	dlat = lat2 - c->lat_rad;
	dlon = (e->lon - c->p.lon) * DEG_RAD;
	s1 = sin(dlat / 2.0);
	if (s1 * s1 > c->limit_h)
		return; /* the latitude alone puts it too far */
	s2 = sin(dlon / 2.0);
	h = s1 * s1 + c->cos_lat * e->cos_lat * s2 * s2;
	if (h > c->limit_h)
		return;
	if (h > 1.0)
		h = 1.0;
	d = 2.0 * EARTH_MEAN_RADIUS_M * asin(sqrt(h));
	if (c->q->within_m > 0 && d > c->q->within_m)
		return;
	topk_offer(&c->top, d, e->id, e->slot);
	if (c->top.n == c->top.k)
		update_limit(c);
}

static bool unit_matches_layers(const struct unit_query *q, const struct unit_rec *u)
{
	return (!q->type_mask || (q->type_mask >> u->type & 1)) &&
	       (!q->status_mask || (q->status_mask >> u->status & 1));
}

/* Every unit, one by one: the fallback when the rings would cost more. */
static void scan_all(struct unit_index *ix, struct qctx *c)
{
	c->top.n = 0;
	update_limit(c);
	for (size_t s = 0; s < ix->nslots; s++) {
		const struct slot *sl = &ix->slots[s];
		if (sl->cell == NO_CELL || !unit_matches_layers(c->q, &sl->u))
			continue;
		consider(c, &ix->cells[sl->cell].ents[sl->pos]);
	}
}

/* Offers every unit of one cell. */

static void scan_cell_ents(struct unit_index *ix, struct qctx *c, uint32_t ci)
{
	const struct cell *cell = &ix->cells[ci];

	for (uint32_t j = 0; j < cell->n; j++)
		consider(c, &cell->ents[j]);
	c->cost += cell->n;
}

/*
 * Scans len cells of one layer from (x0, y0): a row (dx = 1) or a column
 * (dx = 0). Rows may run off the grid's ends in x and wrap. Works a block
 * at a time: one lookup, then only the occupied cells of the run's stretch
 * through the block, found in its mask.
 */
static void scan_run(struct unit_index *ix, struct qctx *c, unsigned layer, int32_t x0,
		     int32_t y0, int32_t dx, int32_t len)
{
	if (dx) {
		if (y0 < 0 || y0 >= GRID_NY)
			return;
		for (int32_t i = 0; i < len;) {
			int32_t x = ((x0 + i) % GRID_NX + GRID_NX) % GRID_NX;
			int32_t in = x % BLOCK_SIDE, n = BLOCK_SIDE - in;
			uint32_t b;

			n = n < len - i ? n : len - i;
			b = block_find(ix, c, block_key(layer, x, y0));
			if (b != NO_CELL) {
				const struct block *blk = &ix->blocks[b];
				unsigned row = (unsigned)(y0 % BLOCK_SIDE) * BLOCK_SIDE;
				uint64_t bits = blk->mask >> (row + (unsigned)in) &
						(((uint64_t)1 << n) - 1);
				while (bits) {
					unsigned bit = row + (unsigned)in + (unsigned)__builtin_ctzll(bits);
					bits &= bits - 1;
					scan_cell_ents(ix, c, blk->cell[bit]);
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
		uint32_t b;

		n = n < len - i ? n : len - i;
		b = block_find(ix, c, block_key(layer, x0, y));
		if (b != NO_CELL) {
			const struct block *blk = &ix->blocks[b];
			for (int32_t j = 0; j < n; j++) {
				unsigned bit = block_bit(x0, y + j);
				if (blk->mask >> bit & 1)
					scan_cell_ents(ix, c, blk->cell[bit]);
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
static void count_shortfall(struct unit_index *ix, const struct qctx *c,
			    struct unit_shortfall *why)
{
	const struct unit_query *q = c->q;

	for (size_t s = 0; s < ix->nslots; s++) {
		const struct unit_rec *u = &ix->slots[s].u;
		bool status_ok = !q->status_mask || (q->status_mask >> u->status & 1);
		double d;

		if ((q->type_mask && !(q->type_mask >> u->type & 1)) ||
		    (q->scope && !catalog_visible(q->scope, u->home_area)))
			continue;
		if (!u->has_pos) {
			why->no_position += status_ok;
			continue;
		}
		if (u->pos_at < q->min_pos_at) {
			why->position_too_old += status_ok;
			continue;
		}
		d = geo_distance_m(c->p, (struct geo_point){ u->lon, u->lat });
		if (q->within_m > 0 && d > q->within_m) {
			why->outside_radius += status_ok;
			continue;
		}
		why->wrong_status += !status_ok;
	}
}

int unit_index_nearest(struct unit_index *ix, const struct unit_query *q, struct unit_hit *out,
		       unsigned *nout, struct unit_shortfall *why)
{
	struct qctx c;
	unsigned layers[LAYERS], nlayers = 0, sh;
	int32_t cx, cy, bx0 = INT32_MAX, bx1 = INT32_MIN, by0 = INT32_MAX, by1 = INT32_MIN;
	size_t budget;

	if (q->k < 1 || q->k > UNIT_QUERY_MAX_K || !coord_ok(q->lon, q->lat) ||
	    !(q->within_m >= 0) || isinf(q->within_m))
		return SG_EINVAL;
	c.q = q;
	c.p = (struct geo_point){ q->lon, q->lat };
	c.lat_rad = q->lat * DEG_RAD;
	c.cos_lat = cos(c.lat_rad);
	c.cost = 0;
	memset(c.seen, 0xff, sizeof c.seen); /* MAP_EMPTY: no block has that key */
	c.top.n = 0;
	c.top.k = q->k;
	update_limit(&c);
	if (why)
		memset(why, 0, sizeof *why);

	lock_read(ix, &sh);
	for (unsigned t = 0; t < 32; t++) {
		if (q->type_mask && !(q->type_mask >> t & 1))
			continue;
		for (unsigned s = 0; s < UNIT_STATUS_COUNT; s++) {
			const struct layer *ly = &ix->layers[t * UNIT_STATUS_COUNT + s];
			if ((q->status_mask && !(q->status_mask >> s & 1)) || !ly->units)
				continue;
			layers[nlayers++] = t * UNIT_STATUS_COUNT + s;
			bx0 = ly->x0 < bx0 ? ly->x0 : bx0;
			bx1 = ly->x1 > bx1 ? ly->x1 : bx1;
			by0 = ly->y0 < by0 ? ly->y0 : by0;
			by1 = ly->y1 > by1 ? ly->y1 : by1;
		}
	}
	/* Past this much work a plain pass over every unit is cheaper. */
	budget = ix->nslots + 64;
	cx = cell_x_raw(q->lon); /* +180 searches around column GRID_NX: runs wrap */
	cy = cell_y(q->lat);
	for (int32_t r = 0; nlayers; r++) {
		for (unsigned l = 0; l < nlayers; l++) {
			if (r == 0) {
				scan_run(ix, &c, layers[l], cx, cy, 1, 1);
				continue;
			}
			scan_run(ix, &c, layers[l], cx - r, cy - r, 1, 2 * r + 1);
			scan_run(ix, &c, layers[l], cx - r, cy + r, 1, 2 * r + 1);
			scan_run(ix, &c, layers[l], cx - r, cy - r + 1, 0, 2 * r - 1);
			scan_run(ix, &c, layers[l], cx + r, cy - r + 1, 0, 2 * r - 1);
		}
		if (cx - r <= bx0 && cx + r >= bx1 && cy - r <= by0 && cy + r >= by1)
			break; /* every occupied cell seen */
		double bound = outside_bound(c.p, c.cos_lat, cx - r, cx + r, cy - r, cy + r);
		if (topk_worst(&c.top) < bound)
			break;
		if (q->within_m > 0 && bound > q->within_m)
			break;
		if (c.cost > budget || r >= 4 * GRID_PER_DEG) {
			scan_all(ix, &c);
			break;
		}
	}
	for (unsigned i = 0; i < c.top.n; i++) {
		out[i].unit = ix->slots[c.top.h[i].slot].u;
		out[i].distance_m = c.top.h[i].d;
	}
	*nout = c.top.n;
	if (why && c.top.n < q->k)
		count_shortfall(ix, &c, why);
	unlock_read(ix, sh);
	return 0;
}
