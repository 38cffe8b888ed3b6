/*
 * feed.h — the live event feed, the *publish* step of the pipeline: an
 * in-memory, thread-safe log of recent events (case.created, case.updated,
 * case.escalated, unit.updated, dispatch.updated) with strictly increasing
 * ids, and subscriptions that first replay what a reconnecting client missed
 * and then follow live events.
 *
 * What it is not: HTTP (it produces the bytes of a Server-Sent Events stream;
 * src/http/sse.c puts them on a connection), nor the store (persistence is
 * the caller's, through the sink and feed_restore, see "Ids and restarts").
 *
 * Design.
 *
 * - Retention. Every event is kept at least cfg.retention_s (>= one hour)
 *   after it was published, unless the memory caps cfg.max_events or
 *   cfg.max_bytes force an earlier eviction (counted in
 *   feed_stats.evicted_early so the operator can raise them).
 *
 * - Bounded, virtual queues. A subscription is a cursor into the shared log
 *   plus a count of the bytes of accepted-but-unread events; no event is
 *   copied per subscriber. Publishing walks the subscribers once (one filter
 *   call and a few additions each: O(subscribers)) and never waits for a
 *   reader. A subscriber whose unread bytes would exceed its max_queue_bytes,
 *   or whose unread events are evicted from the log, is dropped: its reads
 *   give the rest of a partly read event, then a final
 *     id: <last id>\nevent: resync\ndata: {"reason":"overflow"}\n\n
 *   and then SG_ECLOSED. The id lets the client's automatic reconnection
 *   start from that point while it reloads its state.
 *
 * - Replay. feed_subscribe(since_id) queues every retained event with an id
 *   above since_id that the filter accepts. When the log can no longer prove
 *   that nothing after since_id is missing (since_id older than the retained
 *   window, inside the restart hole, in the future) or the replay alone
 *   exceeds the queue bound, the subscription starts with a resync event
 *   (reason "gap") carrying the current last id, then follows live events.
 *
 * - Stream bytes. Events read as "id: N\nevent: <kind>\ndata: <json>\n\n",
 *   heartbeats as ": heartbeat\n\n" when a subscription has produced nothing
 *   for cfg.heartbeat_ms (this also lets the HTTP layer notice dead clients).
 *
 * - Wake-ups. A read that finds nothing arms the subscription: its on_ready
 *   callback is then called once (from a publishing thread or the ticker)
 *   when there is something to read — an accepted event, a heartbeat falling
 *   due, a drop, the feed closing. feed_sub_wait is the blocking alternative.
 *
 * Ids and restarts. feed_publish assigns ids (cfg.first_id, then +1) under a
 * publish lock. If a sink is set it is called there, in id order, before the
 * event becomes visible; the caller persists the event (e.g. queues an insert
 * into the store's group commit) and a failing sink fails the publish without
 * using the id. At start the caller loads the retained events back with
 * feed_restore(events, next_id), where next_id must exceed every id the
 * previous process may have handed out; max(last stored id + 1, wall-clock
 * microseconds) does, as long as fewer than a million events a second were
 * published. Ids between the last restored event and next_id form a hole (a
 * crash lost them before they were stored): a client naming one gets a
 * resync; a client naming the last restored id resumes exactly. Until
 * persistence is wired, feed_restore(f, NULL, 0, wall-clock microseconds) at
 * start still keeps a restarted server from reusing an id: old clients then
 * get a resync instead of silently skipping events.
 *
 * Threads: any thread may publish, subscribe or tick. A subscription is read
 * by one thread at a time, and feed_unsubscribe must not race its reads.
 * The filter and on_ready callbacks run with the feed lock held: they must be
 * quick, must not block and must not call any feed function.
 */
