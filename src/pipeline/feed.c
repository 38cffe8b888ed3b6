/*
 * feed.c — the live event feed: a ring of reference-counted events, the
 * subscriptions' cursors into it, and the SSE bytes they read.
 *
 * Two locks. pub_lock serialises publishers (id assignment, the sink) so that
 * ids become visible in order; lock guards the ring, the subscriptions and
 * the counters, and is the only lock a reader takes. Lock order: pub_lock,
 * then lock, then whatever on_ready takes.
 *
 * Internally events are addressed by seq, their position in the stream of
 * appended events (0, 1, 2, ...), so ring[seq % cap] finds one in O(1) even
 * though ids may jump (the restart hole). A subscription's next_seq is the
 * first event it has not examined; pending is the SSE bytes of the accepted
 * events from next_seq on. Invariant: pending == 0 implies next_seq ==
 * head_seq, which lets publish skip the filter walk for caught-up readers
 * and lets eviction look only at subscriptions that still lag.
 */
#include "pipeline/feed.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"

/* Room reserved in front of an event's text for "id: <20 digits>\n". */
#define ID_ROOM 32
/* "event: " + kind + "\ndata: " + payload + "\n\n": the fixed part. */
#define EVENT_FIXED (sizeof "event: " - 1 + sizeof "\ndata: " - 1 + 2)
#define CTL_MAX	    128

static const char *const kind_names[FEED_KIND_COUNT] = {
    [FEED_CASE_CREATED] = "case.created",
    [FEED_CASE_UPDATED] = "case.updated",
    [FEED_CASE_ESCALATED] = "case.escalated",
    [FEED_UNIT_UPDATED] = "unit.updated",
    [FEED_DISPATCH_UPDATED] = "dispatch.updated",
};

struct feed_ev {
	uint64_t id;
	uint64_t seq;
	int64_t time_ms;
	enum feed_kind kind;
	unsigned refs; /* the ring's and readers' in the middle of it; under feed.lock */
	unsigned narea;
	uint32_t area[FEED_MAX_AREAS];
	size_t size;	    /* the allocation, counted against max_bytes */
	const char *text;   /* "id: N\nevent: K\ndata: P\n\n", inside mem */
	size_t len;	    /* of text */
	size_t payload_off; /* payload = mem + payload_off */
	size_t payload_len;
	char mem[];
};

enum sub_state {
	SUB_LIVE,
	SUB_DROPPED, /* fell behind: owes a resync event, then ends */
	SUB_ENDED    /* resync sent: nothing more */
};

struct feed_sub {
	struct feed *feed;
	struct feed_sub *prev, *next;
	feed_filter_fn filter;
	void *filter_ctx;
	feed_ready_fn on_ready;
	void *ready_ctx;
	size_t max_queue;
	enum sub_state state;
	uint64_t next_seq;
	size_t pending;
	bool resync_first; /* subscribed with an id the log cannot vouch for */
	uint64_t resync_id;
	bool armed;	  /* an empty read happened: call on_ready once */
	unsigned waiters; /* threads in feed_sub_wait */
	pthread_cond_t cond;
	int64_t last_out_ms; /* when a read last gave bytes (heartbeats) */
	/* The item being copied out: an event (cur_ev holds a reference) or ctl. */
	const char *cur;
	size_t cur_len, cur_off;
	struct feed_ev *cur_ev;
	char ctl[CTL_MAX];
};

struct feed {
	struct feed_config cfg;
	pthread_mutex_t pub_lock;
	uint64_t next_id;  /* under pub_lock */
	feed_sink_fn sink; /* under pub_lock */
	void *sink_ctx;

	pthread_mutex_t lock;
	struct feed_ev **ring; /* cfg.max_events slots */
	uint64_t first_seq, head_seq;
	size_t bytes;
	uint64_t last_id;
	uint64_t floor_id;	   /* every event with a larger id is retained (or to come) */
	uint64_t hole_lo, hole_hi; /* ids strictly between were possibly lost in a restart */
	struct feed_sub *subs;
	size_t nsubs;
	bool closed;
	uint64_t published, dropped, evicted_early;

