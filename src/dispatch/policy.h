/*
 * policy.h — the dispatch policy, loaded from JSON (data/rules/dispatch.json):
 * travel speeds per unit type and a detour factor for the ETA estimate, the
 * largest age of a position still used, the time a dispatched unit has to
 * acknowledge before the dispatch escalates, track retention, arrival targets
 * per priority, and the automatic dispatch rules (which unit types and how
 * many, per case category and priority).
 *
 * Pure computation: no I/O. Immutable once loaded; any thread may read it.
 */
#ifndef SAFEGRID_DISPATCH_POLICY_H
#define SAFEGRID_DISPATCH_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "model/force.h"

#define POLICY_MAX_RULES 256
#define POLICY_MAX_NEEDS 8
#define POLICY_MAX_DOCUMENT (1 << 20)

struct policy_need {
	enum unit_type type;
	unsigned count; /* 1 .. 10 */
};

struct policy_rule {
	char category[48];  /* "" : any category */
	int priority;       /* 0: any priority */
	struct policy_need needs[POLICY_MAX_NEEDS];
	size_t nneeds;
};

struct dispatch_policy {
	double detour_factor;                 /* >= 1 */
	double speed_mps[UNIT_TYPE_COUNT];    /* metres per second, > 0 */
	int64_t max_position_age_s;
	int64_t ack_timeout_s;
	double search_radius_m;               /* auto dispatch and the default radius */
	int64_t track_retention_s;
	int64_t arrival_target_s[5];          /* by priority 1..4 */
	struct policy_rule rules[POLICY_MAX_RULES];
	size_t nrules;
};

struct policy_error {
	char path[64];     /* the member at fault ("speeds_kmh.patrol_car") */
	char message[160];
};

/*
 * Parses and checks a policy document. Every member is required except
 * "notes" and "version"; unknown members are refused. *out set on success
 * (caller frees with free()); on failure err names the member.
 */
int dispatch_policy_load(const char *text, size_t len, struct dispatch_policy **out,
			 struct policy_error *err);

/* The rule for a case of this category and priority, or NULL if none matches. */
const struct policy_rule *dispatch_policy_match(const struct dispatch_policy *p,
						const char *category, int priority);

/* Estimated seconds to cover distance_m for this unit type: distance × detour ÷ speed. */
double dispatch_policy_eta_s(const struct dispatch_policy *p, enum unit_type t, double distance_m);

#endif
