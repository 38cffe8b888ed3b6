/* policy.c — loading and applying the dispatch policy (see policy.h). */
#include "dispatch/policy.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"

static int fail(struct policy_error *e, const char *path, const char *msg)
{
	if (e) {
		snprintf(e->path, sizeof e->path, "%s", path);
		snprintf(e->message, sizeof e->message, "%s", msg);
	}
	return SG_EINVAL;
}

static int only(json_t *obj, const char *const *allowed, const char *prefix,
		struct policy_error *e)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(*a, key) == 0;
		if (!ok) {
			char path[64];
			snprintf(path, sizeof path, "%s%.40s", prefix, key);
			return fail(e, path, "unknown member");
		}
	}
	return SG_OK;
}

static int number(json_t *doc, const char *name, double lo, double hi, double *out,
		  struct policy_error *e)
{
	json_t *v = json_object_get(doc, name);
	char msg[96];

	snprintf(msg, sizeof msg, "must be a number from %g to %g", lo, hi);
	if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < lo ||
	    json_number_value(v) > hi)
		return fail(e, name, msg);
	*out = json_number_value(v);
	return SG_OK;
}

static int load_rule(json_t *r, size_t i, struct policy_rule *out, struct policy_error *e)
{
	static const char *const allowed[] = { "category", "priority", "units", NULL };
	static const char *const need_allowed[] = { "type", "count", NULL };
	char prefix[32], path[64];
	json_t *v, *units;
	size_t j;

	snprintf(prefix, sizeof prefix, "auto[%zu].", i);
	memset(out, 0, sizeof *out);
	if (!json_is_object(r))
		return fail(e, prefix, "each rule must be an object");
	if (only(r, allowed, prefix, e))
		return SG_EINVAL;
	v = json_object_get(r, "category");
	snprintf(path, sizeof path, "%scategory", prefix);
	if (v && (!json_is_string(v) || json_string_length(v) == 0 ||
		  json_string_length(v) >= sizeof out->category))
		return fail(e, path, "must be a category id");
	if (v)
		snprintf(out->category, sizeof out->category, "%s", json_string_value(v));
	v = json_object_get(r, "priority");
	snprintf(path, sizeof path, "%spriority", prefix);
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 4))
		return fail(e, path, "must be a priority from 1 to 4");
	out->priority = v ? (int)json_integer_value(v) : 0;
	units = json_object_get(r, "units");
	snprintf(path, sizeof path, "%sunits", prefix);
	if (!json_is_array(units) || json_array_size(units) == 0 ||
	    json_array_size(units) > POLICY_MAX_NEEDS)
		return fail(e, path, "must be an array of 1 to 8 {type, count}");
	json_array_foreach(units, j, v) {
		json_t *t = json_object_get(v, "type"), *c = json_object_get(v, "count");
		snprintf(path, sizeof path, "%sunits[%zu]", prefix, j);
		if (!json_is_object(v) || only(v, need_allowed, path, e))
			return fail(e, path, "must be {type, count}");
		if (!json_is_string(t) || unit_type_parse(json_string_value(t), &out->needs[j].type))
			return fail(e, path, "type must be a unit type");
		if (!json_is_integer(c) || json_integer_value(c) < 1 || json_integer_value(c) > 10)
			return fail(e, path, "count must be from 1 to 10");
		out->needs[j].count = (unsigned)json_integer_value(c);
	}
	out->nneeds = json_array_size(units);
	return SG_OK;
}

int dispatch_policy_load(const char *text, size_t len, struct dispatch_policy **out,
			 struct policy_error *err)
{
	static const char *const allowed[] = { "version",	     "notes",		 "detour_factor",
					       "speeds_kmh",	     "max_position_age_s", "ack_timeout_s",
					       "search_radius_m",    "track_retention_days",
					       "arrival_targets_s", "auto",		 NULL };
	struct dispatch_policy *p = NULL;
	json_error_t jerr;
	json_t *doc = NULL, *v, *rules;
	double d;
	size_t i;
	int rc = SG_EINVAL, load_rc;

