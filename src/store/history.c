/*
 * history.c — bulk loading of closed historical cases (the demo's years of
 * history): one store command that inserts the cases with multi-row prepared
 * statements and keeps the statistics counters in step by aggregating them in
 * memory and merging the aggregates, instead of an upsert per case and level.
 *
 * The work is split over two threads: a producer thread pulls the cases from
 * the source, checks them and counts them into hash tables (sorted into runs
 * when a table fills), while the core thread only inserts the cases; the
 * core then builds the cases' secondary indexes again and merges the runs
 * into the counter tables in key order.
 *
 * Not for live traffic: the command holds the core thread for the whole load.
 */
#include "store/store_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"

/* The levels a case is counted at, as store/stats.c counts them. */
static const enum area_kind counted_levels[] = { AREA_GOV_GRID, AREA_STATION, AREA_DISTRICT,
						 AREA_CITY };
#define NLEVELS (sizeof counted_levels / sizeof counted_levels[0])

#define CHUNK 4096
/* Chunks in flight between the generating thread and the core thread. */
#define QUEUE_CHUNKS 8
/* Aggregates held in a hash table before it is sorted into a run; input ordered by day rarely fills it. */
#define AGG_CAP ((size_t)1 << 21)
/* Sorted runs per table: with AGG_CAP entries each, far more than any history needs. */
#define MAX_RUNS 256

/*
 * Packed keys: area id (24 bits) | day (20 bits) | category rank (8) |
 * source rank (3) | police (1). Ranks follow strcmp order so that sorted keys
 * reach the WITHOUT ROWID tables in primary-key order.
 */
#define AREA_BITS 24
#define DAY_BITS 20
#define DAY_SHIFT (64 - AREA_BITS - DAY_BITS)

/* The counter tables, in the order their aggregates are kept. */
enum { TABLE_CASES, TABLE_RESOLVED, TABLE_CASES_MONTH, TABLE_RESOLVED_MONTH, TABLE_COUNT };
static const char *const table_names[TABLE_COUNT] = { "stats_cases", "stats_resolved",
						      "stats_cases_month",
						      "stats_resolved_month" };

/* Rows per INSERT statement (SQLite allows 32,766 parameters). */
#define CASE_ROWS 64
#define CASE_COLS 20
#define STATS_ROWS 256

struct agg_slot {
	uint64_t key; /* 0: empty (area ids are > 0) */
	int64_t n, seconds;
};

struct agg_run {
	struct agg_slot *v; /* sorted by key, keys unique within the run */
	size_t n;
};

/*
 * One counter table's aggregates: an open-addressing table, and the sorted
 * runs it was emptied into whenever it held cap_entries keys. The runs are
 * merged into the store at the end, in key order.
 */
struct agg {
	struct agg_slot *v;
	size_t cap, used, cap_entries;
	struct agg_run runs[MAX_RUNS];
	size_t nruns;
};

/*
 * The chunks between the thread that generates and counts the cases and the
 * core thread that inserts them: a ring of QUEUE_CHUNKS buffers.
 */
struct queue {
	pthread_mutex_t mu;
	pthread_cond_t filled, emptied;
	struct store_history_case *buf[QUEUE_CHUNKS];
	size_t len[QUEUE_CHUNKS];
	size_t head, count; /* the oldest filled chunk, and how many are filled */
	bool done;          /* the producer has finished (err says how) */
	bool abort;         /* the consumer gave up: the producer stops */
	int err;
};

struct load_ctx {
	struct store_history_load *load;
	uint8_t cat_rank[256], src_rank[256];
	uint8_t cat_of_rank[256], src_of_rank[256];
	int cat_len[256], type_len[256], dept_len[256], status_len[256], src_len[256];
	/* By day, and the monthly roll-ups with the month in the day's bits (TABLE_*). */
	struct agg aggs[TABLE_COUNT];
	struct queue q;
	/* [0] inserts one row, [1] CASE_ROWS or STATS_ROWS rows. */
	sqlite3_stmt *ins_case[2], *ins_stats[TABLE_COUNT][2];
	size_t stats_rows;
	double produce_s; /* the producer's CPU time (generation, checks, counting, sorting) */
	/*
	 * With the cases' triggers dropped: each area's parent (0: none), by
	 * area id, to find the cases whose areas do not nest, and the statement
	 * that records them in case_strays as the trigger would have.
	 */
	int64_t *parent_of;
	size_t nparent_of;
	sqlite3_stmt *ins_stray;
};

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static int agg_init(struct agg *a, size_t cap_entries)
{
	/* Small to start, but twice cap_entries where that is smaller, so that a spill can come. */
	a->cap = 64;
	while (a->cap < 2 * cap_entries && a->cap < ((size_t)1 << 16))
		a->cap *= 2;
	a->used = 0;
	a->cap_entries = cap_entries;
	a->nruns = 0;
	a->v = calloc(a->cap, sizeof *a->v);
	return a->v ? SG_OK : SG_ENOMEM;
}

