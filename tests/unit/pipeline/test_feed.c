/*
 * test_feed.c — the live event feed: ids, SSE bytes, replay, scope filters,
 * retention (with an injected clock), bounded queues, heartbeats, wake-ups,
 * restarts, and publishers and subscribers on many threads.
 */
#include "pipeline/feed.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"
#include "test.h"

/* ---- helpers ---- */

struct fake_clock {
	_Atomic int64_t ms;
};

static int64_t fake_now(void *ctx)
{
	return atomic_load(&((struct fake_clock *)ctx)->ms);
}

static struct feed *new_feed(struct feed_config *cfg, struct fake_clock *clk)
{
	struct feed *f = NULL;

	if (clk) {
		cfg->clock_ms = fake_now;
		cfg->clock_ctx = clk;
	}
	CHECK_EQ_INT(feed_new(cfg, &f), 0);
	return f;
}

static void test_config(struct feed_config *cfg)
{
	feed_config_default(cfg);
	cfg->tick_ms = 0; /* the tests tick */
	cfg->max_events = 4096;
	cfg->max_bytes = (size_t)16 << 20;
}

/* Reads until the subscription has nothing now; returns the last rc. */
static int read_all(struct feed_sub *s, struct sg_buf *out, size_t chunk)
{
	char buf[8192];
	size_t n;
	int rc;

	if (chunk > sizeof buf)
		chunk = sizeof buf;
	for (;;) {
		n = 0;
		rc = feed_sub_read(s, buf, chunk, &n);
		if (rc != 0 || n == 0)
			return rc;
		sg_buf_append(out, buf, n);
	}
}

/* One parsed SSE block: an event, or a comment (kind ""). */
struct sse_ev {
	uint64_t id;
	bool has_id;
	char kind[32];
	char data[256];
	bool comment;
};

/* Parses the next complete block at *off in b; false when none is complete. */
static bool next_block(const struct sg_buf *b, size_t *off, struct sse_ev *ev)
{
	const char *p, *end;

	if (!b->data || *off >= b->len)
		return false;
	p = b->data + *off;
	end = strstr(p, "\n\n");
	if (!end)
		return false;
	memset(ev, 0, sizeof *ev);
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t n;
		if (!eol)
			eol = end;
		n = (size_t)(eol - p);
		if (n >= 4 && memcmp(p, "id: ", 4) == 0) {
			ev->id = strtoull(p + 4, NULL, 10);
			ev->has_id = true;
		} else if (n >= 7 && memcmp(p, "event: ", 7) == 0 && n - 7 < sizeof ev->kind) {
			memcpy(ev->kind, p + 7, n - 7);
		} else if (n >= 6 && memcmp(p, "data: ", 6) == 0 && n - 6 < sizeof ev->data) {
			memcpy(ev->data, p + 6, n - 6);
		} else if (n >= 1 && p[0] == ':') {
			ev->comment = true;
		}
		p = eol + 1;
	}
	*off = (size_t)(end - b->data) + 2;
	return true;
}

/* The ids of every event in a stream, in order (comments skipped). */
static size_t ids_of(const struct sg_buf *b, uint64_t *ids, size_t max)
{
	struct sse_ev ev;
	size_t off = 0, n = 0;

	while (next_block(b, &off, &ev))
		if (!ev.comment && n < max)
			ids[n++] = ev.id;
	return n;
}

static int publish_simple(struct feed *f, uint32_t area, uint64_t *id)
{
	return feed_publish(f, FEED_CASE_UPDATED, &area, 1, "{\"case\":1}", id);
}

/* A scope as a small set of visible catalog indexes. */
struct scope_set {
	uint32_t idx[8];
	size_t n;
};

static bool scope_filter(void *ctx, const uint32_t *area, size_t narea)
{
	const struct scope_set *s = ctx;

	for (size_t i = 0; i < narea; i++)
		for (size_t j = 0; j < s->n; j++)
			if (area[i] == s->idx[j])
				return true;
	return false;
}

static void count_ready(void *ctx)
{
	atomic_fetch_add((atomic_int *)ctx, 1);
}

/* ---- ids and bytes ---- */

static void test_publish_assigns_strictly_increasing_ids_from_first_id(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_stats st;
	uint64_t id = 0, prev = 0;
	int bad = 0;

	test_config(&cfg);
	cfg.first_id = 42;
	f = new_feed(&cfg, NULL);
	for (int i = 0; i < 100; i++) {
		CHECK_EQ_INT(publish_simple(f, 1, &id), 0);
		if (i == 0)
			CHECK_EQ_INT(id, 42);
		else if (id != prev + 1)
			bad++;
		prev = id;
	}
	CHECK_EQ_INT(bad, 0);
	feed_stats(f, &st);
	CHECK_EQ_INT(st.last_id, 141);
	CHECK_EQ_INT(st.published, 100);
	CHECK_EQ_INT(st.events, 100);
	feed_free(f);
}

static void test_read_gives_the_exact_sse_bytes_of_an_event(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL;
	struct sg_buf out;
	uint32_t areas[3] = {4, 9, 1};

	test_config(&cfg);
	f = new_feed(&cfg, NULL);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, FEED_SINCE_NOW, 1 << 20, &s), 0);
	CHECK_EQ_INT(feed_publish(f, FEED_CASE_ESCALATED, areas, 3, "{\"id\":7,\"level\":2}", NULL),
		     0);
	sg_buf_init(&out, 0);
	CHECK_EQ_INT(read_all(s, &out, 4096), 0);
	CHECK_STR(out.data, "id: 1\nevent: case.escalated\ndata: {\"id\":7,\"level\":2}\n\n");
	sg_buf_release(&out);
	feed_unsubscribe(s);
	feed_free(f);
}

