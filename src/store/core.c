/*
 * core.c — the store's core thread (group commit) with its statement cache,
 * the checkpointer, the read pool and the migration runner.
 *
 * Writers never touch SQLite themselves: they queue a command and sleep.
 * The core thread takes every command queued at that moment (up to
 * CORE_BATCH_MAX), runs them in one BEGIN IMMEDIATE … COMMIT with a savepoint
 * each, and wakes them only once the WAL holding the batch is fsynced.
 * Under load this turns N fsyncs into one.
 *
 * The fsync is pipelined with the next batch: the core connection runs
 * with synchronous=NORMAL, so its COMMIT writes the WAL frames and returns;
 * a syncer thread then fdatasyncs the WAL and only after that wakes the
 * batch's writers, while the core already runs the next batch. One fsync
 * covers every batch committed before it began, and a batch depends only on
 * batches committed before it, so no writer hears "stored" before what it
 * stored — and everything it read — is on disk. (Other connections may read
 * a committed batch before its fsync; a power failure then loses what they
 * saw, never what a writer was told.)
 *
 * Copying the WAL back into the database (checkpoints) is kept off that
 * path: a checkpointer thread does it on its own connection, passively, and
 * the core only steps in, after committing, when the WAL has grown large.
 */
#include "store/store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/log.h"

#define CORE_BATCH_MAX 4096
#define READ_POOL 8
/* Statements kept prepared on the core connection (the write path's own, a few dozen). */
#define STMT_CACHE 96
/* WAL pages after which the checkpointer is woken before its next tick. */
#define CKPT_PAGES 1000
#define CKPT_TICK_MS 1000
/*
 * The WAL only starts over when a transaction begins with every frame
 * copied back. Under steady load the checkpointer rarely finishes exactly
 * between two commits, so the WAL would grow for as long as the load lasts;
 * past this many pages (64 MiB) the core checkpoints itself, passively,
 * after it has committed a batch: the checkpointer has copied nearly
 * everything, so little is left, and the next batch starts the WAL over.
 * (Measured under 64 concurrent reports: checkpointing the core every 8 MiB
 * gave no better latency than this.)
 */
#define CKPT_CORE_PAGES 16384
/*
 * Committed batches waiting for their fsync, the one being synced included,
 * past which the core waits before committing another: the core runs one
 * batch while the previous one syncs, and commands arriving meanwhile gather
 * into the next batch instead of each paying a commit of its own.
 */
#define SYNC_DEPTH 2
/* wal_fd of a store not in WAL mode: COMMIT itself is durable, nothing to sync. */
#define WAL_FD_NONE (-2)

/*
 * A queued command. A waiting writer's lives on its stack and is marked
 * done; an asynchronous one (done_fn set) is the core's to free after it
 * has called done_fn.
 */
struct store_cmd {
	store_cmd_fn fn;
	void *ctx;
	int rc;
	int done;
	store_done_fn done_fn;
	void *done_arg;
	struct store_cmd *next;
};

/* A committed (or failed) batch on its way to the syncer. */
struct sync_batch {
	struct store_cmd *cmds;
	size_t n;
	int rc;          /* the batch's: SG_OK if COMMIT returned */
	double write_s;  /* how long COMMIT (the WAL write) took */
	struct sync_batch *next;
};

struct stmt_slot {
	const char *sql; /* the caller's string: looked up by address */
	sqlite3_stmt *st;
	int busy;
};

/*
 * What only the core thread touches: the statement cache and the write
 * path's in-memory state. Reached from a command through a thread-local
 * pointer, so commands keep their (db, ctx) signature.
 */
struct store__core {
	sqlite3 *db;
	struct stmt_slot stmts[STMT_CACHE];
	size_t nstmts;
	struct store__join *join;
	struct store__stats_pending *pending;
};

static _Thread_local struct store__core *tl_core;

struct store {
	char *path;
	sqlite3 *wdb;
	int schema_version;
	struct store__core core_state;

	/* The checkpointer: passive WAL checkpoints off the core thread. */
	sqlite3 *cdb;
	pthread_t ckpt;
	pthread_mutex_t ckpt_lock;
	pthread_cond_t ckpt_wake;
	int ckpt_stop, ckpt_due, ckpt_started;
	int wal_pages; /* after the last commit; core thread only */

