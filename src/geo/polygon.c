/*
 * polygon.c — flat multipolygons: building, copying, measuring, testing
 * points, and the WKB and GeoJSON encodings.
 *
 * Pure computation on the representation described in polygon.h; no GEOS, no
 * I/O. The exact orientation predicate lives here because containment is
 * defined by it and geo/index.c must reproduce containment to the last bit.
 * Exports what geo/polygon.h declares.
 */
#include "geo/polygon.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* ------------------------------------------------------------------------ */
/* Building                                                                  */

void geo_mpoly_init(struct geo_mpoly *m)
{
	memset(m, 0, sizeof *m);
}

void geo_mpoly_release(struct geo_mpoly *m)
{
	free(m->pts);
	free(m->ring_off);
	free(m->poly_off);
	geo_mpoly_init(m);
}

/*
 * Grows *arr (elements of size elem, *alloc of them) to hold at least need.
 * Doubling keeps appends amortised O(1); the counts are uint32_t, so the
 * capacity is capped there and crossing it is SG_ETOOBIG.
 */
static int grow(void **arr, uint32_t *alloc, uint64_t need, size_t elem)
{
	if (need <= *alloc)
		return SG_OK;
	if (need > UINT32_MAX)
		return SG_ETOOBIG;
	uint64_t n = *alloc ? (uint64_t)*alloc * 2 : 8;
	if (n < need)
		n = need;
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	void *p = realloc(*arr, (size_t)n * elem);
	if (!p)
		return SG_ENOMEM;
	*arr = p;
	*alloc = (uint32_t)n;
	return SG_OK;
}

/* Appends the first point of the last ring when the ring is not closed yet. */
static int close_last_ring(struct geo_mpoly *m)
{
	if (m->nrings == 0)
		return SG_OK;
	uint32_t first = m->ring_off[m->nrings - 1];
	if (m->npts == first)
		return SG_OK; /* empty ring: geo_mpoly_finish reports it */
	struct geo_point a = m->pts[first], b = m->pts[m->npts - 1];
	if (a.lon == b.lon && a.lat == b.lat && m->npts - first > 1)
		return SG_OK;
	return geo_mpoly_add_point(m, a.lon, a.lat);
}

/*
 * The offset arrays always hold their closing entry (poly_off[npolys] ==
 * nrings, ring_off[nrings] == npts) once the first polygon is begun, so the
 * accessors work on a multipolygon that is still being built.
 */
int geo_mpoly_begin_polygon(struct geo_mpoly *m)
{
	int rc = close_last_ring(m);
	if (rc)
		return rc;
	/* poly_off needs npolys + 2 entries: the new start and the closing one. */
	rc = grow((void **)&m->poly_off, &m->polys_alloc, (uint64_t)m->npolys + 2,
		  sizeof *m->poly_off);
	if (rc)
		return rc;
	if (m->ring_off == NULL) {
		rc = grow((void **)&m->ring_off, &m->rings_alloc, 1, sizeof *m->ring_off);
		if (rc)
			return rc;
		m->ring_off[0] = 0;
	}
	m->poly_off[m->npolys] = m->nrings;
	m->npolys++;
	m->poly_off[m->npolys] = m->nrings;
	return SG_OK;
}

int geo_mpoly_begin_ring(struct geo_mpoly *m)
{
	if (m->npolys == 0)
		return SG_EINVAL;
	int rc = close_last_ring(m);
	if (rc)
		return rc;
	rc = grow((void **)&m->ring_off, &m->rings_alloc, (uint64_t)m->nrings + 2,
		  sizeof *m->ring_off);
	if (rc)
		return rc;
	m->ring_off[m->nrings] = m->npts;
	m->nrings++;
	m->ring_off[m->nrings] = m->npts;
	m->poly_off[m->npolys] = m->nrings;
	return SG_OK;
}

int geo_mpoly_add_point(struct geo_mpoly *m, double lon, double lat)
{
	/* A point must land in a ring of the current polygon. */
	if (m->npolys == 0 || m->nrings == 0 || m->poly_off[m->npolys - 1] == m->nrings)
		return SG_EINVAL;
	if (!isfinite(lon) || !isfinite(lat))
		return SG_EINVAL;
	int rc = grow((void **)&m->pts, &m->pts_alloc, (uint64_t)m->npts + 1, sizeof *m->pts);
	if (rc)
		return rc;
	m->pts[m->npts].lon = lon;
	m->pts[m->npts].lat = lat;
	m->npts++;
	m->ring_off[m->nrings] = m->npts;
	return SG_OK;
}

