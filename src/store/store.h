/*
 * store.h — the durable store: the one interface to everything on disk.
 *
 * Backed by SQLite in WAL mode. Every write goes through one core thread that
 * gathers the commands waiting at that moment into one transaction (group
 * commit), commits with synchronous=FULL, and only then lets each caller
 * return: when a store_* write function returns 0, the write is durable.
 * A failing command is rolled back alone (a savepoint each); the others of
 * its batch still commit. Reads use a small pool of read-only connections
 * and see the last committed state.
 *
 * Schema migrations are numbered and applied at store_open.
 * Every function is safe to call from any thread.
 */
#ifndef SAFEGRID_STORE_STORE_H
#define SAFEGRID_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geo/fusion.h"
#include "model/area.h"
#include "model/case.h"

struct store;

/*
 * Opens (creating if needed) the store at path, applies pending migrations
 * and starts the core thread. *out set on success; caller closes.
 */
int store_open(const char *path, struct store **out);
/*
 * Commits every command already queued, stops the core thread and closes.
 * The caller must first stop every thread that may still call the store
 * (the server stops HTTP before closing the store). NULL does nothing.
 */
void store_close(struct store *s);

/* The schema version after migrations (the highest applied number). */
int store_schema_version(struct store *s);

/* Figures for /metrics. batch_hist[i] counts batches of size in (2^(i-1), 2^i]. */
#define STORE_BATCH_BUCKETS 12
/* Commit durations: bucket i counts those up to 2^i / 4 ms (0.25 ms … 1 s), the last all above. */
#define STORE_COMMIT_BUCKETS 14

struct store_metrics {
	uint64_t commits;
	uint64_t syncs; /* rounds of the syncer: one fsync made the batches before it durable */
	uint64_t commands;
	uint64_t failed_commits;
	uint64_t batch_hist[STORE_BATCH_BUCKETS];
	uint64_t commit_hist[STORE_COMMIT_BUCKETS]; /* the COMMIT itself: WAL write and fsync */
	double commit_seconds;                       /* their sum */
	int64_t file_bytes; /* main file plus WAL */
};
void store_metrics_read(struct store *s, struct store_metrics *out);

/* ---- areas -------------------------------------------------------------- */

/*
 * Inserts every area of set in order, all in one transaction, resolving
 * parent_idx to the id given to the earlier area. Sets each area's id (and
 * parent_id) on success. SG_ECONFLICT if a code is already used.
 */
int store_areas_insert(struct store *s, struct area_set *set);
/* Number of areas stored. */
int store_areas_count(struct store *s, size_t *out);
/* Appends every stored area to an initialised set, ordered by id. */
int store_areas_load(struct store *s, struct area_set *out);
/* The id and kind of the area with this code. SG_ENOTFOUND if none. */
int store_area_find_code(struct store *s, const char *code, int64_t *id, enum area_kind *kind);
/* The kind of the area with this id. SG_ENOTFOUND if none. */
int store_area_find_id(struct store *s, int64_t id, enum area_kind *kind);
/*
 * Renames an area and, when actor is not NULL, audits the change in the same
 * transaction. SG_ENOTFOUND if there is no such area.
 */
int store_area_rename(struct store *s, int64_t id, const char *name, const char *actor);
/* Reads the name of an area into a caller-freed string. */
int store_area_name(struct store *s, int64_t id, char **name);

/* Replaces the whole fusion mapping with rows (one transaction). */
int store_fusion_replace(struct store *s, const struct fusion_row *rows, size_t n);
/* Every fusion row; *rows caller-frees (free()). */
int store_fusion_load(struct store *s, struct fusion_row **rows, size_t *n);

/* ---- users, tokens -------------------------------------------------------- */

#define STORE_NAME_MAX 64
#define STORE_HASH_MAX 160

struct store_user {
	int64_t id;
	char name[STORE_NAME_MAX];
	char role[24];
	char pw_hash[STORE_HASH_MAX]; /* libsodium crypto_pwhash_str string */
	int64_t *scope;               /* area ids, owned (free()) */
	size_t nscope;
};

