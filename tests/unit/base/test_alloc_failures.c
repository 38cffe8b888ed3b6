/*
 * test_alloc_failures.c — every allocation of the parsers that take outside
 * input fails in turn, and each time the parser answers SG_ENOMEM (never
 * another error, never a success with something missing: a success must give
 * what the parse without a failure gave, as when the C library's qsort falls
 * back to sorting in place) and leaves no block behind. The parsers run on valid inputs from their fuzz corpora, so that
 * every allocation of a full parse is reached; failalloc.h injects the
 * failures. Under AddressSanitizer, which owns the allocator, the suite says
 * it was skipped.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "dispatch/policy.h"
#include "failalloc.h"
#include "geo/geos_bridge.h"
#include "http/form.h"
#include "import/areas_import.h"
#include "rules/classify.h"
#include "test.h"

#if FAILALLOC_AVAILABLE
#include "../../../fuzz/fuzz_app.h" /* the intake's application state */

/* Reads a file whole (before a sweep's reset: the test's own blocks are not counted). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* FNV-1a over bytes, continuing from h: a parse's result in one number. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const unsigned char *)p)[i]) * 0x100000001b3ULL;
	return h;
}
#define FNV_START 0xcbf29ce484222325ULL

/*
 * One parse of data with everything it returned released; its return code,
 * and on success *fp, a fingerprint of what it returned.
 */
typedef int (*parse_run_fn)(const char *data, size_t len, uint64_t *fp);

/*
 * Runs the parse once unarmed (it must succeed and leave nothing), then once
 * for each allocation it made, that allocation failing.
 */
static void sweep(const char *what, const char *path, parse_run_fn run)
{
	size_t len = 0;
	char *data = slurp(path, &len);
	long total, leaks = 0, hidden = 0, other = 0, first_bad = 0;
	uint64_t want = 0, got = 0;

	/* FAILALLOC_ONLY=<what>: sweep one parser alone, when chasing one. */
	if (getenv("FAILALLOC_ONLY") && strcmp(getenv("FAILALLOC_ONLY"), what) != 0) {
		free(data);
		return;
	}
	CHECK(data != NULL);
	if (!data)
		return;
	failalloc_reset();
	CHECK_EQ_INT(run(data, len, &want), SG_OK);
	total = failalloc_count();
	CHECK(total > 0);
	CHECK_EQ_INT(failalloc_live_blocks(), 0);
	if (failalloc_live_blocks())
		failalloc_dump_live();
	for (long k = 1; k <= total; k++) {
		int rc;
		failalloc_reset();
		failalloc_arm(k);
		rc = run(data, len, &got);
		failalloc_arm(0);
		if (!failalloc_reached())
			continue; /* this run allocated less: nothing was failed */
		bool bad = (rc == SG_OK && got != want) || (rc != SG_OK && rc != SG_ENOMEM) ||
			   failalloc_live_blocks() != 0;
		hidden += rc == SG_OK && got != want;
		other += rc != SG_OK && rc != SG_ENOMEM;
		leaks += failalloc_live_blocks() != 0;
		if (!first_bad && bad)
			first_bad = k;
		if (first_bad == k || (getenv("FAILALLOC_VERBOSE") && bad))
			fprintf(stderr, "%s: allocation %ld failed: rc %d, %ld blocks left\n", what, k, rc,
				failalloc_live_blocks());
	}
	printf("%s (%s): %ld allocations, each failed in turn\n", what, path, total);
	CHECK_EQ_INT(hidden, 0);  /* a failure reported as success, with less */
	CHECK_EQ_INT(other, 0);   /* a failure reported as bad input */
	CHECK_EQ_INT(leaks, 0);
	free(data);
}

static int run_classify(const char *data, size_t len, uint64_t *fp)
{
	struct classify_config *cfg = NULL;
	struct classify_error err;
	struct classify_result r;
	char *json = NULL;
	size_t jlen = 0;
	int rc = classify_config_load(data, len, &cfg, &err);

	if (rc)
		return rc;
	if (!(rc = classify_text(cfg, "小区门口有人打架，有人流血了", &r)) &&
	    !(rc = classify_config_to_json(cfg, &json, &jlen)))
		*fp = fnv(fnv(FNV_START, json, jlen), r.category, strlen(r.category));
	free(json);
	classify_config_free(cfg);
	return rc;
}

static int run_policy(const char *data, size_t len, uint64_t *fp)
{
	struct dispatch_policy *p = NULL;
	struct policy_error e;
	int rc = dispatch_policy_load(data, len, &p, &e);

	if (!rc)
		*fp = fnv(FNV_START, p, sizeof *p); /* one zeroed block, strings and all */
	free(p);
	return rc;
}

