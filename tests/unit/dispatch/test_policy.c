/* test_policy.c — the dispatch policy: loading, matching, the ETA estimate. */
#include "dispatch/policy.h"

#include <stdlib.h>

#include "base/err.h"
#include "rules/defaults.h"
#include "test.h"

static struct dispatch_policy *shipped(void)
{
	struct dispatch_policy *p = NULL;
	struct policy_error e;

	if (dispatch_policy_load(rules__dispatch_json, rules__dispatch_json_len, &p, &e))
		fprintf(stderr, "shipped policy: %s: %s\n", e.path, e.message);
	return p;
}

static void test_shipped_policy_loads(void)
{
	struct dispatch_policy *p = shipped();

	CHECK(p != NULL);
	if (!p)
		return;
	CHECK_NEAR(p->detour_factor, 1.4, 1e-9);
	CHECK_NEAR(p->speed_mps[UNIT_PATROL_CAR], 10.0, 1e-9);
	CHECK_EQ_INT(p->max_position_age_s, 300);
	CHECK_EQ_INT(p->ack_timeout_s, 60);
	CHECK_EQ_INT(p->arrival_target_s[1], 300);
	CHECK(p->nrules >= 5);
	free(p);
}

static void test_first_matching_rule_wins(void)
{
	struct dispatch_policy *p = shipped();
	const struct policy_rule *r;

	if (!p)
		return;
	r = dispatch_policy_match(p, "violence", 1);
	CHECK(r && r->nneeds == 1 && r->needs[0].type == UNIT_PATROL_CAR && r->needs[0].count == 2);
	r = dispatch_policy_match(p, "violence", 2); /* the category rule wants priority 1 */
	CHECK(r && strcmp(r->category, "") == 0 && r->priority == 2);
	r = dispatch_policy_match(p, "traffic_accident", 3);
	CHECK(r && r->nneeds == 2 && r->needs[0].type == UNIT_TRAFFIC_UNIT);
	r = dispatch_policy_match(p, "noise", 3);
	CHECK(r && r->needs[0].type == UNIT_FOOT_PATROL); /* the catch-all */
	free(p);
}

static void test_eta_is_distance_times_detour_over_speed(void)
{
	struct dispatch_policy *p = shipped();

	if (!p)
		return;
	CHECK_NEAR(dispatch_policy_eta_s(p, UNIT_PATROL_CAR, 1000), 140.0, 1e-9);
	CHECK_NEAR(dispatch_policy_eta_s(p, UNIT_FOOT_PATROL, 150), 168.0, 1e-9);
	free(p);
}

static void expect_error(const char *doc, const char *path)
{
	struct dispatch_policy *p = NULL;
	struct policy_error e;

	memset(&e, 0, sizeof e);
	CHECK_EQ_INT(dispatch_policy_load(doc, strlen(doc), &p, &e), SG_EINVAL);
	CHECK(p == NULL);
	CHECK_STR(e.path, path);
}

static void test_bad_documents_name_the_member(void)
{
	char doc[4096];
	const char *speeds = "\"speeds_kmh\":{\"patrol_car\":36,\"foot_patrol\":4.5,\"motorcycle\":30,"
			     "\"grid_team\":4.5,\"swat_team\":45,\"traffic_unit\":32,\"investigation_team\":36,"
			     "\"guard_patrol\":4.5,\"volunteer_team\":4,\"mediation_team\":4.5}";
	const char *rest = "\"max_position_age_s\":300,\"ack_timeout_s\":60,\"search_radius_m\":5000,"
			   "\"track_retention_days\":30,\"arrival_targets_s\":{\"1\":300,\"2\":600,\"3\":1800,\"4\":3600}";

	expect_error("[]", "");
	expect_error("{\"detour_factor\":0.5}", "detour_factor");
	snprintf(doc, sizeof doc, "{\"detour_factor\":1.3,%s,%s,\"auto\":[]}", speeds, rest);
	{
		struct dispatch_policy *p = NULL;
		CHECK_EQ_INT(dispatch_policy_load(doc, strlen(doc), &p, NULL), 0);
		CHECK(p && p->nrules == 0 && dispatch_policy_match(p, "x", 1) == NULL);
		free(p);
	}
	snprintf(doc, sizeof doc, "{\"detour_factor\":1.3,%s,%s,\"auto\":[{\"units\":[{\"type\":\"tank\",\"count\":1}]}]}",
		 speeds, rest);
	expect_error(doc, "auto[0].units[0]");
	snprintf(doc, sizeof doc, "{\"detour_factor\":1.3,%s,%s,\"auto\":[{\"priority\":9,\"units\":[]}]}", speeds,
		 rest);
	expect_error(doc, "auto[0].priority");
	snprintf(doc, sizeof doc, "{\"detour_factor\":1.3,%s,%s,\"auto\":[],\"colour\":1}", speeds, rest);
	expect_error(doc, "colour");
	snprintf(doc, sizeof doc, "{\"detour_factor\":1.3,\"speeds_kmh\":{\"patrol_car\":36},%s,\"auto\":[]}", rest);
	expect_error(doc, "speeds_kmh.foot_patrol");
}

int main(void)
{
	TEST_RUN(test_shipped_policy_loads);
	TEST_RUN(test_first_matching_rule_wins);
	TEST_RUN(test_eta_is_distance_times_detour_over_speed);
	TEST_RUN(test_bad_documents_name_the_member);
	return test_summary("dispatch/policy");
}
