/* casefsm.c — loading and querying the case state machine configuration. */
#include "rules/casefsm.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "model/area.h"

struct casefsm_type {
	char id[CASEFSM_MAX_ID];
	char name_zh[96];
	char states[CASEFSM_MAX_STATES][CASEFSM_MAX_ID];
	unsigned nstates;
	unsigned initial;
	bool terminal[CASEFSM_MAX_STATES];
	bool allowed[CASEFSM_MAX_STATES][CASEFSM_MAX_STATES];
	int64_t deadline[CASEFSM_PRIORITIES];
};

struct casefsm {
	struct casefsm_type types[CASEFSM_MAX_TYPES];
	unsigned ntypes;
	enum area_kind escalation[AREA_KIND_COUNT];
	unsigned nescalation;
};

static int fail(struct casefsm_error *err, int rc, const char *path, const char *msg)
{
	if (err) {
		snprintf(err->path, sizeof err->path, "%s", path);
		snprintf(err->message, sizeof err->message, "%s", msg);
	}
	return rc;
}

static bool valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CASEFSM_MAX_ID || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	}
	return true;
}

static int only_members(const json_t *obj, const char *const *allowed, const char *path,
			struct casefsm_error *err)
{
	const char *key;
	json_t *v;
	char p[96], m[160];

	json_object_foreach((json_t *)obj, key, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(*a, key) == 0;
		if (!ok) {
			snprintf(p, sizeof p, "%s%s%.40s", path, *path ? "." : "", key);
			snprintf(m, sizeof m, "unknown member \"%.60s\"", key);
			return fail(err, SG_EINVAL, p, m);
		}
	}
	return SG_OK;
}

static int state_index(const struct casefsm_type *t, const char *s)
{
	for (unsigned i = 0; i < t->nstates; i++) {
		if (strcmp(t->states[i], s) == 0)
			return (int)i;
	}
	return -1;
}