	pthread_t ticker;
	bool ticker_running, stopping;
	pthread_cond_t tick_cond;
};

const char *feed_kind_name(enum feed_kind kind)
{
	if ((unsigned)kind >= FEED_KIND_COUNT)
		return "unknown";
	return kind_names[kind];
}

int feed_kind_parse(const char *s, enum feed_kind *out)
{
	for (unsigned k = 0; s && k < FEED_KIND_COUNT; k++) {
		if (strcmp(s, kind_names[k]) == 0) {
			*out = (enum feed_kind)k;
			return SG_OK;
		}
	}
	return SG_EINVAL;
}

void feed_config_default(struct feed_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->retention_s = FEED_MIN_RETENTION_S;
	cfg->max_events = (size_t)1 << 20;
	cfg->max_bytes = (size_t)256 << 20;
	cfg->max_event_bytes = (size_t)64 << 10;
	cfg->max_subscribers = 1024;
	cfg->heartbeat_ms = 15000;
	cfg->tick_ms = 1000;
	cfg->first_id = 1;
}

static int64_t realtime_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(const struct feed *f)
{
	return f->cfg.clock_ms(f->cfg.clock_ctx);
}

/* A deadline timeout_ms from now on CLOCK_MONOTONIC (the clock of our condvars). */
static struct timespec deadline_after(unsigned timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static int cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t a;
	int rc;

	if (pthread_condattr_init(&a) != 0)
		return SG_ENOMEM;
	rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC) == 0 && pthread_cond_init(c, &a) == 0
		 ? SG_OK
		 : SG_ENOMEM;
	pthread_condattr_destroy(&a);
	return rc;
}

/* ---- events ---- */

/*
 * Validates an event's content and builds it, id not yet written (see
 * ev_set_id). SG_EINVAL, SG_ETOOBIG or SG_ENOMEM.
 */
static int ev_build(const struct feed *f, enum feed_kind kind, const uint32_t *area_idx,
		    size_t narea, const char *payload, size_t plen, struct feed_ev **out)
{
	const char *name;
	size_t nlen, size;
	struct feed_ev *ev;
	char *p;

	if ((unsigned)kind >= FEED_KIND_COUNT || narea > FEED_MAX_AREAS || (narea && !area_idx) ||
	    !payload || plen == 0)
		return SG_EINVAL;
	if (plen > f->cfg.max_event_bytes)
		return SG_ETOOBIG;
	/* An SSE data line ends at CR or LF, and a NUL would cut the text short. */
	if (memchr(payload, '\n', plen) || memchr(payload, '\r', plen) ||
	    memchr(payload, '\0', plen))
		return SG_EINVAL;
	name = kind_names[kind];
	nlen = strlen(name);
	size = sizeof *ev + ID_ROOM + EVENT_FIXED + nlen + plen + 1;
	if (!(ev = malloc(size)))
		return SG_ENOMEM;
	memset(ev, 0, sizeof *ev);
	ev->kind = kind;
	ev->narea = (unsigned)narea;
	if (narea)
		memcpy(ev->area, area_idx, narea * sizeof *area_idx);
	ev->size = size;
	ev->refs = 1;
	p = ev->mem + ID_ROOM;
	memcpy(p, "event: ", 7);
	memcpy(p + 7, name, nlen);
	memcpy(p + 7 + nlen, "\ndata: ", 7);
	ev->payload_off = ID_ROOM + 14 + nlen;
	ev->payload_len = plen;
	memcpy(ev->mem + ev->payload_off, payload, plen);
	memcpy(ev->mem + ev->payload_off + plen, "\n\n", 3);
	ev->len = EVENT_FIXED + nlen + plen; /* without the id line yet */
	*out = ev;
	return SG_OK;
}

/* Writes the "id: N\n" line just in front of the text; ID_ROOM always fits it. */
static void ev_set_id(struct feed_ev *ev, uint64_t id)
{
	char line[ID_ROOM];
	int n = snprintf(line, sizeof line, "id: %" PRIu64 "\n", id);

	ev->id = id;
	memcpy(ev->mem + ID_ROOM - n, line, (size_t)n);
	ev->text = ev->mem + ID_ROOM - n;
	ev->len += (size_t)n;
}