static void test_reads_through_a_tiny_buffer_reassemble_the_same_stream(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *a = NULL, *b = NULL;
	struct sg_buf big, tiny;

	test_config(&cfg);
	f = new_feed(&cfg, NULL);
	for (int i = 0; i < 20; i++)
		publish_simple(f, 1, NULL);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 0, 1 << 20, &a), 0);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 0, 1 << 20, &b), 0);
	sg_buf_init(&big, 0);
	sg_buf_init(&tiny, 0);
	CHECK_EQ_INT(read_all(a, &big, 8192), 0);
	CHECK_EQ_INT(read_all(b, &tiny, 7), 0);
	CHECK(big.len > 20 * 40);
	CHECK_EQ_INT(big.len, tiny.len);
	CHECK(big.data && tiny.data && memcmp(big.data, tiny.data, big.len) == 0);
	sg_buf_release(&big);
	sg_buf_release(&tiny);
	feed_unsubscribe(a);
	feed_unsubscribe(b);
	feed_free(f);
}

/* ---- replay and filters ---- */

static void test_replay_since_id_gives_exactly_the_later_events_then_live_ones(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL;
	struct sg_buf out;
	uint64_t ids[32];
	size_t n;

	test_config(&cfg);
	f = new_feed(&cfg, NULL);
	for (int i = 0; i < 10; i++)
		publish_simple(f, 1, NULL);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 4, 1 << 20, &s), 0);
	publish_simple(f, 1, NULL);
	sg_buf_init(&out, 0);
	CHECK_EQ_INT(read_all(s, &out, 4096), 0);
	n = ids_of(&out, ids, 32);
	CHECK_EQ_INT(n, 7);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ_INT(ids[i], 5 + i);
	sg_buf_release(&out);
	feed_unsubscribe(s);
	feed_free(f);
}

static void test_subscriber_without_last_id_gets_live_events_only(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL;
	struct sg_buf out;
	uint64_t ids[8];

	test_config(&cfg);
	f = new_feed(&cfg, NULL);
	for (int i = 0; i < 5; i++)
		publish_simple(f, 1, NULL);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, FEED_SINCE_NOW, 1 << 20, &s), 0);
	sg_buf_init(&out, 0);
	CHECK_EQ_INT(read_all(s, &out, 4096), 0);
	CHECK_EQ_INT(out.len, 0);
	publish_simple(f, 1, NULL);
	CHECK_EQ_INT(read_all(s, &out, 4096), 0);
	CHECK_EQ_INT(ids_of(&out, ids, 8), 1);
	CHECK_EQ_INT(ids[0], 6);
	sg_buf_release(&out);
	feed_unsubscribe(s);
	feed_free(f);
}

static void test_scope_filter_applies_to_replay_and_live_events(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL;
	struct scope_set scope = {{3, 7}, 2};
	uint32_t a12[2] = {1, 2}, a3[1] = {3}, a97[2] = {9, 7};
	struct sg_buf out;
	uint64_t ids[8];

	test_config(&cfg);
	f = new_feed(&cfg, NULL);
	feed_publish(f, FEED_CASE_CREATED, a12, 2, "{}", NULL);	 /* 1: hidden */
	feed_publish(f, FEED_CASE_CREATED, a3, 1, "{}", NULL);	 /* 2: seen */
	feed_publish(f, FEED_CASE_CREATED, NULL, 0, "{}", NULL); /* 3: no area: hidden */
	feed_publish(f, FEED_CASE_UPDATED, a97, 2, "{}", NULL);	 /* 4: seen (7) */
	CHECK_EQ_INT(feed_subscribe(f, scope_filter, &scope, 0, 1 << 20, &s), 0);
	feed_publish(f, FEED_CASE_UPDATED, a12, 2, "{}", NULL);	  /* 5: hidden */
	feed_publish(f, FEED_CASE_ESCALATED, a97, 2, "{}", NULL); /* 6: seen */
	sg_buf_init(&out, 0);
	CHECK_EQ_INT(read_all(s, &out, 4096), 0);
	CHECK_EQ_INT(ids_of(&out, ids, 8), 3);
	CHECK_EQ_INT(ids[0], 2);
	CHECK_EQ_INT(ids[1], 4);
	CHECK_EQ_INT(ids[2], 6);
	sg_buf_release(&out);
	feed_unsubscribe(s);
	feed_free(f);
}

/* ---- retention ---- */

