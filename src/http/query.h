/*
 * query.h — parsers for query-string values shared by the handlers.
 *
 * Pure functions over NUL-terminated strings from outside: they validate,
 * never assert, and leave their output untouched on failure.
 */
#ifndef SAFEGRID_HTTP_QUERY_H
#define SAFEGRID_HTTP_QUERY_H

#include "geo/polygon.h"

/*
 * Parses "min_lon,min_lat,max_lon,max_lat" (four plain decimals, no spaces).
 * SG_EINVAL if the text is not that; SG_ETOOBIG if a value lies outside
 * -180..180 / -90..90 or a minimum exceeds its maximum.
 */
int query_bbox_parse(const char *s, struct geo_bbox *out);

/*
 * Parses a plain finite decimal (digits, sign, point, exponent) in [lo, hi].
 * SG_EINVAL otherwise.
 */
int query_decimal_parse(const char *s, double lo, double hi, double *out);

#endif