static void agg_release(struct agg *a)
{
	free(a->v);
	for (size_t i = 0; i < a->nruns; i++)
		free(a->runs[i].v);
	a->v = NULL;
	a->nruns = 0;
}

/* Doubles the table (kept at most half full). */
static int agg_grow(struct agg *a)
{
	size_t cap = a->cap * 2;
	struct agg_slot *v = calloc(cap, sizeof *v);

	if (!v)
		return SG_ENOMEM;
	for (size_t i = 0; i < a->cap; i++) {
		size_t j;
		if (!a->v[i].key)
			continue;
		j = (size_t)mix(a->v[i].key) & (cap - 1);
		while (v[j].key)
			j = (j + 1) & (cap - 1);
		v[j] = a->v[i];
	}
	free(a->v);
	a->v = v;
	a->cap = cap;
	return SG_OK;
}

static struct agg_slot *agg_slot(struct agg *a, uint64_t key)
{
	size_t i = (size_t)mix(key) & (a->cap - 1);

	while (a->v[i].key && a->v[i].key != key)
		i = (i + 1) & (a->cap - 1);
	if (!a->v[i].key) {
		a->v[i].key = key;
		a->used++;
	}
	return &a->v[i];
}

static int cmp_slot(const void *x, const void *y)
{
	uint64_t a = ((const struct agg_slot *)x)->key, b = ((const struct agg_slot *)y)->key;
	return a < b ? -1 : a > b;
}

static int64_t key_area(uint64_t k)
{
	return (int64_t)(k >> (64 - AREA_BITS));
}

static int64_t key_day(uint64_t k)
{
	return (int64_t)((k >> DAY_SHIFT) & ((1u << DAY_BITS) - 1));
}

/*
 * Sorts v by key: a least-significant-digit radix sort, 16 bits a pass,
 * passes where every key has the same digit skipped. Millions of entries
 * sort several times faster than with qsort. SG_ENOMEM (v untouched) if the
 * copy it needs cannot be had.
 */
static int radix_sort(struct agg_slot *v, size_t n)
{
	struct agg_slot *tmp, *src = v, *dst;
	size_t *count;

	if (n < 2)
		return SG_OK;
	tmp = malloc(n * sizeof *tmp);
	count = malloc(((size_t)1 << 16) * sizeof *count);
	if (!tmp || !count) {
		free(tmp);
		free(count);
		return SG_ENOMEM;
	}
	dst = tmp;
	for (int shift = 0; shift < 64; shift += 16) {
		struct agg_slot *t;
		size_t sum = 0;
		memset(count, 0, ((size_t)1 << 16) * sizeof *count);
		for (size_t i = 0; i < n; i++)
			count[(src[i].key >> shift) & 0xffff]++;
		if (count[(src[0].key >> shift) & 0xffff] == n)
			continue; /* one digit for all: this pass would not move anything */
		for (size_t d = 0; d < ((size_t)1 << 16); d++) {
			size_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i].key >> shift) & 0xffff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != v)
		memcpy(v, src, n * sizeof *v);
	free(tmp);
	free(count);
	return SG_OK;
}

/*
 * Moves the table's entries into a new sorted run and empties the table.
 * SG_ETOOBIG past MAX_RUNS runs (hundreds of millions of counter rows).
 */
static int agg_spill(struct agg *a)
{
	struct agg_slot *run;
	size_t m = 0;

	if (!a->used)
		return SG_OK;
	if (a->nruns == MAX_RUNS)
		return SG_ETOOBIG;
	run = malloc(a->used * sizeof *run);
	if (!run)
		return SG_ENOMEM;
	for (size_t i = 0; i < a->cap; i++) {
		if (a->v[i].key)
			run[m++] = a->v[i];
	}
	if (radix_sort(run, m))
		qsort(run, m, sizeof *run, cmp_slot); /* no memory for the radix sort's copy */
	a->runs[a->nruns++] = (struct agg_run){ run, m };
	memset(a->v, 0, a->cap * sizeof *a->v);
	a->used = 0;
	return SG_OK;
}

/* Keeps a table under half full: grows it, or past cap_entries entries spills it into a run. */
static int agg_check(struct agg *a)
{
	if (a->used < a->cap / 2)
		return SG_OK;
	if (a->used < a->cap_entries)
		return agg_grow(a);
	return agg_spill(a);
}