static void ev_unref(struct feed_ev *ev)
{
	if (ev && --ev->refs == 0)
		free(ev);
}

static void ev_view(const struct feed_ev *ev, struct feed_event *out)
{
	out->id = ev->id;
	out->time_ms = ev->time_ms;
	out->kind = ev->kind;
	out->area_idx = ev->area;
	out->narea = ev->narea;
	out->payload = ev->mem + ev->payload_off;
	out->payload_len = ev->payload_len;
}

static struct feed_ev *ring_at(const struct feed *f, uint64_t seq)
{
	return f->ring[seq % f->cfg.max_events];
}

/* ---- subscriptions, under f->lock ---- */

static bool sub_accepts(const struct feed_sub *s, const struct feed_ev *ev)
{
	return !s->filter || s->filter(s->filter_ctx, ev->area, ev->narea);
}

static bool heartbeat_due(const struct feed *f, const struct feed_sub *s, int64_t now)
{
	return now - s->last_out_ms >= (int64_t)f->cfg.heartbeat_ms;
}

static bool sub_ready(const struct feed *f, const struct feed_sub *s, int64_t now)
{
	return s->cur || f->closed || s->state != SUB_LIVE || s->resync_first || s->pending > 0 ||
	       heartbeat_due(f, s, now);
}

/* Something became readable: the one on_ready an empty read armed, and waiters. */
static void sub_wake(struct feed_sub *s)
{
	if (s->armed) {
		s->armed = false;
		if (s->on_ready)
			s->on_ready(s->ready_ctx);
	}
	if (s->waiters)
		pthread_cond_broadcast(&s->cond);
}

static void sub_drop(struct feed *f, struct feed_sub *s)
{
	s->state = SUB_DROPPED;
	s->pending = 0;
	s->next_seq = f->head_seq;
	f->dropped++;
	sub_wake(s);
}

/*
 * Evicts the oldest events while they are past the retention or while the
 * caps leave no room for extra_events more events of extra_bytes. A lagging
 * subscription that still needed an evicted event is dropped: it can no
 * longer be given everything it accepts.
 */
static void evict(struct feed *f, int64_t now, size_t extra_events, size_t extra_bytes)
{
	int64_t keep_ms = (int64_t)f->cfg.retention_s * 1000;

	while (f->head_seq > f->first_seq) {
		struct feed_ev *ev = ring_at(f, f->first_seq);
		size_t count = (size_t)(f->head_seq - f->first_seq);
		bool expired = now - ev->time_ms > keep_ms;
		bool full = count + extra_events > f->cfg.max_events ||
			    f->bytes + extra_bytes > f->cfg.max_bytes;

		if (!expired && !full)
			break;
		if (!expired)
			f->evicted_early++;
		for (struct feed_sub *s = f->subs; s; s = s->next) {
			if (s->state != SUB_LIVE || s->next_seq > ev->seq)
				continue;
			if (s->pending > 0 && sub_accepts(s, ev))
				sub_drop(f, s);
			else
				s->next_seq = ev->seq + 1;
		}
		f->floor_id = ev->id;
		f->bytes -= ev->size;
		f->ring[f->first_seq % f->cfg.max_events] = NULL;
		f->first_seq++;
		ev_unref(ev);
	}
}

/* Appends a built event (id set) and hands it to the live subscriptions. */
static void append(struct feed *f, struct feed_ev *ev, int64_t now)
{
	evict(f, now, 1, ev->size);
	ev->seq = f->head_seq;
	f->ring[ev->seq % f->cfg.max_events] = ev;
	f->head_seq++;
	f->bytes += ev->size;
	f->last_id = ev->id;
	for (struct feed_sub *s = f->subs; s; s = s->next) {
		if (s->state != SUB_LIVE)
			continue;
		if (!sub_accepts(s, ev)) {
			if (s->pending == 0)
				s->next_seq = f->head_seq;
			continue;
		}
		if (ev->len > s->max_queue || s->pending > s->max_queue - ev->len) {
			sub_drop(f, s);
			continue;
		}
		s->pending += ev->len;
		sub_wake(s);
	}
}

