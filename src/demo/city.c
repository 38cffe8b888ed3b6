/*
 * city.c — builds the demo city: Suzhou's real districts and division codes,
 * with synthetic boundaries below the district level (docs/DEMO.md).
 *
 * The inputs are the two embedded files (demo/city_internal.h). The 9
 * district polygons are repaired with GEOS (several rings touch themselves),
 * put on a grid of 1e-10°, and noded together with the meridian that cuts
 * 苏州工业园区 out of 姑苏区's polygon; the faces of that linework are handed
 * back to their counties (the few gaps between districts to a neighbour), so
 * the 10 counties share every boundary vertex and the city is their union.
 * Every finer layer is drawn the same way: seed points inside the parent,
 * their Voronoi cells, each densified and clipped to the parent by a GEOS
 * intersection on the same grid. The cells tile the parent, and rounding
 * every computed vertex to one grid gives neighbours bit-identical shared
 * vertices, which the index's boundary rule (geo/index.h) relies on to put a
 * point on a shared edge in exactly one area.
 *
 * Determinism: one PRNG (xoshiro256**) per layer and parent, seeded from the
 * caller's seed with splitmix64, so a seed always yields the same city and a
 * change in one layer does not reshuffle the others; GEOS gives equal output
 * for equal input (tests/unit/demo/test_city.c checks both).
 *
 * Exports demo_city_build only. Safe to run in several threads at once: it
 * uses its own GEOS context and no global state.
 */
#include "demo/city.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "demo/city_internal.h"
#include "geo/geojson.h"
#include "geo/geos_bridge.h"

/*
 * Every computed coordinate is rounded to this grid (about 0.01 mm), so that
 * two GEOS operations computing the same crossing point agree to the bit.
 * Fine enough that the rounding moves no area by more than 1e-7 of itself.
 */
#define DEMO_GRID_DEG 1e-10

#define DEMO_GUSU_CODE "320508"
#define DEMO_PARK_CODE "320576"
/* 姑苏区's official area; the west part of the source polygon keeps this much. */
#define DEMO_GUSU_KM2 83.4

#define DEMO_STATIONS 100
#define DEMO_POLICE_GRIDS 1900
#define DEMO_MIN_GRIDS_PER_STATION 4

/* Governance grids per community: uniform in [lo, hi] by kind of community. */
#define DEMO_GRIDS_SHEQU_LO 5 /* 社区居委会: urban, dense */
#define DEMO_GRIDS_SHEQU_HI 9
#define DEMO_GRIDS_CUN_LO 2   /* 村委会: rural */
#define DEMO_GRIDS_CUN_HI 4
#define DEMO_GRIDS_OTHER_LO 1 /* 类似居委会/村委会 */
#define DEMO_GRIDS_OTHER_HI 3

/* Longest edge of a drawn area, in degrees (about 100 m); see densified_ring. */
#define DEMO_DENSIFY_DEG 0.001

/* How often a layer is redrawn with fresh points before giving up. */
#define DEMO_MAX_REDRAWS 8

/* Reports progress about this often (in areas). */
#define DEMO_PROGRESS_STEP 500

/* ---------------------------------------------------------------- PRNG */

/*
 * xoshiro256** seeded through splitmix64: small, fast, and the same on every
 * platform, which rand() is not.
 */
struct rng {
	uint64_t s[4];
};