/* Binds one counter row at parameter offset base (0 for the first row of a statement). */
static void bind_counter(struct load_ctx *lc, sqlite3_stmt *st, int base, bool resolved,
			 const struct agg_slot *e)
{
	const struct store_history_tables *t = lc->load->tables;
	unsigned cat = lc->cat_of_rank[(e->key >> 4) & 0xff];

	sqlite3_bind_int64(st, base + 1, key_area(e->key));
	sqlite3_bind_int64(st, base + 2, key_day(e->key));
	sqlite3_bind_text(st, base + 3, t->categories[cat], lc->cat_len[cat], SQLITE_STATIC);
	if (resolved) {
		sqlite3_bind_int64(st, base + 4, e->n);
		sqlite3_bind_int64(st, base + 5, e->seconds);
	} else {
		unsigned src = lc->src_of_rank[(e->key >> 1) & 7];
		sqlite3_bind_text(st, base + 4, t->sources[src], lc->src_len[src], SQLITE_STATIC);
		sqlite3_bind_int(st, base + 5, (int)(e->key & 1));
		sqlite3_bind_int64(st, base + 6, e->n);
	}
}

/* Writes rows[0..n) with the table's STATS_ROWS-row statement if n is that, else one by one. */
static int write_counters(struct load_ctx *lc, int table, const struct agg_slot *rows, size_t n)
{
	bool resolved = table == TABLE_RESOLVED || table == TABLE_RESOLVED_MONTH;
	int cols = resolved ? 5 : 6, rc = SG_OK;

	if (n == STATS_ROWS) {
		sqlite3_stmt *st = lc->ins_stats[table][1];
		sqlite3_reset(st);
		for (size_t i = 0; i < n; i++)
			bind_counter(lc, st, (int)i * cols, resolved, &rows[i]);
		return store__rc(sqlite3_step(st));
	}
	for (size_t i = 0; !rc && i < n; i++) {
		sqlite3_stmt *st = lc->ins_stats[table][0];
		sqlite3_reset(st);
		bind_counter(lc, st, 0, resolved, &rows[i]);
		rc = store__rc(sqlite3_step(st));
	}
	return rc;
}

/*
 * Merges the table's runs into the store in key order, summing a key's
 * entries across runs, and adds them to rows already there (counters from
 * live cases stay right). Rows go STATS_ROWS to a statement: SQLite's cost
 * per statement (cursors opened, the program started and halted) would
 * otherwise be most of the cost per row. Runs on the core thread after the
 * producer has finished.
 */
static int agg_write(struct load_ctx *lc, int table)
{
	struct agg *a = &lc->aggs[table];
	struct agg_slot rows[STATS_ROWS];
	size_t pos[MAX_RUNS] = { 0 }, nrows = 0;
	int rc = SG_OK;

	for (;;) {
		struct agg_slot sum = { 0, 0, 0 };
		/* The smallest head among the runs (there are few), then every run's entry for it. */
		for (size_t r = 0; r < a->nruns; r++) {
			if (pos[r] < a->runs[r].n && (!sum.key || a->runs[r].v[pos[r]].key < sum.key))
				sum.key = a->runs[r].v[pos[r]].key;
		}
		if (!sum.key)
			break;
		for (size_t r = 0; r < a->nruns; r++) {
			if (pos[r] < a->runs[r].n && a->runs[r].v[pos[r]].key == sum.key) {
				sum.n += a->runs[r].v[pos[r]].n;
				sum.seconds += a->runs[r].v[pos[r]].seconds;
				pos[r]++;
			}
		}
		rows[nrows++] = sum;
		if (nrows == STATS_ROWS) {
			if ((rc = write_counters(lc, table, rows, nrows)))
				return rc;
			lc->stats_rows += nrows;
			nrows = 0;
		}
	}
	if (!(rc = write_counters(lc, table, rows, nrows)))
		lc->stats_rows += nrows;
	return rc;
}

/* Ranks of the table's strings in strcmp order (tables are tiny: insertion counting). */
static void rank_table(const char *const *v, size_t n, uint8_t *rank, uint8_t *of_rank)
{
	for (size_t i = 0; i < n; i++) {
		size_t r = 0;
		for (size_t j = 0; j < n; j++)
			r += strcmp(v[j], v[i]) < 0 || (strcmp(v[j], v[i]) == 0 && j < i);
		rank[i] = (uint8_t)r;
		of_rank[r] = (uint8_t)i;
	}
}

static int check_case(const struct store_history_tables *t, const struct store_history_case *c)
{
	if (c->category >= t->ncategories || c->type >= t->ntypes ||
	    c->department >= t->ndepartments || c->status >= t->nstatuses ||
	    c->source >= t->nsources || c->police > 1)
		return SG_EINVAL;
	for (size_t k = 0; k < NLEVELS; k++) {
		int64_t area = c->area_ids[counted_levels[k]];
		if (area < 0 || area >= ((int64_t)1 << AREA_BITS))
			return SG_EINVAL;
	}
	if (store_stats_day(c->created_at) < 0 ||
	    store_stats_day(c->created_at) >= (1 << DAY_BITS) ||
	    (c->resolved_at && (store_stats_day(c->resolved_at) < 0 ||
				store_stats_day(c->resolved_at) >= (1 << DAY_BITS))))
		return SG_EINVAL;
	return SG_OK;
}

