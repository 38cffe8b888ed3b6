/*
 * console.c — serves the embedded console (see console.h). Responses are
 * queued straight to libmicrohttpd from the read-only blobs, without a copy.
 */
#include "http/console.h"

#include <microhttpd.h>
#include <string.h>

#include "base/err.h"

/*
 * Content-Security-Policy of every console file: scripts, styles and API
 * calls from this server only; images may also come from the optional map
 * tile server an operator configures (its host is not known here).
 */
#define CONSOLE_CSP                                                                      \
	"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "       \
	"img-src 'self' data: blob: http: https:; connect-src 'self'; frame-ancestors 'none'"

const struct console_asset *console_asset_find(const char *path)
{
	for (size_t i = 0; i < console_nassets; i++) {
		if (strcmp(console_assets[i].path, path) == 0)
			return &console_assets[i];
	}
	return NULL;
}

bool console_etag_matches(const char *header, const char *etag)
{
	size_t n = strlen(etag);
	const char *p = header;

	if (!header)
		return false;
	if (strcmp(header, "*") == 0)
		return true;
	while ((p = strstr(p, etag))) {
		bool start = p == header || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/';
		bool end = p[n] == '\0' || p[n] == ',' || p[n] == ' ';
		if (start && end)
			return true;
		p += n;
	}
	return false;
}

bool console_accepts_gzip(const char *header)
{
	const char *p = header ? strstr(header, "gzip") : NULL;

	if (!p)
		return false;
	p += 4;
	p += strspn(p, " ");
	if (*p != ';')
		return true;
	p++;
	p += strspn(p, " ");
	if (strncmp(p, "q=0", 3) != 0)
		return true;
	p += 3;
	if (*p == '.')
		p += 1 + strspn(p + 1, "0");
	return !(*p == '\0' || *p == ',' || *p == ' ');
}

int console_serve(void *app, struct http_req *req, struct http_resp *resp)
{
	const struct console_asset *a = console_asset_find(req->path);
	struct MHD_Response *mr;
	bool not_modified, gz;
	int status;

	if (!a)
		return http_error(resp, 404, "not_found", "no such resource", NULL);
	not_modified = console_etag_matches(http_header(req, "If-None-Match"), a->etag);
	gz = !not_modified && a->gz_data && console_accepts_gzip(http_header(req, "Accept-Encoding"));
	if (not_modified)
		mr = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	else if (gz)
		mr = MHD_create_response_from_buffer(*a->gz_len, (void *)a->gz_data,
						     MHD_RESPMEM_PERSISTENT);
	else
		mr = MHD_create_response_from_buffer(*a->len, (void *)a->data,
						     MHD_RESPMEM_PERSISTENT);
	if (!mr)
		return SG_ENOMEM;
	status = not_modified ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK;
	MHD_add_response_header(mr, "Content-Type", a->content_type);
	MHD_add_response_header(mr, "ETag", a->etag);
	MHD_add_response_header(mr, "Cache-Control", "no-cache");
	MHD_add_response_header(mr, "Vary", "Accept-Encoding");
	MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(mr, "Content-Security-Policy", CONSOLE_CSP);
	if (gz)
		MHD_add_response_header(mr, "Content-Encoding", "gzip");
	if (MHD_queue_response(req->conn, (unsigned)status, mr) != MHD_YES) {
		MHD_destroy_response(mr);
		return SG_EIO;
	}
	MHD_destroy_response(mr);
	resp->status = status;
	resp->queued = true;
	return SG_OK;
}