	pthread_mutex_t lock;
	pthread_cond_t work;   /* core waits: commands queued or closing */
	pthread_cond_t answer; /* writers wait: their batch is done */
	struct store_cmd *head, *tail;
	int closing;
	pthread_t core;

	/*
	 * The syncer: fdatasync of the WAL for the batches the core committed,
	 * then their writers are answered. Guarded by lock; sync_inflight counts
	 * the batches handed over and not yet answered.
	 */
	pthread_t syncer;
	pthread_cond_t sync_work;  /* syncer waits: batches queued or stopping */
	pthread_cond_t sync_room;  /* core waits: fewer than SYNC_DEPTH in flight */
	struct sync_batch *sync_head, *sync_tail;
	int sync_inflight, sync_stop, syncer_started;
	int wal_fd; /* the WAL file, opened by us for fdatasync; -1 not yet, WAL_FD_NONE no WAL */

	pthread_mutex_t read_lock;
	pthread_cond_t read_free;
	sqlite3 *readers[READ_POOL];
	int nreaders_free;

	pthread_mutex_t metrics_lock;
	struct store_metrics metrics;
};

int store__rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW: return SG_OK;
	case SQLITE_CONSTRAINT: return SG_ECONFLICT;
	case SQLITE_NOMEM: return SG_ENOMEM;
	case SQLITE_TOOBIG: return SG_ETOOBIG;
	case SQLITE_NOTFOUND: return SG_ENOTFOUND;
	default: return SG_EIO;
	}
}

int store__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
	if (rc != SQLITE_OK) {
		SG_LOG(SG_LOG_ERROR, "msg=\"prepare failed\" err=\"%s\"", sqlite3_errmsg(db));
		return SG_EINTERNAL;
	}
	return SG_OK;
}

struct store__core *store__core_of(sqlite3 *db)
{
	return tl_core && tl_core->db == db ? tl_core : NULL;
}

struct store__join **store__core_join(struct store__core *c)
{
	return &c->join;
}

struct store__stats_pending **store__core_pending(struct store__core *c)
{
	return &c->pending;
}

int store__stmt(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	struct store__core *c = store__core_of(db);
	struct stmt_slot *free_slot = NULL;
	int rc;

	if (!c)
		return store__prepare(db, sql, st);
	for (size_t i = 0; i < c->nstmts; i++) {
		if (c->stmts[i].sql != sql)
			continue;
		if (c->stmts[i].busy)
			return store__prepare(db, sql, st); /* nested use: a private copy */
		c->stmts[i].busy = 1;
		*st = c->stmts[i].st;
		return SG_OK;
	}
	if (c->nstmts < STMT_CACHE)
		free_slot = &c->stmts[c->nstmts];
	if (!free_slot)
		return store__prepare(db, sql, st);
	rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	if (rc != SQLITE_OK) {
		SG_LOG(SG_LOG_ERROR, "msg=\"prepare failed\" err=\"%s\"", sqlite3_errmsg(db));
		return SG_EINTERNAL;
	}
	free_slot->sql = sql;
	free_slot->st = *st;
	free_slot->busy = 1;
	c->nstmts++;
	return SG_OK;
}

void store__stmt_done(sqlite3_stmt *st)
{
	struct store__core *c;

	if (!st)
		return;
	c = store__core_of(sqlite3_db_handle(st));
	for (size_t i = 0; c && i < c->nstmts; i++) {
		if (c->stmts[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			c->stmts[i].busy = 0;
			return;
		}
	}
	sqlite3_finalize(st);
}

static void core_local_release(struct store__core *c)
{
	for (size_t i = 0; i < c->nstmts; i++)
		sqlite3_finalize(c->stmts[i].st);
	c->nstmts = 0;
	store__join_free(c->join);
	c->join = NULL;
	store__stats_pending_free(c->pending);
	c->pending = NULL;
}

static int exec_sql(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK) {
		SG_LOG(SG_LOG_ERROR, "msg=\"sql failed\" err=\"%s\"", err ? err : sqlite3_errstr(rc));
		sqlite3_free(err);
		return store__rc(rc) ? store__rc(rc) : SG_EIO;
	}
	return SG_OK;
}