/* Binds one case at parameter offset base (0 for the first row of a statement). */
static void bind_case(struct load_ctx *lc, sqlite3_stmt *st, int base,
		      const struct store_history_case *c)
{
	const struct store_history_tables *t = lc->load->tables;

	sqlite3_bind_text(st, base + 1, t->types[c->type], lc->type_len[c->type], SQLITE_STATIC);
	sqlite3_bind_text(st, base + 2, t->categories[c->category], lc->cat_len[c->category],
			  SQLITE_STATIC);
	sqlite3_bind_int(st, base + 3, c->police);
	sqlite3_bind_text(st, base + 4, t->departments[c->department], lc->dept_len[c->department],
			  SQLITE_STATIC);
	sqlite3_bind_text(st, base + 5, t->statuses[c->status], lc->status_len[c->status],
			  SQLITE_STATIC);
	sqlite3_bind_int(st, base + 6, c->priority);
	sqlite3_bind_double(st, base + 7, c->lon);
	sqlite3_bind_double(st, base + 8, c->lat);
	for (int k = 0; k < AREA_KIND_COUNT; k++) {
		if (c->area_ids[k])
			sqlite3_bind_int64(st, base + 9 + k, c->area_ids[k]);
		else
			sqlite3_bind_null(st, base + 9 + k);
	}
	sqlite3_bind_text(st, base + 16, t->sources[c->source], lc->src_len[c->source],
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, base + 17, c->created_at);
	sqlite3_bind_int64(st, base + 18, c->updated_at);
	sqlite3_bind_int64(st, base + 19, c->deadline_at);
	sqlite3_bind_int64(st, base + 20, c->version);
}

static int64_t parent_of(const struct load_ctx *lc, int64_t id)
{
	return id > 0 && (size_t)id < lc->nparent_of ? lc->parent_of[id] : 0;
}

/* The rule of the trigger cases_stray_insert (migrations.c, CASE_NESTS), in C. */
static bool case_nests(const struct load_ctx *lc, const struct store_history_case *c)
{
	static const enum area_kind pairs[][2] = {
		{ AREA_POLICE_GRID, AREA_STATION }, { AREA_STATION, AREA_DISTRICT },
		{ AREA_GOV_GRID, AREA_COMMUNITY },  { AREA_COMMUNITY, AREA_STREET },
		{ AREA_STREET, AREA_DISTRICT },
	};

	for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
		int64_t child = c->area_ids[pairs[k][0]];
		if (child && parent_of(lc, child) != c->area_ids[pairs[k][1]])
			return false;
	}
	return true;
}

/*
 * Records the strays among the rows just inserted, the last of which got
 * rowid last: a fresh rowid is one more than the largest, so the rows of one
 * INSERT have consecutive rowids.
 */
static int record_strays(struct load_ctx *lc, sqlite3 *db, const struct store_history_case *v,
			 size_t rows)
{
	int64_t first = sqlite3_last_insert_rowid(db) - (int64_t)rows + 1;
	int rc = SG_OK;

	for (size_t r = 0; !rc && r < rows; r++) {
		if (case_nests(lc, &v[r]))
			continue;
		sqlite3_reset(lc->ins_stray);
		sqlite3_bind_int64(lc->ins_stray, 1, first + (int64_t)r);
		rc = store__rc(sqlite3_step(lc->ins_stray));
	}
	return rc;
}

/*
 * Inserts cases v[0..n) in order, CASE_ROWS to a statement and the rest one
 * by one: all the core thread does per case.
 */
static int insert_cases(struct load_ctx *lc, const struct store_history_case *v, size_t n)
{
	sqlite3 *db = sqlite3_db_handle(lc->ins_case[0]);
	size_t i = 0;
	int rc = SG_OK;

	for (; !rc && i + CASE_ROWS <= n; i += CASE_ROWS) {
		sqlite3_stmt *st = lc->ins_case[1];
		sqlite3_reset(st);
		for (size_t r = 0; r < CASE_ROWS; r++)
			bind_case(lc, st, (int)r * CASE_COLS, &v[i + r]);
		rc = store__rc(sqlite3_step(st));
		if (!rc && lc->ins_stray)
			rc = record_strays(lc, db, v + i, CASE_ROWS);
	}
	for (; !rc && i < n; i++) {
		sqlite3_reset(lc->ins_case[0]);
		bind_case(lc, lc->ins_case[0], 0, &v[i]);
		rc = store__rc(sqlite3_step(lc->ins_case[0]));
		if (!rc && lc->ins_stray)
			rc = record_strays(lc, db, v + i, 1);
	}
	return rc;
}