int geo_mpoly_finish(struct geo_mpoly *m)
{
	int rc = close_last_ring(m);
	if (rc)
		return rc;
	for (uint32_t p = 0; p < m->npolys; p++)
		if (m->poly_off[p + 1] == m->poly_off[p])
			return SG_EINVAL; /* a polygon without an exterior ring */
	for (uint32_t r = 0; r < m->nrings; r++)
		if (geo_mpoly_ring_len(m, r) < 4)
			return SG_EINVAL;
	return SG_OK;
}

int geo_mpoly_copy(struct geo_mpoly *dst, const struct geo_mpoly *src)
{
	struct geo_mpoly t;
	int rc = SG_ENOMEM;

	if (dst == src)
		return SG_OK;
	geo_mpoly_init(&t);
	if (src->npolys > 0) {
		t.pts = malloc((src->npts ? src->npts : 1) * sizeof *t.pts);
		t.ring_off = malloc(((size_t)src->nrings + 1) * sizeof *t.ring_off);
		t.poly_off = malloc(((size_t)src->npolys + 1) * sizeof *t.poly_off);
		if (!t.pts || !t.ring_off || !t.poly_off)
			goto out;
		if (src->npts)
			memcpy(t.pts, src->pts, src->npts * sizeof *t.pts);
		memcpy(t.ring_off, src->ring_off, ((size_t)src->nrings + 1) * sizeof *t.ring_off);
		memcpy(t.poly_off, src->poly_off, ((size_t)src->npolys + 1) * sizeof *t.poly_off);
		t.npts = t.pts_alloc = src->npts;
		t.nrings = src->nrings;
		t.rings_alloc = src->nrings + 1;
		t.npolys = src->npolys;
		t.polys_alloc = src->npolys + 1;
		if (t.pts_alloc == 0)
			t.pts_alloc = 1;
	}
	geo_mpoly_release(dst);
	*dst = t;
	geo_mpoly_init(&t);
	rc = SG_OK;
out:
	geo_mpoly_release(&t);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Measuring                                                                 */

struct geo_bbox geo_mpoly_bbox(const struct geo_mpoly *m)
{
	struct geo_bbox b = {INFINITY, INFINITY, -INFINITY, -INFINITY};
	for (uint32_t i = 0; i < m->npts; i++) {
		struct geo_point p = m->pts[i];
		if (p.lon < b.min_lon)
			b.min_lon = p.lon;
		if (p.lon > b.max_lon)
			b.max_lon = p.lon;
		if (p.lat < b.min_lat)
			b.min_lat = p.lat;
		if (p.lat > b.max_lat)
			b.max_lat = p.lat;
	}
	return b;
}

/* WGS-84: semi-major axis, and e^2 = f (2 - f) with f = 1/298.257223563. */
#define WGS84_A	 6378137.0
#define WGS84_E2 0.0066943799901413165

/* q(phi) of the authalic latitude, from sin(phi): Snyder (1987), eq. 3-12. */
static double authalic_q(double s)
{
	double e = sqrt(WGS84_E2);
	return (1.0 - WGS84_E2) * (s / (1.0 - WGS84_E2 * s * s) + atanh(e * s) / e);
}

/*
 * tan(beta / 2) for the authalic latitude beta of geodetic latitude lat:
 * sin(beta) = q(lat) / q(90 deg). Taking asin of that ratio would lose half
 * the digits near the poles (asin is ill-conditioned at 1), so cos(beta) is
 * built from 1 - |sin(beta)| = (q(90) - q(|lat|)) / q(90), rewritten without
 * the cancellation: with s = |sin(lat)| and u = 1 - s,
 * q(90) - q = u (1 + e2 s) / (1 - e2 s^2) + (1 - e2) / e * atanh(e u / (1 - e2 s)).
 * Then tan(beta/2) = sin(beta) / (1 + cos(beta)), exact in form everywhere.
 */
static double authalic_half_tan(double lat_deg, double qp)
{
	double e = sqrt(WGS84_E2);
	double phi = lat_deg * (M_PI / 180.0);
	double s = fabs(sin(phi));
	double h = sin(M_PI / 4.0 - fabs(phi) / 2.0);
	double u = 2.0 * h * h; /* 1 - s, without cancellation near the poles */
	double d = (u * (1.0 + WGS84_E2 * s) / (1.0 - WGS84_E2 * s * s) +
		    (1.0 - WGS84_E2) / e * atanh(e * u / (1.0 - WGS84_E2 * s))) /
		   qp;
	if (d < 0.0)
		d = 0.0;
	double sin_beta = authalic_q(sin(phi)) / qp;
	double cos_beta = sqrt(d * (2.0 - d));
	return sin_beta / (1.0 + cos_beta);
}

/*
 * Signed area of one ring on the unit sphere, in steradians. Each edge adds
 * the signed excess of the quadrilateral it spans with the equator,
 * tan(E/2) = tan(dlon/2) (t1 + t2) / (1 + t1 t2) with t = tan(lat/2): exact
 * for great-circle edges, and a sum that telescopes to the ring's area.
 */
static double ring_excess(const struct geo_point *pts, uint32_t n, double qp)
{
	double sum = 0.0;
	double t1 = authalic_half_tan(pts[0].lat, qp);
	for (uint32_t i = 0; i + 1 < n; i++) {
		double t2 = authalic_half_tan(pts[i + 1].lat, qp);
		double dlon = (pts[i + 1].lon - pts[i].lon) * (M_PI / 180.0);
		sum += 2.0 * atan2(tan(dlon / 2.0) * (t1 + t2), 1.0 + t1 * t2);
		t1 = t2;
	}
	return sum;
}

double geo_mpoly_area_m2(const struct geo_mpoly *m)
{
	double e = sqrt(WGS84_E2);
	double qp = 1.0 - (1.0 - WGS84_E2) / (2.0 * e) * log((1.0 - e) / (1.0 + e));
	/* The authalic radius: the sphere with the ellipsoid's surface area. */
	double rq = WGS84_A * sqrt(qp / 2.0);
	double total = 0.0;

	for (uint32_t p = 0; p < m->npolys; p++) {
		for (uint32_t r = m->poly_off[p]; r < m->poly_off[p + 1]; r++) {
			double a = fabs(
			    ring_excess(m->pts + m->ring_off[r], geo_mpoly_ring_len(m, r), qp));
			total += r == m->poly_off[p] ? a : -a;
		}
	}
	return total * rq * rq;
}

/* ------------------------------------------------------------------------ */
/* The exact orientation predicate                                           */

/*
 * Shewchuk's error-free transformations (Shewchuk 1997, "Adaptive Precision
 * Floating-Point Arithmetic and Fast Robust Geometric Predicates"): a + b and
 * a * b as an unevaluated sum of two doubles. The product uses fma(), exact
 * in hardware and in glibc's software fallback alike.
 */
static void two_sum(double a, double b, double *x, double *y)
{
	double s = a + b;
	double bv = s - a;
	double av = s - bv;
	*x = s;
	*y = (a - av) + (b - bv);
}

static void two_diff(double a, double b, double *x, double *y)
{
	double d = a - b;
	double bv = a - d;
	double av = d + bv;
	*x = d;
	*y = (a - av) + (bv - b);
}

static void two_product(double a, double b, double *x, double *y)
{
	double p = a * b;
	*x = p;
	*y = fma(a, b, -p);
}

/*
 * Adds b to the nonoverlapping expansion e[0..n) (smallest first), exactly;
 * the result has n + 1 components and stays nonoverlapping, so its sign is
 * the sign of its largest nonzero component.
 */
static unsigned grow_expansion(double *e, unsigned n, double b)
{
	double q = b;
	for (unsigned i = 0; i < n; i++) {
		double s, t;
		two_sum(q, e[i], &s, &t);
		e[i] = t;
		q = s;
	}
	e[n] = q;
	return n + 1;
}

/* The exact sign of (ax-cx)(by-cy) - (ay-cy)(bx-cx), for when the filter cannot tell. */
static int orient2d_exact(struct geo_point a, struct geo_point b, struct geo_point c)
{
	double acx[2], bcy[2], acy[2], bcx[2];
	double e[32];
	unsigned n = 0;

	two_diff(a.lon, c.lon, &acx[1], &acx[0]);
	two_diff(b.lat, c.lat, &bcy[1], &bcy[0]);
	two_diff(a.lat, c.lat, &acy[1], &acy[0]);
	two_diff(b.lon, c.lon, &bcx[1], &bcx[0]);
	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < 2; j++) {
			double x, y;
			two_product(acx[i], bcy[j], &x, &y);
			n = grow_expansion(e, n, y);
			n = grow_expansion(e, n, x);
			two_product(acy[i], bcx[j], &x, &y);
			n = grow_expansion(e, n, -y);
			n = grow_expansion(e, n, -x);
		}
	}
	for (unsigned i = n; i-- > 0;) {
		if (e[i] > 0.0)
			return 1;
		if (e[i] < 0.0)
			return -1;
	}
	return 0;
}