	if (len > POLICY_MAX_DOCUMENT)
		return fail(err, "", "the document is larger than 1 MiB");
	doc = sg_json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr, &load_rc);
	if (load_rc == SG_ENOMEM) {
		rc = load_rc;
		fail(err, "", "out of memory");
		goto out;
	}
	if (!doc || !json_is_object(doc)) {
		char msg[160];
		snprintf(msg, sizeof msg, "not a JSON object (line %d: %.100s)", jerr.line, jerr.text);
		rc = fail(err, "", msg);
		goto out;
	}
	if (!(p = calloc(1, sizeof *p))) {
		rc = SG_ENOMEM;
		goto out;
	}
	if (only(doc, allowed, "", err) ||
	    number(doc, "detour_factor", 1, 5, &p->detour_factor, err))
		goto out;
	v = json_object_get(doc, "speeds_kmh");
	if (!json_is_object(v)) {
		fail(err, "speeds_kmh", "must be an object of unit type: km/h");
		goto out;
	}
	for (int t = 0; t < UNIT_TYPE_COUNT; t++) {
		char path[64];
		snprintf(path, sizeof path, "speeds_kmh.%s", unit_type_name((enum unit_type)t));
		if (number(v, unit_type_name((enum unit_type)t), 0.5, 200, &d, NULL)) {
			fail(err, path, "must be a speed from 0.5 to 200 km/h for every unit type");
			goto out;
		}
		p->speed_mps[t] = d / 3.6;
	}
	{
		const char *key;
		json_t *x;
		enum unit_type t;
		json_object_foreach(v, key, x) {
			if (unit_type_parse(key, &t)) {
				char path[64];
				snprintf(path, sizeof path, "speeds_kmh.%.40s", key);
				fail(err, path, "not a unit type");
				goto out;
			}
		}
	}
	if (number(doc, "max_position_age_s", 5, 86400, &d, err))
		goto out;
	p->max_position_age_s = (int64_t)d;
	if (number(doc, "ack_timeout_s", 5, 86400, &d, err))
		goto out;
	p->ack_timeout_s = (int64_t)d;
	if (number(doc, "search_radius_m", 100, 200000, &p->search_radius_m, err))
		goto out;
	if (number(doc, "track_retention_days", 1, 3650, &d, err))
		goto out;
	p->track_retention_s = (int64_t)(d * 86400);
	v = json_object_get(doc, "arrival_targets_s");
	if (!json_is_object(v) || json_object_size(v) != 4) {
		fail(err, "arrival_targets_s", "must give seconds for priorities \"1\" to \"4\"");
		goto out;
	}
	for (int pr = 1; pr <= 4; pr++) {
		char key[2] = { (char)('0' + pr), 0 }, path[64];
		snprintf(path, sizeof path, "arrival_targets_s.%d", pr);
		if (number(v, key, 10, 86400, &d, NULL)) {
			fail(err, path, "must be from 10 to 86400 seconds");
			goto out;
		}
		p->arrival_target_s[pr] = (int64_t)d;
	}
	rules = json_object_get(doc, "auto");
	if (!json_is_array(rules) || json_array_size(rules) > POLICY_MAX_RULES) {
		fail(err, "auto", "must be an array of at most 256 rules");
		goto out;
	}
	json_array_foreach(rules, i, v) {
		if (load_rule(v, i, &p->rules[i], err))
			goto out;
	}
	p->nrules = json_array_size(rules);
	*out = p;
	p = NULL;
	rc = SG_OK;
out:
	free(p);
	json_decref(doc);
	return rc;
}

const struct policy_rule *dispatch_policy_match(const struct dispatch_policy *p,
						const char *category, int priority)
{
	for (size_t i = 0; i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];
		if (r->category[0] && strcmp(r->category, category) != 0)
			continue;
		if (r->priority && r->priority != priority)
			continue;
		return r;
	}
	return NULL;
}

double dispatch_policy_eta_s(const struct dispatch_policy *p, enum unit_type t, double distance_m)
{
	if ((unsigned)t >= UNIT_TYPE_COUNT)
		return INFINITY;
	return distance_m * p->detour_factor / p->speed_mps[t];
}
