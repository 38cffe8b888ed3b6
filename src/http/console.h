/*
 * console.h — the command-centre console's files, embedded in the binary.
 *
 * The table is generated at build time (tools/embed-web.sh) from web/ and
 * the vendor files npm installs; nothing is read from disk at run time, so
 * the binary alone serves its console and a request can only ever name one
 * of these files (no paths are resolved, hence no traversal).
 */
#ifndef SAFEGRID_HTTP_CONSOLE_H
#define SAFEGRID_HTTP_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>

#include "http/server.h"

struct console_asset {
	const char *path;         /* "/" or "/assets/app.js" */
	const char *content_type; /* with charset for text */
	const char *etag;         /* quoted strong tag: "\"1a2b...\"" */
	const char *data;
	const size_t *len;
	const char *gz_data;      /* gzip copy, or NULL (images) */
	const size_t *gz_len;
};

extern const struct console_asset console_assets[];
extern const size_t console_nassets;

/* Whether an If-None-Match header value (may be NULL) names etag, or is "*". */
bool console_etag_matches(const char *if_none_match, const char *etag);
/* Whether an Accept-Encoding value (may be NULL) accepts gzip (listed, not with q=0). */
bool console_accepts_gzip(const char *accept_encoding);

/* The asset served at path, or NULL. */
const struct console_asset *console_asset_find(const char *path);

/*
 * GET handler for "/" and "/assets/...": the asset with its content type,
 * ETag (304 on a matching If-None-Match) and Cache-Control: no-cache (a
 * browser revalidates, so a new binary's console is picked up at once),
 * gzip-encoded when the client accepts it. 404 JSON for unknown paths.
 */
int console_serve(void *app, struct http_req *req, struct http_resp *resp);

#endif