static void test_events_are_kept_a_full_hour_then_an_older_id_gets_resync(void)
{
	struct fake_clock clk = {1000000};
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL, *t = NULL;
	struct feed_stats st;
	struct sg_buf out;
	struct sse_ev ev;
	size_t off = 0;

	test_config(&cfg);
	f = new_feed(&cfg, &clk);
	for (int i = 0; i < 3; i++)
		publish_simple(f, 1, NULL);
	atomic_store(&clk.ms, 1000000 + 3600 * 1000); /* exactly one hour: still kept */
	feed_tick(f);
	feed_stats(f, &st);
	CHECK_EQ_INT(st.events, 3);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 0, 1 << 20, &t), 0);
	atomic_store(&clk.ms, 1000000 + 3600 * 1000 + 1);
	feed_tick(f);
	feed_stats(f, &st);
	CHECK_EQ_INT(st.events, 0);
	CHECK_EQ_INT(st.evicted_early, 0);

	/* since 1: events 2 and 3 are gone, so the client must reload. */
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 1, 1 << 20, &s), 0);
	publish_simple(f, 1, NULL);
	sg_buf_init(&out, 0);
	CHECK_EQ_INT(read_all(s, &out, 4096), 0);
	CHECK(next_block(&out, &off, &ev));
	CHECK_STR(ev.kind, "resync");
	CHECK_EQ_INT(ev.id, 3);
	CHECK_STR(ev.data, "{\"reason\":\"gap\"}");
	CHECK(next_block(&out, &off, &ev));
	CHECK_STR(ev.kind, "case.updated");
	CHECK_EQ_INT(ev.id, 4);
	CHECK(!next_block(&out, &off, &ev));
	sg_buf_release(&out);

	/* t subscribed (since 0) before the eviction and never read: it lost 1..3. */
	sg_buf_init(&out, 0);
	CHECK_EQ_INT(read_all(t, &out, 4096), SG_ECLOSED);
	off = 0;
	CHECK(next_block(&out, &off, &ev));
	CHECK_STR(ev.kind, "resync");
	sg_buf_release(&out);

	/* since 3 is the floor: nothing after it is missing. */
	feed_unsubscribe(s);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 3, 1 << 20, &s), 0);
	sg_buf_init(&out, 0);
	CHECK_EQ_INT(read_all(s, &out, 4096), 0);
	off = 0;
	CHECK(next_block(&out, &off, &ev));
	CHECK_STR(ev.kind, "case.updated");
	CHECK_EQ_INT(ev.id, 4);
	sg_buf_release(&out);
	feed_unsubscribe(s);
	feed_unsubscribe(t);
	feed_free(f);
}

static void test_caps_evict_early_and_count_it(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL;
	struct feed_stats st;
	struct sg_buf out;
	struct sse_ev ev;
	uint64_t ids[32];
	size_t off = 0;

	test_config(&cfg);
	cfg.max_events = 16;
	f = new_feed(&cfg, NULL);
	for (int i = 0; i < 20; i++)
		publish_simple(f, 1, NULL);
	feed_stats(f, &st);
	CHECK_EQ_INT(st.events, 16);
	CHECK_EQ_INT(st.evicted_early, 4);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 4, 1 << 20, &s), 0);
	sg_buf_init(&out, 0);
	read_all(s, &out, 4096);
	CHECK_EQ_INT(ids_of(&out, ids, 32), 16);
	CHECK_EQ_INT(ids[0], 5);
	CHECK_EQ_INT(ids[15], 20);
	feed_unsubscribe(s);
	sg_buf_reset(&out);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 3, 1 << 20, &s), 0);
	read_all(s, &out, 4096);
	CHECK(next_block(&out, &off, &ev));
	CHECK_STR(ev.kind, "resync");
	CHECK_EQ_INT(ev.id, 20);
	CHECK(!next_block(&out, &off, &ev));
	sg_buf_release(&out);
	feed_unsubscribe(s);
	feed_free(f);
}

/* ---- bounded queues ---- */

static void test_overflow_drops_the_subscriber_with_resync_then_end(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL, *other = NULL;
	struct feed_stats st;
	struct sg_buf out;
	char buf[256];
	size_t n = 0;
	uint64_t last = 0;
	atomic_int ready = 0;

	test_config(&cfg);
	f = new_feed(&cfg, NULL);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, FEED_SINCE_NOW, 300, &s), 0);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, FEED_SINCE_NOW, 1 << 20, &other), 0);
	feed_sub_on_ready(s, count_ready, &ready);
	CHECK_EQ_INT(feed_sub_read(s, buf, sizeof buf, &n), 0); /* arms on_ready */
	CHECK_EQ_INT(n, 0);
	/* Events 1..9 are 44 bytes each ("id: 1\n..."): the seventh crosses 300. */
	for (int i = 0; i < 10; i++)
		publish_simple(f, 1, &last);
	feed_stats(f, &st);
	CHECK_EQ_INT(st.dropped, 1);
	CHECK_EQ_INT(atomic_load(&ready), 1);
	sg_buf_init(&out, 0);
	CHECK_EQ_INT(read_all(s, &out, 4096), SG_ECLOSED);
	CHECK_STR(out.data, "id: 10\nevent: resync\ndata: {\"reason\":\"overflow\"}\n\n");
	CHECK_EQ_INT(feed_sub_read(s, buf, sizeof buf, &n), SG_ECLOSED);
	/* The other subscriber lost nothing. */
	sg_buf_reset(&out);
	CHECK_EQ_INT(read_all(other, &out, 4096), 0);
	{
		uint64_t ids[16];
		CHECK_EQ_INT(ids_of(&out, ids, 16), 10);
	}
	sg_buf_release(&out);
	feed_unsubscribe(s);
	feed_unsubscribe(other);
	feed_free(f);
}