/*
 * Shewchuk's filter: the rounded determinant is off by at most
 * (3 + 16 eps) eps (|left| + |right|), eps = 2^-53, so beyond that bound its
 * sign is certain (with or without fused multiply-add contraction, which
 * only removes roundings). Exact unless intermediate products underflow,
 * which needs coordinates differing by less than about 1e-150.
 */
int geo_orient2d_sign(struct geo_point a, struct geo_point b, struct geo_point c)
{
	double left = (a.lon - c.lon) * (b.lat - c.lat);
	double right = (a.lat - c.lat) * (b.lon - c.lon);
	double det = left - right;
	double bound =
	    (3.0 + 16.0 * (DBL_EPSILON / 2)) * (DBL_EPSILON / 2) * (fabs(left) + fabs(right));
	if (det > bound)
		return 1;
	if (-det > bound)
		return -1;
	return orient2d_exact(a, b, c);
}

/* ------------------------------------------------------------------------ */
/* Containment                                                               */

bool geo_mpoly_contains(const struct geo_mpoly *m, struct geo_point p)
{
	bool inside = false;
	for (uint32_t r = 0; r < m->nrings; r++) {
		const struct geo_point *v = m->pts + m->ring_off[r];
		uint32_t n = geo_mpoly_ring_len(m, r);
		for (uint32_t i = 0; i + 1 < n; i++) {
			struct geo_point a = v[i], b = v[i + 1];
			/* Half-open in latitude: exactly one endpoint at or below p. */
			if ((a.lat <= p.lat) == (b.lat <= p.lat))
				continue;
			/* Orient the edge upwards so "left of it" means "west of it". */
			int s =
			    a.lat < b.lat ? geo_orient2d_sign(a, b, p) : geo_orient2d_sign(b, a, p);
			if (s > 0)
				inside = !inside;
		}
	}
	return inside;
}

