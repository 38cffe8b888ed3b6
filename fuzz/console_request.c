/*
 * console_request.c — libFuzzer target: the request values the console's
 * handlers parse — If-None-Match and Accept-Encoding (http/console.h) and
 * ?bbox= and ?simplify= of the areas list (http/query.h).
 *
 * The input is split at its first three newlines into the four values.
 * Besides crashes and sanitizer reports, it aborts when a parse that
 * succeeded breaks its promises: a bbox that is finite, within WGS-84 and
 * ordered; a decimal within its bounds; an asset's own ETag always matching.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "http/console.h"
#include "http/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *part[4] = { NULL, NULL, NULL, NULL };
	struct geo_bbox b;
	double d;
	size_t n = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	part[n++] = buf;
	for (char *p = buf; *p && n < 4; p++) {
		if (*p == '\n') {
			*p = '\0';
			part[n++] = p + 1;
		}
	}
	for (size_t i = 0; i < console_nassets; i++) {
		console_etag_matches(part[0], console_assets[i].etag);
		if (!console_etag_matches(console_assets[i].etag, console_assets[i].etag))
			abort();
	}
	console_accepts_gzip(part[1]);
	if (query_bbox_parse(part[2], &b) == SG_OK &&
	    !(isfinite(b.min_lon) && isfinite(b.max_lat) && b.min_lon >= -180 && b.max_lon <= 180 &&
	      b.min_lat >= -90 && b.max_lat <= 90 && b.min_lon <= b.max_lon && b.min_lat <= b.max_lat))
		abort();
	if (query_decimal_parse(part[3], 0, 1000, &d) == SG_OK && !(d >= 0 && d <= 1000))
		abort();
	free(buf);
	return 0;
}