static int open_conn(const char *path, int readonly, sqlite3 **out)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_NOMUTEX |
		    (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
	int rc = sqlite3_open_v2(path, &db, flags, NULL);

	if (rc != SQLITE_OK) {
		SG_LOG(SG_LOG_ERROR, "msg=\"cannot open store\" path=\"%s\" err=\"%s\"", path,
		       db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return SG_EIO;
	}
	sqlite3_busy_timeout(db, 10000);
	rc = readonly ? exec_sql(db, "PRAGMA cache_size=-32768;")
		      : exec_sql(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
				     "PRAGMA foreign_keys=ON; PRAGMA cache_size=-131072;");
	if (rc) {
		sqlite3_close(db);
		return rc;
	}
	*out = db;
	return SG_OK;
}

/* Applies every migration newer than the stored version, each in its own transaction. */
static int migrate(sqlite3 *db, int *version)
{
	sqlite3_stmt *st = NULL;
	int have = 0, rc;

	rc = exec_sql(db, "CREATE TABLE IF NOT EXISTS schema_migrations("
			  "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
	if (rc)
		return rc;
	if ((rc = store__prepare(db, "SELECT coalesce(max(version),0) FROM schema_migrations", &st)))
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		have = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (have > store__migration_count) {
		SG_LOG(SG_LOG_ERROR, "msg=\"store is newer than this binary\" version=%d known=%d",
		       have, store__migration_count);
		return SG_EINVAL;
	}
	for (int v = have + 1; v <= store__migration_count; v++) {
		char mark[128];
		if ((rc = exec_sql(db, "BEGIN IMMEDIATE")))
			return rc;
		rc = exec_sql(db, store__migrations[v - 1]);
		if (!rc) {
			snprintf(mark, sizeof mark,
				 "INSERT INTO schema_migrations VALUES(%d, %lld)", v,
				 (long long)time(NULL));
			rc = exec_sql(db, mark);
		}
		if (rc) {
			exec_sql(db, "ROLLBACK");
			SG_LOG(SG_LOG_ERROR, "msg=\"migration failed\" version=%d", v);
			return rc;
		}
		if ((rc = exec_sql(db, "COMMIT")))
			return rc;
		SG_LOG(SG_LOG_INFO, "msg=\"migration applied\" version=%d", v);
	}
	*version = store__migration_count;
	return SG_OK;
}

static unsigned batch_bucket(size_t n)
{
	unsigned b = 0;
	while (b + 1 < STORE_BATCH_BUCKETS && ((size_t)1 << b) < n)
		b++;
	return b;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static unsigned commit_bucket(double seconds)
{
	unsigned b = 0;
	while (b + 1 < STORE_COMMIT_BUCKETS && seconds > (double)(1u << b) / 4000.0)
		b++;
	return b;
}

/* Runs a statement without results from the core's statement cache. */
static int core_exec(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc = store__stmt(db, sql, &st);

	if (rc)
		return rc;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		SG_LOG(SG_LOG_ERROR, "msg=\"sql failed\" sql=\"%s\" err=\"%s\"", sql,
		       sqlite3_errmsg(db));
	store__stmt_done(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SG_OK : (store__rc(rc) ? store__rc(rc) : SG_EIO);
}

/*
 * Runs one batch: every command in its savepoint, the batch's aggregated
 * counters, then one COMMIT (the WAL write; the fsync is the syncer's). A
 * command that fails rolls back alone, its counter deltas with it. Returns
 * the batch's result; *write_s is how long COMMIT took.
 */
static int run_batch(struct store *s, struct store_cmd *batch, double *write_s)
{
	static const char begin[] = "BEGIN IMMEDIATE", savepoint[] = "SAVEPOINT cmd",
			  rollback_to[] = "ROLLBACK TO cmd", release[] = "RELEASE cmd",
			  commit[] = "COMMIT", rollback[] = "ROLLBACK";
	int rc = core_exec(s->wdb, begin);

	*write_s = 0;
	for (struct store_cmd *c = batch; c; c = c->next) {
		size_t mark;
		if (rc) {
			c->rc = rc;
			continue;
		}
		if (core_exec(s->wdb, savepoint)) {
			c->rc = SG_EIO;
			continue;
		}
		mark = store__stats_pending_mark(s->wdb);
		c->rc = c->fn(s->wdb, c->ctx);
		if (c->rc) {
			core_exec(s->wdb, rollback_to);
			store__stats_pending_undo(s->wdb, mark);
		}
		core_exec(s->wdb, release);
	}
	if (!rc && (rc = store__stats_pending_flush(s->wdb)))
		SG_LOG(SG_LOG_ERROR, "msg=\"counter flush failed\" rc=%d", rc);
	if (!rc) {
		double t0 = mono_s();
		if (core_exec(s->wdb, commit))
			rc = SG_EIO;
		*write_s = mono_s() - t0;
	}
	if (rc) {
		/* Nothing of the batch remains; neither may its pending counters. */
		if (sqlite3_get_autocommit(s->wdb) == 0)
			exec_sql(s->wdb, rollback);
		store__stats_pending_undo(s->wdb, 0);
		for (struct store_cmd *c = batch; c; c = c->next)
			c->rc = SG_EIO;
	}
	return rc;
}

/*
 * Answers a batch whose fate is known (durable, or failed): waiters see
 * done, asynchronous commands get their callback and are freed. Called with
 * s->lock held; drops it around the callbacks (they may take their own).
 */
static void answer_batch(struct store *s, struct store_cmd *batch)
{
	struct store_cmd *async = NULL, **tail = &async;

	/*
	 * A waiter's command vanishes once it sees done: take the asynchronous
	 * ones out first, in their order (the first queued is answered first).
	 */
	for (struct store_cmd *c = batch, *next; c; c = next) {
		next = c->next;
		if (c->done_fn) {
			c->next = NULL;
			*tail = c;
			tail = &c->next;
		} else {
			c->done = 1;
		}
	}
	pthread_cond_broadcast(&s->answer);
	if (async) {
		pthread_mutex_unlock(&s->lock);
		for (struct store_cmd *c = async, *next; c; c = next) {
			next = c->next;
			c->done_fn(c->done_arg, c->rc);
			free(c);
		}
		pthread_mutex_lock(&s->lock);
	}
}

/*
 * Makes the WAL durable up to everything written to it so far. The file is
 * checked against the WAL's path first: SQLite only removes the WAL when
 * the last connection closes, but a different file under the name would
 * make this fsync worthless, so it is reopened then.
 */
static int wal_sync(struct store *s)
{
	char p[4096];
	struct stat a, b;

	if (s->wal_fd == WAL_FD_NONE)
		return SG_OK; /* not in WAL mode: COMMIT synced (synchronous=FULL) */
	snprintf(p, sizeof p, "%s-wal", s->path);
	if (s->wal_fd < 0 || fstat(s->wal_fd, &a) != 0 || stat(p, &b) != 0 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		if (s->wal_fd >= 0)
			close(s->wal_fd);
		s->wal_fd = open(p, O_RDONLY | O_CLOEXEC);
		if (s->wal_fd < 0) {
			SG_LOG(SG_LOG_ERROR, "msg=\"cannot open the WAL\" errno=%d", errno);
			return SG_EIO;
		}
	}
	if (fdatasync(s->wal_fd) != 0) {
		SG_LOG(SG_LOG_ERROR, "msg=\"WAL fsync failed\" errno=%d", errno);
		return SG_EIO;
	}
	return SG_OK;
}

/*
 * The syncer thread: takes every batch the core has committed, makes them
 * durable with one fdatasync of the WAL, then answers them in commit order.
 * If the fsync fails nothing it covered can be promised: those batches are
 * answered SG_EIO (their rows may survive; their writers were not told so).
 */
static void *sync_main(void *arg)
{
	struct store *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct sync_batch *list;
		int committed = 0, rc = SG_OK;
		double sync_s = 0;

		while (!s->sync_head && !s->sync_stop)
			pthread_cond_wait(&s->sync_work, &s->lock);
		if (!s->sync_head)
			break; /* stopping and drained */
		list = s->sync_head;
		s->sync_head = s->sync_tail = NULL;
		pthread_mutex_unlock(&s->lock);

		for (struct sync_batch *b = list; b; b = b->next)
			committed |= b->rc == SG_OK;
		if (committed) {
			double t0 = mono_s();
			rc = wal_sync(s);
			sync_s = mono_s() - t0;
		}
		pthread_mutex_lock(&s->metrics_lock);
		s->metrics.syncs += committed;
		for (struct sync_batch *b = list; b; b = b->next) {
			if (!b->rc && rc) {
				b->rc = rc;
				for (struct store_cmd *c = b->cmds; c; c = c->next)
					c->rc = rc;
			}
			s->metrics.commits++;
			s->metrics.commands += b->n;
			s->metrics.batch_hist[batch_bucket(b->n)]++;
			if (b->rc) {
				s->metrics.failed_commits++;
			} else {
				s->metrics.commit_hist[commit_bucket(b->write_s + sync_s)]++;
				s->metrics.commit_seconds += b->write_s + sync_s;
			}
		}
		pthread_mutex_unlock(&s->metrics_lock);

		pthread_mutex_lock(&s->lock);
		for (struct sync_batch *b = list, *next; b; b = next) {
			next = b->next;
			answer_batch(s, b->cmds);
			free(b);
			s->sync_inflight--;
		}
		pthread_cond_broadcast(&s->sync_room);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void *core_main(void *arg)
{
	struct store *s = arg;

	tl_core = &s->core_state;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct store_cmd *batch, *last;
		struct sync_batch *sb;
		double write_s;
		size_t n = 1;
		int rc;

		/* The previous batches' fsync first, if SYNC_DEPTH of them are waiting for it. */
		while (s->sync_inflight >= SYNC_DEPTH)
			pthread_cond_wait(&s->sync_room, &s->lock);
		while (!s->head && !s->closing)
			pthread_cond_wait(&s->work, &s->lock);
		if (!s->head)
			break; /* closing and drained */
		batch = last = s->head;
		while (last->next && n < CORE_BATCH_MAX) {
			last = last->next;
			n++;
		}
		s->head = last->next;
		if (!s->head)
			s->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&s->lock);

		rc = run_batch(s, batch, &write_s);
		sb = malloc(sizeof *sb);

		pthread_mutex_lock(&s->lock);
		if (!sb) {
			/*
			 * Cannot queue it: wait until everything before it is
			 * answered, then sync and answer it here, in order.
			 */
			while (s->sync_inflight > 0)
				pthread_cond_wait(&s->sync_room, &s->lock);
			pthread_mutex_unlock(&s->lock);
			if (!rc && (rc = wal_sync(s)))
				for (struct store_cmd *c = batch; c; c = c->next)
					c->rc = rc;
			pthread_mutex_lock(&s->lock);
			answer_batch(s, batch);
		} else {
			*sb = (struct sync_batch){ batch, n, rc, write_s, NULL };
			if (s->sync_tail)
				s->sync_tail->next = sb;
			else
				s->sync_head = sb;
			s->sync_tail = sb;
			s->sync_inflight++;
			pthread_cond_signal(&s->sync_work);
		}
		if (s->wal_pages >= CKPT_CORE_PAGES) {
			pthread_mutex_unlock(&s->lock);
			sqlite3_wal_checkpoint_v2(s->wdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
			s->wal_pages = 0;
			pthread_mutex_lock(&s->lock);
		}
	}
	pthread_mutex_unlock(&s->lock);
	core_local_release(&s->core_state);
	tl_core = NULL;
	return NULL;
}

/*
 * Called by SQLite after each commit on the core connection with the WAL's
 * size in pages. Installing it turns SQLite's automatic checkpoint off:
 * commits never wait for a checkpoint; past CKPT_PAGES it wakes the
 * checkpointer early, and core_main restarts the WAL past CKPT_CORE_PAGES.
 */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *s = arg;

	s->wal_pages = pages;
	if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&s->ckpt_lock);
		s->ckpt_due = 1;
		pthread_cond_signal(&s->ckpt_wake);
		pthread_mutex_unlock(&s->ckpt_lock);
	}
	return SQLITE_OK;
}

/*
 * Passive checkpoints on a connection of its own, every CKPT_TICK_MS or when
 * the WAL grew past CKPT_PAGES: they copy committed pages into the database
 * without taking the write lock, so commits (and their acknowledgements)
 * never wait for them. Durability is the WAL's (synchronous=FULL at each
 * commit); the checkpoint syncs before the WAL is reused. Once everything is
 * copied back, the next writer starts the WAL from its beginning again.
 */
static void *ckpt_main(void *arg)
{
	struct store *s = arg;

	pthread_mutex_lock(&s->ckpt_lock);
	while (!s->ckpt_stop) {
		if (!s->ckpt_due) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += (long)CKPT_TICK_MS * 1000000L;
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&s->ckpt_wake, &s->ckpt_lock, &ts);
			if (s->ckpt_stop)
				break;
		}
		s->ckpt_due = 0;
		pthread_mutex_unlock(&s->ckpt_lock);
		sqlite3_wal_checkpoint_v2(s->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&s->ckpt_lock);
	}
	pthread_mutex_unlock(&s->ckpt_lock);
	return NULL;
}

