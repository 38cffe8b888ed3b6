/*
 * areas_import.c — a GeoJSON FeatureCollection of areas into an area_set.
 *
 * Four passes over the features, each refusing the whole document at the
 * first problem: (1) read and check every feature's properties and geometry,
 * validating (or repairing) each polygon with GEOS; (2) refuse duplicate
 * codes; (3) resolve every parent, in the file first and then through the
 * caller's resolver; (4) refuse cycles, check parent kinds and order the
 * areas parents first. Only then is the output built, so a failure leaves it
 * untouched. Exports areas_import_parse and the report's init/release.
 */
#include "import/areas_import.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/err.h"
#include "base/json.h"
#include "geo/geojson.h"
#include "geo/geos_bridge.h" /* and geos_c.h, reentrant API only */

/* One feature as read, before it becomes an area. */
struct pending {
	enum area_kind kind;
	const char *code;        /* borrowed from the document; NULL if none */
	const char *name;        /* borrowed from the document */
	const char *parent_code; /* borrowed from the document; NULL if none */
	int64_t parent_ref;      /* the "parent" property; 0 if none */
	long parent_idx;         /* resolved: a feature of the file, or -1 */
	int64_t parent_id;       /* resolved: a stored area, or 0 */
	enum area_kind parent_kind;
	struct geo_mpoly geom;   /* owned until moved into the output */
};

/* A feature's code, for sorting and lookup. */
struct code_ref {
	const char *code;
	long idx;
};

struct import {
	unsigned flags;
	areas_import_resolve_fn resolve;
	void *resolve_ctx;
	areas_import_progress_fn progress;
	void *progress_ctx;
	struct areas_import_error *err;
	GEOSContextHandle_t geos;
	struct pending *v;      /* n entries, the features in file order */
	size_t n;
	struct code_ref *codes; /* ncodes entries sorted by code */
	size_t ncodes;
	struct areas_import_repair *repairs;
	size_t nrepairs;
	long *order;            /* order[k]: the feature that becomes area k */
};

/* The kind each kind's parent must have; AREA_KIND_COUNT for "no parent". */
static const enum area_kind parent_kind_of[AREA_KIND_COUNT] = {
	[AREA_CITY] = AREA_KIND_COUNT,       [AREA_DISTRICT] = AREA_CITY,
	[AREA_STATION] = AREA_DISTRICT,      [AREA_POLICE_GRID] = AREA_STATION,
	[AREA_STREET] = AREA_DISTRICT,       [AREA_COMMUNITY] = AREA_STREET,
	[AREA_GOV_GRID] = AREA_COMMUNITY,
};

void areas_import_report_init(struct areas_import_report *r)
{
	memset(r, 0, sizeof *r);
}

void areas_import_report_release(struct areas_import_report *r)
{
	free(r->repairs);
	free(r->feature_of);
	areas_import_report_init(r);
}

/*
 * Records an error and returns rc, so that a check reads
 * `return fail(im, SG_EINVAL, i, "properties.kind", "...")`. member is the
 * path inside feature i (or inside the document when feature is -1).
 */