enum rng_stream {
	STREAM_STREETS = 1,
	STREAM_COMMUNITIES,
	STREAM_GRID_COUNTS,
	STREAM_GOV_GRIDS,
	STREAM_STATIONS,
	STREAM_POLICE_GRIDS,
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* A generator for (seed, stream, parent, attempt); distinct tuples give unrelated sequences. */
static void rng_init(struct rng *r, uint64_t seed, enum rng_stream stream, uint64_t parent,
		     unsigned attempt)
{
	uint64_t x = seed;

	x = splitmix64(&x) ^ ((uint64_t)stream << 56) ^ ((uint64_t)attempt << 48) ^ parent;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Uniform in [0, 1). */
static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [lo, hi]; the modulo bias is irrelevant for ranges this small. */
static unsigned rng_range(struct rng *r, unsigned lo, unsigned hi)
{
	return lo + (unsigned)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* Standard normal (Box–Muller, one of the pair). */
static double rng_gauss(struct rng *r)
{
	double u = 1.0 - rng_unit(r), v = rng_unit(r);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* ----------------------------------------------------------- divisions */

enum div_level { DIV_CITY, DIV_COUNTY, DIV_TOWNSHIP, DIV_VILLAGE };

struct division {
	const char *code, *name; /* point into divisions.text */
	enum div_level level;
	long parent;             /* index into v; -1 for the root */
	long first_child;        /* children are contiguous in v; -1 if none */
	size_t nchildren;
	long area_idx;           /* index in the output set once pushed; -1 before */
	unsigned ngrids;         /* villages: governance grids to draw */
};

struct divisions {
	char *text; /* owned copy of the CSV; fields NUL-terminated in place */
	struct division *v;
	size_t n;
};

static void divisions_release(struct divisions *d)
{
	free(d->text);
	free(d->v);
	memset(d, 0, sizeof *d);
}

static int level_parse(const char *s, enum div_level *out)
{
	static const char *const names[] = { "city", "county", "township", "village" };

	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum div_level)i;
			return SG_OK;
		}
	}
	return SG_EINVAL;
}

/* Splits line (NUL-terminated, modified in place) at commas into exactly n fields. */
static int split_fields(char *line, char **f, unsigned n)
{
	unsigned i = 0;

	f[i++] = line;
	for (char *p = line; *p; p++) {
		if (*p == ',') {
			if (i == n)
				return SG_EINVAL;
			*p = '\0';
			f[i++] = p + 1;
		}
	}
	return i == n ? SG_OK : SG_EINVAL;
}

/*
 * Parses the embedded divisions CSV. The file is ours and sorted by level
 * then code, which puts every division after its parent and the children of
 * one parent next to each other; both are checked, not assumed, and a
 * violation is SG_EINTERNAL (a bad embedded file is a build bug).
 */
static int divisions_parse(struct divisions *d)
{
	char *line, *next;
	size_t alloc = 0, lineno = 0;
	long last_parent = -1;
	int rc = SG_OK;

	d->text = malloc(demo__divisions_csv_len + 1);
	if (!d->text)
		return SG_ENOMEM;
	memcpy(d->text, demo__divisions_csv, demo__divisions_csv_len + 1);
	for (line = d->text; line && *line; line = next) {
		char *f[4];
		struct division *dv;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (lineno++ == 0)
			continue; /* header */
		if (d->n == alloc) {
			size_t na = alloc ? alloc * 2 : 4096;
			struct division *v = realloc(d->v, na * sizeof *v);
			if (!v)
				return SG_ENOMEM;
			d->v = v;
			alloc = na;
		}
		dv = &d->v[d->n];
		memset(dv, 0, sizeof *dv);
		dv->parent = dv->first_child = dv->area_idx = -1;
		if (split_fields(line, f, 4) != SG_OK || level_parse(f[2], &dv->level) != SG_OK ||
		    strlen(f[0]) + 3 >= AREA_CODE_MAX) {
			rc = SG_EINTERNAL;
			goto out;
		}
		dv->code = f[0];
		dv->name = f[1];
		if (dv->level != DIV_CITY) {
			if (last_parent < 0 || strcmp(d->v[last_parent].code, f[3]) != 0) {
				last_parent = -1;
				for (size_t i = d->n; i-- > 0;) {
					if (strcmp(d->v[i].code, f[3]) == 0) {
						last_parent = (long)i;
						break;
					}
				}
			}
			if (last_parent < 0 || d->v[last_parent].level + 1 != dv->level) {
				rc = SG_EINTERNAL;
				goto out;
			}
			struct division *p = &d->v[last_parent];
			if (p->nchildren == 0)
				p->first_child = (long)d->n;
			else if (p->first_child + (long)p->nchildren != (long)d->n) {
				rc = SG_EINTERNAL;
				goto out;
			}
			p->nchildren++;
			dv->parent = last_parent;
		}
		d->n++;
	}
	if (d->n == 0 || d->v[0].level != DIV_CITY)
		rc = SG_EINTERNAL;
out:
	if (rc != SG_OK)
		SG_LOG(SG_LOG_ERROR, "msg=\"embedded divisions CSV is malformed\" line=%zu", lineno);
	return rc;
}

/* 镇 (100-199), rather than 街道 (001-099) or a zone (4xx), from the 9-digit code. */
static bool township_is_town(const struct division *t)
{
	return t->code[6] == '1';
}

/* 社区居委会 (001-199) — urban — from the 12-digit code; 村委会 are 200-399. */
static bool village_is_shequ(const struct division *v)
{
	return v->code[9] == '0' || v->code[9] == '1';
}

static bool village_is_cun(const struct division *v)
{
	return v->code[9] == '2' || v->code[9] == '3';
}

/* --------------------------------------------------------- county table */

/*
 * What the CSV does not say about a county: what its stations are called
 * when no street or town lends them a name (虎丘区 is better known as 苏州
 * 高新区, its police as 高新区分局), and where its urban core is (WGS-84,
 * roughly the government seat) so that urban streets and stations can be
 * drawn denser there.
 */
struct county_info {
	const char *code, *station_prefix;
	double core_lon, core_lat;
};

static const struct county_info county_table[] = {
	{ "320505", "高新区", 120.570, 31.300 }, { "320506", "吴中", 120.630, 31.265 },
	{ "320507", "相城", 120.640, 31.370 },   { "320508", "姑苏", 120.620, 31.310 },
	{ "320509", "吴江", 120.645, 31.160 },   { "320576", "园区", 120.715, 31.320 },
	{ "320581", "常熟", 120.750, 31.650 },   { "320582", "张家港", 120.550, 31.875 },
	{ "320583", "昆山", 120.980, 31.385 },   { "320585", "太仓", 121.100, 31.450 },
};

static const struct county_info *county_lookup(const char *code)
{
	for (size_t i = 0; i < sizeof county_table / sizeof county_table[0]; i++)
		if (strcmp(county_table[i].code, code) == 0)
			return &county_table[i];
	return NULL;
}

/* -------------------------------------------------------------- builder */

struct build {
	GEOSContextHandle_t ctx;
	struct area_set *out;
	size_t base; /* out->n when we started */
	uint64_t seed;
	struct divisions div;
	long county_first;  /* the counties are v[county_first .. +ncounties) */
	size_t ncounties;
	demo_progress_fn progress;
	void *progress_ctx;
	size_t expected, reported;
};

static void report(struct build *b, bool force)
{
	size_t done = b->out->n - b->base;

	if (b->progress && (force || done >= b->reported + DEMO_PROGRESS_STEP)) {
		b->progress(b->progress_ctx, done, b->expected);
		b->reported = done;
	}
}

/* Logs a failed GEOS call and returns the code for it. */
static int geos_failed(struct build *b, const char *what)
{
	SG_LOG(SG_LOG_ERROR, "msg=\"demo city: GEOS failed\" op=%s err=\"%s\"", what,
	       geo_geos_last_error(b->ctx));
	return SG_EINTERNAL;
}

/*
 * Replaces *g (which it frees) by its polygonal parts as a fresh GEOS
 * geometry: the form every layer is stored in. *g is NULL on failure.
 */
static int keep_polygonal(struct build *b, GEOSGeometry **g)
{
	struct geo_mpoly m;
	int rc;

	geo_mpoly_init(&m);
	rc = geo_mpoly_from_geos(b->ctx, *g, &m);
	GEOSGeom_destroy_r(b->ctx, *g);
	*g = NULL;
	if (rc == SG_OK) {
		*g = geo_mpoly_to_geos(b->ctx, &m);
		if (!*g)
			rc = geos_failed(b, "to_geos");
	}
	geo_mpoly_release(&m);
	return rc;
}

/* Area in m² of a GEOS geometry's polygonal parts (the project's measure, not GEOS's degrees²). */
static int geos_area_m2(struct build *b, const GEOSGeometry *g, double *out)
{
	struct geo_mpoly m;
	int rc;

	geo_mpoly_init(&m);
	rc = geo_mpoly_from_geos(b->ctx, g, &m);
	if (rc == SG_OK)
		*out = geo_mpoly_area_m2(&m);
	geo_mpoly_release(&m);
	return rc;
}

/* Converts g to a multipolygon and appends it as a new area (takes nothing; g stays the caller's). */
static int push_geos(struct build *b, enum area_kind kind, const char *code, const char *name,
		     long parent_idx, const GEOSGeometry *g)
{
	struct geo_mpoly m;
	int rc;

	geo_mpoly_init(&m);
	rc = geo_mpoly_from_geos(b->ctx, g, &m);
	if (rc == SG_OK)
		rc = area_set_push(b->out, kind, code, name, parent_idx, 0, &m, NULL);
	geo_mpoly_release(&m);
	return rc;
}

/*
 * A copy of ring with points inserted so that no edge is longer than
 * DEMO_DENSIFY_DEG: a new LinearRing, NULL on failure.
 *
 * Why: geo_mpoly_area_m2 takes edges as great circles, while containment
 * (and GEOS) takes them as straight in longitude/latitude. Where a child's
 * boundary meets its parent's edge, that edge is split at a point on the
 * straight line, and the children's areas no longer add up to the parent's;
 * the mismatch grows with the cube of the edge length (0.1% of a community
 * for the kilometre-long edges of a bare Voronoi cell, 2e-7 at 100 m).
 * Each edge is cut from its lexicographically smaller end with the same
 * arithmetic, so the two areas sharing an edge get bit-identical points.
 */
static GEOSGeometry *densified_ring(struct build *b, const GEOSGeometry *ring)
{
	const GEOSCoordSequence *in = GEOSGeom_getCoordSeq_r(b->ctx, ring);
	struct geo_point *pts = NULL, *out = NULL;
	GEOSCoordSequence *seq;
	GEOSGeometry *g = NULL;
	unsigned n = 0;
	size_t total = 1, k = 0;

	if (!in || !GEOSCoordSeq_getSize_r(b->ctx, in, &n) || n < 4)
		return NULL;
	pts = malloc(n * sizeof *pts);
	if (!pts)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		if (!GEOSCoordSeq_getXY_r(b->ctx, in, i, &pts[i].lon, &pts[i].lat))
			goto out;
	for (unsigned i = 0; i + 1 < n; i++)
		total += (size_t)ceil(hypot(pts[i + 1].lon - pts[i].lon, pts[i + 1].lat - pts[i].lat) /
				      DEMO_DENSIFY_DEG);
	out = malloc(total * sizeof *out);
	if (!out)
		goto out;
	for (unsigned i = 0; i + 1 < n; i++) {
		struct geo_point a = pts[i], c = pts[i + 1];
		bool fwd = a.lon < c.lon || (a.lon == c.lon && a.lat < c.lat);
		struct geo_point p = fwd ? a : c, q = fwd ? c : a;
		size_t steps = (size_t)ceil(hypot(c.lon - a.lon, c.lat - a.lat) / DEMO_DENSIFY_DEG);

		out[k++] = a;
		for (size_t j = 1; j < steps; j++) {
			double t = (double)(fwd ? j : steps - j) / (double)steps;
			out[k++] = (struct geo_point){ p.lon + (q.lon - p.lon) * t,
						       p.lat + (q.lat - p.lat) * t };
		}
	}
	out[k++] = pts[n - 1];
	seq = GEOSCoordSeq_copyFromBuffer_r(b->ctx, (const double *)out, (unsigned)k, 0, 0);
	if (seq)
		g = GEOSGeom_createLinearRing_r(b->ctx, seq);
out:
	free(pts);
	free(out);
	return g;
}

/* One polygon with every ring densified (densified_ring); NULL on failure. */
static GEOSGeometry *densified_polygon(struct build *b, const GEOSGeometry *poly)
{
	int nholes = GEOSGetNumInteriorRings_r(b->ctx, poly);
	const GEOSGeometry *ext = GEOSGetExteriorRing_r(b->ctx, poly);
	GEOSGeometry *shell = NULL, **holes = NULL, *g = NULL;
	int made = 0;

	if (nholes < 0 || !ext)
		return NULL;
	holes = calloc(nholes ? (size_t)nholes : 1, sizeof *holes);
	shell = holes ? densified_ring(b, ext) : NULL;
	if (!shell)
		goto out;
	for (made = 0; made < nholes; made++) {
		const GEOSGeometry *h = GEOSGetInteriorRingN_r(b->ctx, poly, made);
		holes[made] = h ? densified_ring(b, h) : NULL;
		if (!holes[made])
			goto out;
	}
	/* Takes the rings, also on failure. */
	g = GEOSGeom_createPolygon_r(b->ctx, shell, holes, (unsigned)nholes);
	shell = NULL;
	made = 0;
out:
	if (shell)
		GEOSGeom_destroy_r(b->ctx, shell);
	for (int i = 0; i < made; i++)
		GEOSGeom_destroy_r(b->ctx, holes[i]);
	free(holes);
	return g;
}

/* Replaces the polygonal *g (which it frees) by its densified copy. */
static int densify(struct build *b, GEOSGeometry **g)
{
	int n = GEOSGetNumGeometries_r(b->ctx, *g), made = 0, rc = SG_OK;
	GEOSGeometry **parts, *col;

	if (n < 0)
		return geos_failed(b, "densify");
	parts = calloc(n ? (size_t)n : 1, sizeof *parts);
	if (!parts)
		return SG_ENOMEM;
	for (made = 0; made < n; made++) {
		parts[made] = densified_polygon(b, GEOSGetGeometryN_r(b->ctx, *g, made));
		if (!parts[made]) {
			rc = geos_failed(b, "densify");
			goto out;
		}
	}
	/* Takes the parts, also on failure. */
	col = GEOSGeom_createCollection_r(b->ctx, GEOS_MULTIPOLYGON, parts, (unsigned)n);
	made = 0;
	if (!col) {
		rc = geos_failed(b, "densify");
		goto out;
	}
	GEOSGeom_destroy_r(b->ctx, *g);
	*g = col;
out:
	for (int i = 0; i < made; i++)
		GEOSGeom_destroy_r(b->ctx, parts[i]);
	free(parts);
	return rc;
}

/* ----------------------------------------------------------- districts */

/*
 * One district polygon from the GeoJSON, made usable: GEOS make-valid (the
 * source rings touch themselves where quantisation collapsed them), only the
 * polygonal parts kept, and every vertex put on the grid.
 */
static int district_geometry(struct build *b, const json_t *geometry, GEOSGeometry **out)
{
	struct geo_mpoly m;
	GEOSGeometry *g = NULL, *valid = NULL, *gridded = NULL;
	const char *why = "";
	int rc;

	geo_mpoly_init(&m);
	rc = geo_geojson_read_polygonal(geometry, &m, &why);
	if (rc != SG_OK) {
		SG_LOG(SG_LOG_ERROR, "msg=\"embedded district geometry is malformed\" why=\"%s\"", why);
		rc = SG_EINTERNAL;
		goto out;
	}
	g = geo_mpoly_to_geos(b->ctx, &m);
	if (!g) {
		rc = geos_failed(b, "to_geos");
		goto out;
	}
	valid = GEOSMakeValid_r(b->ctx, g);
	if (!valid) {
		rc = geos_failed(b, "make_valid");
		goto out;
	}
	rc = keep_polygonal(b, &valid);
	if (rc != SG_OK)
		goto out;
	gridded = GEOSGeom_setPrecision_r(b->ctx, valid, DEMO_GRID_DEG, 0);
	if (!gridded) {
		rc = geos_failed(b, "set_precision");
		goto out;
	}
	rc = keep_polygonal(b, &gridded);
	if (rc == SG_OK) {
		*out = gridded;
		gridded = NULL;
	}
out:
	if (g)
		GEOSGeom_destroy_r(b->ctx, g);
	if (valid)
		GEOSGeom_destroy_r(b->ctx, valid);
	if (gridded)
		GEOSGeom_destroy_r(b->ctx, gridded);
	geo_mpoly_release(&m);
	return rc;
}

/* The part of g west of the meridian x, on the grid. */
static GEOSGeometry *west_of(struct build *b, const GEOSGeometry *g, double x)
{
	double x0, y0, y1;
	GEOSGeometry *box, *part;

	if (!GEOSGeom_getXMin_r(b->ctx, g, &x0) || !GEOSGeom_getYMin_r(b->ctx, g, &y0) ||
	    !GEOSGeom_getYMax_r(b->ctx, g, &y1))
		return NULL;
	box = GEOSGeom_createRectangle_r(b->ctx, x0 - 1.0, y0 - 1.0, x, y1 + 1.0);
	if (!box)
		return NULL;
	part = GEOSIntersectionPrec_r(b->ctx, g, box, DEMO_GRID_DEG);
	GEOSGeom_destroy_r(b->ctx, box);
	return part;
}

/*
 * The meridian that cuts 苏州工业园区 out of the source's 姑苏区 polygon,
 * which covers both: the one leaving 姑苏区 its official 83.4 km² to the
 * west, found by bisection and rounded to 1e-6° (about 0.1 m). It lands on
 * about 120.6458° E, close to where the real boundary (the outer moat and
 * 东环路) runs.
 */
static int park_meridian(struct build *b, const GEOSGeometry *gusu, double *out)
{
	double lo, hi, area = 0;
	int rc = SG_OK;

	if (!GEOSGeom_getXMin_r(b->ctx, gusu, &lo) || !GEOSGeom_getXMax_r(b->ctx, gusu, &hi))
		return geos_failed(b, "envelope");
	for (int i = 0; rc == SG_OK && i < 40; i++) {
		double x = (lo + hi) / 2;
		GEOSGeometry *west = west_of(b, gusu, x);

		if (!west)
			return geos_failed(b, "carve");
		rc = geos_area_m2(b, west, &area);
		GEOSGeom_destroy_r(b->ctx, west);
		if (area < DEMO_GUSU_KM2 * 1e6)
			lo = x;
		else
			hi = x;
	}
	*out = round((lo + hi) / 2 * 1e6) / 1e6;
	return rc;
}

/* A new collection of the given type holding clones of g[0..n) (borrowed); NULL on failure. */
static GEOSGeometry *collect(struct build *b, int type, GEOSGeometry *const *g, size_t n)
{
	GEOSGeometry **copies = calloc(n ? n : 1, sizeof *copies), *col = NULL;
	size_t made;

	if (!copies)
		return NULL;
	for (made = 0; made < n; made++) {
		copies[made] = GEOSGeom_clone_r(b->ctx, g[made]);
		if (!copies[made])
			goto out;
	}
	/* Takes the copies, also on failure. */
	col = GEOSGeom_createCollection_r(b->ctx, type, copies, (unsigned)n);
	made = 0;
out:
	for (size_t i = 0; i < made; i++)
		GEOSGeom_destroy_r(b->ctx, copies[i]);
	free(copies);
	return col;
}

/* The union of n geometries (borrowed), on the grid. */
static GEOSGeometry *union_of(struct build *b, GEOSGeometry *const *g, size_t n)
{
	GEOSGeometry *col = collect(b, GEOS_GEOMETRYCOLLECTION, g, n), *u;

	if (!col)
		return NULL;
	u = GEOSUnaryUnionPrec_r(b->ctx, col, DEMO_GRID_DEG);
	GEOSGeom_destroy_r(b->ctx, col);
	return u;
}

/*
 * The faces of the districts' boundaries and the park's meridian (inside
 * 姑苏区 only), noded together on the grid. Faces, unlike the source
 * polygons, share every boundary vertex with their neighbours: the source
 * has stretches where one district's vertex lies on (or a nanometre off) its
 * neighbour's edge, and there the two polygons do not meet vertex for vertex.
 */
static GEOSGeometry *district_faces(struct build *b, GEOSGeometry *const *dist, size_t n,
				    const GEOSGeometry *gusu, double meridian)
{
	GEOSGeometry **lines = calloc(n + 1, sizeof *lines), *col = NULL, *noded = NULL;
	GEOSGeometry *faces = NULL, *line;
	GEOSCoordSequence *seq;
	double y0, y1;
	size_t made;

	if (!lines)
		return NULL;
	made = 0;
	for (size_t i = 0; i < n; i++) {
		if (!dist[i])
			continue; /* the park, not drawn yet */
		lines[made] = GEOSBoundary_r(b->ctx, dist[i]);
		if (!lines[made])
			goto out;
		made++;
	}
	seq = GEOSCoordSeq_create_r(b->ctx, 2, 2);
	if (!seq || !GEOSGeom_getYMin_r(b->ctx, gusu, &y0) || !GEOSGeom_getYMax_r(b->ctx, gusu, &y1) ||
	    !GEOSCoordSeq_setXY_r(b->ctx, seq, 0, meridian, y0 - 1.0) ||
	    !GEOSCoordSeq_setXY_r(b->ctx, seq, 1, meridian, y1 + 1.0)) {
		if (seq)
			GEOSCoordSeq_destroy_r(b->ctx, seq);
		goto out;
	}
	line = GEOSGeom_createLineString_r(b->ctx, seq);
	if (!line)
		goto out;
	lines[made] = GEOSIntersectionPrec_r(b->ctx, line, gusu, DEMO_GRID_DEG);
	GEOSGeom_destroy_r(b->ctx, line);
	if (!lines[made])
		goto out;
	made++;
	col = collect(b, GEOS_GEOMETRYCOLLECTION, lines, made);
	noded = col ? GEOSUnaryUnionPrec_r(b->ctx, col, DEMO_GRID_DEG) : NULL;
	if (noded) {
		const GEOSGeometry *in[1] = { noded };
		faces = GEOSPolygonize_r(b->ctx, in, 1);
	}
out:
	for (size_t i = 0; i < made; i++)
		GEOSGeom_destroy_r(b->ctx, lines[i]);
	free(lines);
	if (col)
		GEOSGeom_destroy_r(b->ctx, col);
	if (noded)
		GEOSGeom_destroy_r(b->ctx, noded);
	return faces;
}

/* Length of the boundary g and the polygon face share (0 if they only touch at points). */
static int shared_border(struct build *b, const GEOSGeometry *g, const GEOSGeometry *face,
			 double *len)
{
	GEOSGeometry *bg = GEOSBoundary_r(b->ctx, g), *bf = GEOSBoundary_r(b->ctx, face);
	GEOSGeometry *common = NULL;
	int rc = SG_OK;

	if (bg && bf)
		common = GEOSIntersectionPrec_r(b->ctx, bg, bf, DEMO_GRID_DEG);
	if (!common || !GEOSLength_r(b->ctx, common, len))
		rc = geos_failed(b, "shared_border");
	if (bg)
		GEOSGeom_destroy_r(b->ctx, bg);
	if (bf)
		GEOSGeom_destroy_r(b->ctx, bf);
	if (common)
		GEOSGeom_destroy_r(b->ctx, common);
	return rc;
}

/*
 * Which county a face belongs to: the first whose source polygon contains
 * the face's interior point, with 姑苏区's faces east of the meridian going
 * to the park. A face in no polygon is one of the source's few small gaps
 * between districts (six, of 0.5-2 ha); it goes to the county sharing the
 * longest stretch of its border, so the districts tile the city and the city
 * has no holes the map does not have. *owner is n for a face to drop.
 */
static int face_owner(struct build *b, const GEOSGeometry *face, GEOSGeometry *const *dist,
		      size_t n, size_t gusu, size_t park, double meridian, size_t *owner)
{
	GEOSGeometry *pt = GEOSPointOnSurface_r(b->ctx, face);
	double x = 0, area = 0, best = 0, len;
	size_t c = n;
	int rc = SG_OK;

	if (!pt || !GEOSGeomGetX_r(b->ctx, pt, &x) || !GEOSArea_r(b->ctx, face, &area)) {
		rc = geos_failed(b, "face");
		goto out;
	}
	*owner = n;
	if (area <= 0)
		goto out;
	for (c = 0; c < n; c++)
		if (dist[c] && GEOSContains_r(b->ctx, dist[c], pt) == 1)
			break;
	if (c == n) {
		for (size_t i = 0; rc == SG_OK && i < n; i++) {
			if (!dist[i])
				continue;
			rc = shared_border(b, dist[i], face, &len);
			if (rc == SG_OK && len > best) {
				best = len;
				c = i;
			}
		}
		if (rc == SG_OK && c < n)
			SG_LOG(SG_LOG_DEBUG, "msg=\"demo city: gap filled\" county=%zu area_deg2=%.3g", c,
			       area);
	}
	if (c == gusu && x > meridian)
		c = park;
	*owner = c;
out:
	if (pt)
		GEOSGeom_destroy_r(b->ctx, pt);
	return rc;
}

/*
 * Rebuilds the counties from the noded faces: dist[] holds the repaired
 * source polygons (dist[park] NULL) and is replaced by the new coverage.
 */
static int tile_counties(struct build *b, GEOSGeometry **dist, size_t n, size_t gusu, size_t park)
{
	GEOSGeometry *faces = NULL, **mine = NULL, **fresh = NULL;
	double meridian = 0;
	int rc, nfaces;
	size_t *owner = NULL;

	rc = park_meridian(b, dist[gusu], &meridian);
	if (rc != SG_OK)
		return rc;
	SG_LOG(SG_LOG_DEBUG, "msg=\"demo city: park cut\" meridian=%.6f", meridian);
	faces = district_faces(b, dist, n, dist[gusu], meridian);
	if (!faces)
		return geos_failed(b, "polygonize");
	nfaces = GEOSGetNumGeometries_r(b->ctx, faces);
	owner = calloc(nfaces > 0 ? (size_t)nfaces : 1, sizeof *owner);
	mine = calloc(nfaces > 0 ? (size_t)nfaces : 1, sizeof *mine);
	fresh = calloc(n, sizeof *fresh);
	if (!owner || !mine || !fresh) {
		rc = SG_ENOMEM;
		goto out;
	}
	for (int f = 0; rc == SG_OK && f < nfaces; f++)
		rc = face_owner(b, GEOSGetGeometryN_r(b->ctx, faces, f), dist, n, gusu, park, meridian,
				&owner[f]);
	for (size_t c = 0; rc == SG_OK && c < n; c++) {
		size_t k = 0;
		for (int f = 0; f < nfaces; f++)
			if (owner[f] == c)
				mine[k++] = (GEOSGeometry *)GEOSGetGeometryN_r(b->ctx, faces, f);
		fresh[c] = k ? union_of(b, mine, k) : NULL;
		if (!fresh[c])
			rc = k ? geos_failed(b, "union") : SG_EINTERNAL;
		else
			rc = keep_polygonal(b, &fresh[c]);
	}
	for (size_t c = 0; rc == SG_OK && c < n; c++)
		rc = densify(b, &fresh[c]);
	for (size_t c = 0; rc == SG_OK && c < n; c++) {
		if (dist[c])
			GEOSGeom_destroy_r(b->ctx, dist[c]);
		dist[c] = fresh[c];
		fresh[c] = NULL;
	}
out:
	for (size_t c = 0; fresh && c < n; c++)
		if (fresh[c])
			GEOSGeom_destroy_r(b->ctx, fresh[c]);
	free(fresh);
	free(mine);
	free(owner);
	GEOSGeom_destroy_r(b->ctx, faces);
	return rc;
}

/*
 * Pushes the city and its counties (CSV order): the 9 GeoJSON polygons,
 * repaired, with 320576 carved out of 320508, noded into one coverage.
 */
static int build_districts(struct build *b)
{
	GEOSGeometry **dist = NULL, *city = NULL;
	json_t *fc = NULL, *features;
	json_error_t jerr = { .text = "" };
	long gusu = -1, park = -1;
	size_t nf;
	int rc = SG_OK;

	dist = calloc(b->ncounties, sizeof *dist);
	if (!dist)
		return SG_ENOMEM;
	fc = json_loadb(demo__districts_geojson, demo__districts_geojson_len, 0, &jerr);
	features = fc ? json_object_get(fc, "features") : NULL;
	if (!json_is_array(features)) {
		SG_LOG(SG_LOG_ERROR, "msg=\"embedded districts GeoJSON is malformed\" err=\"%s\"",
		       jerr.text);
		rc = SG_EINTERNAL;
		goto out;
	}
	nf = json_array_size(features);
	for (size_t i = 0; rc == SG_OK && i < nf; i++) {
		const json_t *f = json_array_get(features, i);
		const char *code = json_string_value(
			json_object_get(json_object_get(f, "properties"), "code"));
		size_t c;

		for (c = 0; code && c < b->ncounties; c++)
			if (strcmp(b->div.v[b->county_first + (long)c].code, code) == 0)
				break;
		if (!code || c == b->ncounties || dist[c]) {
			rc = SG_EINTERNAL;
			break;
		}
		rc = district_geometry(b, json_object_get(f, "geometry"), &dist[c]);
	}
	for (size_t c = 0; rc == SG_OK && c < b->ncounties; c++) {
		const char *code = b->div.v[b->county_first + (long)c].code;
		if (strcmp(code, DEMO_GUSU_CODE) == 0)
			gusu = (long)c;
		else if (strcmp(code, DEMO_PARK_CODE) == 0)
			park = (long)c;
		else if (!dist[c])
			rc = SG_EINTERNAL; /* a county without a polygon */
	}
	if (rc != SG_OK || gusu < 0 || park < 0 || !dist[gusu] || dist[park]) {
		SG_LOG(SG_LOG_ERROR, "msg=\"embedded districts do not match the divisions\"");
		rc = rc != SG_OK ? rc : SG_EINTERNAL;
		goto out;
	}
	rc = tile_counties(b, dist, b->ncounties, (size_t)gusu, (size_t)park);
	if (rc != SG_OK)
		goto out;
	city = union_of(b, dist, b->ncounties);
	if (!city) {
		rc = geos_failed(b, "union");
		goto out;
	}
	rc = push_geos(b, AREA_CITY, b->div.v[0].code, b->div.v[0].name, -1, city);
	if (rc != SG_OK)
		goto out;
	b->div.v[0].area_idx = (long)(b->out->n - 1);
	for (size_t c = 0; rc == SG_OK && c < b->ncounties; c++) {
		struct division *d = &b->div.v[b->county_first + (long)c];
		rc = push_geos(b, AREA_DISTRICT, d->code, d->name, b->div.v[0].area_idx, dist[c]);
		d->area_idx = (long)(b->out->n - 1);
	}
out:
	for (size_t c = 0; dist && c < b->ncounties; c++)
		if (dist[c])
			GEOSGeom_destroy_r(b->ctx, dist[c]);
	free(dist);
	if (city)
		GEOSGeom_destroy_r(b->ctx, city);
	json_decref(fc);
	return rc;
}

/* ------------------------------------------------------- seeds, Voronoi */

/* Where urban seeds cluster: a centre and a spread, in degrees. */
struct core {
	double lon, lat, sigma_lon, sigma_lat;
};

/* A county's core from the table; spread grows with its number of 社区 (0.5 km² each). */
static bool county_core(const struct build *b, const struct division *county, struct core *out)
{
	const struct county_info *ci = county_lookup(county->code);
	size_t shequ = 0;
	double sigma_km;

	if (!ci)
		return false;
	for (size_t t = 0; t < county->nchildren; t++) {
		const struct division *tw = &b->div.v[county->first_child + (long)t];
		for (size_t v = 0; v < tw->nchildren; v++)
			shequ += village_is_shequ(&b->div.v[tw->first_child + (long)v]);
	}
	sigma_km = sqrt(0.5 * (double)shequ / (2.0 * M_PI));
	if (sigma_km < 1.5)
		sigma_km = 1.5;
	out->lon = ci->core_lon;
	out->lat = ci->core_lat;
	out->sigma_lat = sigma_km / 111.2;
	out->sigma_lon = sigma_km / (111.2 * cos(ci->core_lat * M_PI / 180.0));
	return true;
}

/*
 * Draws n distinct seed points inside parent. Point i comes from the core's
 * Gaussian with probability p_core[i] (when core and p_core are given), else
 * uniformly from the bounding box; points outside the parent are redrawn.
 * Points keep a minimum spacing (0.4 of the mean spacing, in degrees) so the
 * cells come out even-sized and no two seeds coincide; a crowded parent
 * relaxes it after a run of rejections.
 */
static int sample_seeds(const struct geo_mpoly *parent, double area_deg2, size_t n,
			struct rng *r, const struct core *core, const double *p_core,
			struct geo_point *seeds)
{
	struct geo_bbox bb = geo_mpoly_bbox(parent);
	double min_d2 = 0.16 * area_deg2 / (double)n;

