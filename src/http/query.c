/* query.c — query-string value parsers (see query.h). */
#include "http/query.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* One decimal ending at a given terminator; *end set past it. */
static int one_decimal(const char *p, char term, double *out, const char **end)
{
	char *e;
	size_t n = strcspn(p, term ? (const char[]){ term, 0 } : "");
	double d;

	if (n == 0 || strspn(p, "+-.0123456789eE") < n)
		return SG_EINVAL;
	errno = 0;
	d = strtod(p, &e);
	if (errno || e != p + n || !isfinite(d) || *e != term)
		return SG_EINVAL;
	*out = d;
	*end = term ? e + 1 : e;
	return SG_OK;
}

int query_bbox_parse(const char *s, struct geo_bbox *out)
{
	double d[4];
	const char *p = s;

	if (!s)
		return SG_EINVAL;
	for (int i = 0; i < 4; i++) {
		if (one_decimal(p, i < 3 ? ',' : '\0', &d[i], &p))
			return SG_EINVAL;
	}
	if (d[0] < -180 || d[2] > 180 || d[1] < -90 || d[3] > 90 || d[0] > d[2] || d[1] > d[3])
		return SG_ETOOBIG;
	*out = (struct geo_bbox){ d[0], d[1], d[2], d[3] };
	return SG_OK;
}

int query_decimal_parse(const char *s, double lo, double hi, double *out)
{
	double d;
	const char *end;

	if (!s || one_decimal(s, '\0', &d, &end) || d < lo || d > hi)
		return SG_EINVAL;
	*out = d;
	return SG_OK;
}
