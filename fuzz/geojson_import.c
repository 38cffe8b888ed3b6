/*
 * geojson_import.c — libFuzzer target for import/areas_import.c (and through
 * it geo/geojson.c and the GEOS bridge).
 *
 * Feeds the input as a FeatureCollection to areas_import_parse with a store
 * that knows one city (code "320500", id 1) and one district ("320508", id 2),
 * repairing invalid polygons when the input's length is odd so both paths are
 * explored. Besides crashes and leaks it checks what the importer promises:
 * on success parents come before children, every parent link is of the
 * required kind, and the report matches the output; on failure nothing is
 * produced and the error names a field. A broken promise aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "import/areas_import.h"

static int fixed_store(void *ctx, const char *code, int64_t id, int64_t *out_id,
		       enum area_kind *out_kind)
{
	(void)ctx;
	if ((code && strcmp(code, "320500") == 0) || (!code && id == 1)) {
		*out_id = 1;
		*out_kind = AREA_CITY;
		return SG_OK;
	}
	if ((code && strcmp(code, "320508") == 0) || (!code && id == 2)) {
		*out_id = 2;
		*out_kind = AREA_DISTRICT;
		return SG_OK;
	}
	return SG_ENOTFOUND;
}

static void count_progress(void *ctx, size_t done, size_t total)
{
	size_t *last = ctx;

	if (done > total || done < *last)
		abort();
	*last = done;
}

/* The kind a parent of kind k must have (AREA_KIND_COUNT: none). */
static enum area_kind parent_kind(enum area_kind k)
{
	switch (k) {
	case AREA_DISTRICT: return AREA_CITY;
	case AREA_STATION: return AREA_DISTRICT;
	case AREA_POLICE_GRID: return AREA_STATION;
	case AREA_STREET: return AREA_DISTRICT;
	case AREA_COMMUNITY: return AREA_STREET;
	case AREA_GOV_GRID: return AREA_COMMUNITY;
	default: return AREA_KIND_COUNT;
	}
}

static void check_result(const struct area_set *out, const struct areas_import_report *report)
{
	if (report->features != out->n)
		abort();
	for (size_t k = 0; k < out->n; k++) {
		const struct area *a = &out->v[k];
		if (a->parent_idx >= (long)k || a->geom.npolys == 0 || !a->name[0])
			abort();
		if (a->parent_idx >= 0 && (a->parent_id != 0 ||
					   out->v[a->parent_idx].kind != parent_kind(a->kind)))
			abort();
		if (a->kind == AREA_CITY && (a->parent_idx >= 0 || a->parent_id != 0))
			abort();
		if (a->kind != AREA_CITY && a->parent_idx < 0 && a->parent_id <= 0)
			abort();
		if (report->feature_of[k] < 0 || (size_t)report->feature_of[k] >= out->n)
			abort();
	}
	for (size_t i = 0; i < report->repaired; i++)
		if (report->repairs[i].feature < 0 || (size_t)report->repairs[i].feature >= out->n)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t last = 0;
	struct areas_import_opts opts = {
		.flags = (size & 1) ? AREAS_IMPORT_MAKE_VALID : 0,
		.resolve = fixed_store,
		.progress = count_progress,
		.progress_ctx = &last,
	};
	struct area_set out;
	struct areas_import_report report;
	struct areas_import_error err;
	int rc;

	area_set_init(&out);
	areas_import_report_init(&report);
	rc = areas_import_parse((const char *)data, size, &opts, &out, &report, &err);
	if (rc == SG_OK) {
		check_result(&out, &report);
	} else if (out.n != 0 || report.features != 0 || err.message[0] == '\0' ||
		   (err.feature >= 0 && strncmp(err.field, "features[", 9) != 0)) {
		abort();
	}
	area_set_release(&out);
	areas_import_report_release(&report);
	return 0;
}