int store__submit_async(struct store *s, store_cmd_fn fn, void *ctx, store_done_fn done,
			void *arg)
{
	struct store_cmd *c = calloc(1, sizeof *c);

	if (!c)
		return SG_ENOMEM;
	c->fn = fn;
	c->ctx = ctx;
	c->done_fn = done;
	c->done_arg = arg;
	pthread_mutex_lock(&s->lock);
	if (s->closing) {
		pthread_mutex_unlock(&s->lock);
		free(c);
		return SG_ECLOSED;
	}
	if (s->tail)
		s->tail->next = c;
	else
		s->head = c;
	s->tail = c;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
	return SG_OK;
}

int store__submit(struct store *s, store_cmd_fn fn, void *ctx)
{
	struct store_cmd c = { fn, ctx, 0, 0, NULL, NULL, NULL };

	pthread_mutex_lock(&s->lock);
	if (s->closing) {
		pthread_mutex_unlock(&s->lock);
		return SG_ECLOSED;
	}
	if (s->tail)
		s->tail->next = &c;
	else
		s->head = &c;
	s->tail = &c;
	pthread_cond_signal(&s->work);
	while (!c.done)
		pthread_cond_wait(&s->answer, &s->lock);
	pthread_mutex_unlock(&s->lock);
	return c.rc;
}