	for (size_t i = 0; i < n; i++) {
		unsigned tries = 0;
		for (;;) {
			struct geo_point p;
			bool ok;

			if (++tries % 200 == 0)
				min_d2 *= 0.25;
			if (tries > 20000)
				return SG_EINTERNAL;
			if (core && p_core && rng_unit(r) < p_core[i]) {
				p.lon = core->lon + core->sigma_lon * rng_gauss(r);
				p.lat = core->lat + core->sigma_lat * rng_gauss(r);
			} else {
				p.lon = bb.min_lon + (bb.max_lon - bb.min_lon) * rng_unit(r);
				p.lat = bb.min_lat + (bb.max_lat - bb.min_lat) * rng_unit(r);
			}
			ok = geo_mpoly_contains(parent, p);
			for (size_t j = 0; ok && j < i; j++) {
				double dx = p.lon - seeds[j].lon, dy = p.lat - seeds[j].lat;
				ok = dx * dx + dy * dy >= min_d2;
			}
			if (ok) {
				seeds[i] = p;
				break;
			}
		}
	}
	return SG_OK;
}

/* North to south, then west to east: how unnamed children are numbered. */
static int cmp_north_first(const void *a, const void *b)
{
	const struct geo_point *p = a, *q = b;

	if (p->lat != q->lat)
		return p->lat > q->lat ? -1 : 1;
	if (p->lon != q->lon)
		return p->lon < q->lon ? -1 : 1;
	return 0;
}

/* A point strictly inside a convex ring: the mean of its vertices (the closing one excluded). */
static int convex_inner_point(struct build *b, const GEOSGeometry *cell, struct geo_point *out)
{
	const GEOSGeometry *ring = GEOSGetExteriorRing_r(b->ctx, cell);
	const GEOSCoordSequence *seq = ring ? GEOSGeom_getCoordSeq_r(b->ctx, ring) : NULL;
	unsigned n = 0;
	double sx = 0, sy = 0;

	if (!seq || !GEOSCoordSeq_getSize_r(b->ctx, seq, &n) || n < 4)
		return SG_EINTERNAL;
	for (unsigned i = 0; i + 1 < n; i++) {
		double x, y;
		if (!GEOSCoordSeq_getXY_r(b->ctx, seq, i, &x, &y))
			return SG_EINTERNAL;
		sx += x;
		sy += y;
	}
	out->lon = sx / (n - 1);
	out->lat = sy / (n - 1);
	return SG_OK;
}

/*
 * Cuts parent into n pieces, the Voronoi cells of seeds (all inside parent)
 * clipped to it on the grid; cells[i] (initialised, empty) receives seed i's
 * piece. GEOS (3.11) returns the cells in its own order, so each is matched
 * back to its seed: every point of a cell is nearer its own seed than any
 * other, and the mean of a convex cell's vertices is such a point. The
 * envelope given to GEOS is far larger than the parent, so no cell is cut
 * short inside it. Sets *redraw (and returns SG_OK) when the seeds did not
 * give n non-empty pieces, which fresh seeds cure.
 */
static int voronoi_split(struct build *b, const GEOSGeometry *parent, const struct geo_point *seeds,
			 size_t n, struct geo_mpoly *cells, bool *redraw)
{
	GEOSGeometry **pts = NULL, *mp = NULL, *env = NULL, *diagram = NULL;
	bool *taken = NULL;
	double x0, y0, x1, y1, pad;
	size_t made = 0;
	int rc = SG_OK;

	*redraw = false;
	if (n == 1)
		return geo_mpoly_from_geos(b->ctx, parent, &cells[0]);
	pts = calloc(n, sizeof *pts);
	taken = calloc(n, sizeof *taken);
	if (!pts || !taken) {
		rc = SG_ENOMEM;
		goto out;
	}
	for (made = 0; made < n; made++) {
		pts[made] = GEOSGeom_createPointFromXY_r(b->ctx, seeds[made].lon, seeds[made].lat);
		if (!pts[made]) {
			rc = geos_failed(b, "point");
			goto out;
		}
	}
	/* Takes the points, also on failure. */
	mp = GEOSGeom_createCollection_r(b->ctx, GEOS_MULTIPOINT, pts, (unsigned)n);
	made = 0;
	if (!mp || !GEOSGeom_getXMin_r(b->ctx, parent, &x0) ||
	    !GEOSGeom_getYMin_r(b->ctx, parent, &y0) || !GEOSGeom_getXMax_r(b->ctx, parent, &x1) ||
	    !GEOSGeom_getYMax_r(b->ctx, parent, &y1)) {
		rc = geos_failed(b, "voronoi_input");
		goto out;
	}
	pad = fmax(x1 - x0, y1 - y0) + 0.01;
	env = GEOSGeom_createRectangle_r(b->ctx, x0 - pad, y0 - pad, x1 + pad, y1 + pad);
	diagram = env ? GEOSVoronoiDiagram_r(b->ctx, mp, env, 0.0, 0) : NULL;
	if (!diagram) {
		rc = geos_failed(b, "voronoi");
		goto out;
	}
	if ((size_t)GEOSGetNumGeometries_r(b->ctx, diagram) != n) {
		*redraw = true; /* seeds GEOS considered equal */
		goto out;
	}
	for (size_t j = 0; j < n; j++) {
		const GEOSGeometry *cell = GEOSGetGeometryN_r(b->ctx, diagram, (int)j);
		GEOSGeometry *piece, *dense;
		struct geo_point c;
		double best = INFINITY;
		size_t owner = n;

		rc = cell ? convex_inner_point(b, cell, &c) : SG_EINTERNAL;
		if (rc != SG_OK)
			goto out;
		for (size_t i = 0; i < n; i++) {
			double dx = c.lon - seeds[i].lon, dy = c.lat - seeds[i].lat;
			if (dx * dx + dy * dy < best) {
				best = dx * dx + dy * dy;
				owner = i;
			}
		}
		if (taken[owner]) {
			*redraw = true;
			goto out;
		}
		taken[owner] = true;
		dense = densified_polygon(b, cell);
		piece = dense ? GEOSIntersectionPrec_r(b->ctx, dense, parent, DEMO_GRID_DEG) : NULL;
		if (dense)
			GEOSGeom_destroy_r(b->ctx, dense);
		if (!piece) {
			rc = geos_failed(b, "clip");
			goto out;
		}
		rc = geo_mpoly_from_geos(b->ctx, piece, &cells[owner]);
		GEOSGeom_destroy_r(b->ctx, piece);
		if (rc == SG_EINVAL || (rc == SG_OK && cells[owner].npolys == 0)) {
			*redraw = true; /* a seed on the very edge: its piece rounded away */
			rc = SG_OK;
			goto out;
		}
		if (rc != SG_OK)
			goto out;
	}
out:
	for (size_t i = 0; i < made; i++)
		GEOSGeom_destroy_r(b->ctx, pts[i]);
	free(pts);
	free(taken);
	if (mp)
		GEOSGeom_destroy_r(b->ctx, mp);
	if (env)
		GEOSGeom_destroy_r(b->ctx, env);
	if (diagram)
		GEOSGeom_destroy_r(b->ctx, diagram);
	if (rc != SG_OK || *redraw)
		for (size_t i = 0; i < n; i++) {
			geo_mpoly_release(&cells[i]);
			geo_mpoly_init(&cells[i]);
		}
	return rc;
}

/*
 * Splits the area at parent_idx into n pieces with seeds drawn from stream
 * (see sample_seeds for core and p_core), redrawing when a draw fails.
 * Fills seeds[] and cells[] (n each, cells initialised and empty). When
 * sorted, the seeds are put in north-to-south order first.
 */
static int split_area(struct build *b, long parent_idx, size_t n, enum rng_stream stream,
		      const struct core *core, const double *p_core, bool sorted,
		      struct geo_point *seeds, struct geo_mpoly *cells)
{
	const struct geo_mpoly *pm = &b->out->v[parent_idx].geom;
	GEOSGeometry *parent = geo_mpoly_to_geos(b->ctx, pm);
	double area_deg2 = 0;
	int rc = SG_OK;