static void test_a_drop_mid_event_finishes_that_event_before_resync(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL;
	struct sg_buf out;
	struct sse_ev ev;
	char buf[8];
	size_t n = 0, off = 0;

	test_config(&cfg);
	f = new_feed(&cfg, NULL);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, FEED_SINCE_NOW, 100, &s), 0);
	publish_simple(f, 1, NULL);
	CHECK_EQ_INT(feed_sub_read(s, buf, 5, &n), 0); /* "id: 1" partly read */
	CHECK_EQ_INT(n, 5);
	sg_buf_init(&out, 0);
	sg_buf_append(&out, buf, n);
	for (int i = 0; i < 5; i++)
		publish_simple(f, 1, NULL);
	CHECK_EQ_INT(read_all(s, &out, 3), SG_ECLOSED);
	CHECK(next_block(&out, &off, &ev));
	CHECK_EQ_INT(ev.id, 1);
	CHECK_STR(ev.kind, "case.updated");
	CHECK_STR(ev.data, "{\"case\":1}");
	CHECK(next_block(&out, &off, &ev));
	CHECK_STR(ev.kind, "resync");
	CHECK_EQ_INT(off, out.len);
	sg_buf_release(&out);
	feed_unsubscribe(s);
	feed_free(f);
}

static void test_a_reader_lagging_past_eviction_is_dropped(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL, *narrow = NULL;
	struct scope_set only9 = {{9}, 1};
	struct feed_stats st;
	struct sg_buf out;
	uint64_t ids[4];

	test_config(&cfg);
	cfg.max_events = 16;
	f = new_feed(&cfg, NULL);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, FEED_SINCE_NOW, 1 << 20, &s), 0);
	CHECK_EQ_INT(feed_subscribe(f, scope_filter, &only9, FEED_SINCE_NOW, 1 << 20, &narrow), 0);
	for (int i = 0; i < 16; i++)
		publish_simple(f, 1, NULL);
	feed_stats(f, &st);
	CHECK_EQ_INT(st.dropped, 0);
	publish_simple(f, 9, NULL); /* evicts event 1, which s never read */
	feed_stats(f, &st);
	CHECK_EQ_INT(st.dropped, 1);
	sg_buf_init(&out, 0);
	CHECK_EQ_INT(read_all(s, &out, 4096), SG_ECLOSED);
	CHECK(strstr(out.data, "event: resync") == out.data + strlen("id: 17\n"));
	/* The narrow reader never needed event 1: it keeps going. */
	sg_buf_reset(&out);
	CHECK_EQ_INT(read_all(narrow, &out, 4096), 0);
	CHECK_EQ_INT(ids_of(&out, ids, 4), 1);
	CHECK_EQ_INT(ids[0], 17);
	sg_buf_release(&out);
	feed_unsubscribe(s);
	feed_unsubscribe(narrow);
	feed_free(f);
}

/* ---- wake-ups and heartbeats ---- */

static void test_on_ready_fires_once_per_empty_read_and_only_for_accepted_events(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL;
	struct scope_set only3 = {{3}, 1};
	atomic_int ready = 0;
	struct sg_buf out;
	uint64_t ids[4];
	char buf[64];
	size_t n = 0;

	test_config(&cfg);
	f = new_feed(&cfg, NULL);
	CHECK_EQ_INT(feed_subscribe(f, scope_filter, &only3, FEED_SINCE_NOW, 1 << 20, &s), 0);
	feed_sub_on_ready(s, count_ready, &ready);
	publish_simple(f, 3, NULL); /* not armed yet: no call */
	CHECK_EQ_INT(atomic_load(&ready), 0);
	sg_buf_init(&out, 0);
	CHECK_EQ_INT(read_all(s, &out, 4096), 0); /* ends with an empty read: armed */
	publish_simple(f, 1, NULL);
	CHECK_EQ_INT(atomic_load(&ready), 0);
	publish_simple(f, 3, NULL);
	CHECK_EQ_INT(atomic_load(&ready), 1);
	publish_simple(f, 3, NULL);
	CHECK_EQ_INT(atomic_load(&ready), 1);
	sg_buf_reset(&out);
	CHECK_EQ_INT(read_all(s, &out, 4096), 0);
	CHECK_EQ_INT(ids_of(&out, ids, 4), 2);
	CHECK_EQ_INT(ids[0], 3);
	CHECK_EQ_INT(ids[1], 4);
	CHECK_EQ_INT(feed_sub_read(s, buf, sizeof buf, &n), 0);
	publish_simple(f, 3, NULL);
	CHECK_EQ_INT(atomic_load(&ready), 2);
	sg_buf_release(&out);
	feed_unsubscribe(s);
	feed_free(f);
}