static int load_type(const json_t *jt, unsigned ti, struct casefsm_type *t, struct casefsm_error *err)
{
	static const char *const members[] = { "id",	   "name_zh",	  "initial",   "states",
					       "terminal", "transitions", "deadlines", NULL };
	const json_t *v, *x;
	size_t i;
	char path[96];
	int rc;

	snprintf(path, sizeof path, "types[%u]", ti);
	if (!json_is_object(jt))
		return fail(err, SG_EINVAL, path, "a type must be an object");
	if ((rc = only_members(jt, members, path, err)))
		return rc;
	v = json_object_get(jt, "id");
	snprintf(path, sizeof path, "types[%u].id", ti);
	if (!json_is_string(v) || !valid_id(json_string_value(v)))
		return fail(err, SG_EINVAL, path, "id must match [a-z][a-z0-9_]*, at most 31 bytes");
	snprintf(t->id, sizeof t->id, "%s", json_string_value(v));
	v = json_object_get(jt, "name_zh");
	snprintf(path, sizeof path, "types[%u].name_zh", ti);
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= sizeof t->name_zh)
		return fail(err, SG_EINVAL, path, "name_zh must be a non-empty string of at most 95 bytes");
	snprintf(t->name_zh, sizeof t->name_zh, "%s", json_string_value(v));

	v = json_object_get(jt, "states");
	snprintf(path, sizeof path, "types[%u].states", ti);
	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(err, SG_EINVAL, path, "states must be a non-empty array");
	if (json_array_size(v) > CASEFSM_MAX_STATES)
		return fail(err, SG_ETOOBIG, path, "at most 32 states");
	json_array_foreach(v, i, x) {
		snprintf(path, sizeof path, "types[%u].states[%zu]", ti, i);
		if (!json_is_string(x) || !valid_id(json_string_value(x)))
			return fail(err, SG_EINVAL, path, "a state must match [a-z][a-z0-9_]*");
		if (state_index(t, json_string_value(x)) >= 0)
			return fail(err, SG_EINVAL, path, "duplicate state");
		snprintf(t->states[t->nstates++], CASEFSM_MAX_ID, "%s", json_string_value(x));
	}

	v = json_object_get(jt, "initial");
	snprintf(path, sizeof path, "types[%u].initial", ti);
	if (!json_is_string(v) || state_index(t, json_string_value(v)) < 0)
		return fail(err, SG_EINVAL, path, "initial must be one of the type's states");
	t->initial = (unsigned)state_index(t, json_string_value(v));

	v = json_object_get(jt, "terminal");
	snprintf(path, sizeof path, "types[%u].terminal", ti);
	if (!json_is_array(v))
		return fail(err, SG_EINVAL, path, "terminal must be an array of states");
	json_array_foreach(v, i, x) {
		int s = json_is_string(x) ? state_index(t, json_string_value(x)) : -1;
		snprintf(path, sizeof path, "types[%u].terminal[%zu]", ti, i);
		if (s < 0)
			return fail(err, SG_EINVAL, path, "not one of the type's states");
		if ((unsigned)s == t->initial)
			return fail(err, SG_EINVAL, path, "the initial state cannot be terminal");
		t->terminal[s] = true;
	}

	v = json_object_get(jt, "transitions");
	snprintf(path, sizeof path, "types[%u].transitions", ti);
	if (!json_is_array(v))
		return fail(err, SG_EINVAL, path, "transitions must be an array of [from, to]");
	json_array_foreach(v, i, x) {
		json_t *f = json_array_get(x, 0), *to = json_array_get(x, 1);
		int a = json_is_string(f) ? state_index(t, json_string_value(f)) : -1;
		int b = json_is_string(to) ? state_index(t, json_string_value(to)) : -1;
		snprintf(path, sizeof path, "types[%u].transitions[%zu]", ti, i);
		if (!json_is_array(x) || json_array_size(x) != 2 || a < 0 || b < 0)
			return fail(err, SG_EINVAL, path, "a transition is [from, to] of declared states");
		if (a == b)
			return fail(err, SG_EINVAL, path, "a transition must change the state");
		if (t->terminal[a])
			return fail(err, SG_EINVAL, path, "a terminal state has no way out");
		t->allowed[a][b] = true;
	}

	v = json_object_get(jt, "deadlines");
	snprintf(path, sizeof path, "types[%u].deadlines", ti);
	if (!json_is_object(v) || json_object_size(v) != CASEFSM_PRIORITIES)
		return fail(err, SG_EINVAL, path, "deadlines must give seconds for priorities \"1\"..\"4\"");
	for (int p = 1; p <= CASEFSM_PRIORITIES; p++) {
		char key[2] = { (char)('0' + p), 0 };
		x = json_object_get(v, key);
		snprintf(path, sizeof path, "types[%u].deadlines.%s", ti, key);
		if (!json_is_integer(x) || json_integer_value(x) < 1 ||
		    json_integer_value(x) > 90 * 86400)
			return fail(err, SG_EINVAL, path, "a deadline is 1 s .. 90 days, in seconds");
		t->deadline[p - 1] = json_integer_value(x);
	}
	return SG_OK;
}

int casefsm_load(const char *text, size_t len, struct casefsm **out, struct casefsm_error *err)
{
	static const char *const members[] = { "version", "notes", "escalation", "types", NULL };
	json_error_t jerr;
	int rc;
	json_t *root = sg_json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr, &rc), *v, *x;
	struct casefsm *f = NULL;
	size_t i;
	char path[96];

	if (rc == SG_ENOMEM)
		return fail(err, rc, "", "out of memory");
	if (!root) {
		char m[160];
		snprintf(m, sizeof m, "invalid JSON at line %d column %d: %.100s", jerr.line,
			 jerr.column, jerr.text);
		return fail(err, SG_EINVAL, "", m);
	}
	rc = SG_EINVAL;
	if (!json_is_object(root)) {
		rc = fail(err, SG_EINVAL, "", "the configuration must be a JSON object");
		goto out;
	}
	if ((rc = only_members(root, members, "", err)))
		goto out;
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		rc = fail(err, SG_EINVAL, "version", "version must be 1");
		goto out;
	}
	if (!(f = calloc(1, sizeof *f))) {
		rc = SG_ENOMEM;
		goto out;
	}
	v = json_object_get(root, "escalation");
	if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > AREA_KIND_COUNT) {
		rc = fail(err, SG_EINVAL, "escalation", "escalation must be an array of area kinds");
		goto out;
	}
	json_array_foreach(v, i, x) {
		enum area_kind k;
		snprintf(path, sizeof path, "escalation[%zu]", i);
		if (!json_is_string(x) || area_kind_parse(json_string_value(x), &k)) {
			rc = fail(err, SG_EINVAL, path, "not an area kind");
			goto out;
		}
		f->escalation[f->nescalation++] = k;
	}
	v = json_object_get(root, "types");
	if (!json_is_array(v) || json_array_size(v) == 0) {
		rc = fail(err, SG_EINVAL, "types", "types must be a non-empty array");
		goto out;
	}
	if (json_array_size(v) > CASEFSM_MAX_TYPES) {
		rc = fail(err, SG_ETOOBIG, "types", "at most 32 types");
		goto out;
	}
	json_array_foreach(v, i, x) {
		if ((rc = load_type(x, (unsigned)i, &f->types[i], err)))
			goto out;
		if (casefsm_type(f, f->types[i].id) >= 0) {
			snprintf(path, sizeof path, "types[%zu].id", i);
			rc = fail(err, SG_EINVAL, path, "duplicate type id");
			goto out;
		}
		f->ntypes++;
	}
	*out = f;
	f = NULL;
	rc = SG_OK;