	if (!parent || !GEOSArea_r(b->ctx, parent, &area_deg2)) {
		rc = geos_failed(b, "parent");
		goto out;
	}
	for (unsigned attempt = 0;; attempt++) {
		struct rng r;
		bool redraw = false;

		if (attempt == DEMO_MAX_REDRAWS) {
			SG_LOG(SG_LOG_ERROR, "msg=\"demo city: cannot split area\" name=\"%s\"",
			       b->out->v[parent_idx].name);
			rc = SG_EINTERNAL;
			break;
		}
		rng_init(&r, b->seed, stream, (uint64_t)(parent_idx - (long)b->base), attempt);
		rc = sample_seeds(pm, area_deg2, n, &r, core, p_core, seeds);
		if (rc != SG_OK) {
			SG_LOG(SG_LOG_ERROR, "msg=\"demo city: no room for seeds\" name=\"%s\" n=%zu",
			       b->out->v[parent_idx].name, n);
			break;
		}
		if (sorted)
			qsort(seeds, n, sizeof *seeds, cmp_north_first);
		rc = voronoi_split(b, parent, seeds, n, cells, &redraw);
		if (rc != SG_OK || !redraw)
			break;
	}
out:
	if (parent)
		GEOSGeom_destroy_r(b->ctx, parent);
	return rc;
}

/* Scratch arrays for one split, grown as needed and reused. */
struct scratch {
	struct geo_point *seeds;
	struct geo_mpoly *cells;
	double *p_core;
	size_t alloc;
};

static int scratch_reserve(struct scratch *s, size_t n)
{
	if (n > s->alloc) {
		struct geo_point *seeds = realloc(s->seeds, n * sizeof *seeds);
		if (seeds)
			s->seeds = seeds;
		struct geo_mpoly *cells = realloc(s->cells, n * sizeof *cells);
		if (cells)
			s->cells = cells;
		double *p = realloc(s->p_core, n * sizeof *p);
		if (p)
			s->p_core = p;
		if (!seeds || !cells || !p)
			return SG_ENOMEM;
		for (size_t i = s->alloc; i < n; i++)
			geo_mpoly_init(&s->cells[i]);
		s->alloc = n;
	}
	return SG_OK;
}

static void scratch_release(struct scratch *s)
{
	for (size_t i = 0; i < s->alloc; i++)
		geo_mpoly_release(&s->cells[i]);
	free(s->seeds);
	free(s->cells);
	free(s->p_core);
	memset(s, 0, sizeof *s);
}

/* --------------------------------------------------------------- names */

/* Writes the Chinese numeral for 1..99 (一, 十二, 三十) into buf (size at least 16). */
static void chinese_number(unsigned n, char *buf, size_t size)
{
	static const char *const digit[] = { "", "一", "二", "三", "四", "五", "六", "七", "八", "九" };
	unsigned tens = n / 10 % 10, ones = n % 10;

	if (tens == 0)
		snprintf(buf, size, "%s", digit[ones]);
	else
		snprintf(buf, size, "%s十%s", tens == 1 ? "" : digit[tens], digit[ones]);
}

/* name with suffix cut off into out, if name ends with it and something is left. */
static bool strip_suffix(const char *name, const char *suffix, char *out, size_t size)
{
	size_t n = strlen(name), k = strlen(suffix);

	if (n <= k || n - k >= size || strcmp(name + n - k, suffix) != 0)
		return false;
	memcpy(out, name, n - k);
	out[n - k] = '\0';
	return true;
}

/*
 * The short name of a street or town, as police stations take it: 狮山街道 →
 * 狮山, 巴城镇 → 巴城, 科技城（东渚街道） → 东渚. False for zones without one
 * (开发区, 林场, ...).
 */
static bool township_base_name(const char *name, char *out, size_t size)
{
	const char *open = strstr(name, "（"), *close = open ? strstr(open, "）") : NULL;
	char inner[64];

	if (open && close) {
		size_t n = (size_t)(close - open) - strlen("（");
		if (n >= sizeof inner)
			return false;
		memcpy(inner, open + strlen("（"), n);
		inner[n] = '\0';
		name = inner;
	}
	return strip_suffix(name, "街道", out, size) || strip_suffix(name, "镇", out, size);
}

/*
 * A community's name as grids are named after it: without the committee
 * (华盛社区居委会 → 华盛社区, 三马村委会 → 三马村); other names unchanged.
 */
static void community_short_name(const char *name, char *out, size_t size)
{
	static const struct {
		const char *suffix, *keep;
	} rules[] = {
		{ "村民委员会", "村" }, { "村委会", "村" },  { "居民委员会", "" },
		{ "居民委会", "" },     { "居委会", "" },
	};

	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		if (strip_suffix(name, rules[i].suffix, out, size) &&
		    strlen(out) + strlen(rules[i].keep) < size) {
			memcpy(out + strlen(out), rules[i].keep, strlen(rules[i].keep) + 1);
			return;
		}
	}
	snprintf(out, size, "%s", name);
}