/* ------------------------------------------------------------------------ */
/* WKB                                                                       */

enum { WKB_POLYGON = 3, WKB_MULTIPOLYGON = 6 };

static int put_u32le(struct sg_buf *out, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 24)};
	return sg_buf_append(out, b, 4);
}

static int put_f64le(struct sg_buf *out, double d)
{
	uint64_t v;
	unsigned char b[8];
	memcpy(&v, &d, 8);
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	return sg_buf_append(out, b, 8);
}

/*
 * Always a MultiPolygon, even for one polygon, so a stored geometry has one
 * type whatever its shape. On failure out may hold part of the encoding
 * (sg_buf keeps what was appended before the failing append).
 */
int geo_mpoly_to_wkb(const struct geo_mpoly *m, struct sg_buf *out)
{
	static const unsigned char le = 1;
	int rc = sg_buf_append(out, &le, 1);
	if (!rc)
		rc = put_u32le(out, WKB_MULTIPOLYGON);
	if (!rc)
		rc = put_u32le(out, m->npolys);
	for (uint32_t p = 0; !rc && p < m->npolys; p++) {
		rc = sg_buf_append(out, &le, 1);
		if (!rc)
			rc = put_u32le(out, WKB_POLYGON);
		if (!rc)
			rc = put_u32le(out, m->poly_off[p + 1] - m->poly_off[p]);
		for (uint32_t r = m->poly_off[p]; !rc && r < m->poly_off[p + 1]; r++) {
			rc = put_u32le(out, geo_mpoly_ring_len(m, r));
			for (uint32_t i = m->ring_off[r]; !rc && i < m->ring_off[r + 1]; i++) {
				rc = put_f64le(out, m->pts[i].lon);
				if (!rc)
					rc = put_f64le(out, m->pts[i].lat);
			}
		}
	}
	return rc;
}

/* A bounds-checked reader over untrusted bytes; every get fails past the end. */
struct wkb_reader {
	const unsigned char *p;
	size_t left;
};

