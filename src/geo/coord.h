/*
 * coord.h — WGS-84, GCJ-02 and BD-09 coordinates.
 *
 * GCJ-02 is the obfuscated datum Chinese map providers (Amap, Tencent) publish
 * in; BD-09 is Baidu's further offset of GCJ-02. The forward formulas are the
 * published ones (Krasovsky ellipsoid, a = 6378245, ee = 0.00669342162296594323);
 * the inverse of GCJ-02 is iterated until it reproduces the input to under
 * 1 cm. Outside mainland China GCJ-02 equals WGS-84 (the providers do not
 * shift there) and so do these functions.
 */
#ifndef SAFEGRID_GEO_COORD_H
#define SAFEGRID_GEO_COORD_H

#include <stdbool.h>

struct geo_point {
	double lon, lat; /* degrees */
};

enum geo_crs { GEO_CRS_WGS84, GEO_CRS_GCJ02, GEO_CRS_BD09 };

/* "wgs84" / "gcj02" / "bd09" (case-insensitive). SG_EINVAL otherwise (NULL too), *out untouched. */
int geo_crs_parse(const char *s, enum geo_crs *out);
/* The lowercase name; "unknown" for a value outside the enum. Never NULL. */
const char *geo_crs_name(enum geo_crs crs);

/* The providers' rectangle: outside lon 72.004..137.8347, lat 0.8293..55.8271 (edges inside). */
bool geo_out_of_china(struct geo_point p);
struct geo_point geo_wgs84_to_gcj02(struct geo_point p);
/* Iterated until the forward transform reproduces p to 1e-9 degrees (about 0.1 mm). */
struct geo_point geo_gcj02_to_wgs84(struct geo_point p);
struct geo_point geo_gcj02_to_bd09(struct geo_point p);
/* The published one-step inverse (off by up to ~14 cm), refined like geo_gcj02_to_wgs84. */
struct geo_point geo_bd09_to_gcj02(struct geo_point p);
/* Through GCJ-02; the identity when from == to. */
struct geo_point geo_crs_convert(enum geo_crs from, enum geo_crs to, struct geo_point p);

/* Great-circle distance in metres (haversine, mean Earth radius 6371008.8 m). */
double geo_distance_m(struct geo_point a, struct geo_point b);

#endif