/* ---------------------------------------------------- governance layers */

/* Share of a township's villages that are 社区 (urban). */
static double township_urban_share(const struct build *b, const struct division *t)
{
	size_t shequ = 0;

	for (size_t v = 0; v < t->nchildren; v++)
		shequ += village_is_shequ(&b->div.v[t->first_child + (long)v]);
	return t->nchildren ? (double)shequ / (double)t->nchildren : 0.0;
}

/*
 * Streets and towns: each county's real townships as Voronoi pieces of it.
 * In counties that have towns (镇), a township is drawn near the urban core
 * with probability its share of 社区, so 街道 come out small and central and
 * towns large; in all-urban counties every seed is uniform.
 */
static int build_streets(struct build *b, struct scratch *s)
{
	int rc = SG_OK;

	for (size_t c = 0; rc == SG_OK && c < b->ncounties; c++) {
		const struct division *county = &b->div.v[b->county_first + (long)c];
		struct core core;
		bool has_towns = false, use_core;

		for (size_t t = 0; t < county->nchildren; t++)
			has_towns |= township_is_town(&b->div.v[county->first_child + (long)t]);
		use_core = has_towns && county_core(b, county, &core);
		rc = scratch_reserve(s, county->nchildren);
		if (rc != SG_OK)
			break;
		for (size_t t = 0; t < county->nchildren; t++)
			s->p_core[t] = township_urban_share(b, &b->div.v[county->first_child + (long)t]);
		rc = split_area(b, county->area_idx, county->nchildren, STREAM_STREETS,
				use_core ? &core : NULL, s->p_core, false, s->seeds, s->cells);
		for (size_t t = 0; rc == SG_OK && t < county->nchildren; t++) {
			struct division *tw = &b->div.v[county->first_child + (long)t];
			rc = area_set_push(b->out, AREA_STREET, tw->code, tw->name, county->area_idx, 0,
					   &s->cells[t], NULL);
			tw->area_idx = (long)(b->out->n - 1);
		}
		report(b, false);
	}
	return rc;
}