static int get_u8(struct wkb_reader *r, unsigned *v)
{
	if (r->left < 1)
		return SG_EINVAL;
	*v = r->p[0];
	r->p++;
	r->left--;
	return SG_OK;
}

static int get_u32(struct wkb_reader *r, bool little, uint32_t *v)
{
	if (r->left < 4)
		return SG_EINVAL;
	const unsigned char *b = r->p;
	*v = little ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
			  (uint32_t)b[3] << 24
		    : (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 |
			  (uint32_t)b[0] << 24;
	r->p += 4;
	r->left -= 4;
	return SG_OK;
}

static int get_f64(struct wkb_reader *r, bool little, double *d)
{
	if (r->left < 8)
		return SG_EINVAL;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)r->p[little ? i : 7 - i] << (8 * i);
	memcpy(d, &v, 8);
	r->p += 8;
	r->left -= 8;
	return SG_OK;
}

/* Reads a byte-order mark and a geometry type; refuses anything but want (no Z, M or SRID). */
static int get_header(struct wkb_reader *r, bool *little, uint32_t *type)
{
	unsigned bo;
	int rc = get_u8(r, &bo);
	if (rc)
		return rc;
	if (bo > 1)
		return SG_EINVAL;
	*little = bo == 1;
	return get_u32(r, *little, type);
}

/*
 * One Polygon body (after its header). Counts come from the input, so each is
 * checked against what is left before anything is allocated: a ring needs at
 * least its 4-byte count, a point 16 bytes. Rings must be closed and hold 4+
 * finite points, as OGC requires; an empty polygon adds nothing.
 */
static int read_polygon(struct wkb_reader *r, bool little, struct geo_mpoly *out)
{
	uint32_t nrings;
	int rc = get_u32(r, little, &nrings);
	if (rc)
		return rc;
	if (nrings > r->left / 4)
		return SG_EINVAL;
	if (nrings == 0)
		return SG_OK;
	rc = geo_mpoly_begin_polygon(out);
	for (uint32_t i = 0; !rc && i < nrings; i++) {
		uint32_t npts;
		rc = get_u32(r, little, &npts);
		if (rc)
			break;
		if (npts < 4 || npts > r->left / 16)
			return SG_EINVAL;
		rc = geo_mpoly_begin_ring(out);
		double x0 = 0, y0 = 0, x = 0, y = 0;
		for (uint32_t k = 0; !rc && k < npts; k++) {
			rc = get_f64(r, little, &x);
			if (!rc)
				rc = get_f64(r, little, &y);
			if (!rc && (!isfinite(x) || !isfinite(y)))
				rc = SG_EINVAL;
			if (!rc)
				rc = geo_mpoly_add_point(out, x, y);
			if (k == 0) {
				x0 = x;
				y0 = y;
			}
		}
		if (!rc && (x != x0 || y != y0))
			rc = SG_EINVAL;
	}
	return rc;
}