sqlite3 *store__read_begin(struct store *s)
{
	sqlite3 *db;

	pthread_mutex_lock(&s->read_lock);
	while (s->nreaders_free == 0)
		pthread_cond_wait(&s->read_free, &s->read_lock);
	db = s->readers[--s->nreaders_free];
	pthread_mutex_unlock(&s->read_lock);
	return db;
}

void store__read_end(struct store *s, sqlite3 *db)
{
	pthread_mutex_lock(&s->read_lock);
	s->readers[s->nreaders_free++] = db;
	pthread_cond_signal(&s->read_free);
	pthread_mutex_unlock(&s->read_lock);
}

int store__count(struct store *s, const char *sql, size_t *out)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, sql, &st);

	if (!rc) {
		if (sqlite3_step(st) == SQLITE_ROW)
			*out = (size_t)sqlite3_column_int64(st, 0);
		else
			rc = SG_EIO;
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}

static void ckpt_stop(struct store *s)
{
	if (!s->ckpt_started)
		return;
	pthread_mutex_lock(&s->ckpt_lock);
	s->ckpt_stop = 1;
	pthread_cond_signal(&s->ckpt_wake);
	pthread_mutex_unlock(&s->ckpt_lock);
	pthread_join(s->ckpt, NULL);
	s->ckpt_started = 0;
}