out:
	free(f);
	json_decref(root);
	return rc;
}

void casefsm_free(struct casefsm *f)
{
	free(f);
}

int casefsm_type(const struct casefsm *f, const char *type)
{
	for (unsigned i = 0; i < f->ntypes; i++) {
		if (strcmp(f->types[i].id, type) == 0)
			return (int)i;
	}
	return -1;
}

const char *casefsm_initial(const struct casefsm *f, int type)
{
	return f->types[type].states[f->types[type].initial];
}

bool casefsm_has_state(const struct casefsm *f, int type, const char *state)
{
	return state_index(&f->types[type], state) >= 0;
}

bool casefsm_allowed(const struct casefsm *f, int type, const char *from, const char *to)
{
	int a = state_index(&f->types[type], from), b = state_index(&f->types[type], to);
	return a >= 0 && b >= 0 && f->types[type].allowed[a][b];
}

bool casefsm_terminal(const struct casefsm *f, int type, const char *state)
{
	int a = state_index(&f->types[type], state);
	return a >= 0 && f->types[type].terminal[a];
}

int64_t casefsm_deadline(const struct casefsm *f, int type, int priority)
{
	if (priority < 1)
		priority = 1;
	if (priority > CASEFSM_PRIORITIES)
		priority = CASEFSM_PRIORITIES;
	return f->types[type].deadline[priority - 1];
}

size_t casefsm_next_json(const struct casefsm *f, int type, const char *from, char *buf,
			 size_t cap)
{
	const struct casefsm_type *t = &f->types[type];
	int a = state_index(t, from);
	size_t n = 0;
	int first = 1;

	if (cap < 3)
		return 0;
	buf[n++] = '[';
	for (unsigned b = 0; a >= 0 && b < t->nstates; b++) {
		size_t need = strlen(t->states[b]) + 3;
		if (!t->allowed[a][b] || n + need + 2 > cap)
			continue;
		n += (size_t)snprintf(buf + n, cap - n, "%s\"%s\"", first ? "" : ",", t->states[b]);
		first = 0;
	}
	buf[n++] = ']';
	buf[n] = '\0';
	return n;
}

int casefsm_escalation_levels(const struct casefsm *f)
{
	return (int)f->nescalation;
}

enum area_kind casefsm_escalation_kind(const struct casefsm *f, int level)
{
	if (level < 0)
		level = 0;
	if ((unsigned)level >= f->nescalation)
		level = (int)f->nescalation - 1;
	return f->escalation[level];
}

int casefsm_start_level(const struct casefsm *f, enum area_kind kind)
{
	for (unsigned i = 0; i < f->nescalation; i++) {
		if (f->escalation[i] == kind)
			return (int)i;
	}
	return 0;
}

int casefsm_type_id(const struct casefsm *f, int t, char *buf, size_t cap)
{
	if (t < 0 || (unsigned)t >= f->ntypes)
		return SG_ENOTFOUND;
	snprintf(buf, cap, "%s", f->types[t].id);
	return SG_OK;
}