static void tick_locked(struct feed *f)
{
	int64_t now = now_ms(f);

	evict(f, now, 0, 0);
	for (struct feed_sub *s = f->subs; s; s = s->next)
		if ((s->armed || s->waiters) && heartbeat_due(f, s, now))
			sub_wake(s);
}

static void *ticker_main(void *arg)
{
	struct feed *f = arg;

	pthread_mutex_lock(&f->lock);
	while (!f->stopping) {
		struct timespec until = deadline_after(f->cfg.tick_ms);
		int rc = 0;

		while (!f->stopping && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&f->tick_cond, &f->lock, &until);
		if (!f->stopping)
			tick_locked(f);
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

/* ---- life cycle ---- */

static int check_range(const char *name, uint64_t v, uint64_t lo, uint64_t hi)
{
	if (v >= lo && v <= hi)
		return SG_OK;
	SG_LOG(SG_LOG_ERROR,
	       "msg=\"feed: value out of bounds\" field=%s value=%" PRIu64 " min=%" PRIu64
	       " max=%" PRIu64,
	       name, v, lo, hi);
	return SG_EINVAL;
}

static int check_config(const struct feed_config *c)
{
	int rc = 0;

	rc |= check_range("retention_s", c->retention_s, FEED_MIN_RETENTION_S, UINT32_MAX);
	rc |= check_range("max_events", c->max_events, 16, (uint64_t)1 << 24);
	rc |= check_range("max_event_bytes", c->max_event_bytes, 64, (uint64_t)16 << 20);
	rc |= check_range("max_bytes", c->max_bytes, 4 * ((uint64_t)c->max_event_bytes + 256),
			  UINT64_MAX);
	rc |= check_range("max_subscribers", c->max_subscribers, 1, (uint64_t)1 << 20);
	rc |= check_range("heartbeat_ms", c->heartbeat_ms, 10, 3600000);
	rc |= check_range("tick_ms", c->tick_ms, 0, 3600000);
	rc |= check_range("first_id", c->first_id, 1, FEED_SINCE_NOW - 1);
	return rc ? SG_EINVAL : SG_OK;
}

int feed_new(const struct feed_config *cfg, struct feed **out)
{
	struct feed *f;
	int rc;

	if ((rc = check_config(cfg)) != 0)
		return rc;
	if (!(f = calloc(1, sizeof *f)))
		return SG_ENOMEM;
	f->cfg = *cfg;
	if (!f->cfg.clock_ms)
		f->cfg.clock_ms = realtime_ms;
	f->next_id = cfg->first_id;
	f->floor_id = cfg->first_id - 1;
	/* calloc'd pages are mapped lazily: an idle feed costs little of this. */
	f->ring = calloc(cfg->max_events, sizeof *f->ring);
	if (!f->ring) {
		free(f);
		return SG_ENOMEM;
	}
	pthread_mutex_init(&f->pub_lock, NULL);
	pthread_mutex_init(&f->lock, NULL);
	if (cond_init_monotonic(&f->tick_cond) != 0) {
		rc = SG_ENOMEM;
		goto fail;
	}
	if (cfg->tick_ms > 0) {
		if (pthread_create(&f->ticker, NULL, ticker_main, f) != 0) {
			pthread_cond_destroy(&f->tick_cond);
			rc = SG_ENOMEM;
			goto fail;
		}
		f->ticker_running = true;
	}
	*out = f;
	return SG_OK;
fail:
	pthread_mutex_destroy(&f->lock);
	pthread_mutex_destroy(&f->pub_lock);
	free(f->ring);
	free(f);
	return rc;
}

void feed_close(struct feed *f)
{
	pthread_mutex_lock(&f->pub_lock);
	pthread_mutex_lock(&f->lock);
	if (!f->closed) {
		f->closed = true;
		for (struct feed_sub *s = f->subs; s; s = s->next)
			sub_wake(s);
	}
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_unlock(&f->pub_lock);
}

static void sub_destroy(struct feed_sub *s)
{
	ev_unref(s->cur_ev);
	pthread_cond_destroy(&s->cond);
	free(s);
}

void feed_free(struct feed *f)
{
	if (!f)
		return;
	if (f->ticker_running) {
		pthread_mutex_lock(&f->lock);
		f->stopping = true;
		pthread_cond_signal(&f->tick_cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->ticker, NULL);
	}
	if (f->nsubs)
		SG_LOG(SG_LOG_WARN, "msg=\"feed: freed with live subscriptions\" count=%zu",
		       f->nsubs);
	while (f->subs) {
		struct feed_sub *s = f->subs;
		f->subs = s->next;
		sub_destroy(s);
	}
	for (uint64_t q = f->first_seq; q < f->head_seq; q++)
		ev_unref(ring_at(f, q));
	free(f->ring);
	pthread_cond_destroy(&f->tick_cond);
	pthread_mutex_destroy(&f->lock);
	pthread_mutex_destroy(&f->pub_lock);
	free(f);
}

void feed_set_sink(struct feed *f, feed_sink_fn fn, void *ctx)
{
	pthread_mutex_lock(&f->pub_lock);
	f->sink = fn;
	f->sink_ctx = fn ? ctx : NULL;
	pthread_mutex_unlock(&f->pub_lock);
}

int feed_restore(struct feed *f, const struct feed_event *evs, size_t n, uint64_t next_id)
{
	struct feed_ev **built = NULL;
	int64_t now = now_ms(f);
	int rc = SG_OK;
	size_t i;

	if (next_id == 0 || next_id >= FEED_SINCE_NOW || (n && !evs))
		return SG_EINVAL;
	for (i = 0; i < n; i++) {
		if (evs[i].id == 0 || (i && evs[i].id <= evs[i - 1].id))
			return SG_EINVAL;
	}
	if (n && evs[n - 1].id >= next_id)
		return SG_EINVAL;
	if (n && !(built = calloc(n, sizeof *built)))
		return SG_ENOMEM;
	for (i = 0; i < n; i++) {
		const struct feed_event *e = &evs[i];
		rc = ev_build(f, e->kind, e->area_idx, e->narea, e->payload, e->payload_len,
			      &built[i]);
		if (rc)
			goto out;
		ev_set_id(built[i], e->id);
		built[i]->time_ms = e->time_ms;
	}

	pthread_mutex_lock(&f->pub_lock);
	pthread_mutex_lock(&f->lock);
	if (f->head_seq != 0 || f->nsubs != 0 || f->closed) {
		rc = SG_EINVAL;
	} else {
		f->floor_id = n ? evs[0].id - 1 : next_id - 1;
		f->hole_lo = n ? evs[n - 1].id : 0;
		f->hole_hi = n ? next_id : 0;
		for (i = 0; i < n; i++) {
			append(f, built[i], now);
			built[i] = NULL;
		}
		/* Whatever was too old to keep is gone: the floor rises past it. */
		evict(f, now, 0, 0);
		f->next_id = next_id;
	}
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_unlock(&f->pub_lock);
out:
	for (i = 0; i < n && built; i++)
		ev_unref(built[i]);
	free(built);
	return rc;
}

int feed_publish(struct feed *f, enum feed_kind kind, const uint32_t *area_idx, size_t narea,
		 const char *json_payload, uint64_t *id_out)
{
	struct feed_ev *ev = NULL;
	uint64_t id;
	int64_t now;
	int rc;

	if (!json_payload)
		return SG_EINVAL;
	/* Everything that may fail or take time happens before the locks. */
	rc = ev_build(f, kind, area_idx, narea, json_payload,
		      strnlen(json_payload, f->cfg.max_event_bytes + 1), &ev);
	if (rc)
		return rc;

	pthread_mutex_lock(&f->pub_lock);
	if (f->closed) {
		rc = SG_ECLOSED;
		goto unlock;
	}
	id = f->next_id;
	if (id >= FEED_SINCE_NOW) {
		rc = SG_EINTERNAL;
		goto unlock;
	}
	now = now_ms(f);
	ev_set_id(ev, id);
	ev->time_ms = now;
	if (f->sink) {
		struct feed_event view;
		ev_view(ev, &view);
		if ((rc = f->sink(f->sink_ctx, &view)) != 0)
			goto unlock;
	}
	pthread_mutex_lock(&f->lock);
	append(f, ev, now);
	f->published++;
	pthread_mutex_unlock(&f->lock);
	ev = NULL;
	f->next_id = id + 1;
	if (id_out)
		*id_out = id;
unlock:
	pthread_mutex_unlock(&f->pub_lock);
	if (ev)
		free(ev);
	return rc;
}

void feed_tick(struct feed *f)
{
	pthread_mutex_lock(&f->lock);
	tick_locked(f);
	pthread_mutex_unlock(&f->lock);
}

/* The first retained seq whose id exceeds id (head_seq if none). */
static uint64_t seq_after(const struct feed *f, uint64_t id)
{
	uint64_t lo = f->first_seq, hi = f->head_seq;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (ring_at(f, mid)->id <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Positions a new subscription after since_id. The log vouches for since_id
 * when nothing after it was evicted (>= floor_id), it is not an id a restart
 * may have lost, and it is not in the future; otherwise, or when the replay
 * alone exceeds the queue bound, the subscription starts with a resync and
 * follows live events.
 */
static void sub_position(struct feed *f, struct feed_sub *s, uint64_t since)
{
	uint64_t start;
	size_t bytes = 0;

	s->next_seq = f->head_seq;
	if (since == FEED_SINCE_NOW)
		return;
	if (since > f->last_id || since < f->floor_id || (since > f->hole_lo && since < f->hole_hi))
		goto resync;
	start = seq_after(f, since);
	for (uint64_t q = start; q < f->head_seq; q++) {
		const struct feed_ev *ev = ring_at(f, q);
		if (!sub_accepts(s, ev))
			continue;
		if (ev->len > s->max_queue - bytes)
			goto resync;
		bytes += ev->len;
	}
	if (bytes) {
		s->next_seq = start;
		s->pending = bytes;
	}
	return;
resync:
	s->resync_first = true;
	s->resync_id = f->last_id;
}

int feed_subscribe(struct feed *f, feed_filter_fn filter, void *filter_ctx, uint64_t since_id,
		   size_t max_queue_bytes, struct feed_sub **out)
{
	struct feed_sub *s;
	int rc = SG_OK;

	if (max_queue_bytes == 0)
		return SG_EINVAL;
	if (!(s = calloc(1, sizeof *s)))
		return SG_ENOMEM;
	if (cond_init_monotonic(&s->cond) != 0) {
		free(s);
		return SG_ENOMEM;
	}
	s->feed = f;
	s->filter = filter;
	s->filter_ctx = filter_ctx;
	s->max_queue = max_queue_bytes;

	pthread_mutex_lock(&f->lock);
	if (f->closed) {
		rc = SG_ECLOSED;
	} else if (f->nsubs >= f->cfg.max_subscribers) {
		rc = SG_ETOOBIG;
	} else {
		s->last_out_ms = now_ms(f);
		sub_position(f, s, since_id);
		s->next = f->subs;
		if (f->subs)
			f->subs->prev = s;
		f->subs = s;
		f->nsubs++;
	}
	pthread_mutex_unlock(&f->lock);
	if (rc) {
		sub_destroy(s);
		return rc;
	}
	*out = s;
	return SG_OK;
}

void feed_sub_on_ready(struct feed_sub *s, feed_ready_fn fn, void *ctx)
{
	pthread_mutex_lock(&s->feed->lock);
	s->on_ready = fn;
	s->ready_ctx = ctx;
	pthread_mutex_unlock(&s->feed->lock);
}

static void set_ctl(struct feed_sub *s, const char *text, size_t len)
{
	s->cur = text;
	s->cur_len = len;
	s->cur_off = 0;
	s->cur_ev = NULL;
}

static void set_resync(struct feed_sub *s, uint64_t id, const char *reason)
{
	int n =
	    snprintf(s->ctl, sizeof s->ctl,
		     "id: %" PRIu64 "\nevent: resync\ndata: {\"reason\":\"%s\"}\n\n", id, reason);
	set_ctl(s, s->ctl, (size_t)n);
}

/*
 * Chooses what the subscription reads next and makes it the current item.
 * Returns false when there is nothing (more) for now.
 */
static bool next_item(struct feed *f, struct feed_sub *s, int64_t now, size_t copied)
{
	static const char heartbeat[] = ": heartbeat\n\n";

	if (f->closed || s->state == SUB_ENDED)
		return false;
	if (s->state == SUB_DROPPED) {
		set_resync(s, f->last_id, "overflow");
		s->state = SUB_ENDED;
		return true;
	}
	if (s->resync_first) {
		s->resync_first = false;
		set_resync(s, s->resync_id, "gap");
		return true;
	}
	while (s->pending > 0 && s->next_seq < f->head_seq) {
		struct feed_ev *ev = ring_at(f, s->next_seq++);
		if (!sub_accepts(s, ev))
			continue;
		/* A filter that changed its mind could make this underflow: clamp. */
		s->pending = ev->len < s->pending ? s->pending - ev->len : 0;
		if (s->pending == 0)
			s->next_seq = f->head_seq;
		ev->refs++;
		s->cur = ev->text;
		s->cur_len = ev->len;
		s->cur_off = 0;
		s->cur_ev = ev;
		return true;
	}
	s->pending = 0;
	s->next_seq = f->head_seq;
	if (copied == 0 && heartbeat_due(f, s, now)) {
		set_ctl(s, heartbeat, sizeof heartbeat - 1);
		return true;
	}
	return false;
}

int feed_sub_read(struct feed_sub *s, char *buf, size_t cap, size_t *len)
{
	struct feed *f = s->feed;
	size_t n = 0;
	int rc = SG_OK;
	int64_t now;

	pthread_mutex_lock(&f->lock);
	now = now_ms(f);
	s->armed = false;
	while (n < cap) {
		if (s->cur) {
			size_t k = s->cur_len - s->cur_off;
			if (k > cap - n)
				k = cap - n;
			memcpy(buf + n, s->cur + s->cur_off, k);
			n += k;
			s->cur_off += k;
			if (s->cur_off == s->cur_len) {
				ev_unref(s->cur_ev);
				s->cur = NULL;
				s->cur_ev = NULL;
			}
			continue;
		}
		if (!next_item(f, s, now, n))
			break;
	}
	if (n > 0)
		s->last_out_ms = now;
	else if (f->closed || s->state == SUB_ENDED)
		rc = SG_ECLOSED;
	else
		s->armed = true;
	pthread_mutex_unlock(&f->lock);
	if (rc == SG_OK)
		*len = n;
	return rc;
}

void feed_sub_wait(struct feed_sub *s, unsigned timeout_ms)
{
	struct feed *f = s->feed;
	struct timespec until = deadline_after(timeout_ms);

	pthread_mutex_lock(&f->lock);
	if (!sub_ready(f, s, now_ms(f))) {
		s->waiters++;
		pthread_cond_timedwait(&s->cond, &f->lock, &until);
		s->waiters--;
	}
	pthread_mutex_unlock(&f->lock);
}

void feed_unsubscribe(struct feed_sub *s)
{
	struct feed *f;

	if (!s)
		return;
	f = s->feed;
	pthread_mutex_lock(&f->lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		f->subs = s->next;
	if (s->next)
		s->next->prev = s->prev;
	f->nsubs--;
	/* The event it was copying may be its last reference: free it under the lock. */
	ev_unref(s->cur_ev);
	s->cur_ev = NULL;
	pthread_mutex_unlock(&f->lock);
	sub_destroy(s);
}

void feed_stats(struct feed *f, struct feed_stats *out)
{
	pthread_mutex_lock(&f->lock);
	out->last_id = f->last_id;
	out->published = f->published;
	out->events = (size_t)(f->head_seq - f->first_seq);
	out->bytes = f->bytes;
	out->subscribers = f->nsubs;
	out->dropped = f->dropped;
	out->evicted_early = f->evicted_early;
	pthread_mutex_unlock(&f->lock);
}