/*
 * Adds one case to the four aggregate tables, at every counted level, as
 * store/stats.c would count it live (grids have no monthly roll-up). Runs
 * on the producer thread.
 */
static int count_case(struct load_ctx *lc, const struct store_history_case *c)
{
	uint64_t day = (uint64_t)store_stats_day(c->created_at);
	uint64_t month = (uint64_t)store__stats_month((int64_t)day) & ((1u << DAY_BITS) - 1);
	uint64_t rday = 0, rmonth = 0, tail = (uint64_t)lc->cat_rank[c->category] << 4;
	uint64_t src = (uint64_t)lc->src_rank[c->source] << 1 | c->police;
	int64_t seconds = c->resolved_at > c->created_at ? c->resolved_at - c->created_at : 0;
	int rc;

	if (c->resolved_at) {
		rday = (uint64_t)store_stats_day(c->resolved_at);
		rmonth = (uint64_t)store__stats_month((int64_t)rday) & ((1u << DAY_BITS) - 1);
	}
	for (size_t k = 0; k < NLEVELS; k++) {
		uint64_t area = (uint64_t)c->area_ids[counted_levels[k]] << (64 - AREA_BITS);
		bool rolled_up = counted_levels[k] != AREA_GOV_GRID;
		struct agg_slot *slot;
		if (!area)
			continue;
		agg_slot(&lc->aggs[TABLE_CASES], area | day << DAY_SHIFT | tail | src)->n++;
		if (rolled_up)
			agg_slot(&lc->aggs[TABLE_CASES_MONTH], area | month << DAY_SHIFT | tail | src)->n++;
		if (!c->resolved_at)
			continue;
		slot = agg_slot(&lc->aggs[TABLE_RESOLVED], area | rday << DAY_SHIFT | tail);
		slot->n++;
		slot->seconds += seconds;
		if (rolled_up) {
			slot = agg_slot(&lc->aggs[TABLE_RESOLVED_MONTH], area | rmonth << DAY_SHIFT | tail);
			slot->n++;
			slot->seconds += seconds;
		}
	}
	for (int k = 0; k < TABLE_COUNT; k++) {
		if ((rc = agg_check(&lc->aggs[k])))
			return rc;
	}
	return SG_OK;
}

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_s(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* The calling thread's CPU time: phases on a shared machine are judged by it too. */
static double cpu_s(void)
{
	return clock_s(CLOCK_THREAD_CPUTIME_ID);
}

/*
 * The producer thread: pulls the cases from the load's source, checks and
 * counts them, and hands them to the core thread in chunks; at the end it
 * sorts what is left of the aggregates into runs. Generating and counting
 * here, while the core thread inserts, puts the second core to work.
 */
static void *produce(void *arg)
{
	struct load_ctx *lc = arg;
	struct store_history_load *load = lc->load;
	struct queue *q = &lc->q;
	double busy = 0;
	int rc = SG_OK;

	for (;;) {
		struct store_history_case *chunk;
		size_t slot, n = 0;
		double t0;
		bool stop;
		pthread_mutex_lock(&q->mu);
		while (q->count == QUEUE_CHUNKS && !q->abort)
			pthread_cond_wait(&q->emptied, &q->mu);
		slot = (q->head + q->count) % QUEUE_CHUNKS;
		chunk = q->buf[slot];
		stop = q->abort;
		pthread_mutex_unlock(&q->mu);
		if (stop)
			break;
		t0 = cpu_s();
		if ((rc = load->next(load->ctx, chunk, CHUNK, &n)))
			break;
		if (n > CHUNK)
			n = CHUNK;
		for (size_t i = 0; !rc && i < n; i++) {
			if (!(rc = check_case(load->tables, &chunk[i])))
				rc = count_case(lc, &chunk[i]);
		}
		busy += cpu_s() - t0;
		if (rc || n == 0)
			break;
		pthread_mutex_lock(&q->mu);
		q->len[slot] = n;
		q->count++;
		pthread_cond_signal(&q->filled);
		pthread_mutex_unlock(&q->mu);
	}
	if (!rc) {
		double t0 = cpu_s();
		for (int k = 0; !rc && k < TABLE_COUNT; k++)
			rc = agg_spill(&lc->aggs[k]);
		busy += cpu_s() - t0;
	}
	pthread_mutex_lock(&q->mu);
	lc->produce_s = busy;
	q->err = rc;
	q->done = true;
	pthread_cond_signal(&q->filled);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/*
 * The core thread's side: inserts the chunks as they come. Returns the
 * producer's error, or the first insert's; after an insert error the
 * producer is told to stop.
 */
static int consume(struct load_ctx *lc)
{
	struct queue *q = &lc->q;
	int rc = SG_OK;

	for (;;) {
		struct store_history_case *chunk;
		size_t n;
		pthread_mutex_lock(&q->mu);
		while (!q->count && !q->done)
			pthread_cond_wait(&q->filled, &q->mu);
		if (!q->count || q->err) {
			rc = q->err;
			pthread_mutex_unlock(&q->mu);
			break;
		}
		chunk = q->buf[q->head];
		n = q->len[q->head];
		pthread_mutex_unlock(&q->mu);
		if (!(rc = insert_cases(lc, chunk, n)))
			lc->load->cases += n;
		pthread_mutex_lock(&q->mu);
		q->head = (q->head + 1) % QUEUE_CHUNKS;
		q->count--;
		if (rc)
			q->abort = true;
		pthread_cond_signal(&q->emptied);
		pthread_mutex_unlock(&q->mu);
		if (rc)
			break;
	}
	return rc;
}

/*
 * Drops the cases' secondary indexes and triggers for the load and returns
 * their CREATE statements, NUL-separated (caller frees), to run again after.
 * The triggers only keep case_strays, which insert_cases keeps itself.
 * Partial indexes stay: those of open cases take a handful of the history's
 * rows, and building one afterwards would scan every case to find them.
 */
static int drop_indexes(sqlite3 *db, char **sqls, size_t *len)
{
	sqlite3_stmt *st = NULL;
	char *buf = NULL, drop[160];
	size_t n = 0;
	int rc = store__prepare(db, "SELECT type, name, sql FROM sqlite_master WHERE tbl_name='cases' "
				    "AND sql IS NOT NULL AND (type='trigger' OR (type='index' AND "
				    "sql NOT LIKE '% WHERE %'))",
				&st);

	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		const char *sql = (const char *)sqlite3_column_text(st, 2);
		size_t l = strlen(sql) + 1;
		char *nb = realloc(buf, n + l);
		if (!nb) {
			rc = SG_ENOMEM;
			break;
		}
		buf = nb;
		memcpy(buf + n, sql, l);
		n += l;
	}
	sqlite3_finalize(st);
	/* Dropped after the scan: sqlite_master must not change under a running SELECT. */
	for (size_t off = 0; !rc && off < n; off += strlen(buf + off) + 1) {
		const char *what = strncmp(buf + off, "CREATE TRIGGER ", 15) == 0 ? "TRIGGER" : "INDEX";
		const char *name = strstr(buf + off, what);
		int nl = 0;
		if (!name)
			continue;
		name += strlen(what) + 1;
		while (name[nl] && name[nl] != ' ' && name[nl] != '(')
			nl++;
		snprintf(drop, sizeof drop, "DROP %s %.*s", what, nl, name);
		rc = store__rc(sqlite3_exec(db, drop, NULL, NULL, NULL));
	}
	if (rc) {
		free(buf);
		return rc;
	}
	*sqls = buf;
	*len = n;
	return SG_OK;
}

/*
 * For a load without the cases' triggers: every area's parent, and the
 * statement that records a stray, so that insert_cases keeps case_strays.
 */
static int strays_prepare(sqlite3 *db, struct load_ctx *lc)
{
	sqlite3_stmt *st = NULL;
	int64_t max = 0;
	int rc, step;

	if ((rc = store__prepare(db, "SELECT coalesce(max(id), 0) FROM areas", &st)))
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		max = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (max < 0 || !(lc->parent_of = calloc((size_t)max + 1, sizeof *lc->parent_of)))
		return SG_ENOMEM;
	lc->nparent_of = (size_t)max + 1;
	if ((rc = store__prepare(db, "SELECT id, coalesce(parent_id, 0) FROM areas", &st)))
		return rc;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (id > 0 && id <= max)
			lc->parent_of[id] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return store__rc(step) ? store__rc(step) : SG_EIO;
	return store__prepare(db, "INSERT OR IGNORE INTO case_strays VALUES(?)", &lc->ins_stray);
}

static int create_indexes(sqlite3 *db, const char *sqls, size_t len)
{
	int rc = SG_OK;

	for (size_t off = 0; !rc && off < len; off += strlen(sqls + off) + 1)
		rc = store__rc(sqlite3_exec(db, sqls + off, NULL, NULL, NULL));
	return rc;
}

/* Prepares head followed by rows copies of row, comma-separated, then tail. */
static int prepare_rows(sqlite3 *db, const char *head, const char *row, const char *tail,
			int rows, sqlite3_stmt **st)
{
	size_t hl = strlen(head), rl = strlen(row), tl = strlen(tail);
	char *sql = malloc(hl + (size_t)rows * (rl + 1) + tl + 1), *p;
	int rc;

	if (!sql)
		return SG_ENOMEM;
	memcpy(sql, head, hl);
	p = sql + hl;
	for (int i = 0; i < rows; i++) {
		if (i)
			*p++ = ',';
		memcpy(p, row, rl);
		p += rl;
	}
	memcpy(p, tail, tl + 1);
	rc = store__prepare(db, sql, st);
	free(sql);
	return rc;
}

/*
 * The INSERT statements of the load, one row and many rows each. The
 * counters are upserts: they add to rows already there.
 */
static int prepare_inserts(sqlite3 *db, struct load_ctx *lc)
{
	static const char case_head[] =
		"INSERT INTO cases(type,category,police,department,status,priority,lon,lat,city_id,"
		"district_id,station_id,police_grid_id,street_id,community_id,gov_grid_id,source,"
		"created_at,updated_at,deadline_at,version,reports,escalation_level) VALUES";
	static const char case_row[] = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,0)";
	static const char add_n[] = " ON CONFLICT DO UPDATE SET n = n + excluded.n";
	static const char add_n_seconds[] = " ON CONFLICT DO UPDATE SET n = n + excluded.n, "
					    "seconds = seconds + excluded.seconds";
	int rc = SG_OK;

	for (int i = 0; !rc && i < 2; i++)
		rc = prepare_rows(db, case_head, case_row, "", i ? CASE_ROWS : 1, &lc->ins_case[i]);
	for (int k = 0; !rc && k < TABLE_COUNT; k++) {
		bool resolved = k == TABLE_RESOLVED || k == TABLE_RESOLVED_MONTH;
		char head[64];
		snprintf(head, sizeof head, "INSERT INTO %s VALUES", table_names[k]);
		for (int i = 0; !rc && i < 2; i++)
			rc = prepare_rows(db, head, resolved ? "(?,?,?,?,?)" : "(?,?,?,?,?,?)",
					  resolved ? add_n_seconds : add_n, i ? STATS_ROWS : 1,
					  &lc->ins_stats[k][i]);
	}
	return rc;
}