/* Communities and villages: each township's real villages as uniform Voronoi pieces of it. */
static int build_communities(struct build *b, struct scratch *s)
{
	int rc = SG_OK;

	for (size_t i = 0; rc == SG_OK && i < b->div.n; i++) {
		const struct division *tw = &b->div.v[i];

		if (tw->level != DIV_TOWNSHIP || tw->nchildren == 0)
			continue;
		rc = scratch_reserve(s, tw->nchildren);
		if (rc == SG_OK)
			rc = split_area(b, tw->area_idx, tw->nchildren, STREAM_COMMUNITIES, NULL, NULL,
					false, s->seeds, s->cells);
		for (size_t v = 0; rc == SG_OK && v < tw->nchildren; v++) {
			struct division *vi = &b->div.v[tw->first_child + (long)v];
			rc = area_set_push(b->out, AREA_COMMUNITY, vi->code, vi->name, tw->area_idx, 0,
					   &s->cells[v], NULL);
			vi->area_idx = (long)(b->out->n - 1);
		}
		report(b, false);
	}
	return rc;
}

/*
 * Governance grids: "<community>第N网格" (the community without its
 * committee: 华盛社区第3网格), code = community code + 3 digits, numbered
 * north to south.
 */
static int build_gov_grids(struct build *b, struct scratch *s)
{
	char name[256], base[192], code[AREA_CODE_MAX];
	int rc = SG_OK;

	for (size_t i = 0; rc == SG_OK && i < b->div.n; i++) {
		const struct division *vi = &b->div.v[i];

		if (vi->level != DIV_VILLAGE)
			continue;
		rc = scratch_reserve(s, vi->ngrids);
		if (rc == SG_OK)
			rc = split_area(b, vi->area_idx, vi->ngrids, STREAM_GOV_GRIDS, NULL, NULL, true,
					s->seeds, s->cells);
		community_short_name(vi->name, base, sizeof base);
		for (unsigned g = 0; rc == SG_OK && g < vi->ngrids; g++) {
			int k1 = snprintf(name, sizeof name, "%s第%u网格", base, g + 1);
			int k2 = snprintf(code, sizeof code, "%s%03u", vi->code, g + 1);
			if (k1 < 0 || (size_t)k1 >= sizeof name || k2 < 0 || (size_t)k2 >= sizeof code)
				rc = SG_EINTERNAL;
			else
				rc = area_set_push(b->out, AREA_GOV_GRID, code, name, vi->area_idx, 0,
						   &s->cells[g], NULL);
		}
		report(b, false);
	}
	return rc;
}