void store_user_release(struct store_user *u);
/* Adds a user with its scope. SG_ECONFLICT if the name is taken. */
int store_user_add(struct store *s, const struct store_user *u, int64_t *id);
/* Reads a user by name (id == 0) or by id. SG_ENOTFOUND if none. Caller releases. */
int store_user_get(struct store *s, const char *name, int64_t id, struct store_user *out);
int store_users_count(struct store *s, size_t *out);

#define STORE_TOKEN_HASH_LEN 32

/*
 * Records a login: stores the token's hash with its expiry and appends the
 * audit entry, in one transaction.
 */
int store_login_record(struct store *s, const unsigned char hash[STORE_TOKEN_HASH_LEN],
		       int64_t user_id, int64_t created_at, int64_t expires_at, const char *actor,
		       const char *detail);
/* Looks a token hash up. SG_ENOTFOUND if unknown. */
int store_token_get(struct store *s, const unsigned char hash[STORE_TOKEN_HASH_LEN],
		    int64_t *user_id, int64_t *expires_at);
/* Deletes a token (logout). */
int store_token_delete(struct store *s, const unsigned char hash[STORE_TOKEN_HASH_LEN]);

/* ---- cases and reports ---------------------------------------------------- */

/* Whether a case of this type in this state may take more reports. */
typedef bool (*store_joinable_fn)(const char *type, const char *status, void *ctx);

struct store_case_open {
	struct case_row *c;      /* in: the new case's fields; out: the case opened or joined */
	struct report_row *r;    /* in: the report; out: its id and case_id */
	double join_distance_m;  /* > 0: join an open case of the same category this close */
	int64_t join_window_s;   /* ... opened at most this long before the report arrived */
	store_joinable_fn joinable;
	void *joinable_ctx;
	const char *actor;       /* for the history */
	bool joined;             /* out: the report joined an existing case */
};

/*
 * Stores a report with the case it opens, or joins it to the nearest open
 * case of the same category within the distance and window; one
 * transaction, with its history line.
 */
int store_case_open(struct store *s, struct store_case_open *op);

/*
 * Called on the store's syncer thread once an asynchronous command's batch is
 * durable (rc 0) or failed (rc < 0, nothing of it stored), in the order the
 * commands ran. Keep it short: the next batches' answers wait for it.
 */
typedef void (*store_done_fn)(void *arg, int rc);
/*
 * store_case_open without waiting: queues the report and returns 0, then
 * calls done(arg, rc) when its batch is durable; op (and what it points to)
 * must stay valid until then. A non-zero return (SG_ECLOSED, SG_ENOMEM)
 * means nothing was queued and done will not be called.
 */
int store_case_open_async(struct store *s, struct store_case_open *op, store_done_fn done,
			  void *arg);
/* The same for n reports in one transaction, in order: all stored, or none. */
int store_case_open_many(struct store *s, struct store_case_open **ops, size_t n);
/*
 * store_case_open_many without waiting, as store_case_open_async: ops (and
 * what they point to) must stay valid until done runs.
 */
int store_case_open_many_async(struct store *s, struct store_case_open **ops, size_t n,
			       store_done_fn done, void *arg);
/* Reads a case. SG_ENOTFOUND if none. */
int store_case_get(struct store *s, int64_t id, struct case_row *out);

struct store_case_change {
	int64_t id;
	int64_t expected_version; /* the version the caller read */
	const char *to_status;    /* NULL: keep */
	const char *set_type;     /* NULL: keep */
	const char *set_department; /* NULL: keep */
	int set_police;           /* -1: keep */
	int64_t set_deadline;     /* 0: keep */
	int set_escalation_level; /* -1: keep */
	const struct case_row *set_location; /* NULL: keep; else its lon, lat and area_ids */
	int64_t at;
	const char *actor, *note; /* for the history; note may be NULL */
	struct case_row *out;     /* the case after the change, or as it is on conflict */
};

/*
 * Changes a case if it still has expected_version; SG_ECONFLICT otherwise
 * (out then holds the case as stored, with its current version).
 */
int store_case_change(struct store *s, struct store_case_change *ch);
/*
 * store_case_change without waiting, as store_case_open_async: done(arg, rc)
 * runs once the batch is durable, rc being the change's (SG_ECONFLICT with
 * ch->out as stored); ch (and what it points to) must stay valid until then.
 */