/* Whether the connection's journal is the WAL. */
static bool in_wal_mode(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	bool wal = false;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		wal = sqlite3_strnicmp((const char *)sqlite3_column_text(st, 0), "wal", 4) == 0;
	sqlite3_finalize(st);
	return wal;
}

/* Lets the syncer answer what is queued, then stops it. */
static void syncer_stop(struct store *s)
{
	if (!s->syncer_started)
		return;
	pthread_mutex_lock(&s->lock);
	s->sync_stop = 1;
	pthread_cond_signal(&s->sync_work);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->syncer, NULL);
	s->syncer_started = 0;
}

/*
 * Process-wide SQLite settings, before its first use: no memory statistics
 * (they take a global mutex on every allocation, a few per cent of a
 * commit's CPU; nothing reads them).
 */
static void sqlite_setup(void)
{
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_open(const char *path, struct store **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct store *s;
	int rc = SG_ENOMEM;

	pthread_once(&once, sqlite_setup);
	if (!(s = calloc(1, sizeof *s)))
		return SG_ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->answer, NULL);
	pthread_mutex_init(&s->read_lock, NULL);
	pthread_cond_init(&s->read_free, NULL);
	pthread_mutex_init(&s->metrics_lock, NULL);
	pthread_mutex_init(&s->ckpt_lock, NULL);
	pthread_cond_init(&s->ckpt_wake, NULL);
	pthread_cond_init(&s->sync_work, NULL);
	pthread_cond_init(&s->sync_room, NULL);
	s->wal_fd = -1;
	s->path = strdup(path);
	if (!s->path)
		goto fail;
	if ((rc = open_conn(path, 0, &s->wdb)))
		goto fail;
	if ((rc = migrate(s->wdb, &s->schema_version)))
		goto fail;
	/*
	 * From here the core's COMMITs write the WAL without syncing it; the
	 * syncer's fdatasync comes before any writer is answered (sync_main).
	 * The WAL's header is still synced by SQLite whenever it starts over.
	 * A store that could not go to WAL mode keeps synchronous=FULL: its
	 * COMMIT is durable by itself and the syncer has nothing to do.
	 */
	if (!in_wal_mode(s->wdb))
		s->wal_fd = WAL_FD_NONE;
	else if ((rc = exec_sql(s->wdb, "PRAGMA synchronous=NORMAL")))
		goto fail;
	s->core_state.db = s->wdb;
	for (int i = 0; i < READ_POOL; i++) {
		if ((rc = open_conn(path, 1, &s->readers[i])))
			goto fail;
		s->nreaders_free++;
	}
	if ((rc = open_conn(path, 0, &s->cdb)))
		goto fail;
	sqlite3_wal_hook(s->wdb, wal_hook, s);
	if (pthread_create(&s->ckpt, NULL, ckpt_main, s) != 0) {
		rc = SG_EINTERNAL;
		goto fail;
	}
	s->ckpt_started = 1;
	if (pthread_create(&s->syncer, NULL, sync_main, s) != 0) {
		rc = SG_EINTERNAL;
		goto fail;
	}
	s->syncer_started = 1;
	if (pthread_create(&s->core, NULL, core_main, s) != 0) {
		rc = SG_EINTERNAL;
		goto fail;
	}
	/* Named, so that top -H and the benchmarks can tell them apart. */
	pthread_setname_np(s->ckpt, "sg-checkpoint");
	pthread_setname_np(s->syncer, "sg-sync");
	pthread_setname_np(s->core, "sg-core");
	*out = s;
	return SG_OK;
fail:
	syncer_stop(s);
	ckpt_stop(s);
	sqlite3_close(s->cdb);
	for (int i = 0; i < s->nreaders_free; i++)
		sqlite3_close(s->readers[i]);
	sqlite3_close(s->wdb);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	free(s->path);
	free(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->closing = 1;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->core, NULL);
	syncer_stop(s); /* after the core: it answers the core's last batches */
	ckpt_stop(s);
	sqlite3_close(s->cdb);
	for (int i = 0; i < READ_POOL; i++)
		sqlite3_close(s->readers[i]);
	/* A clean close checkpoints the WAL into the main file. */
	sqlite3_close(s->wdb);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->work);
	pthread_cond_destroy(&s->answer);
	pthread_mutex_destroy(&s->read_lock);
	pthread_cond_destroy(&s->read_free);
	pthread_mutex_destroy(&s->metrics_lock);
	pthread_mutex_destroy(&s->ckpt_lock);
	pthread_cond_destroy(&s->ckpt_wake);
	pthread_cond_destroy(&s->sync_work);
	pthread_cond_destroy(&s->sync_room);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	free(s->path);
	free(s);
}

int store_schema_version(struct store *s)
{
	return s->schema_version;
}

static int64_t file_size(const char *path, const char *suffix)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof p, "%s%s", path, suffix);
	return stat(p, &st) == 0 ? (int64_t)st.st_size : 0;
}

void store_metrics_read(struct store *s, struct store_metrics *out)
{
	pthread_mutex_lock(&s->metrics_lock);
	*out = s->metrics;
	pthread_mutex_unlock(&s->metrics_lock);
	out->file_bytes = file_size(s->path, "") + file_size(s->path, "-wal");
}