/* -------------------------------------------------------- police layers */

/*
 * Splits total into n shares proportional to w (largest remainder, ties to
 * the lower index), each at least min_each; total must be at least
 * n * min_each.
 */
static int apportion(const double *w, size_t n, unsigned total, unsigned min_each, unsigned *out)
{
	double sum = 0, *rem;
	unsigned left, given = 0;

	if (n == 0 || total < (unsigned)n * min_each)
		return SG_EINVAL;
	left = total - (unsigned)n * min_each;
	rem = malloc(n * sizeof *rem);
	if (!rem)
		return SG_ENOMEM;
	for (size_t i = 0; i < n; i++)
		sum += w[i];
	for (size_t i = 0; i < n; i++) {
		double exact = sum > 0 ? left * w[i] / sum : (double)left / (double)n;
		out[i] = (unsigned)exact;
		rem[i] = exact - out[i];
		given += out[i];
	}
	while (given < left) {
		size_t best = 0;
		for (size_t i = 1; i < n; i++)
			if (rem[i] > rem[best])
				best = i;
		out[best]++;
		rem[best] = -1.0;
		given++;
	}
	for (size_t i = 0; i < n; i++)
		out[i] += min_each;
	free(rem);
	return SG_OK;
}

/* A county's police weight: population-ish, 社区 count 1, 村 and others 0.5. */
static double county_weight(const struct build *b, const struct division *county)
{
	double w = 0;

	for (size_t t = 0; t < county->nchildren; t++) {
		const struct division *tw = &b->div.v[county->first_child + (long)t];
		for (size_t v = 0; v < tw->nchildren; v++)
			w += village_is_shequ(&b->div.v[tw->first_child + (long)v]) ? 1.0 : 0.5;
	}
	return w;
}

/* Station base names used so far and how often, for numbering repeats. */
struct name_counts {
	char (*base)[64];
	unsigned *count;
	size_t n, alloc;
};

/*
 * A station's name, after the street or town its seed lies in, as real ones
 * are ("平江派出所"); stations in a zone without such a name take the
 * county's short name ("园区派出所"). A repeated base is numbered:
 * "狮山第二派出所".
 */
static int station_name(struct build *b, const struct division *county, struct geo_point seed,
			struct name_counts *nc, char *out, size_t size)
{
	const struct county_info *ci = county_lookup(county->code);
	char base[64] = "";
	size_t i;
	int k;

	for (size_t t = 0; t < county->nchildren && !base[0]; t++) {
		const struct division *tw = &b->div.v[county->first_child + (long)t];
		const struct area *a = &b->out->v[tw->area_idx];

		if (seed.lon < a->bbox.min_lon || seed.lon > a->bbox.max_lon ||
		    seed.lat < a->bbox.min_lat || seed.lat > a->bbox.max_lat ||
		    !geo_mpoly_contains(&a->geom, seed))
			continue;
		if (!township_base_name(tw->name, base, sizeof base))
			base[0] = '\0';
		break;
	}
	if (!base[0])
		snprintf(base, sizeof base, "%s", ci ? ci->station_prefix : county->name);
	for (i = 0; i < nc->n; i++)
		if (strcmp(nc->base[i], base) == 0)
			break;
	if (i == nc->n) {
		if (nc->n == nc->alloc) {
			size_t na = nc->alloc ? nc->alloc * 2 : 128;
			char(*nb)[64] = realloc(nc->base, na * sizeof *nb);
			if (nb)
				nc->base = nb;
			unsigned *cnt = realloc(nc->count, na * sizeof *cnt);
			if (cnt)
				nc->count = cnt;
			if (!nb || !cnt)
				return SG_ENOMEM;
			nc->alloc = na;
		}
		memcpy(nc->base[i], base, sizeof base);
		nc->count[i] = 0;
		nc->n++;
	}
	nc->count[i]++;
	if (nc->count[i] == 1) {
		k = snprintf(out, size, "%s派出所", base);
	} else {
		char num[16];
		chinese_number(nc->count[i], num, sizeof num);
		k = snprintf(out, size, "%s第%s派出所", base, num);
	}
	return k < 0 || (size_t)k >= size ? SG_EINTERNAL : SG_OK;
}