#ifndef SAFEGRID_PIPELINE_FEED_H
#define SAFEGRID_PIPELINE_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most areas one event concerns (gov grid, police grid, station, district, city...). */
#define FEED_MAX_AREAS 8
/* The shortest retention accepted: a client away for an hour resumes exactly. */
#define FEED_MIN_RETENTION_S 3600
/* since_id for "live events only" (a client with no Last-Event-ID). */
#define FEED_SINCE_NOW UINT64_MAX

enum feed_kind {
	FEED_CASE_CREATED,
	FEED_CASE_UPDATED,
	FEED_CASE_ESCALATED,
	FEED_UNIT_UPDATED,     /* a unit's status changed (dispatch steps, duty) */
	FEED_DISPATCH_UPDATED, /* a dispatch was made, answered, escalated or ended */
	FEED_KIND_COUNT
};

/* The SSE event name ("case.created", ...); "unknown" out of range. Never NULL. */
const char *feed_kind_name(enum feed_kind kind);
/* The kind named s (as feed_kind_name spells it); SG_EINVAL otherwise. */
int feed_kind_parse(const char *s, enum feed_kind *out);

struct feed_config {
	uint32_t retention_s;	/* >= FEED_MIN_RETENTION_S */
	size_t max_events;	/* retained events, 16 .. 1<<24 */
	size_t max_bytes;	/* retained memory, >= 4 * (max_event_bytes + 256) */
	size_t max_event_bytes; /* largest JSON payload accepted, 64 .. 16 MiB */
	size_t max_subscribers; /* 1 .. 1<<20; more gets SG_ETOOBIG */
	uint32_t heartbeat_ms;	/* idle time before ": heartbeat", 10 .. 3600000 */
	uint32_t tick_ms;	/* > 0: a thread calls feed_tick this often; 0: the caller does */
	uint64_t first_id;	/* the first id assigned when nothing is restored, >= 1 */
	/* Wall clock in milliseconds (retention, heartbeats); NULL: CLOCK_REALTIME. */
	int64_t (*clock_ms)(void *ctx);
	void *clock_ctx;
};

/*
 * Fills cfg with the defaults: one hour, 1<<20 events, 256 MiB, 64 KiB
 * payloads, 1024 subscribers, 15 s heartbeats, a 1 s ticker, ids from 1.
 */
void feed_config_default(struct feed_config *cfg);

/* One event as the sink sees it and feed_restore takes it (all fields borrowed). */
struct feed_event {
	uint64_t id;
	int64_t time_ms; /* when it was published (feed clock) */
	enum feed_kind kind;
	const uint32_t *area_idx; /* catalog indexes */
	size_t narea;		  /* <= FEED_MAX_AREAS */
	const char *payload;	  /* one-line JSON, NUL-terminated */
	size_t payload_len;
};

/* Persists one event; 0 or a negative SG_E* code (the publish then fails with it). */
typedef int (*feed_sink_fn)(void *ctx, const struct feed_event *ev);
/*
 * Whether a subscriber sees an event concerning these areas. Must give the
 * same answer for the same areas for the whole subscription (it is asked at
 * publish time and again at read time).
 */
typedef bool (*feed_filter_fn)(void *ctx, const uint32_t *area_idx, size_t narea);
/* Called once after an empty read when something becomes readable. */
typedef void (*feed_ready_fn)(void *ctx);

struct feed;
struct feed_sub;

/*
 * Creates an empty feed (and its ticker thread when cfg->tick_ms > 0).
 * SG_EINVAL names the out-of-bounds field in the log. *out set on success;
 * caller frees with feed_free.
 */
int feed_new(const struct feed_config *cfg, struct feed **out);
/*
 * Stops the feed: publish and subscribe fail with SG_ECLOSED from now on,
 * every subscription ends (its reads finish a partly read event, then give
 * SG_ECLOSED) and armed ones are woken. Call it before stopping the HTTP
 * server so that suspended streams resume and end. Idempotent.
 */
void feed_close(struct feed *f);
/*
 * Stops the ticker and frees the feed. Every subscription must have been
 * unsubscribed (leftovers are freed and logged). NULL does nothing.
 */
