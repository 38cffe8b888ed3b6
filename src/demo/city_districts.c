/*
 * city_districts.c — the demo city's top two layers: the city and its 10
 * counties, from the 9 embedded district polygons. Each is repaired with
 * GEOS and put on the grid; 苏州工业园区 is cut out of 姑苏区's polygon at
 * the meridian that leaves 姑苏区 its official area; and all are noded
 * together, the faces handed back to their counties (the few gaps between
 * districts to a neighbour), so that counties share every boundary vertex
 * and the city is their union.
 *
 * Not the finer layers, which are drawn (city_split.c) rather than read.
 * Exports (city_internal.h) demo__build_districts only.
 */
#include "demo/city_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "geo/geojson.h"

#define DEMO_GUSU_CODE "320508"
#define DEMO_PARK_CODE "320576"
/* 姑苏区's official area; the west part of the source polygon keeps this much. */
#define DEMO_GUSU_KM2 83.4

/*
 * One district polygon from the GeoJSON, made usable: GEOS make-valid (the
 * source rings touch themselves where quantisation collapsed them), only the
 * polygonal parts kept, and every vertex put on the grid.
 */
static int district_geometry(struct demo__build *b, const json_t *geometry, GEOSGeometry **out)
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
		rc = demo__geos_failed(b, "to_geos");
		goto out;
	}
	valid = GEOSMakeValid_r(b->ctx, g);
	if (!valid) {
		rc = demo__geos_failed(b, "make_valid");
		goto out;
	}
	rc = demo__keep_polygonal(b, &valid);
	if (rc != SG_OK)
		goto out;
	gridded = GEOSGeom_setPrecision_r(b->ctx, valid, DEMO_GRID_DEG, 0);
	if (!gridded) {
		rc = demo__geos_failed(b, "set_precision");
		goto out;
	}
	rc = demo__keep_polygonal(b, &gridded);
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
static GEOSGeometry *west_of(struct demo__build *b, const GEOSGeometry *g, double x)
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
static int park_meridian(struct demo__build *b, const GEOSGeometry *gusu, double *out)
{
	double lo, hi, area = 0;
	int rc = SG_OK;

	if (!GEOSGeom_getXMin_r(b->ctx, gusu, &lo) || !GEOSGeom_getXMax_r(b->ctx, gusu, &hi))
		return demo__geos_failed(b, "envelope");
	for (int i = 0; rc == SG_OK && i < 40; i++) {
		double x = (lo + hi) / 2;
		GEOSGeometry *west = west_of(b, gusu, x);

		if (!west)
			return demo__geos_failed(b, "carve");
		rc = demo__geos_area_m2(b, west, &area);
		GEOSGeom_destroy_r(b->ctx, west);
		if (area < DEMO_GUSU_KM2 * 1e6)
			lo = x;
		else
			hi = x;
	}
	*out = round((lo + hi) / 2 * 1e6) / 1e6;
	return rc;
}

/*
 * The faces of the districts' boundaries and the park's meridian (inside
 * 姑苏区 only), noded together on the grid. Faces, unlike the source
 * polygons, share every boundary vertex with their neighbours: the source
 * has stretches where one district's vertex lies on (or a nanometre off) its
 * neighbour's edge, and there the two polygons do not meet vertex for vertex.
 */
static GEOSGeometry *district_faces(struct demo__build *b, GEOSGeometry *const *dist, size_t n,
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
	col = demo__collect(b, GEOS_GEOMETRYCOLLECTION, lines, made);
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
static int shared_border(struct demo__build *b, const GEOSGeometry *g, const GEOSGeometry *face,
			 double *len)
{
	GEOSGeometry *bg = GEOSBoundary_r(b->ctx, g), *bf = GEOSBoundary_r(b->ctx, face);
	GEOSGeometry *common = NULL;
	int rc = SG_OK;

	if (bg && bf)
		common = GEOSIntersectionPrec_r(b->ctx, bg, bf, DEMO_GRID_DEG);
	if (!common || !GEOSLength_r(b->ctx, common, len))
		rc = demo__geos_failed(b, "shared_border");
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
static int face_owner(struct demo__build *b, const GEOSGeometry *face, GEOSGeometry *const *dist,
		      size_t n, size_t gusu, size_t park, double meridian, size_t *owner)
{
	GEOSGeometry *pt = GEOSPointOnSurface_r(b->ctx, face);
	double x = 0, area = 0, best = 0, len;
	size_t c = n;
	int rc = SG_OK;

	if (!pt || !GEOSGeomGetX_r(b->ctx, pt, &x) || !GEOSArea_r(b->ctx, face, &area)) {
		rc = demo__geos_failed(b, "face");
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
static int tile_counties(struct demo__build *b, GEOSGeometry **dist, size_t n, size_t gusu,
			 size_t park)
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
		return demo__geos_failed(b, "polygonize");
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
		fresh[c] = k ? demo__union_of(b, mine, k) : NULL;
		if (!fresh[c])
			rc = k ? demo__geos_failed(b, "union") : SG_EINTERNAL;
		else
			rc = demo__keep_polygonal(b, &fresh[c]);
	}
	for (size_t c = 0; rc == SG_OK && c < n; c++)
		rc = demo__densify(b, &fresh[c]);
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
int demo__build_districts(struct demo__build *b)
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
	city = demo__union_of(b, dist, b->ncounties);
	if (!city) {
		rc = demo__geos_failed(b, "union");
		goto out;
	}
	rc = demo__push_geos(b, AREA_CITY, b->div.v[0].code, b->div.v[0].name, -1, city);
	if (rc != SG_OK)
		goto out;
	b->div.v[0].area_idx = (long)(b->out->n - 1);
	for (size_t c = 0; rc == SG_OK && c < b->ncounties; c++) {
		struct demo__division *d = &b->div.v[b->county_first + (long)c];
		rc = demo__push_geos(b, AREA_DISTRICT, d->code, d->name, b->div.v[0].area_idx,
				     dist[c]);
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
