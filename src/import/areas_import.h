/*
 * areas_import.h — reading a GeoJSON FeatureCollection of areas.
 *
 * Turns the text of an RFC 7946 FeatureCollection, one Feature per area, into
 * an area_set ready for the store: every property checked, every parent
 * resolved (in the same file or, through a callback, in the store), every
 * polygon validated by GEOS, and the areas ordered parents first. It is all
 * or nothing: on any error the output is untouched and the error names the
 * feature and the field. It does no I/O; the caller reads the file and stores
 * the result.
 *
 * A feature's properties:
 *   kind         required; one of area_kind_name()'s names
 *   name         required; a non-empty string of at most 200 bytes
 *   code         optional; 1..23 of [0-9A-Za-z_-], unique within the file
 *   parent_code  the code of the parent: another feature of the file (before
 *                or after this one; the file wins over the store), else an
 *                area already stored (through the resolver)
 *   parent       or the id (an integer > 0) of an area already stored
 * A city has no parent; every other kind has exactly one, of the kind its
 * hierarchy requires (district → city, station → district, police_grid →
 * station, street → district, community → street, gov_grid → community).
 * JSON null counts as absent for code, parent_code and parent; other members
 * are ignored.
 */
#ifndef SAFEGRID_IMPORT_AREAS_IMPORT_H
#define SAFEGRID_IMPORT_AREAS_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "model/area.h"

/* Limits on one document. */
#define AREAS_IMPORT_MAX_TEXT ((size_t)512 << 20) /* bytes of JSON text */
#define AREAS_IMPORT_MAX_FEATURES 200000
#define AREAS_IMPORT_NAME_MAX 200                 /* bytes of UTF-8 */

enum areas_import_flags {
	/*
	 * Repair an invalid polygon with GEOSMakeValid (keeping only its
	 * polygonal parts) instead of refusing the document; each repair is
	 * listed in the report with GEOS's reason.
	 */
	AREAS_IMPORT_MAKE_VALID = 1 << 0,
};

/*
 * Looks up an area already in the store, by code (id == 0) or by id
 * (code == NULL). Returns 0 with *out_id and *out_kind set when found,
 * SG_ENOTFOUND when not, or another negative SG_E* code if the lookup itself
 * failed (that code then fails the import). code is borrowed for the call.
 */
typedef int (*areas_import_resolve_fn)(void *ctx, const char *code, int64_t id, int64_t *out_id,
				       enum area_kind *out_kind);

/* Called about every 1% of the features read and validated; done <= total. */
typedef void (*areas_import_progress_fn)(void *ctx, size_t done, size_t total);

struct areas_import_opts {
	unsigned flags;                    /* enum areas_import_flags */
	areas_import_resolve_fn resolve;   /* NULL: nothing is in the store */
	void *resolve_ctx;
	areas_import_progress_fn progress; /* may be NULL */
	void *progress_ctx;
};

/* Where and why an import failed. */
struct areas_import_error {
	long feature;     /* 0-based index in "features"; -1 for the document as a whole */
	int line, column; /* 1-based position of a JSON syntax error; 0 otherwise */
	char field[64];   /* e.g. "features[12].properties.parent_code"; "" for the text itself */
	char message[256];
};

/* One polygon repaired under AREAS_IMPORT_MAKE_VALID. */
struct areas_import_repair {
	long feature;      /* index in "features" */
	char reason[128];  /* GEOS's reason, e.g. "Self-intersection[120.5 31.3]" */
};

struct areas_import_report {
	size_t features;                     /* features read (== areas produced) */
	size_t repaired;                     /* entries in repairs */
	struct areas_import_repair *repairs; /* owned; in feature order */
	long *feature_of;                    /* owned; feature_of[k]: the feature index of out->v[k] */
};

void areas_import_report_init(struct areas_import_report *r);
void areas_import_report_release(struct areas_import_report *r);

/*
 * Parses len bytes of text (need not be NUL-terminated; borrowed for the call)
 * into out, which must be initialised and empty. opts may be NULL (no flags,
 * no resolver, no progress).
 *
 * On success returns 0 and out holds one area per feature, each parent before
 * its children: parent_idx set (parent_id 0) for a parent in the same file,
 * parent_id set (parent_idx -1) for a stored parent, both unset for a city.
 * If report is not NULL it must be initialised; it is filled (the caller
 * releases it).
 *
 * On failure out and report are untouched, err (if not NULL) says where and
 * why, and the return is SG_EINVAL for bad input, SG_ETOOBIG for a crossed
 * limit, SG_ENOMEM, SG_EINTERNAL for an unexpected GEOS failure, or the
 * resolver's own error code.
 */
int areas_import_parse(const char *text, size_t len, const struct areas_import_opts *opts,
		       struct area_set *out, struct areas_import_report *report,
		       struct areas_import_error *err);

#endif