void feed_free(struct feed *f);

/*
 * Sets (or with fn NULL removes) the persistence hook called by feed_publish
 * in id order, under the publish lock, before the event is visible. It may
 * block publishers (never readers): prefer queueing over waiting. It must not
 * publish. Catalog indexes are positions, not ids: persist the areas' ids and
 * map them back (catalog_find) when restoring.
 */
void feed_set_sink(struct feed *f, feed_sink_fn fn, void *ctx);

/*
 * Loads persisted events (ascending ids, each valid as for feed_publish) into
 * a feed that has published nothing and has no subscriber; events older than
 * the retention are skipped. The next id assigned is next_id, which must
 * exceed the last event's id. The sink is not called. SG_EINVAL on bad input
 * (the feed is then unchanged), SG_ENOMEM.
 */
int feed_restore(struct feed *f, const struct feed_event *evs, size_t n, uint64_t next_id);

/*
 * Publishes one event concerning narea catalog indexes (copied) with a JSON
 * payload (copied; one line: no CR or LF). *id_out, if not NULL, receives its
 * id. SG_EINVAL for bad input, SG_ETOOBIG for a payload over
 * cfg.max_event_bytes, SG_ECLOSED after feed_close, SG_ENOMEM, or the sink's
 * error. Never waits for a subscriber.
 */
int feed_publish(struct feed *f, enum feed_kind kind, const uint32_t *area_idx, size_t narea,
		 const char *json_payload, uint64_t *id_out);

/*
 * Evicts expired events and wakes armed subscriptions whose heartbeat is due.
 * The ticker thread calls it every cfg.tick_ms; with tick_ms 0 the caller
 * must (tests drive it with their own clock).
 */
void feed_tick(struct feed *f);

/*
 * Subscribes: replays the retained events after since_id that filter accepts
 * (FEED_SINCE_NOW: none), then follows live ones; see the header comment for
 * when a resync event comes first. filter NULL accepts everything; filter_ctx
 * is borrowed until feed_unsubscribe. max_queue_bytes (>= 1) bounds the
 * unread bytes. SG_ECLOSED after feed_close, SG_ETOOBIG past
 * cfg.max_subscribers, SG_EINVAL, SG_ENOMEM. *out set on success; caller
 * ends it with feed_unsubscribe.
 */
int feed_subscribe(struct feed *f, feed_filter_fn filter, void *filter_ctx, uint64_t since_id,
		   size_t max_queue_bytes, struct feed_sub **out);
/* Sets the wake-up callback (ctx borrowed until feed_unsubscribe). Set it before reading. */
void feed_sub_on_ready(struct feed_sub *s, feed_ready_fn fn, void *ctx);
/*
 * Copies up to cap bytes of the stream into buf without blocking; *len gets
 * the count. A count of 0 means "nothing now" and arms on_ready. Returns
 * SG_ECLOSED (with *len untouched) once the stream is over: after a drop's
 * resync event, or after feed_close.
 */
int feed_sub_read(struct feed_sub *s, char *buf, size_t cap, size_t *len);
/*
 * Blocks until the subscription may have something to read or timeout_ms
 * passes (it may return early: read again).
 */
void feed_sub_wait(struct feed_sub *s, unsigned timeout_ms);
/* Ends a subscription; on_ready is never called for it afterwards. NULL does nothing. */
void feed_unsubscribe(struct feed_sub *s);

struct feed_stats {
	uint64_t last_id;   /* 0 before the first event */
	uint64_t published; /* events published by this process (restored ones excluded) */
	size_t events;	    /* retained */
	size_t bytes;	    /* retained memory */
	size_t subscribers;
	uint64_t dropped;	/* subscriptions dropped for falling behind */
	uint64_t evicted_early; /* events evicted by the caps before their retention */
};

void feed_stats(struct feed *f, struct feed_stats *out);

#endif
