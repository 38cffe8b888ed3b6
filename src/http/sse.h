/*
 * sse.h — Server-Sent Events over libmicrohttpd: a streaming response that
 * reads from a feed subscription (src/pipeline/feed.h).
 *
 * How an idle stream waits. With an internal polling thread, a content
 * reader that returns 0 bytes leaves the connection in libmicrohttpd's ready
 * list and makes it poll again at once: a busy loop. So when the
 * subscription has nothing to read, the reader suspends the connection
 * (MHD_suspend_connection, allowed from a content reader) and returns 0; the
 * subscription's on_ready callback resumes it (MHD_resume_connection, safe
 * from any thread) when an event, a heartbeat, a drop or the feed's closing
 * makes something readable. A suspended stream holds no worker thread and
 * costs no CPU. A small lock per stream orders the two, so that a resume is
 * never issued before its suspend (undefined in libmicrohttpd). The resume is
 * paid by the publishing thread once per wake-up, not per event: a few
 * microseconds per suspended stream.
 *
 * What the server must do:
 *  - start the daemon with MHD_ALLOW_SUSPEND_RESUME (sse_respond refuses
 *    with SG_EINVAL otherwise rather than let libmicrohttpd abort);
 *  - keep the feed's heartbeat shorter than MHD_OPTION_CONNECTION_TIMEOUT:
 *    a suspended connection does not notice a vanished client, the heartbeat
 *    resumes it and the failed write closes it;
 *  - at shutdown call feed_close before MHD_stop_daemon (libmicrohttpd
 *    aborts when stopped with suspended connections; feed_close resumes and
 *    ends every stream), and feed_free after it (ending streams unsubscribe).
 *
 * A stream's bytes: an optional "retry: N\n\n" first, then the feed's
 * events, heartbeats and resync; it ends (chunked terminator) when the feed
 * drops or closes the subscription, or on a write error.
 */
#ifndef SAFEGRID_HTTP_SSE_H
#define SAFEGRID_HTTP_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/feed.h"

struct MHD_Connection;

/* Unread bytes a stream may owe its client before it is dropped (resync). */
#define SSE_DEFAULT_QUEUE_BYTES ((size_t)1 << 20)
/* libmicrohttpd's block size for the content reader. */
#define SSE_BLOCK_SIZE 4096

struct sse_config {
	struct feed *feed;		   /* borrowed; outlives the stream (see above) */
	feed_filter_fn filter;		   /* NULL: every event */
	void *filter_ctx;		   /* owned by the stream on success (see release) */
	void (*release)(void *filter_ctx); /* called once when the stream ends; may be NULL */
	uint64_t since_id;		   /* FEED_SINCE_NOW or what sse_last_event_id found */
	size_t max_queue_bytes;		   /* 0: SSE_DEFAULT_QUEUE_BYTES */
	unsigned retry_ms; /* > 0: sent first as "retry:", the client's reconnect delay */
	/*
	 * > 0: Unix time (seconds) at which the stream ends, e.g. its token's
	 * expiry, so that the client reconnects and authenticates again. Checked
	 * on every wake-up, so within one heartbeat.
	 */
	int64_t expires_at;
};

/*
 * The id a reconnecting client last received: the Last-Event-ID header, or
 * else the last_event_id query argument (a page that reloads cannot set the
 * header). Neither present (or empty): FEED_SINCE_NOW. SG_EINVAL when the
 * value is not a decimal id below FEED_SINCE_NOW (*since untouched).
 */
int sse_last_event_id(struct MHD_Connection *conn, uint64_t *since);

/*
 * Subscribes to cfg->feed and queues a 200 text/event-stream response on
 * conn (Cache-Control: no-store, X-Accel-Buffering: no). Call it from the
 * access handler, as MHD_queue_response. On success the stream owns
 * cfg->filter_ctx and calls cfg->release on it when it ends; on failure the
 * caller still owns it. Fails with SG_EINVAL (bad config, or a daemon without
 * MHD_ALLOW_SUSPEND_RESUME), SG_ECLOSED (feed closed: answer 503),
 * SG_ETOOBIG (subscriber limit: answer 503), SG_ENOMEM, SG_EIO
 * (libmicrohttpd refused the response).
 */
int sse_respond(struct MHD_Connection *conn, const struct sse_config *cfg);

#endif
