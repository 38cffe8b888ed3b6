/*
 * fuzz_app.h — a small but real application state for the intake fuzz
 * targets: the shipped classification rules and case types, and a catalog of
 * a city, one district and one station covering Suzhou's bounding box, so
 * that reports located there go through locate, classify and route; one
 * unit and the shipped dispatch policy for the other event kinds. Built
 * once per process; never freed (the fuzzer exits).
 */
#ifndef SAFEGRID_FUZZ_APP_H
#define SAFEGRID_FUZZ_APP_H

#include <stdlib.h>
#include <string.h>

#include "http/api.h"
#include "rules/defaults.h"

static void fuzz_push_box(struct area_set *s, int64_t id, enum area_kind kind, int64_t parent,
			  const char *code, const char *name)
{
	struct geo_mpoly g;
	struct area *a = NULL;

	geo_mpoly_init(&g);
	geo_mpoly_begin_polygon(&g);
	geo_mpoly_begin_ring(&g);
	geo_mpoly_add_point(&g, 119.9, 30.7);
	geo_mpoly_add_point(&g, 121.4, 30.7);
	geo_mpoly_add_point(&g, 121.4, 32.1);
	geo_mpoly_add_point(&g, 119.9, 32.1);
	geo_mpoly_add_point(&g, 119.9, 30.7);
	geo_mpoly_finish(&g);
	area_set_push(s, kind, code, name, -1, parent, &g, &a);
	a->id = id;
	geo_mpoly_release(&g);
}

/* The app and an admin session with the whole city in scope. */
static struct app *fuzz_app(struct api_session **session)
{
	static struct app app;
	static struct api_session s;
	static int ready;

	if (!ready) {
		struct area_set set;
		struct catalog *cat = NULL;
		struct classify_config *rules = NULL;
		area_set_init(&set);
		fuzz_push_box(&set, 1, AREA_CITY, 0, "320500", "苏州市");
		fuzz_push_box(&set, 2, AREA_DISTRICT, 1, "320508", "姑苏区");
		fuzz_push_box(&set, 3, AREA_STATION, 2, "320508-PS01", "测试派出所");
		if (catalog_build(&set, NULL, 0, &cat))
			abort();
		area_set_release(&set);
		api_app_init(&app, NULL, cat);
		if (classify_config_load(rules__classify_json, rules__classify_json_len, &rules,
					 NULL) ||
		    casefsm_load(rules__cases_json, rules__cases_json_len, &app.fsm, NULL))
			abort();
		app.classify = rules;
		/* One unit at home in the station, and the shipped dispatch policy (positions). */
		{
			struct dispatch_policy *policy = NULL;
			struct unit_rec u = { .id = 1, .type = UNIT_PATROL_CAR, .status = UNIT_AVAILABLE,
					      .home_area = 2 };
			if (unit_index_new(&app.units) || unit_index_put(app.units, &u) ||
			    dispatch_policy_load(rules__dispatch_json, rules__dispatch_json_len, &policy,
						 NULL))
				abort();
			app.policy = policy;
		}
		s.role = AUTH_ROLE_ADMIN;
		s.scope.all = true;
		snprintf(s.name, sizeof s.name, "fuzz");
		ready = 1;
	}
	*session = &s;
	return &app;
}

#endif