/*
 * Stations and police grids. About DEMO_STATIONS stations are apportioned to
 * counties by county_weight (at least two each) and drawn like streets, near
 * the core with probability the county's share of 社区 where it has rural
 * villages; codes are "<county>-PSnn". DEMO_POLICE_GRIDS grids are
 * apportioned to counties by the same weight, then to a county's stations by
 * the square root of their area (so small central stations get denser
 * grids), at least DEMO_MIN_GRIDS_PER_STATION each; names "<station>第N警务网格",
 * codes "<station code>-nnn".
 */
static int build_police(struct build *b, struct scratch *s)
{
	double *w = NULL;
	unsigned *nst = NULL, *ngr = NULL;
	long *station_idx = NULL;
	size_t nstations = 0;
	struct name_counts nc = { 0 };
	char name[256], code[AREA_CODE_MAX];
	int rc = SG_OK;

	w = calloc(b->ncounties, sizeof *w);
	nst = calloc(b->ncounties, sizeof *nst);
	ngr = calloc(b->ncounties, sizeof *ngr);
	station_idx = calloc(DEMO_STATIONS, sizeof *station_idx);
	if (!w || !nst || !ngr || !station_idx) {
		rc = SG_ENOMEM;
		goto out;
	}
	for (size_t c = 0; c < b->ncounties; c++)
		w[c] = county_weight(b, &b->div.v[b->county_first + (long)c]);
	rc = apportion(w, b->ncounties, DEMO_STATIONS, 2, nst);
	if (rc == SG_OK)
		rc = apportion(w, b->ncounties, DEMO_POLICE_GRIDS, 0, ngr);

	for (size_t c = 0; rc == SG_OK && c < b->ncounties; c++) {
		const struct division *county = &b->div.v[b->county_first + (long)c];
		size_t first = nstations, shequ = 0, all = 0;
		struct core core;
		bool use_core;
		double p;

		for (size_t t = 0; t < county->nchildren; t++) {
			const struct division *tw = &b->div.v[county->first_child + (long)t];
			for (size_t v = 0; v < tw->nchildren; v++, all++)
				shequ += village_is_shequ(&b->div.v[tw->first_child + (long)v]);
		}
		p = all ? (double)shequ / (double)all : 0.0;
		use_core = shequ < all && county_core(b, county, &core);
		rc = scratch_reserve(s, nst[c]);
		if (rc != SG_OK)
			break;
		for (unsigned i = 0; i < nst[c]; i++)
			s->p_core[i] = p;
		rc = split_area(b, county->area_idx, nst[c], STREAM_STATIONS, use_core ? &core : NULL,
				s->p_core, true, s->seeds, s->cells);
		for (unsigned i = 0; rc == SG_OK && i < nst[c]; i++) {
			int k = snprintf(code, sizeof code, "%s-PS%02u", county->code, i + 1);
			if (k < 0 || (size_t)k >= sizeof code) {
				rc = SG_EINTERNAL;
				break;
			}
			rc = station_name(b, county, s->seeds[i], &nc, name, sizeof name);
			if (rc == SG_OK)
				rc = area_set_push(b->out, AREA_STATION, code, name, county->area_idx, 0,
						   &s->cells[i], NULL);
			if (rc == SG_OK)
				station_idx[nstations++] = (long)(b->out->n - 1);
		}
		if (rc != SG_OK)
			break;

		/* This county's grids, over its stations by the square root of their area. */
		double sw[DEMO_STATIONS];
		unsigned per[DEMO_STATIONS];
		for (size_t i = first; i < nstations; i++)
			sw[i - first] = sqrt(b->out->v[station_idx[i]].area_m2);
		if (ngr[c] < nst[c] * DEMO_MIN_GRIDS_PER_STATION)
			ngr[c] = nst[c] * DEMO_MIN_GRIDS_PER_STATION;
		rc = apportion(sw, nstations - first, ngr[c], DEMO_MIN_GRIDS_PER_STATION, per);
		for (size_t i = first; rc == SG_OK && i < nstations; i++) {
			long st = station_idx[i];
			unsigned n = per[i - first];

			rc = scratch_reserve(s, n);
			if (rc == SG_OK)
				rc = split_area(b, st, n, STREAM_POLICE_GRIDS, NULL, NULL, true, s->seeds,
						s->cells);
			for (unsigned g = 0; rc == SG_OK && g < n; g++) {
				/* Re-read: pushing may move the set. */
				const struct area *sa = &b->out->v[st];
				int k1 = snprintf(name, sizeof name, "%s第%u警务网格", sa->name, g + 1);
				int k2 = snprintf(code, sizeof code, "%s-%03u", sa->code, g + 1);
				if (k1 < 0 || (size_t)k1 >= sizeof name || k2 < 0 ||
				    (size_t)k2 >= sizeof code)
					rc = SG_EINTERNAL;
				else
					rc = area_set_push(b->out, AREA_POLICE_GRID, code, name, st, 0,
							   &s->cells[g], NULL);
			}
			report(b, false);
		}
	}
out:
	free(w);
	free(nst);
	free(ngr);
	free(station_idx);
	free(nc.base);
	free(nc.count);
	return rc;
}

/* ---------------------------------------------------------------- entry */

/*
 * Finds the counties in the divisions and draws every village's number of
 * governance grids up front, so the total is known for progress reports.
 */
static int plan(struct build *b)
{
	const struct division *root = &b->div.v[0];
	struct rng r;
	size_t ngrids = 0, ntownships = 0, nvillages = 0;

	/* Every county gets at least two stations (build_police). */
	if (root->nchildren == 0 || root->nchildren * 2 > DEMO_STATIONS)
		return SG_EINTERNAL;
	b->county_first = root->first_child;
	b->ncounties = root->nchildren;
	rng_init(&r, b->seed, STREAM_GRID_COUNTS, 0, 0);
	for (size_t i = 0; i < b->div.n; i++) {
		struct division *d = &b->div.v[i];
		if (d->level == DIV_TOWNSHIP)
			ntownships++;
		if (d->level != DIV_VILLAGE)
			continue;
		nvillages++;
		if (village_is_shequ(d))
			d->ngrids = rng_range(&r, DEMO_GRIDS_SHEQU_LO, DEMO_GRIDS_SHEQU_HI);
		else if (village_is_cun(d))
			d->ngrids = rng_range(&r, DEMO_GRIDS_CUN_LO, DEMO_GRIDS_CUN_HI);
		else
			d->ngrids = rng_range(&r, DEMO_GRIDS_OTHER_LO, DEMO_GRIDS_OTHER_HI);
		ngrids += d->ngrids;
	}
	/* Every township and village must have children to be split into. */
	for (size_t i = 0; i < b->div.n; i++)
		if (b->div.v[i].level != DIV_VILLAGE && b->div.v[i].nchildren == 0)
			return SG_EINTERNAL;
	b->expected = 1 + b->ncounties + ntownships + nvillages + ngrids + DEMO_STATIONS +
		      DEMO_POLICE_GRIDS;
	return SG_OK;
}

int demo_city_build(uint64_t seed, struct area_set *out, demo_progress_fn progress, void *ctx)
{
	struct build b = { 0 };
	struct scratch s = { 0 };
	int rc;

	b.out = out;
	b.base = out->n;
	b.seed = seed;
	b.progress = progress;
	b.progress_ctx = ctx;
	b.ctx = geo_geos_context_new();
	if (!b.ctx)
		return SG_ENOMEM;
	rc = divisions_parse(&b.div);
	if (rc == SG_OK)
		rc = plan(&b);
	if (rc == SG_OK)
		rc = build_districts(&b);
	if (rc == SG_OK)
		rc = build_streets(&b, &s);
	if (rc == SG_OK)
		rc = build_communities(&b, &s);
	if (rc == SG_OK)
		rc = build_gov_grids(&b, &s);
	if (rc == SG_OK)
		rc = build_police(&b, &s);
	if (rc == SG_OK)
		report(&b, true);
	scratch_release(&s);
	divisions_release(&b.div);
	geo_geos_context_free(b.ctx);
	return rc;
}