int store_case_change_async(struct store *s, struct store_case_change *ch, store_done_fn done,
			    void *arg);

struct store_case_split {
	int64_t case_id;
	int64_t expected_version;
	int64_t report_id;          /* one of the case's reports, not its only one */
	struct case_row *new_case;  /* in: the case the report opens; out: with its id */
	int64_t at;
	const char *actor;
	struct case_row *out_old;   /* the old case after the split, or as stored on conflict */
};

/*
 * Splits a wrongly joined report out of its case into a new case of its
 * own, in one transaction with both history lines. SG_ECONFLICT on a stale
 * version, SG_ENOTFOUND if the report is not the case's, SG_EINVAL if it is
 * the case's only report.
 */
int store_case_split(struct store *s, struct store_case_split *sp);
/* store_case_split without waiting, as store_case_change_async. */
int store_case_split_async(struct store *s, struct store_case_split *sp, store_done_fn done,
			   void *arg);

/* A case whose area of this kind is this area. */
struct store_case_area {
	enum area_kind kind;
	int64_t id;
};

struct store_case_filter {
	const char *status, *type, *category; /* NULL: any */
	int64_t since;                        /* created_at >= since; 0: any */
	/*
	 * 1: open cases only (not resolved, closed or cancelled), read through
	 * their own index, as cheap however long the history; -1: only those
	 * that are not open; 0: any.
	 */
	int open;
	int64_t before_id;                    /* id < before_id (the cursor); 0: from the newest */
	/*
	 * Where (borrowed): with nareas > 0, only cases in one of the areas (the
	 * case's area of that kind is it), each read as one index range, newest
	 * first; nareas == 0: anywhere. strays adds the cases whose stored areas
	 * do not nest as the area tree does (a case with a grid in a station but
	 * another station), so that a caller listing a scope by its top areas
	 * misses none; those may lie outside every area given, and the caller
	 * checks them.
	 */
	const struct store_case_area *areas;
	size_t nareas;
	bool strays;
};

/*
 * Calls fn for each case that passes f, newest first, each once; fn returns
 * non-zero to stop. c is borrowed for the call. A scoped list (f->areas)
 * costs an index seek per area and then about the cases it hands out, not
 * the cases it skips; SG_EINVAL for more than STORE_CASE_AREAS_MAX areas.
 */
#define STORE_CASE_AREAS_MAX 4096
typedef int (*store_case_fn)(void *ctx, const struct case_row *c);
int store_case_list(struct store *s, const struct store_case_filter *f, store_case_fn fn,
		    void *ctx);

/*
 * Up to cap ids of cases whose deadline passed before now, whose status is
 * one of statuses (the states that still await action) and whose escalation
 * level is below max_level, most overdue first.
 */
int store_cases_overdue(struct store *s, int64_t now, const char *const *statuses, size_t nstatuses,
			int max_level, int64_t *ids, size_t cap, size_t *n);

/* A case's reports in order; caller frees with store_reports_free. */
int store_case_reports(struct store *s, int64_t case_id, struct report_row **out, size_t *n);
void store_reports_free(struct report_row *v, size_t n);
/*
 * A repeat caller's reports: those whose number has the key (case_phone_key
 * in model/case.h) received at or after since, newest first, each with its
 * case as it is now. Calls fn(ctx, report, case) for each (both borrowed for
 * the call; fn must not call the store) until fn returns non-zero, which is
 * returned, or max reports were read.
 */
typedef int (*store_caller_fn)(void *ctx, const struct report_row *r, const struct case_row *c);
int store_caller_reports(struct store *s, const char *key, int64_t since, size_t max,
			 store_caller_fn fn, void *ctx);
/* A case's history in order; caller frees with store_case_history_free. */
int store_case_history(struct store *s, int64_t case_id, struct case_event **out, size_t *n);
void store_case_history_free(struct case_event *v, size_t n);

/* ---- settings ------------------------------------------------------------- */

/*
 * A stored setting (e.g. "classify.json", an operator's replacement of the
 * shipped rules). *value is caller-freed; SG_ENOTFOUND if never set.
 */
int store_setting_get(struct store *s, const char *key, char **value);
/* Stores a setting and audits the change (actor, action), in one transaction. */
int store_setting_put(struct store *s, const char *key, const char *value, const char *actor,
		      const char *action);

