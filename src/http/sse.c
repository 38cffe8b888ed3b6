/*
 * sse.c — a libmicrohttpd content reader fed by a feed subscription, which
 * suspends its connection while there is nothing to send (see sse.h for why).
 *
 * Per stream, lock orders the reader's "nothing to read: suspend" against
 * on_ready's "something arrived: resume":
 *   reader:   read 0 bytes (arms on_ready) -> lock -> wake set? clear it and
 *             read again : suspended = true, MHD_suspend_connection -> unlock
 *   on_ready: lock -> suspended? suspended = false, MHD_resume_connection
 *             : wake = true -> unlock
 * on_ready runs under the feed lock, so the lock order is feed -> stream ->
 * libmicrohttpd's internal mutex; the reader never holds the stream lock
 * while calling into the feed.
 */
#include "http/sse.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"

struct sse_stream {
	struct MHD_Connection *conn;
	struct feed_sub *sub;
	pthread_mutex_t lock;
	bool suspended; /* we suspended conn and have not resumed it */
	bool wake;	/* on_ready came between an empty read and the suspend */
	void (*release)(void *ctx);
	void *ctx;
	bool owns_ctx;
	int64_t expires_at; /* Unix seconds, 0: never */
	char prelude[32];   /* "retry: N\n\n", sent before the feed's bytes */
	size_t prelude_len, prelude_off;
};

static void stream_ready(void *cls)
{
	struct sse_stream *st = cls;

	pthread_mutex_lock(&st->lock);
	if (st->suspended) {
		st->suspended = false;
		MHD_resume_connection(st->conn);
	} else {
		st->wake = true;
	}
	pthread_mutex_unlock(&st->lock);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse_stream *st = cls;
	size_t n = 0;
	int rc;

	(void)pos;
	/*
	 * Ending here may cut an event that an earlier call sent in part; a
	 * client drops an unfinished event at the end of the stream and asks for
	 * it again with the last complete id, so nothing is lost.
	 */
	if (st->expires_at > 0 && (int64_t)time(NULL) >= st->expires_at)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (st->prelude_off < st->prelude_len) {
		n = st->prelude_len - st->prelude_off;
		if (n > max)
			n = max;
		memcpy(buf, st->prelude + st->prelude_off, n);
		st->prelude_off += n;
		return (ssize_t)n;
	}
	for (;;) {
		rc = feed_sub_read(st->sub, buf, max, &n);
		if (rc == SG_ECLOSED)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (rc != SG_OK)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (n > 0)
			return (ssize_t)n;
		pthread_mutex_lock(&st->lock);
		if (st->wake) {
			st->wake = false;
			pthread_mutex_unlock(&st->lock);
			continue;
		}
		st->suspended = true;
		MHD_suspend_connection(st->conn);
		pthread_mutex_unlock(&st->lock);
		/* Suspended, 0 bytes is "not yet": the resume calls us again. */
		return 0;
	}
}

/* libmicrohttpd destroys the response when the connection is done with it. */
static void stream_free(void *cls)
{
	struct sse_stream *st = cls;

	/* After this no on_ready can run, so the stream may go. */
	feed_unsubscribe(st->sub);
	if (st->owns_ctx && st->release)
		st->release(st->ctx);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static bool daemon_can_suspend(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_DAEMON);
	const union MHD_DaemonInfo *di;

	if (!ci || !ci->daemon)
		return false;
	di = MHD_get_daemon_info(ci->daemon, MHD_DAEMON_INFO_FLAGS);
	return di && (di->flags & MHD_ALLOW_SUSPEND_RESUME) == MHD_ALLOW_SUSPEND_RESUME;
}

/* A decimal id: digits only, no sign or spaces, below FEED_SINCE_NOW. */
static int parse_id(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return SG_EINVAL;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (*s < '0' || *s > '9' || v > (FEED_SINCE_NOW - 1 - d) / 10)
			return SG_EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return SG_OK;
}

int sse_last_event_id(struct MHD_Connection *conn, uint64_t *since)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");

	if (!v || !*v)
		v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "last_event_id");
	if (!v || !*v) {
		*since = FEED_SINCE_NOW;
		return SG_OK;
	}
	return parse_id(v, since);
}

int sse_respond(struct MHD_Connection *conn, const struct sse_config *cfg)
{
	struct sse_stream *st = NULL, *queued;
	struct MHD_Response *mr = NULL;
	size_t queue = cfg->max_queue_bytes ? cfg->max_queue_bytes : SSE_DEFAULT_QUEUE_BYTES;
	int rc;

	if (!conn || !cfg->feed)
		return SG_EINVAL;
	if (!daemon_can_suspend(conn)) {
		SG_LOG(SG_LOG_ERROR,
		       "msg=\"sse: the daemon was started without MHD_ALLOW_SUSPEND_RESUME\"");
		return SG_EINVAL;
	}
	if (!(st = calloc(1, sizeof *st)))
		return SG_ENOMEM;
	pthread_mutex_init(&st->lock, NULL);
	st->conn = conn;
	st->release = cfg->release;
	st->ctx = cfg->filter_ctx;
	st->expires_at = cfg->expires_at;
	if (cfg->retry_ms > 0)
		st->prelude_len = (size_t)snprintf(st->prelude, sizeof st->prelude, "retry: %u\n\n",
						   cfg->retry_ms);
	rc =
	    feed_subscribe(cfg->feed, cfg->filter, cfg->filter_ctx, cfg->since_id, queue, &st->sub);
	if (rc)
		goto fail;
	feed_sub_on_ready(st->sub, stream_ready, st);
	mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK_SIZE, stream_read, st,
					       stream_free);
	if (!mr) {
		rc = SG_ENOMEM;
		goto fail;
	}
	/* From here the response owns the stream: destroying it runs stream_free. */
	queued = st;
	st = NULL;
	if (MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream") !=
		MHD_YES ||
	    MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
	    MHD_add_response_header(mr, "X-Accel-Buffering", "no") != MHD_YES) {
		MHD_destroy_response(mr);
		return SG_ENOMEM;
	}
	if (MHD_queue_response(conn, MHD_HTTP_OK, mr) != MHD_YES) {
		MHD_destroy_response(mr);
		return SG_EIO;
	}
	/*
	 * The connection holds its own reference. Only now does the stream take
	 * filter_ctx, so that every failure above leaves it with the caller. The
	 * connection cannot finish while its access handler (our caller) runs,
	 * so the flag is set before stream_free can look at it.
	 */
	queued->owns_ctx = true;
	MHD_destroy_response(mr);
	return SG_OK;
fail:
	if (st) {
		feed_unsubscribe(st->sub);
		pthread_mutex_destroy(&st->lock);
		free(st);
	}
	return rc;
}