static int resolve_area(void *ctx, const char *code, int64_t id, int64_t *out_id,
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

static int run_areas(const char *data, size_t len, uint64_t *fp)
{
	struct areas_import_opts opts = { .flags = AREAS_IMPORT_MAKE_VALID, .resolve = resolve_area };
	struct areas_import_report report;
	struct areas_import_error err;
	struct area_set out;
	int rc;

	area_set_init(&out);
	areas_import_report_init(&report);
	rc = areas_import_parse(data, len, &opts, &out, &report, &err);
	*fp = fnv(FNV_START, &out.n, sizeof out.n);
	for (size_t i = 0; !rc && i < out.n; i++) {
		const struct area *a = &out.v[i];
		*fp = fnv(*fp, a->code, strlen(a->code));
		*fp = fnv(*fp, a->name, strlen(a->name));
		*fp = fnv(*fp, &a->parent_idx, sizeof a->parent_idx);
		*fp = fnv(*fp, &a->bbox, sizeof a->bbox);
		*fp = fnv(*fp, &a->area_m2, sizeof a->area_m2);
	}
	area_set_release(&out);
	areas_import_report_release(&report);
	return rc;
}

static int run_form(const char *data, size_t len, uint64_t *fp)
{
	struct form f;
	struct form_error e;
	int rc;

	form_init(&f);
	rc = form_parse(data, len, &f, &e);
	*fp = fnv(FNV_START, &f.n, sizeof f.n);
	for (size_t i = 0; !rc && i < f.n; i++) {
		*fp = fnv(*fp, f.fields[i].name, strlen(f.fields[i].name) + 1);
		*fp = fnv(*fp, f.fields[i].value, f.fields[i].value_len + 1);
	}
	form_release(&f);
	return rc;
}

/*
 * A report as POST /api/v1/reports reads it: the body parsed, then validated,
 * located, classified and routed (api_intake_check, storing nothing). A 500
 * is how the intake says it ran out of memory; a 400 would blame the report.
 */
static int run_intake(const char *data, size_t len, uint64_t *fp)
{
	struct api_session *s;
	struct app *app = fuzz_app(&s);
	struct classify_result cls;
	struct intake_error e;
	struct case_row c;
	json_error_t jerr;
	int rc;
	json_t *obj = sg_json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr, &rc);

	if (!obj)
		return rc;
	if (api_intake_check(app, s, obj, NULL, &c, &cls, &e))
		rc = e.status == 500 ? SG_ENOMEM : SG_EINVAL;
	json_decref(obj);
	if (rc)
		return rc;
	*fp = fnv(FNV_START, c.category, strlen(c.category));
	*fp = fnv(*fp, c.department, strlen(c.department));
	*fp = fnv(*fp, &c.priority, sizeof c.priority);
	*fp = fnv(*fp, c.area_ids, sizeof c.area_ids);
	*fp = fnv(*fp, &c.lon, sizeof c.lon);
	*fp = fnv(*fp, &c.lat, sizeof c.lat);
	*fp = fnv(*fp, &cls.score, sizeof cls.score);
	return SG_OK;
}

static void test_intake_survives_every_allocation_failure(void)
{
	static const char warm[] = "{\"source\":\"110\",\"text\":\"小区门口有人打架，有人流血了\","
				   "\"lon\":120.6285,\"lat\":31.3237,\"caller\":{\"phone\":\"13812345678\"},"
				   "\"reported_at\":\"2026-11-28T09:30:00+08:00\"}";
	uint64_t fp;

	/*
	 * The application is built once, and what the C library keeps from its
	 * first timegm on (the time zone's names), before the sweep: both live
	 * as long as the program.
	 */
	CHECK_EQ_INT(run_intake(warm, sizeof warm - 1, &fp), SG_OK);
	sweep("intake", "fuzz/corpus/report_json/valid-110.json", run_intake);
	sweep("intake", "fuzz/corpus/report_json/valid-12345-gcj02.json", run_intake);
	sweep("intake", "fuzz/corpus/report_json/caller-prefixed.json", run_intake);
}

static void test_classify_config_survives_every_allocation_failure(void)
{
	sweep("classify_config", "fuzz/corpus/classify_config/minimal.json", run_classify);
	sweep("classify_config", "fuzz/corpus/classify_config/routing-areas.json", run_classify);
	sweep("classify_config", "fuzz/corpus/classify_config/learned-examples.json", run_classify);
}

static void test_dispatch_policy_survives_every_allocation_failure(void)
{
	sweep("dispatch_policy", "fuzz/corpus/dispatch_policy/shipped.json", run_policy);
}

static void test_areas_import_survives_every_allocation_failure(void)
{
	/*
	 * Four GEOS functions cannot survive a failed allocation, which no
	 * caller can help (GEOS 3.11): GEOS_init_r allocates its context outside
	 * any try, so the process terminates; GEOSGeom_createLinearRing_r and
	 * GEOSGeom_createCollection_r lose what they were given when their own
	 * first allocation fails (they take it only after, yet say they take it
	 * also on failure, so a caller may not free it); and GEOSMakeValid_r
	 * retries another way after a failure inside, leaking what the failed
	 * way had built. The rest of GEOS answers a failure with an error, and is
	 * swept with the import.
	 */
	failalloc_exempt((const void *)GEOS_init_r);
	failalloc_exempt((const void *)GEOSGeom_createLinearRing_r);
	failalloc_exempt((const void *)GEOSGeom_createCollection_r);
	failalloc_exempt((const void *)GEOSMakeValid_r);
	sweep("areas_import", "fuzz/corpus/geojson_import/valid-police-hierarchy.json", run_areas);
	sweep("areas_import", "fuzz/corpus/geojson_import/repair-bowtie-odd.json", run_areas);
}

static void test_form_survives_every_allocation_failure(void)
{
	sweep("open311_form", "fuzz/corpus/open311_form/full-request.form", run_form);
}

int main(void)
{
	/* FAILALLOC_TRACE=1: the stack of each failed allocation, to find an error path. */
	if (getenv("FAILALLOC_TRACE"))
		failalloc_trace_on();
	TEST_RUN(test_classify_config_survives_every_allocation_failure);
	TEST_RUN(test_dispatch_policy_survives_every_allocation_failure);
	TEST_RUN(test_areas_import_survives_every_allocation_failure);
	TEST_RUN(test_form_survives_every_allocation_failure);
	TEST_RUN(test_intake_survives_every_allocation_failure);
	return test_summary("base/alloc_failures");
}

#else

int main(void)
{
	test_current = "main";
	puts("base/alloc_failures: skipped under AddressSanitizer, which owns the allocator");
	return test_summary("base/alloc_failures");
}

#endif