/* Reads a one-number PRAGMA; def if it cannot be read. */
static int64_t pragma_int(sqlite3 *db, const char *sql, int64_t def)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		def = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return def;
}

static int load_cmd(sqlite3 *db, void *arg)
{
	struct load_ctx *lc = arg;
	struct store_history_load *load = lc->load;
	char *index_sql = NULL, pragma[64];
	/* SQLite's defaults, should the queries fail. */
	int64_t cache = pragma_int(db, "PRAGMA cache_size", -2000);
	int64_t threads = pragma_int(db, "PRAGMA threads", 0);
	size_t index_len = 0;
	double t0 = now_s(), t1 = 0, t2 = 0, c0 = cpu_s(), c1 = 0, c2 = 0;
	int rc;

	/* A larger page cache for the load keeps the growing tables in memory; restored after. */
	sqlite3_exec(db, "PRAGMA cache_size=-524288", NULL, NULL, NULL);
	/* A helper thread for the sorts of CREATE INDEX: the producer has finished by then. */
	sqlite3_exec(db, "PRAGMA threads=1", NULL, NULL, NULL);
	if (load->rebuild_indexes && ((rc = drop_indexes(db, &index_sql, &index_len)) ||
				      (rc = strays_prepare(db, lc))))
		goto out;
	if ((rc = prepare_inserts(db, lc)))
		goto out;
	/* Cases written here bypass the join index: it reloads from the store when next asked. */
	store__join_invalidate(db);
	if ((rc = consume(lc)))
		goto out;
	t1 = now_s();
	c1 = cpu_s();
	/* Built while the cases' pages are still in the cache, before the counters push them out. */
	if (index_sql && (rc = create_indexes(db, index_sql, index_len)))
		goto out;
	t2 = now_s();
	c2 = cpu_s();
	/* The producer has finished (consume saw it done): its runs are complete. */
	for (int k = 0; k < TABLE_COUNT; k++) {
		if ((rc = agg_write(lc, k)))
			goto out;
	}
	SG_LOG(SG_LOG_INFO,
	       "msg=\"history load phases\" cases_s=%.1f cases_cpu_s=%.1f producer_cpu_s=%.1f "
	       "indexes_s=%.1f indexes_cpu_s=%.1f stats_s=%.1f stats_cpu_s=%.1f",
	       t1 - t0, c1 - c0, lc->produce_s, t2 - t1, c2 - c1, now_s() - t2, cpu_s() - c2);
out:
	if (rc) {
		/* Whatever stopped the load, the producer must not wait for a consumer any more. */
		pthread_mutex_lock(&lc->q.mu);
		lc->q.abort = true;
		pthread_cond_signal(&lc->q.emptied);
		pthread_mutex_unlock(&lc->q.mu);
	}
	for (int i = 0; i < 2; i++) {
		sqlite3_finalize(lc->ins_case[i]);
		for (int k = 0; k < TABLE_COUNT; k++)
			sqlite3_finalize(lc->ins_stats[k][i]);
	}
	snprintf(pragma, sizeof pragma, "PRAGMA cache_size=%lld", (long long)cache);
	sqlite3_exec(db, pragma, NULL, NULL, NULL);
	snprintf(pragma, sizeof pragma, "PRAGMA threads=%lld", (long long)threads);
	sqlite3_exec(db, pragma, NULL, NULL, NULL);
	sqlite3_finalize(lc->ins_stray);
	lc->ins_stray = NULL;
	free(lc->parent_of);
	lc->parent_of = NULL;
	free(index_sql);
	return rc;
}