static void test_idle_subscriber_gets_a_heartbeat_when_due_and_is_woken_once(void)
{
	struct fake_clock clk = {5000};
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL;
	atomic_int ready = 0;
	char buf[64];
	size_t n = 0;

	test_config(&cfg);
	cfg.heartbeat_ms = 15000;
	f = new_feed(&cfg, &clk);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, FEED_SINCE_NOW, 1 << 20, &s), 0);
	feed_sub_on_ready(s, count_ready, &ready);
	CHECK_EQ_INT(feed_sub_read(s, buf, sizeof buf, &n), 0);
	CHECK_EQ_INT(n, 0);
	atomic_store(&clk.ms, 5000 + 14999);
	feed_tick(f);
	CHECK_EQ_INT(atomic_load(&ready), 0);
	CHECK_EQ_INT(feed_sub_read(s, buf, sizeof buf, &n), 0);
	CHECK_EQ_INT(n, 0);
	atomic_store(&clk.ms, 5000 + 15000);
	feed_tick(f);
	feed_tick(f);
	CHECK_EQ_INT(atomic_load(&ready), 1);
	CHECK_EQ_INT(feed_sub_read(s, buf, sizeof buf, &n), 0);
	buf[n < sizeof buf ? n : sizeof buf - 1] = '\0';
	CHECK_STR(buf, ": heartbeat\n\n");
	CHECK_EQ_INT(feed_sub_read(s, buf, sizeof buf, &n), 0);
	CHECK_EQ_INT(n, 0);
	/* An event resets the idle time. */
	atomic_store(&clk.ms, 5000 + 25000);
	publish_simple(f, 1, NULL);
	CHECK_EQ_INT(feed_sub_read(s, buf, sizeof buf, &n), 0);
	CHECK(n > 0);
	atomic_store(&clk.ms, 5000 + 39999);
	CHECK_EQ_INT(feed_sub_read(s, buf, sizeof buf, &n), 0);
	CHECK_EQ_INT(n, 0);
	feed_unsubscribe(s);
	feed_free(f);
}

static void test_close_ends_subscriptions_and_refuses_new_work(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL, *t = NULL;
	atomic_int ready = 0;
	char buf[64];
	size_t n = 0;

	test_config(&cfg);
	f = new_feed(&cfg, NULL);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, FEED_SINCE_NOW, 1 << 20, &s), 0);
	feed_sub_on_ready(s, count_ready, &ready);
	CHECK_EQ_INT(feed_sub_read(s, buf, sizeof buf, &n), 0);
	feed_close(f);
	feed_close(f);
	CHECK_EQ_INT(atomic_load(&ready), 1);
	CHECK_EQ_INT(feed_sub_read(s, buf, sizeof buf, &n), SG_ECLOSED);
	CHECK_EQ_INT(publish_simple(f, 1, NULL), SG_ECLOSED);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 0, 1 << 20, &t), SG_ECLOSED);
	CHECK(t == NULL);
	feed_unsubscribe(s);
	feed_free(f);
}

/* ---- restarts and persistence ---- */

struct sink_log {
	uint64_t ids[64];
	char kinds[64][24];
	uint32_t first_area[64];
	size_t n;
	int fail_next;
};

static int record_sink(void *ctx, const struct feed_event *ev)
{
	struct sink_log *log = ctx;

	if (log->fail_next) {
		log->fail_next = 0;
		return SG_EIO;
	}
	if (log->n < 64) {
		log->ids[log->n] = ev->id;
		snprintf(log->kinds[log->n], sizeof log->kinds[0], "%s", feed_kind_name(ev->kind));
		log->first_area[log->n] = ev->narea ? ev->area_idx[0] : UINT32_MAX;
		log->n++;
	}
	return SG_OK;
}

static void test_sink_sees_each_event_in_id_order_and_a_failure_uses_no_id(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct sink_log log = {0};
	struct feed_stats st;
	uint64_t id = 0;

	test_config(&cfg);
	f = new_feed(&cfg, NULL);
	feed_set_sink(f, record_sink, &log);
	CHECK_EQ_INT(publish_simple(f, 5, &id), 0);
	CHECK_EQ_INT(id, 1);
	log.fail_next = 1;
	id = 0;
	CHECK_EQ_INT(publish_simple(f, 6, &id), SG_EIO);
	CHECK_EQ_INT(id, 0);
	CHECK_EQ_INT(feed_publish(f, FEED_CASE_CREATED, (uint32_t[]){7}, 1, "{}", &id), 0);
	CHECK_EQ_INT(id, 2);
	CHECK_EQ_INT(log.n, 2);
	CHECK_EQ_INT(log.ids[0], 1);
	CHECK_EQ_INT(log.ids[1], 2);
	CHECK_STR(log.kinds[1], "case.created");
	CHECK_EQ_INT(log.first_area[1], 7);
	feed_stats(f, &st);
	CHECK_EQ_INT(st.events, 2);
	feed_free(f);
}