/* ---- statistics ------------------------------------------------------------ */

/* The local day (UTC+8) of a Unix time, as days since 1970-01-01. */
int64_t store_stats_day(int64_t unix_s);

enum store_stats_group { STORE_STATS_CATEGORY, STORE_STATS_SOURCE, STORE_STATS_POLICE,
			 STORE_STATS_TOTAL };

/* Called per group with its key ("" for the total; "0"/"1" for police) and count. */
typedef void (*store_stats_fn)(void *ctx, const char *key, int64_t n);

/*
 * Cases opened in an area (a grid, station, district or the city) over local
 * days [from_day, to_day], grouped. Counters are kept in the same transaction
 * as the case changes, so they always agree with the cases. A group whose
 * count is zero is not reported.
 */
int store_stats_cases(struct store *s, int64_t area_id, int64_t from_day, int64_t to_day,
		      enum store_stats_group group, store_stats_fn fn, void *ctx);
/* Cases resolved in the range and the sum of their times to resolve, seconds. */
int store_stats_resolution(struct store *s, int64_t area_id, int64_t from_day, int64_t to_day,
			   int64_t *n, int64_t *seconds);

/* ---- bulk history (demo) ---------------------------------------------------- */

/*
 * A closed historical case for store_history_load, compact so that millions
 * can stream through: its strings are indexes into the load's tables. Such a
 * case has no report and no history line; its source says where it came
 * from.
 */
struct store_history_case {
	int64_t area_ids[AREA_KIND_COUNT]; /* 0 where none */
	double lon, lat;
	int64_t created_at;
	int64_t resolved_at;  /* 0: never resolved; else counted in stats_resolved */
	int64_t updated_at;   /* the last change (closing) */
	int64_t deadline_at;
	int64_t version;
	uint8_t category, type, department, status, source; /* indexes into the tables */
	uint8_t police;       /* 0 or 1 */
	uint8_t priority;     /* 1..4 */
};

/* The strings the cases' indexes refer to; each table holds at most 256. Borrowed. */
struct store_history_tables {
	const char *const *categories;
	size_t ncategories;
	const char *const *types;
	size_t ntypes;
	const char *const *departments;
	size_t ndepartments;
	const char *const *statuses;
	size_t nstatuses;
	const char *const *sources;
	size_t nsources;
};

/*
 * Fills out with up to cap cases and sets *n; *n == 0 ends the load. Returns
 * 0 or an SG_E* code, which aborts the load. Called on a thread of the
 * load's own, one call at a time.
 */
typedef int (*store_history_fn)(void *ctx, struct store_history_case *out, size_t cap,
				size_t *n);

struct store_history_load {
	const struct store_history_tables *tables;
	store_history_fn next;
	void *ctx;
	bool rebuild_indexes; /* drop the cases' secondary indexes and build them after */
	size_t agg_entries;   /* distinct counter keys held per table before a sorted spill;
				 0: the default (about two million) */
	size_t cases;         /* out: cases inserted */
	size_t stats_rows;    /* out: stats_cases and stats_resolved rows written */
};

/*
 * Inserts every case next produces, in one transaction on the core thread
 * (all or nothing; other writers wait meanwhile), and adds them to
 * stats_cases and stats_resolved exactly as if each had been opened and
 * resolved live (aggregated in memory, then merged into the counters). A case
 * index outside its table is SG_EINVAL.
 */
int store_history_load(struct store *s, struct store_history_load *load);

/* ---- audit ---------------------------------------------------------------- */

/*
 * Appends an entry to the hash-chained audit log. Each entry's hash is
 * BLAKE2b-256 over the previous entry's hash and this entry's fields, each
 * length-prefixed, so editing, inserting or deleting any entry breaks the
 * chain. actor, subject and detail may be NULL.
 */
int store_audit_append(struct store *s, const char *actor, const char *action,
		       const char *subject, const char *detail);

struct store_audit_report {
	uint64_t entries;
	int64_t first_bad_seq; /* 0 when the chain is intact */
	char reason[128];
};
/* Recomputes the chain. Returns 0 with first_bad_seq == 0 when intact. */
int store_audit_verify(struct store *s, struct store_audit_report *out);

#endif