static void lengths(const char *const *v, size_t n, int *len)
{
	for (size_t i = 0; i < n; i++)
		len[i] = (int)strlen(v[i]);
}

int store_history_load(struct store *s, struct store_history_load *load)
{
	const struct store_history_tables *t = load->tables;
	size_t cap_entries = load->agg_entries ? load->agg_entries : AGG_CAP;
	struct load_ctx *lc;
	pthread_t producer;
	bool started = false, sync_made = false;
	double t0;
	int rc;

	if (!t || !load->next || !t->ncategories || t->ncategories > 256 || !t->ntypes ||
	    t->ntypes > 256 || !t->ndepartments || t->ndepartments > 256 || !t->nstatuses ||
	    t->nstatuses > 256 || !t->nsources || t->nsources > 8)
		return SG_EINVAL;
	lc = calloc(1, sizeof *lc);
	if (!lc)
		return SG_ENOMEM;
	lc->load = load;
	load->cases = 0;
	load->stats_rows = 0;
	rank_table(t->categories, t->ncategories, lc->cat_rank, lc->cat_of_rank);
	rank_table(t->sources, t->nsources, lc->src_rank, lc->src_of_rank);
	lengths(t->categories, t->ncategories, lc->cat_len);
	lengths(t->types, t->ntypes, lc->type_len);
	lengths(t->departments, t->ndepartments, lc->dept_len);
	lengths(t->statuses, t->nstatuses, lc->status_len);
	lengths(t->sources, t->nsources, lc->src_len);
	for (int k = 0; k < TABLE_COUNT; k++) {
		if ((rc = agg_init(&lc->aggs[k], cap_entries)))
			goto out;
	}
	for (size_t i = 0; i < QUEUE_CHUNKS; i++) {
		if (!(lc->q.buf[i] = malloc(CHUNK * sizeof *lc->q.buf[i]))) {
			rc = SG_ENOMEM;
			goto out;
		}
	}
	if (pthread_mutex_init(&lc->q.mu, NULL)) {
		rc = SG_ENOMEM;
		goto out;
	}
	if (pthread_cond_init(&lc->q.filled, NULL)) {
		pthread_mutex_destroy(&lc->q.mu);
		rc = SG_ENOMEM;
		goto out;
	}
	if (pthread_cond_init(&lc->q.emptied, NULL)) {
		pthread_cond_destroy(&lc->q.filled);
		pthread_mutex_destroy(&lc->q.mu);
		rc = SG_ENOMEM;
		goto out;
	}
	sync_made = true;
	t0 = now_s();
	if (pthread_create(&producer, NULL, produce, lc)) {
		rc = SG_ENOMEM;
		goto out;
	}
	started = true;
	rc = store__submit(s, load_cmd, lc);
	if (!rc)
		load->stats_rows = lc->stats_rows;
	else
		load->cases = 0;
	SG_LOG(SG_LOG_INFO, "msg=\"history loaded\" cases=%zu stats_rows=%zu rc=%d seconds=%.1f",
	       load->cases, load->stats_rows, rc, now_s() - t0);
out:
	if (started) {
		/* load_cmd may never have run (a closed store): stop the producer either way. */
		pthread_mutex_lock(&lc->q.mu);
		lc->q.abort = true;
		pthread_cond_signal(&lc->q.emptied);
		pthread_mutex_unlock(&lc->q.mu);
		pthread_join(producer, NULL);
	}
	if (sync_made) {
		pthread_cond_destroy(&lc->q.emptied);
		pthread_cond_destroy(&lc->q.filled);
		pthread_mutex_destroy(&lc->q.mu);
	}
	for (size_t i = 0; i < QUEUE_CHUNKS; i++)
		free(lc->q.buf[i]);
	for (int k = 0; k < TABLE_COUNT; k++)
		agg_release(&lc->aggs[k]);
	free(lc);
	return rc;
}