static void test_restore_resumes_ids_and_refuses_ids_in_the_restart_hole(void)
{
	struct fake_clock clk = {10000000};
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL;
	struct sg_buf out;
	struct sse_ev ev;
	uint64_t ids[8], id = 0;
	size_t off;
	uint32_t a = 2;
	struct feed_event evs[4] = {
	    {5, 10000000 - 4000 * 1000, FEED_CASE_CREATED, &a, 1, "{\"n\":0}", 7}, /* expired */
	    {6, 10000000 - 100, FEED_CASE_CREATED, &a, 1, "{\"n\":1}", 7},
	    {7, 10000000 - 50, FEED_CASE_UPDATED, &a, 1, "{\"n\":2}", 7},
	    {9, 10000000 - 10, FEED_CASE_ESCALATED, &a, 1, "{\"n\":3}", 7},
	};
	struct {
		uint64_t since;
		size_t n;
		uint64_t first;
		bool resync;
	} cases[] = {
	    {7, 2, 9, false},	/* resumes exactly */
	    {9, 1, 100, false}, /* the last restored id */
	    {5, 4, 6, false},	/* the floor: event 5 expired, nothing after it is missing */
	    {4, 1, 0, true},	/* before the floor */
	    {50, 1, 0, true},	/* in the hole: the previous process may have sent it */
	    {100, 0, 0, false}, /* up to date */
	    {101, 1, 0, true},	/* from the future */
	};

	test_config(&cfg);
	f = new_feed(&cfg, &clk);
	CHECK_EQ_INT(feed_restore(f, evs, 4, 9), SG_EINVAL); /* next_id must exceed 9 */
	CHECK_EQ_INT(feed_restore(f, evs, 4, 100), 0);
	CHECK_EQ_INT(publish_simple(f, 2, &id), 0);
	CHECK_EQ_INT(id, 100);
	CHECK_EQ_INT(feed_restore(f, evs, 4, 200), SG_EINVAL); /* only into a fresh feed */
	sg_buf_init(&out, 0);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		s = NULL;
		sg_buf_reset(&out);
		CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, cases[c].since, 1 << 20, &s), 0);
		read_all(s, &out, 4096);
		off = 0;
		if (cases[c].resync) {
			CHECK(next_block(&out, &off, &ev));
			CHECK_STR(ev.kind, "resync");
			CHECK_EQ_INT(ev.id, 100);
			CHECK(!next_block(&out, &off, &ev));
		} else {
			CHECK_EQ_INT(ids_of(&out, ids, 8), cases[c].n);
			if (cases[c].n)
				CHECK_EQ_INT(ids[0], cases[c].first);
		}
		feed_unsubscribe(s);
	}
	sg_buf_release(&out);
	feed_free(f);
}

static void test_restore_of_nothing_starts_at_next_id(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_sub *s = NULL;
	struct sg_buf out;
	struct sse_ev ev;
	uint64_t id = 0;
	size_t off = 0;

	test_config(&cfg);
	f = new_feed(&cfg, NULL);
	CHECK_EQ_INT(feed_restore(f, NULL, 0, 1700000000000000ull), 0);
	CHECK_EQ_INT(publish_simple(f, 1, &id), 0);
	CHECK(id == 1700000000000000ull);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 12, 1 << 20, &s), 0);
	sg_buf_init(&out, 0);
	read_all(s, &out, 4096);
	CHECK(next_block(&out, &off, &ev));
	CHECK_STR(ev.kind, "resync");
	sg_buf_release(&out);
	feed_unsubscribe(s);
	feed_free(f);
}

/* ---- refusals ---- */

static void test_bad_configuration_and_bad_events_are_refused(void)
{
	struct feed_config cfg;
	struct feed *f = NULL;
	struct feed_sub *s1 = NULL, *s2 = NULL, *s3 = NULL;
	uint32_t many[FEED_MAX_AREAS + 1] = {0};
	char *big;
	enum feed_kind k;

	test_config(&cfg);
	cfg.retention_s = FEED_MIN_RETENTION_S - 1;
	CHECK_EQ_INT(feed_new(&cfg, &f), SG_EINVAL);
	CHECK(f == NULL);
	test_config(&cfg);
	cfg.heartbeat_ms = 0;
	CHECK_EQ_INT(feed_new(&cfg, &f), SG_EINVAL);
	test_config(&cfg);
	cfg.max_bytes = cfg.max_event_bytes;
	CHECK_EQ_INT(feed_new(&cfg, &f), SG_EINVAL);

	test_config(&cfg);
	cfg.max_event_bytes = 1000;
	cfg.max_subscribers = 2;
	f = new_feed(&cfg, NULL);
	CHECK_EQ_INT(feed_publish(f, FEED_CASE_CREATED, many, 1, "{\"a\":\n1}", NULL), SG_EINVAL);
	CHECK_EQ_INT(feed_publish(f, FEED_CASE_CREATED, many, 1, "{\"a\":\r1}", NULL), SG_EINVAL);
	CHECK_EQ_INT(feed_publish(f, FEED_CASE_CREATED, many, 1, "", NULL), SG_EINVAL);
	CHECK_EQ_INT(feed_publish(f, FEED_CASE_CREATED, many, 1, NULL, NULL), SG_EINVAL);
	CHECK_EQ_INT(feed_publish(f, FEED_CASE_CREATED, many, FEED_MAX_AREAS + 1, "{}", NULL),
		     SG_EINVAL);
	CHECK_EQ_INT(feed_publish(f, FEED_KIND_COUNT, many, 1, "{}", NULL), SG_EINVAL);
	big = malloc(1002);
	memset(big, 'x', 1001);
	big[1001] = '\0';
	CHECK_EQ_INT(feed_publish(f, FEED_CASE_CREATED, many, 1, big, NULL), SG_ETOOBIG);
	big[1000] = '\0';
	CHECK_EQ_INT(feed_publish(f, FEED_CASE_CREATED, many, 1, big, NULL), 0);
	free(big);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 0, 0, &s1), SG_EINVAL);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 0, 100, &s1), 0);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 0, 100, &s2), 0);
	CHECK_EQ_INT(feed_subscribe(f, NULL, NULL, 0, 100, &s3), SG_ETOOBIG);
	CHECK_EQ_INT(feed_kind_parse("case.escalated", &k), 0);
	CHECK_EQ_INT(k, FEED_CASE_ESCALATED);
	CHECK_EQ_INT(feed_kind_parse("case.deleted", &k), SG_EINVAL);
	{
		struct feed_event e[2] = {{3, 0, FEED_CASE_CREATED, NULL, 0, "{}", 2},
					  {3, 0, FEED_CASE_CREATED, NULL, 0, "{}", 2}};
		struct feed *g = new_feed(&cfg, NULL);
		CHECK_EQ_INT(feed_restore(g, e, 2, 10), SG_EINVAL); /* ids must ascend */
		feed_free(g);
	}
	feed_unsubscribe(s1);
	feed_unsubscribe(s2);
	feed_free(f);
}

