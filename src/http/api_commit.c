/*
 * api_commit.c — answering a write after its commit without holding an HTTP
 * worker: the scaffolding every deferred write handler shares (see
 * api_commit_start in api.h and http_defer in server.h).
 */
#include "http/api.h"

#include <stdlib.h>

#include "base/err.h"

void api_commit_free(void *arg)
{
	struct api_commit *w = arg;

	if (!w)
		return;
	if (w->release)
		w->release(w);
	json_decref(w->body);
	free(w);
}

/* On the store's core thread: the command's batch is durable (or failed). Kept short. */
void api_commit_done(void *arg, int rc)
{
	struct api_commit *w = arg;

	w->rc = rc;
	http_defer_done(w->d);
}

int api_commit_start(struct app *app, struct http_req *req, struct api_commit *w,
		     int (*submit)(struct app *app, struct api_commit *w))
{
	int rc;

	if (!(w->d = http_defer(req, w, api_commit_free))) {
		api_commit_free(w);
		return SG_ENOMEM;
	}
	/* From here the deferral owns w (and the session its command's actor borrows). */
	if ((rc = submit(app, w)))
		api_commit_done(w, rc); /* nothing queued: the second call answers the error */
	return SG_OK;
}