int geo_mpoly_from_wkb(const void *data, size_t len, struct geo_mpoly *out)
{
	struct wkb_reader r = {data, len};
	struct geo_mpoly t;
	bool little;
	uint32_t type;
	int rc;

	geo_mpoly_init(&t);
	if (data == NULL) {
		rc = SG_EINVAL;
		goto out;
	}
	rc = get_header(&r, &little, &type);
	if (rc)
		goto out;
	if (type == WKB_POLYGON) {
		rc = read_polygon(&r, little, &t);
	} else if (type == WKB_MULTIPOLYGON) {
		uint32_t n;
		rc = get_u32(&r, little, &n);
		/* Each member is at least a header and a ring count: 9 bytes. */
		if (!rc && n > r.left / 9)
			rc = SG_EINVAL;
		for (uint32_t i = 0; !rc && i < n; i++) {
			bool member_little;
			uint32_t member_type;
			rc = get_header(&r, &member_little, &member_type);
			if (!rc && member_type != WKB_POLYGON)
				rc = SG_EINVAL;
			if (!rc)
				rc = read_polygon(&r, member_little, &t);
		}
	} else {
		rc = SG_EINVAL;
	}
	if (!rc && r.left != 0)
		rc = SG_EINVAL; /* trailing bytes: not the geometry we were promised */
	if (!rc && t.npolys > 0)
		rc = geo_mpoly_finish(&t);
	/* Whatever the builder objected to, the bytes were at fault. */
	if (rc && rc != SG_ENOMEM)
		rc = SG_EINVAL;
out:
	geo_mpoly_release(out);
	if (rc == SG_OK)
		*out = t;
	else
		geo_mpoly_release(&t);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* GeoJSON                                                                   */

/* Twice the signed planar area in degrees: positive for counter-clockwise. */
static double ring_signed_area2(const struct geo_point *v, uint32_t n)
{
	double s = 0.0;
	for (uint32_t i = 0; i + 1 < n; i++)
		s += (v[i].lon - v[0].lon) * (v[i + 1].lat - v[0].lat) -
		     (v[i + 1].lon - v[0].lon) * (v[i].lat - v[0].lat);
	return s;
}

/*
 * Appends d with exactly `digits` decimals. %f never uses an exponent; a value
 * that rounds to zero from below would print as "-0.00", which is dropped to
 * "0.00" so equal coordinates always print alike.
 */
static int put_number(struct sg_buf *out, double d, int digits)
{
	char tmp[352]; /* %.15f of the largest double: 309 digits, point, 15 decimals */
	int n = snprintf(tmp, sizeof tmp, "%.*f", digits, d);
	if (n < 0 || (size_t)n >= sizeof tmp)
		return SG_EINTERNAL;
	const char *s = tmp;
	if (s[0] == '-' && strspn(s + 1, "0.") == (size_t)n - 1)
		s++;
	return sg_buf_puts(out, s);
}

static int put_ring(struct sg_buf *out, const struct geo_point *v, uint32_t n, bool want_ccw,
		    int digits)
{
	double a2 = ring_signed_area2(v, n);
	/* A degenerate ring (zero area) has no winding to fix. */
	bool reverse = want_ccw ? a2 < 0.0 : a2 > 0.0;
	int rc = sg_buf_putc(out, '[');
	for (uint32_t k = 0; !rc && k < n; k++) {
		struct geo_point p = v[reverse ? n - 1 - k : k];
		if (k)
			rc = sg_buf_putc(out, ',');
		if (!rc)
			rc = sg_buf_putc(out, '[');
		if (!rc)
			rc = put_number(out, p.lon, digits);
		if (!rc)
			rc = sg_buf_putc(out, ',');
		if (!rc)
			rc = put_number(out, p.lat, digits);
		if (!rc)
			rc = sg_buf_putc(out, ']');
	}
	if (!rc)
		rc = sg_buf_putc(out, ']');
	return rc;
}

static int put_polygon(struct sg_buf *out, const struct geo_mpoly *m, uint32_t p, int digits)
{
	int rc = sg_buf_putc(out, '[');
	for (uint32_t r = m->poly_off[p]; !rc && r < m->poly_off[p + 1]; r++) {
		if (r != m->poly_off[p])
			rc = sg_buf_putc(out, ',');
		if (!rc)
			rc = put_ring(out, m->pts + m->ring_off[r], geo_mpoly_ring_len(m, r),
				      r == m->poly_off[p], digits);
	}
	if (!rc)
		rc = sg_buf_putc(out, ']');
	return rc;
}

/*
 * digits must be 0..15 (beyond 15 decimals a double's digits are noise) and
 * every coordinate finite: SG_EINVAL otherwise, with nothing appended. An
 * empty multipolygon is {"type":"MultiPolygon","coordinates":[]}. On a
 * failed append out keeps what was appended before it.
 */
int geo_mpoly_to_geojson(const struct geo_mpoly *m, int digits, struct sg_buf *out)
{
	if (digits < 0 || digits > 15)
		return SG_EINVAL;
	for (uint32_t i = 0; i < m->npts; i++)
		if (!isfinite(m->pts[i].lon) || !isfinite(m->pts[i].lat))
			return SG_EINVAL;
	bool single = m->npolys == 1;
	int rc = sg_buf_puts(out, single ? "{\"type\":\"Polygon\",\"coordinates\":"
					 : "{\"type\":\"MultiPolygon\",\"coordinates\":");
	if (rc)
		return rc;
	if (single) {
		rc = put_polygon(out, m, 0, digits);
		return rc ? rc : sg_buf_putc(out, '}');
	}
	rc = sg_buf_putc(out, '[');
	for (uint32_t p = 0; !rc && p < m->npolys; p++) {
		if (p)
			rc = sg_buf_putc(out, ',');
		if (!rc)
			rc = put_polygon(out, m, p, digits);
	}
	return rc ? rc : sg_buf_puts(out, "]}");
}