__attribute__((format(printf, 5, 6))) static int fail(struct import *im, int rc, long feature,
						       const char *member, const char *fmt, ...)
{
	struct areas_import_error *e = im->err;
	va_list ap;

	e->feature = feature;
	e->line = e->column = 0;
	if (feature >= 0)
		snprintf(e->field, sizeof e->field, "features[%ld]%s%s", feature,
			 *member ? "." : "", member);
	else
		snprintf(e->field, sizeof e->field, "%s", member);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * A GEOS call that failed (NULL, or 2 from a predicate): GEOS caught an
 * exception and kept its what() as the context's last error: std::bad_alloc,
 * or "Failed to allocate memory ..." from its C layer, when memory ran out. A
 * failure with no message is that C layer failing a malloc too. Anything else is GEOS
 * failing on input it should take. None of them says the polygon is invalid.
 */
static int geos_failed(struct import *im, long i, const char *doing)
{
	const char *why = geo_geos_last_error(im->geos);

	if (!*why || strstr(why, "bad_alloc") || strstr(why, "allocate memory"))
		return fail(im, SG_ENOMEM, i, "geometry", "out of memory while %s", doing);
	return fail(im, SG_EINTERNAL, i, "geometry", "GEOS failed while %s: %s", doing, why);
}

/* A code is 1..AREA_CODE_MAX-1 bytes of letters, digits, '-' and '_'. */
static int code_is_valid(const char *s, size_t len)
{
	if (len == 0 || len >= AREA_CODE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

/*
 * Reads an optional code-like property (code, parent_code): absent or null
 * gives NULL, anything but a valid code is an error.
 */
static int read_code(struct import *im, long i, const json_t *props, const char *key,
		     const char *field, const char **out)
{
	const json_t *v = json_object_get(props, key);

	if (!v || json_is_null(v)) {
		*out = NULL;
		return SG_OK;
	}
	if (!json_is_string(v) || !code_is_valid(json_string_value(v), json_string_length(v)))
		return fail(im, SG_EINVAL, i, field,
			    "%s must be a string of 1 to %d letters, digits, '-' or '_'", key,
			    AREA_CODE_MAX - 1);
	*out = json_string_value(v);
	return SG_OK;
}

/* Reads kind, name, code and the parent reference of feature i. */
static int read_properties(struct import *im, long i, const json_t *props, struct pending *p)
{
	const json_t *kind = json_object_get(props, "kind");
	const json_t *name = json_object_get(props, "name");
	const json_t *parent = json_object_get(props, "parent");
	int rc;

	if (!kind)
		return fail(im, SG_EINVAL, i, "properties.kind", "kind is required");
	if (!json_is_string(kind) || area_kind_parse(json_string_value(kind), &p->kind) != SG_OK)
		return fail(im, SG_EINVAL, i, "properties.kind",
			    "kind must be one of city, district, station, police_grid, street, "
			    "community, gov_grid");
	if (!name)
		return fail(im, SG_EINVAL, i, "properties.name", "name is required");
	if (!json_is_string(name) || json_string_length(name) == 0)
		return fail(im, SG_EINVAL, i, "properties.name", "name must be a non-empty string");
	if (json_string_length(name) > AREAS_IMPORT_NAME_MAX)
		return fail(im, SG_EINVAL, i, "properties.name", "name is longer than %d bytes",
			    AREAS_IMPORT_NAME_MAX);
	p->name = json_string_value(name);
	rc = read_code(im, i, props, "code", "properties.code", &p->code);
	if (rc == SG_OK)
		rc = read_code(im, i, props, "parent_code", "properties.parent_code",
			       &p->parent_code);
	if (rc != SG_OK)
		return rc;

	p->parent_ref = 0;
	if (parent && !json_is_null(parent)) {
		if (!json_is_integer(parent) || json_integer_value(parent) <= 0)
			return fail(im, SG_EINVAL, i, "properties.parent",
				    "parent must be the id (a positive integer) of a stored area");
		if (p->parent_code)
			return fail(im, SG_EINVAL, i, "properties.parent",
				    "give parent_code or parent, not both");
		p->parent_ref = json_integer_value(parent);
	}

	if (p->kind == AREA_CITY && (p->parent_code || p->parent_ref))
		return fail(im, SG_EINVAL, i,
			    p->parent_code ? "properties.parent_code" : "properties.parent",
			    "a city has no parent");
	if (p->kind != AREA_CITY && !p->parent_code && !p->parent_ref)
		return fail(im, SG_EINVAL, i, "properties.parent_code",
			    "a %s needs a parent (parent_code or parent)", area_kind_name(p->kind));
	return SG_OK;
}

static int add_repair(struct import *im, long i, const char *reason)
{
	struct areas_import_repair *r;

	/* One entry per feature at most, so im->n bounds the array. */
	if (!im->repairs) {
		im->repairs = calloc(im->n, sizeof *im->repairs);
		if (!im->repairs)
			return fail(im, SG_ENOMEM, i, "geometry", "out of memory");
	}
	r = &im->repairs[im->nrepairs++];
	r->feature = i;
	snprintf(r->reason, sizeof r->reason, "%s", reason);
	return SG_OK;
}

/*
 * Replaces p->geom, found invalid for `reason`, by GEOS's repair of it,
 * keeping only polygonal parts. Refuses a repair that leaves nothing or that
 * GEOS itself does not find valid.
 */
static int repair_geometry(struct import *im, long i, const GEOSGeometry *g, const char *reason,
			   struct pending *p)
{
	GEOSGeometry *fixed = NULL, *check = NULL;
	struct geo_mpoly m;
	int rc, valid;

	geo_mpoly_init(&m);
	fixed = GEOSMakeValid_r(im->geos, g);
	if (!fixed) {
		rc = geos_failed(im, i, "repairing the polygon");
		goto out;
	}
	rc = geo_mpoly_from_geos(im->geos, fixed, &m);
	if (rc == SG_ENOMEM) {
		rc = fail(im, rc, i, "geometry", "out of memory");
		goto out;
	}
	if (rc != SG_OK || m.npolys == 0) {
		rc = fail(im, SG_EINVAL, i, "geometry",
			  "invalid polygon (%s): no area is left once repaired", reason);
		goto out;
	}
	check = geo_mpoly_to_geos(im->geos, &m);
	valid = check ? GEOSisValid_r(im->geos, check) : 2;
	if (valid == 2) {
		rc = geos_failed(im, i, "checking the repaired polygon");
		goto out;
	}
	if (valid != 1) {
		rc = fail(im, SG_EINVAL, i, "geometry", "invalid polygon (%s) could not be repaired",
			  reason);
		goto out;
	}
	rc = add_repair(im, i, reason);
	if (rc != SG_OK)
		goto out;
	geo_mpoly_release(&p->geom);
	p->geom = m;
	geo_mpoly_init(&m);
out:
	if (check)
		GEOSGeom_destroy_r(im->geos, check);
	if (fixed)
		GEOSGeom_destroy_r(im->geos, fixed);
	geo_mpoly_release(&m);
	return rc;
}

/*
 * Validates feature i's polygon with GEOS. An invalid one is refused with
 * GEOS's reason ("Self-intersection[x y]", "Hole lies outside shell[x y]",
 * ...) or, under AREAS_IMPORT_MAKE_VALID, repaired.
 */
static int validate_geometry(struct import *im, long i, struct pending *p)
{
	GEOSGeometry *g = NULL;
	char *why = NULL;
	char reason[128];
	int rc = SG_OK, valid;

	if (p->geom.npolys == 0)
		return fail(im, SG_EINVAL, i, "geometry.coordinates", "geometry is empty");
	g = geo_mpoly_to_geos(im->geos, &p->geom);
	if (!g) {
		rc = geos_failed(im, i, "taking the polygon");
		goto out;
	}
	valid = GEOSisValid_r(im->geos, g);
	if (valid == 1)
		goto out;
	if (valid != 0 || !(why = GEOSisValidReason_r(im->geos, g))) {
		rc = geos_failed(im, i, "checking the polygon");
		goto out;
	}
	snprintf(reason, sizeof reason, "%s", why);
	if (!(im->flags & AREAS_IMPORT_MAKE_VALID)) {
		rc = fail(im, SG_EINVAL, i, "geometry", "invalid polygon: %s", reason);
		goto out;
	}
	rc = repair_geometry(im, i, g, reason, p);
out:
	if (why)
		GEOSFree_r(im->geos, why);
	if (g)
		GEOSGeom_destroy_r(im->geos, g);
	return rc;
}

/* Reads feature i: its structure, properties and geometry. */
static int read_feature(struct import *im, long i, const json_t *f, struct pending *p)
{
	const json_t *type, *props, *geom, *gtype;
	const char *why = "";
	int rc;

	if (!json_is_object(f))
		return fail(im, SG_EINVAL, i, "", "a feature must be an object");
	type = json_object_get(f, "type");
	if (!json_is_string(type) || strcmp(json_string_value(type), "Feature") != 0)
		return fail(im, SG_EINVAL, i, "type", "type must be \"Feature\"");
	props = json_object_get(f, "properties");
	if (!json_is_object(props))
		return fail(im, SG_EINVAL, i, "properties", "properties must be an object");
	rc = read_properties(im, i, props, p);
	if (rc != SG_OK)
		return rc;

	geom = json_object_get(f, "geometry");
	if (!json_is_object(geom))
		return fail(im, SG_EINVAL, i, "geometry", "geometry must be an object");
	gtype = json_object_get(geom, "type");
	if (!json_is_string(gtype) || (strcmp(json_string_value(gtype), "Polygon") != 0 &&
				       strcmp(json_string_value(gtype), "MultiPolygon") != 0))
		return fail(im, SG_EINVAL, i, "geometry.type",
			    "geometry must be a Polygon or a MultiPolygon");
	rc = geo_geojson_read_polygonal(geom, &p->geom, &why);
	if (rc != SG_OK)
		return fail(im, rc, i, "geometry.coordinates", "%s", why);
	return validate_geometry(im, i, p);
}

static int code_ref_cmp(const void *a, const void *b)
{
	const struct code_ref *x = a, *y = b;
	int c = strcmp(x->code, y->code);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The feature of the file with this code, or -1. Codes are unique by now. */
static long find_code(const struct import *im, const char *code)
{
	size_t lo = 0, hi = im->ncodes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(im->codes[mid].code, code);
		if (c == 0)
			return im->codes[mid].idx;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * Sorts the codes of the file and refuses duplicates. Of several duplicates
 * the one reported is the earliest feature that repeats a code seen before,
 * as a reader going down the file would meet it.
 */
static int index_codes(struct import *im)
{
	long dup = -1, first = -1;

	im->codes = malloc((im->n ? im->n : 1) * sizeof *im->codes);
	if (!im->codes)
		return fail(im, SG_ENOMEM, -1, "features", "out of memory");
	for (size_t i = 0; i < im->n; i++) {
		if (im->v[i].code) {
			im->codes[im->ncodes].code = im->v[i].code;
			im->codes[im->ncodes].idx = (long)i;
			im->ncodes++;
		}
	}
	qsort(im->codes, im->ncodes, sizeof *im->codes, code_ref_cmp);
	for (size_t k = 1; k < im->ncodes; k++) {
		const struct code_ref *a = &im->codes[k - 1], *b = &im->codes[k];
		/* Within a run of equal codes, the 2nd entry is the first repeat. */
		if (strcmp(a->code, b->code) == 0 && (k < 2 || strcmp(im->codes[k - 2].code, a->code)) &&
		    (dup < 0 || b->idx < dup)) {
			dup = b->idx;
			first = a->idx;
		}
	}
	if (dup >= 0)
		return fail(im, SG_EINVAL, dup, "properties.code",
			    "duplicate code \"%s\" (also features[%ld])", im->v[dup].code, first);
	return SG_OK;
}

/* Asks the caller's store for an area by code or id. */
static int resolve_stored(struct import *im, long i, const char *field, const char *code,
			  int64_t id, struct pending *p)
{
	int64_t found = 0;
	enum area_kind kind = AREA_KIND_COUNT;
	int rc = im->resolve ? im->resolve(im->resolve_ctx, code, id, &found, &kind) : SG_ENOTFOUND;

	if (rc == SG_ENOTFOUND) {
		if (code)
			return fail(im, SG_EINVAL, i, field,
				    "unknown parent_code \"%s\": no such area in the file or the store",
				    code);
		return fail(im, SG_EINVAL, i, field, "unknown parent %lld: no such stored area",
			    (long long)id);
	}
	if (rc != SG_OK)
		return fail(im, rc, i, field, "looking up the parent failed (%s)", sg_err_name(rc));
	if (found <= 0 || (unsigned)kind >= AREA_KIND_COUNT)
		return fail(im, SG_EINTERNAL, i, field, "the store answered a malformed parent");
	p->parent_id = found;
	p->parent_kind = kind;
	return SG_OK;
}

/* Resolves every parent reference, in the file first, then in the store. */
static int resolve_parents(struct import *im)
{
	int rc = SG_OK;

	for (size_t i = 0; rc == SG_OK && i < im->n; i++) {
		struct pending *p = &im->v[i];
		long j;

		if (p->parent_code) {
			j = find_code(im, p->parent_code);
			if (j >= 0) {
				p->parent_idx = j;
				p->parent_kind = im->v[j].kind;
			} else {
				rc = resolve_stored(im, (long)i, "properties.parent_code", p->parent_code,
						    0, p);
			}
		} else if (p->parent_ref) {
			rc = resolve_stored(im, (long)i, "properties.parent", NULL, p->parent_ref, p);
		}
	}
	return rc;
}

/*
 * Refuses cycles among parents in the file and puts the features in
 * topological order: by depth below the file's roots (a feature whose parent
 * is stored, or a city, is a root), keeping file order within a depth.
 * Parent kinds are checked after cycles so that two features naming each
 * other hear "cycle" rather than a puzzling kind mismatch.
 */
static int order_features(struct import *im)
{
	size_t n = im->n, maxdepth = 0;
	unsigned char *state = NULL; /* 0 unseen, 1 on the current path, 2 done */
	size_t *depth = NULL, *count = NULL;
	long *path = NULL;
	int rc = SG_OK;

	state = calloc(n ? n : 1, 1);
	depth = calloc(n ? n : 1, sizeof *depth);
	path = malloc((n ? n : 1) * sizeof *path);
	im->order = malloc((n ? n : 1) * sizeof *im->order);
	if (!state || !depth || !path || !im->order) {
		rc = fail(im, SG_ENOMEM, -1, "features", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = 0, d;
		long k = (long)i;

		while (k >= 0 && state[k] == 0) {
			state[k] = 1;
			path[len++] = k;
			k = im->v[k].parent_idx;
		}
		if (k >= 0 && state[k] == 1) {
			/* k is on the path just walked: report the cycle's earliest feature. */
			long lowest = k;
			for (long c = im->v[k].parent_idx; c != k; c = im->v[c].parent_idx)
				lowest = c < lowest ? c : lowest;
			rc = fail(im, SG_EINVAL, lowest, "properties.parent_code",
				  "parent_code forms a cycle (through features[%ld])",
				  im->v[lowest].parent_idx);
			goto out;
		}
		d = k >= 0 ? depth[k] + 1 : 0;
		while (len > 0) {
			long c = path[--len];
			depth[c] = d++;
			state[c] = 2;
		}
		if (d - 1 > maxdepth)
			maxdepth = d - 1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pending *p = &im->v[i];
		enum area_kind want = parent_kind_of[p->kind];
		if (p->kind != AREA_CITY && p->parent_kind != want) {
			rc = fail(im, SG_EINVAL, (long)i,
				  p->parent_code ? "properties.parent_code" : "properties.parent",
				  "the parent of a %s must be a %s, not a %s", area_kind_name(p->kind),
				  area_kind_name(want), area_kind_name(p->parent_kind));
			goto out;
		}
	}

	/* A counting sort on depth is stable, so file order survives within a depth. */
	count = calloc(maxdepth + 2, sizeof *count);
	if (!count) {
		rc = fail(im, SG_ENOMEM, -1, "features", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		count[depth[i] + 1]++;
	for (size_t d = 1; d <= maxdepth + 1; d++)
		count[d] += count[d - 1];
	for (size_t i = 0; i < n; i++)
		im->order[count[depth[i]]++] = (long)i;
out:
	free(count);
	free(path);
	free(depth);
	free(state);
	return rc;
}

/* Moves the pending features into a new set, in im->order. */
static int build_set(struct import *im, struct area_set *set)
{
	long *pos = malloc((im->n ? im->n : 1) * sizeof *pos);
	int rc = SG_OK;

	if (!pos)
		return fail(im, SG_ENOMEM, -1, "features", "out of memory");
	for (size_t k = 0; k < im->n; k++)
		pos[im->order[k]] = (long)k;
	for (size_t k = 0; rc == SG_OK && k < im->n; k++) {
		struct pending *p = &im->v[im->order[k]];
		long parent = p->parent_idx >= 0 ? pos[p->parent_idx] : -1;

		rc = area_set_push(set, p->kind, p->code, p->name, parent, p->parent_id, &p->geom,
				   NULL);
		if (rc != SG_OK)
			rc = fail(im, rc, im->order[k], "", "could not add the area (%s)",
				  sg_err_name(rc));
	}
	free(pos);
	return rc;
}

/* Checks the document's outer structure; *features is borrowed from root. */
static int read_collection(struct import *im, const json_t *root, const json_t **features)
{
	const json_t *type, *fs;

	if (!json_is_object(root))
		return fail(im, SG_EINVAL, -1, "", "the document must be a GeoJSON FeatureCollection");
	type = json_object_get(root, "type");
	if (!json_is_string(type) || strcmp(json_string_value(type), "FeatureCollection") != 0)
		return fail(im, SG_EINVAL, -1, "type", "type must be \"FeatureCollection\"");
	fs = json_object_get(root, "features");
	if (!json_is_array(fs))
		return fail(im, SG_EINVAL, -1, "features", "features must be an array");
	if (json_array_size(fs) > AREAS_IMPORT_MAX_FEATURES)
		return fail(im, SG_ETOOBIG, -1, "features", "more than %d features",
			    AREAS_IMPORT_MAX_FEATURES);
	*features = fs;
	return SG_OK;
}

int areas_import_parse(const char *text, size_t len, const struct areas_import_opts *opts,
		       struct area_set *out, struct areas_import_report *report,
		       struct areas_import_error *err)
{
	struct areas_import_error scratch;
	struct import im;
	struct area_set set;
	json_error_t jerr;
	json_t *root = NULL;
	const json_t *features = NULL;
	size_t step;
	int rc;

	memset(&im, 0, sizeof im);
	area_set_init(&set);
	im.err = err ? err : &scratch;
	if (opts) {
		im.flags = opts->flags;
		im.resolve = opts->resolve;
		im.resolve_ctx = opts->resolve_ctx;
		im.progress = opts->progress;
		im.progress_ctx = opts->progress_ctx;
	}
	if (out->n != 0) {
		rc = fail(&im, SG_EINVAL, -1, "", "the output set must be empty");
		goto out;
	}
	if (len > AREAS_IMPORT_MAX_TEXT) {
		rc = fail(&im, SG_ETOOBIG, -1, "", "the document is larger than %zu bytes",
			  AREAS_IMPORT_MAX_TEXT);
		goto out;
	}

	root = sg_json_loadb(text ? text : "", text ? len : 0, JSON_REJECT_DUPLICATES, &jerr, &rc);
	if (rc == SG_ENOMEM) {
		fail(&im, rc, -1, "", "out of memory reading the document");
		goto out;
	}
	if (!root) {
		rc = fail(&im, SG_EINVAL, -1, "", "JSON syntax error at line %d, column %d: %s",
			  jerr.line, jerr.column, jerr.text);
		im.err->line = jerr.line;
		im.err->column = jerr.column;
		goto out;
	}
	rc = read_collection(&im, root, &features);
	if (rc != SG_OK)
		goto out;

	im.geos = geo_geos_context_new();
	if (!im.geos) {
		rc = fail(&im, SG_ENOMEM, -1, "", "could not start GEOS");
		goto out;
	}
	im.n = json_array_size(features);
	im.v = calloc(im.n ? im.n : 1, sizeof *im.v);
	if (!im.v) {
		rc = fail(&im, SG_ENOMEM, -1, "features", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < im.n; i++) {
		geo_mpoly_init(&im.v[i].geom);
		im.v[i].parent_idx = -1;
		im.v[i].parent_kind = AREA_KIND_COUNT;
	}

	step = im.n >= 100 ? im.n / 100 : 1;
	for (size_t i = 0; i < im.n; i++) {
		rc = read_feature(&im, (long)i, json_array_get(features, i), &im.v[i]);
		if (rc != SG_OK)
			goto out;
		if (im.progress && ((i + 1) % step == 0 || i + 1 == im.n))
			im.progress(im.progress_ctx, i + 1, im.n);
	}
	rc = index_codes(&im);
	if (rc == SG_OK)
		rc = resolve_parents(&im);
	if (rc == SG_OK)
		rc = order_features(&im);
	if (rc == SG_OK)
		rc = build_set(&im, &set);
	if (rc != SG_OK)
		goto out;

	/* Nothing can fail from here on: publish the results. */
	area_set_release(out);
	*out = set;
	area_set_init(&set);
	if (report) {
		areas_import_report_release(report);
		report->features = im.n;
		report->repaired = im.nrepairs;
		report->repairs = im.repairs;
		report->feature_of = im.order;
		im.repairs = NULL;
		im.order = NULL;
	}
out:
	area_set_release(&set);
	for (size_t i = 0; im.v && i < im.n; i++)
		geo_mpoly_release(&im.v[i].geom);
	free(im.v);
	free(im.codes);
	free(im.repairs);
	free(im.order);
	geo_geos_context_free(im.geos);
	json_decref(root);
	return rc;
}