/* ---- threads ---- */

#define NPUB	4
#define NSUB	4
#define PER_PUB 5000
#define NAREA	8

static uint32_t area_of(int p, int n)
{
	return (uint32_t)((p * 31 + n * 7 + n / 3) % NAREA);
}

struct pub_arg {
	struct feed *f;
	int p;
	int failures;
};

static void *publisher_main(void *arg)
{
	struct pub_arg *a = arg;
	char json[64];

	for (int n = 0; n < PER_PUB; n++) {
		uint32_t area = area_of(a->p, n);
		snprintf(json, sizeof json, "{\"p\":%d,\"n\":%d}", a->p, n);
		if (feed_publish(a->f, FEED_CASE_UPDATED, &area, 1, json, NULL) != 0)
			a->failures++;
	}
	return NULL;
}

struct sub_arg {
	struct feed *f;
	struct feed_sub *s;
	struct scope_set scope;
	bool all;
	/* results */
	long received, expected;
	int out_of_order, gaps, bad_area, timeouts;
	bool ended;
};

static bool sub_arg_accepts(const struct sub_arg *a, uint32_t area)
{
	return a->all || scope_filter((void *)&a->scope, &area, 1);
}

static void *subscriber_main(void *arg)
{
	struct sub_arg *a = arg;
	struct sg_buf acc;
	char buf[4096];
	int next_n[NPUB];
	uint64_t last_id = 0;
	size_t off = 0;
	long received = 0;
	struct timespec t0, t1;

	a->expected = 0;
	for (int p = 0; p < NPUB; p++) {
		next_n[p] = 0;
		for (int n = 0; n < PER_PUB; n++)
			a->expected += sub_arg_accepts(a, area_of(p, n));
	}
	sg_buf_init(&acc, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (received < a->expected) {
		struct sse_ev ev;
		size_t n = 0;
		int rc = feed_sub_read(a->s, buf, sizeof buf, &n);
		if (rc) {
			a->ended = true;
			break;
		}
		if (n == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			if (t1.tv_sec - t0.tv_sec > 60) {
				a->timeouts++;
				break;
			}
			feed_sub_wait(a->s, 200);
			continue;
		}
		sg_buf_append(&acc, buf, n);
		while (next_block(&acc, &off, &ev)) {
			int p = -1, k = -1;
			if (ev.comment)
				continue;
			received++;
			if (ev.id <= last_id)
				a->out_of_order++;
			last_id = ev.id;
			if (sscanf(ev.data, "{\"p\":%d,\"n\":%d}", &p, &k) != 2 || p < 0 ||
			    p >= NPUB) {
				a->bad_area++;
				continue;
			}
			if (!sub_arg_accepts(a, area_of(p, k)))
				a->bad_area++;
			/* Every accepted n between the previous one and this one must have come. */
			while (next_n[p] < k && !sub_arg_accepts(a, area_of(p, next_n[p])))
				next_n[p]++;
			if (next_n[p] != k)
				a->gaps++;
			next_n[p] = k + 1;
		}
		/* Keep the accumulator small. */
		if (off == acc.len) {
			sg_buf_reset(&acc);
			off = 0;
		}
	}
	a->received = received;
	sg_buf_release(&acc);
	return NULL;
}

static void test_many_publishers_and_subscribers_lose_and_duplicate_nothing(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_stats st;
	pthread_t pt[NPUB], stt[NSUB];
	struct pub_arg pa[NPUB];
	struct sub_arg sa[NSUB];

	test_config(&cfg);
	cfg.max_events = NPUB * PER_PUB;
	cfg.tick_ms = 5;
	cfg.heartbeat_ms = 20; /* heartbeats interleave with events */
	f = new_feed(&cfg, NULL);
	memset(sa, 0, sizeof sa);
	sa[0].all = true;
	sa[1].scope = (struct scope_set){{0, 1}, 2};
	sa[2].scope = (struct scope_set){{2, 3, 4, 5}, 4};
	sa[3].scope = (struct scope_set){{7}, 1};
	for (int i = 0; i < NSUB; i++) {
		sa[i].f = f;
		CHECK_EQ_INT(feed_subscribe(f, sa[i].all ? NULL : scope_filter,
					    sa[i].all ? NULL : &sa[i].scope, FEED_SINCE_NOW,
					    64 << 20, &sa[i].s),
			     0);
		pthread_create(&stt[i], NULL, subscriber_main, &sa[i]);
	}
	for (int p = 0; p < NPUB; p++) {
		pa[p] = (struct pub_arg){f, p, 0};
		pthread_create(&pt[p], NULL, publisher_main, &pa[p]);
	}
	for (int p = 0; p < NPUB; p++) {
		pthread_join(pt[p], NULL);
		CHECK_EQ_INT(pa[p].failures, 0);
	}
	for (int i = 0; i < NSUB; i++) {
		pthread_join(stt[i], NULL);
		CHECK(sa[i].expected > 1000);
		CHECK_EQ_INT(sa[i].received, sa[i].expected);
		CHECK_EQ_INT(sa[i].out_of_order, 0);
		CHECK_EQ_INT(sa[i].gaps, 0);
		CHECK_EQ_INT(sa[i].bad_area, 0);
		CHECK_EQ_INT(sa[i].timeouts, 0);
		CHECK(!sa[i].ended);
		feed_unsubscribe(sa[i].s);
	}
	feed_stats(f, &st);
	CHECK_EQ_INT(st.last_id, NPUB * PER_PUB);
	CHECK_EQ_INT(st.dropped, 0);
	CHECK_EQ_INT(st.subscribers, 0);
	feed_free(f);
}

struct churn_arg {
	struct feed *f;
	int rounds;
	int errors;
};

static void *churn_main(void *arg)
{
	struct churn_arg *a = arg;
	struct scope_set scope = {{1, 2}, 2};
	char buf[512];

	for (int r = 0; r < a->rounds; r++) {
		struct feed_sub *s = NULL;
		atomic_int ready = 0;
		size_t n = 0;
		uint64_t since = r % 3 == 0 ? FEED_SINCE_NOW : (uint64_t)r;
		int rc = feed_subscribe(a->f, r % 2 ? scope_filter : NULL, &scope, since,
					r % 5 ? 1 << 20 : 256, &s);
		if (rc) {
			a->errors++;
			continue;
		}
		feed_sub_on_ready(s, count_ready, &ready);
		for (int k = 0; k < r % 4; k++) {
			rc = feed_sub_read(s, buf, sizeof buf, &n);
			if (rc != 0 && rc != SG_ECLOSED)
				a->errors++;
		}
		feed_unsubscribe(s);
	}
	return NULL;
}

static void *flood_main(void *arg)
{
	struct pub_arg *a = arg;

	for (int n = 0; n < 20000; n++) {
		uint32_t area = (uint32_t)(n % 4);
		if (feed_publish(a->f, FEED_CASE_CREATED, &area, 1, "{\"flood\":true}", NULL) != 0)
			a->failures++;
	}
	return NULL;
}

static void test_unsubscribing_while_publishing_is_safe(void)
{
	struct feed_config cfg;
	struct feed *f;
	struct feed_stats st;
	pthread_t pt[2], ct[2];
	struct pub_arg pa[2];
	struct churn_arg ca[2];

	test_config(&cfg);
	cfg.max_events = 1024; /* evictions while readers hold events */
	cfg.tick_ms = 1;
	cfg.heartbeat_ms = 10;
	f = new_feed(&cfg, NULL);
	for (int i = 0; i < 2; i++) {
		pa[i] = (struct pub_arg){f, i, 0};
		ca[i] = (struct churn_arg){f, 3000, 0};
		pthread_create(&pt[i], NULL, flood_main, &pa[i]);
		pthread_create(&ct[i], NULL, churn_main, &ca[i]);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(pt[i], NULL);
		pthread_join(ct[i], NULL);
		CHECK_EQ_INT(pa[i].failures, 0);
		CHECK_EQ_INT(ca[i].errors, 0);
	}
	feed_stats(f, &st);
	CHECK_EQ_INT(st.subscribers, 0);
	CHECK_EQ_INT(st.last_id, 40000);
	CHECK_EQ_INT(st.events, 1024);
	feed_free(f);
}

int main(void)
{
	TEST_RUN(test_publish_assigns_strictly_increasing_ids_from_first_id);
	TEST_RUN(test_read_gives_the_exact_sse_bytes_of_an_event);
	TEST_RUN(test_reads_through_a_tiny_buffer_reassemble_the_same_stream);
	TEST_RUN(test_replay_since_id_gives_exactly_the_later_events_then_live_ones);
	TEST_RUN(test_subscriber_without_last_id_gets_live_events_only);
	TEST_RUN(test_scope_filter_applies_to_replay_and_live_events);
	TEST_RUN(test_events_are_kept_a_full_hour_then_an_older_id_gets_resync);
	TEST_RUN(test_caps_evict_early_and_count_it);
	TEST_RUN(test_overflow_drops_the_subscriber_with_resync_then_end);
	TEST_RUN(test_a_drop_mid_event_finishes_that_event_before_resync);
	TEST_RUN(test_a_reader_lagging_past_eviction_is_dropped);
	TEST_RUN(test_on_ready_fires_once_per_empty_read_and_only_for_accepted_events);
	TEST_RUN(test_idle_subscriber_gets_a_heartbeat_when_due_and_is_woken_once);
	TEST_RUN(test_close_ends_subscriptions_and_refuses_new_work);
	TEST_RUN(test_sink_sees_each_event_in_id_order_and_a_failure_uses_no_id);
	TEST_RUN(test_restore_resumes_ids_and_refuses_ids_in_the_restart_hole);
	TEST_RUN(test_restore_of_nothing_starts_at_next_id);
	TEST_RUN(test_bad_configuration_and_bad_events_are_refused);
	TEST_RUN(test_many_publishers_and_subscribers_lose_and_duplicate_nothing);
	TEST_RUN(test_unsubscribing_while_publishing_is_safe);
	return test_summary("pipeline/feed");
}
