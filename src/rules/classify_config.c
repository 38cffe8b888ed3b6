/*
 * classify_config.c — loading and validating a classification configuration
 * (JSON), freeing it, and writing it back as JSON.
 *
 * Load: the JSON is checked member by member (first error wins, named by its
 * path), every term occurrence is folded (ASCII to lower case) and collected,
 * the occurrences are sorted to give each distinct term one id (and to find
 * the same term twice in one rule), and one automaton is built over the
 * distinct terms (classify_match.c).
 */
#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/json.h"
#include "rules/classify_internal.h"

const char *const cl_list_names[CL_NLISTS] = {"terms", "with", "all", "not"};

const char *const cl_kind_names[CL_KIND_COUNT] = {
	"police", "emergency", "government", "enterprise", "hotline", "community",
};

/* ---------------------------------------------------------------- loading */

/* One term as written in the document, before distinct ids are known. */
struct cl_occ {
	const char *s;     /* folded bytes; set once parse.fold stops moving, for sorting */
	uint32_t fold_off; /* into parse.fold */
	uint32_t len;
	uint32_t slot;     /* where its id goes in cfg->refs */
	uint32_t rule;     /* rule index, or CL_NEGATION_RULE */
	uint8_t list;      /* enum cl_list for rules */
	uint32_t item;     /* index within its list */
};

/*
 * A gapped term's occurrence (by refs slot) and, once recorded after every
 * list (so that a list's slots stay contiguous), its two parts'.
 */
struct cl_gap_occ {
	uint32_t slot, slot_a, slot_b;
	uint32_t fold_off, len, at; /* the term in parse.fold; at: its '*' */
};

struct parse {
	struct classify_config *cfg;
	struct classify_error *err;
	struct cl_occ *occ;
	size_t nocc, occ_alloc;
	char *fold;        /* folded copies of every occurrence, back to back */
	size_t fold_len, fold_alloc;
	size_t rules_alloc;
	size_t refs_alloc;
	const json_t **over_json;   /* per category: its priority_over array (borrowed) */
	const json_t **notify_json; /* per category: its notify array (borrowed) */
	struct cl_gap_occ *gaps;
	size_t ngaps, gaps_alloc;
};

static int perr(struct parse *p, int rc, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Records the first error (path and message) and returns rc. */
static int perr(struct parse *p, int rc, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (p->err) {
		snprintf(p->err->path, sizeof p->err->path, "%s", path);
		va_start(ap, fmt);
		vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static int oom(struct parse *p)
{
	return perr(p, SG_ENOMEM, "", "out of memory");
}

/* Grows *v (of elem-byte items, *alloc of them) to hold need items. */
static int grow(void **v, size_t *alloc, size_t need, size_t elem)
{
	size_t n = *alloc ? *alloc : 16;
	void *nv;

	if (need <= *alloc)
		return SG_OK;
	while (n < need)
		n *= 2;
	nv = realloc(*v, n * elem);
	if (!nv)
		return SG_ENOMEM;
	*v = nv;
	*alloc = n;
	return SG_OK;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static void pathf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Formats an error path into a CL_PATH buffer. A path longer than that is cut
 * short, which only shortens a message, so truncation is accepted here.
 */
static void pathf(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, CL_PATH, fmt, ap);
	va_end(ap);
}

static void path_join(char *buf, const char *base, const char *member)
{
	pathf(buf, "%s%s%s", base, base[0] ? "." : "", member);
}

/* Refuses any member of obj not listed in allowed (NULL-terminated). */
static int check_members(struct parse *p, const json_t *obj, const char *path,
			 const char *const *allowed)
{
	const char *key;
	json_t *val;

	json_object_foreach((json_t *)obj, key, val) {
		size_t k;
		for (k = 0; allowed[k]; k++)
			if (strcmp(key, allowed[k]) == 0)
				break;
		if (!allowed[k]) {
			char mp[CL_PATH];
			path_join(mp, path, key);
			return perr(p, SG_EINVAL, mp, "unknown member");
		}
	}
	return SG_OK;
}

static bool has_control(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/*
 * Reads obj[key] as a string of 1..max bytes without control characters.
 * *out is NULL when the member is absent and not required.
 */
static int get_string(struct parse *p, const json_t *obj, const char *key, const char *path,
		      bool required, size_t max, const char **out, size_t *out_len)
{
	const json_t *v = json_object_get(obj, key);
	char mp[CL_PATH];
	size_t n;

	path_join(mp, path, key);
	*out = NULL;
	if (!v) {
		if (required)
			return perr(p, SG_EINVAL, mp, "required member is missing");
		return SG_OK;
	}
	if (!json_is_string(v))
		return perr(p, SG_EINVAL, mp, "must be a string");
	n = json_string_length(v);
	if (n == 0)
		return perr(p, SG_EINVAL, mp, "must not be empty");
	if (n > max)
		return perr(p, SG_ETOOBIG, mp, "longer than %zu bytes", max);
	if (has_control(json_string_value(v), n))
		return perr(p, SG_EINVAL, mp, "contains a control character");
	*out = json_string_value(v);
	if (out_len)
		*out_len = n;
	return SG_OK;
}

static int get_copy(struct parse *p, const json_t *obj, const char *key, const char *path,
		    bool required, size_t max, char **out)
{
	const char *s;
	size_t n = 0;
	int rc = get_string(p, obj, key, path, required, max, &s, &n);

	if (rc != SG_OK || !s)
		return rc;
	*out = dup_n(s, n);
	return *out ? SG_OK : oom(p);
}

static int get_int(struct parse *p, const json_t *obj, const char *key, const char *path,
		   bool required, long long min, long long max, int *out)
{
	const json_t *v = json_object_get(obj, key);
	char mp[CL_PATH];
	long long x;

	path_join(mp, path, key);
	if (!v) {
		if (required)
			return perr(p, SG_EINVAL, mp, "required member is missing");
		return SG_OK;
	}
	if (!json_is_integer(v))
		return perr(p, SG_EINVAL, mp, "must be an integer");
	x = json_integer_value(v);
	if (x < min || x > max)
		return perr(p, SG_EINVAL, mp, "must be between %lld and %lld", min, max);
	*out = (int)x;
	return SG_OK;
}

static int get_bool(struct parse *p, const json_t *obj, const char *key, const char *path,
		    bool required, bool *out)
{
	const json_t *v = json_object_get(obj, key);
	char mp[CL_PATH];

	path_join(mp, path, key);
	if (!v) {
		if (required)
			return perr(p, SG_EINVAL, mp, "required member is missing");
		return SG_OK;
	}
	if (!json_is_boolean(v))
		return perr(p, SG_EINVAL, mp, "must be true or false");
	*out = json_is_true(v);
	return SG_OK;
}

/* Reads obj[key] as an array of at most max items; *out NULL when absent. */
static int get_array(struct parse *p, const json_t *obj, const char *key, const char *path,
		     bool required, size_t max, const json_t **out)
{
	const json_t *v = json_object_get(obj, key);
	char mp[CL_PATH];

	path_join(mp, path, key);
	*out = NULL;
	if (!v) {
		if (required)
			return perr(p, SG_EINVAL, mp, "required member is missing");
		return SG_OK;
	}
	if (!json_is_array(v))
		return perr(p, SG_EINVAL, mp, "must be an array");
	if (json_array_size(v) > max)
		return perr(p, SG_ETOOBIG, mp, "more than %zu items", max);
	*out = v;
	return SG_OK;
}

static bool valid_id(const char *s)
{
	if (!(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (const char *c = s; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return false;
	return true;
}

static int get_id(struct parse *p, const json_t *obj, const char *path, char **out)
{
	const char *s;
	char mp[CL_PATH];
	int rc = get_string(p, obj, "id", path, true, CLASSIFY_MAX_ID_BYTES, &s, NULL);

	if (rc != SG_OK)
		return rc;
	if (!valid_id(s)) {
		path_join(mp, path, "id");
		return perr(p, SG_EINVAL, mp, "must be lower-case snake_case ([a-z][a-z0-9_]*)");
	}
	*out = dup_n(s, strlen(s));
	return *out ? SG_OK : oom(p);
}

int cl_find_category(const struct classify_config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->ncats; i++)
		if (strcmp(cfg->cats[i].id, id) == 0)
			return (int)i;
	return -1;
}

int cl_find_department(const struct classify_config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->ndepts; i++)
		if (strcmp(cfg->depts[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* Records one occurrence of a term and reserves its slot in refs. */
static int push_occ(struct parse *p, const char *s, size_t n, const char *path, uint32_t rule,
		    enum cl_list list, uint32_t item)
{
	struct classify_config *cfg = p->cfg;
	struct cl_occ *o;

	if (p->nocc >= CLASSIFY_MAX_TERMS)
		return perr(p, SG_ETOOBIG, path, "more than %d terms in the document",
			    CLASSIFY_MAX_TERMS);
	if (grow((void **)&p->occ, &p->occ_alloc, p->nocc + 1, sizeof *p->occ) ||
	    grow((void **)&p->fold, &p->fold_alloc, p->fold_len + n, 1) ||
	    grow((void **)&cfg->refs, &p->refs_alloc, cfg->nrefs + 1, sizeof *cfg->refs))
		return oom(p);
	o = &p->occ[p->nocc++];
	o->fold_off = (uint32_t)p->fold_len;
	o->len = (uint32_t)n;
	o->slot = (uint32_t)cfg->nrefs++;
	o->rule = rule;
	o->list = (uint8_t)list;
	o->item = item;
	for (size_t i = 0; i < n; i++)
		p->fold[p->fold_len + i] = (char)cl_fold_byte((unsigned char)s[i]);
	p->fold_len += n;
	cfg->refs[o->slot] = UINT32_MAX;
	return SG_OK;
}

/*
 * Checks one term string of a rule (or of the negation list) and records it
 * (a gapped term's parts come later: add_gap_parts). Ids are assigned once
 * every term is known.
 */
static int add_term(struct parse *p, const json_t *v, const char *path, uint32_t rule,
		    enum cl_list list, uint32_t item)
{
	struct classify_config *cfg = p->cfg;
	const char *s, *star;
	size_t n;
	int rc;

	if (!json_is_string(v))
		return perr(p, SG_EINVAL, path, "must be a string");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0)
		return perr(p, SG_EINVAL, path, "must not be empty");
	if (n > CLASSIFY_MAX_TERM_BYTES)
		return perr(p, SG_ETOOBIG, path, "longer than %d bytes", CLASSIFY_MAX_TERM_BYTES);
	if (has_control(s, n))
		return perr(p, SG_EINVAL, path, "contains a control character");
	if (s[0] == ' ' || s[n - 1] == ' ')
		return perr(p, SG_EINVAL, path, "starts or ends with a space");
	star = memchr(s, CL_GAP_MARK, n);
	if (star) {
		size_t at = (size_t)(star - s);
		if (rule == CL_NEGATION_RULE)
			return perr(p, SG_EINVAL, path, "a negation term cannot have a '*'");
		if (at == 0 || at == n - 1 || memchr(star + 1, CL_GAP_MARK, n - at - 1) ||
		    s[at - 1] == ' ' || s[at + 1] == ' ')
			return perr(p, SG_EINVAL, path,
				    "a '*' must stand once between two parts without spaces (\"被*打\")");
		struct cl_gap_occ g = {.slot = (uint32_t)cfg->nrefs,
				       .fold_off = (uint32_t)p->fold_len,
				       .len = (uint32_t)n,
				       .at = (uint32_t)at};
		if ((rc = push_occ(p, s, n, path, rule, list, item)))
			return rc;
		if (grow((void **)&p->gaps, &p->gaps_alloc, p->ngaps + 1, sizeof *p->gaps))
			return oom(p);
		p->gaps[p->ngaps++] = g;
		return SG_OK;
	}
	return push_occ(p, s, n, path, rule, list, item);
}

/* Reads a term list (an array of strings) into span; an absent list is empty. */
static int parse_term_list(struct parse *p, const json_t *obj, const char *key, const char *path,
			   bool required, uint32_t rule, enum cl_list list, struct cl_span *span)
{
	const json_t *arr;
	char mp[CL_PATH], ip[CL_PATH];
	int rc = get_array(p, obj, key, path, required, CLASSIFY_MAX_TERMS, &arr);

	span->off = (uint32_t)p->cfg->nrefs;
	span->n = 0;
	if (rc != SG_OK || !arr)
		return rc;
	path_join(mp, path, key);
	if (required && json_array_size(arr) == 0)
		return perr(p, SG_EINVAL, mp, "must list at least one term");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		pathf(ip, "%s[%zu]", mp, i);
		rc = add_term(p, json_array_get(arr, i), ip, rule, list, (uint32_t)i);
		if (rc != SG_OK)
			return rc;
		span->n++;
	}
	return SG_OK;
}

/* Reads one rule of a category (owner >= 0) or of "urgency" (owner CL_URGENCY). */
static int parse_rule(struct parse *p, const json_t *v, const char *path, int owner,
		      uint32_t index)
{
	static const char *const cat_members[] = {"terms", "with", "all", "not", "weight", NULL};
	static const char *const urg_members[] = {"terms", "with", "all", "not",
						  "raise", "police_only", NULL};
	struct classify_config *cfg = p->cfg;
	struct cl_rule *r;
	uint32_t ri;
	int rc;

	if (!json_is_object(v))
		return perr(p, SG_EINVAL, path, "must be an object");
	if (cfg->nrules >= CLASSIFY_MAX_RULES)
		return perr(p, SG_ETOOBIG, path, "more than %d rules in the document",
			    CLASSIFY_MAX_RULES);
	rc = check_members(p, v, path, owner == CL_URGENCY ? urg_members : cat_members);
	if (rc != SG_OK)
		return rc;
	if (grow((void **)&cfg->rules, &p->rules_alloc, cfg->nrules + 1, sizeof *cfg->rules))
		return oom(p);
	ri = (uint32_t)cfg->nrules++;
	r = &cfg->rules[ri];
	memset(r, 0, sizeof *r);
	r->owner = owner;
	r->index = index;
	for (int l = 0; l < CL_NLISTS; l++) {
		rc = parse_term_list(p, v, cl_list_names[l], path, l == CL_ANY, ri,
				     (enum cl_list)l, &cfg->rules[ri].list[l]);
		if (rc != SG_OK)
			return rc;
	}
	r = &cfg->rules[ri];
	if (owner == CL_URGENCY) {
		char mp[CL_PATH];
		rc = get_int(p, v, "raise", path, true, -3, 3, &r->weight);
		if (rc == SG_OK && r->weight == 0) {
			path_join(mp, path, "raise");
			return perr(p, SG_EINVAL, mp, "must not be 0");
		}
		if (rc == SG_OK)
			rc = get_bool(p, v, "police_only", path, false, &r->police_only);
		return rc;
	}
	return get_int(p, v, "weight", path, true, 1, CL_MAX_WEIGHT, &r->weight);
}

static int parse_department(struct parse *p, const json_t *v, const char *path)
{
	static const char *const members[] = {"id", "name_zh", "name_en", "kind", "note", NULL};
	struct classify_config *cfg = p->cfg;
	struct cl_department *d = &cfg->depts[cfg->ndepts];
	const char *kind;
	char mp[CL_PATH];
	int rc;

	if (!json_is_object(v))
		return perr(p, SG_EINVAL, path, "must be an object");
	rc = check_members(p, v, path, members);
	if (rc != SG_OK)
		return rc;
	memset(d, 0, sizeof *d);
	cfg->ndepts++; /* counted now so that cleanup frees what is parsed below */
	if ((rc = get_id(p, v, path, &d->id)) != SG_OK)
		return rc;
	path_join(mp, path, "id");
	if (strcmp(d->id, CLASSIFY_STATION) == 0)
		return perr(p, SG_EINVAL, mp, "\"%s\" is reserved for the station owning the place",
			    CLASSIFY_STATION);
	for (size_t i = 0; i + 1 < cfg->ndepts; i++)
		if (strcmp(cfg->depts[i].id, d->id) == 0)
			return perr(p, SG_EINVAL, mp, "duplicate department id \"%s\" (also departments[%zu])",
				    d->id, i);
	if ((rc = get_copy(p, v, "name_zh", path, true, CLASSIFY_MAX_NAME_BYTES, &d->name_zh)) ||
	    (rc = get_copy(p, v, "name_en", path, false, CLASSIFY_MAX_NAME_BYTES, &d->name_en)) ||
	    (rc = get_copy(p, v, "note", path, false, CLASSIFY_MAX_NOTE_BYTES, &d->note)) ||
	    (rc = get_string(p, v, "kind", path, true, 32, &kind, NULL)))
		return rc;
	for (int k = 0; k < CL_KIND_COUNT; k++)
		if (strcmp(kind, cl_kind_names[k]) == 0) {
			d->kind = (enum cl_dept_kind)k;
			return SG_OK;
		}
	path_join(mp, path, "kind");
	return perr(p, SG_EINVAL, mp,
		    "must be police, emergency, government, enterprise, hotline or community");
}

static int parse_category(struct parse *p, const json_t *v, const char *path)
{
	static const char *const members[] = {"id", "name_zh", "name_en", "police", "negation",
					      "priority", "priority_over", "notify", "note", "rules",
					      NULL};
	struct classify_config *cfg = p->cfg;
	size_t ci = cfg->ncats;
	struct cl_category *c = &cfg->cats[ci];
	const json_t *rules;
	char mp[CL_PATH], rp[CL_PATH];
	int rc;

	if (!json_is_object(v))
		return perr(p, SG_EINVAL, path, "must be an object");
	rc = check_members(p, v, path, members);
	if (rc != SG_OK)
		return rc;
	memset(c, 0, sizeof *c);
	cfg->ncats++;
	if ((rc = get_id(p, v, path, &c->id)) != SG_OK)
		return rc;
	for (size_t i = 0; i < ci; i++)
		if (strcmp(cfg->cats[i].id, c->id) == 0) {
			path_join(mp, path, "id");
			return perr(p, SG_EINVAL, mp, "duplicate category id \"%s\" (also categories[%zu])",
				    c->id, i);
		}
	if ((rc = get_copy(p, v, "name_zh", path, true, CLASSIFY_MAX_NAME_BYTES, &c->name_zh)) ||
	    (rc = get_copy(p, v, "name_en", path, true, CLASSIFY_MAX_NAME_BYTES, &c->name_en)) ||
	    (rc = get_copy(p, v, "note", path, false, CLASSIFY_MAX_NOTE_BYTES, &c->note)) ||
	    (rc = get_bool(p, v, "police", path, true, &c->police)))
		return rc;
	c->negation = c->police;
	if ((rc = get_bool(p, v, "negation", path, false, &c->negation)) ||
	    (rc = get_int(p, v, "priority", path, true, 1, 4, &c->priority)) ||
	    (rc = get_array(p, v, "priority_over", path, false, CLASSIFY_MAX_CATEGORIES,
			    &p->over_json[ci])) ||
	    (rc = get_array(p, v, "notify", path, false, CLASSIFY_MAX_DEPARTMENTS,
			    &p->notify_json[ci])) ||
	    (rc = get_array(p, v, "rules", path, true, CLASSIFY_MAX_RULES, &rules)))
		return rc;
	c->default_dept = CL_NO_DEPT;
	c->rule_off = (uint32_t)cfg->nrules;
	path_join(mp, path, "rules");
	for (size_t i = 0; i < json_array_size(rules); i++) {
		pathf(rp, "%s[%zu]", mp, i);
		rc = parse_rule(p, json_array_get(rules, i), rp, (int)ci, (uint32_t)i);
		if (rc != SG_OK)
			return rc;
		c->rule_n++;
	}
	return SG_OK;
}

/*
 * Resolves a category's priority_over and notify lists once every category
 * and department is known.
 */
static int resolve_category_refs(struct parse *p, size_t ci)
{
	struct classify_config *cfg = p->cfg;
	struct cl_category *c = &cfg->cats[ci];
	const json_t *over = p->over_json[ci], *notify = p->notify_json[ci];
	char ip[CL_PATH];

	if (over && json_array_size(over)) {
		c->over = calloc(json_array_size(over), sizeof *c->over);
		if (!c->over)
			return oom(p);
		for (size_t i = 0; i < json_array_size(over); i++) {
			const json_t *v = json_array_get(over, i);
			int k;
			pathf(ip, "categories[%zu].priority_over[%zu]", ci, i);
			if (!json_is_string(v))
				return perr(p, SG_EINVAL, ip, "must be a category id");
			k = cl_find_category(cfg, json_string_value(v));
			if (k < 0)
				return perr(p, SG_EINVAL, ip, "unknown category \"%s\"",
					    json_string_value(v));
			if ((size_t)k == ci)
				return perr(p, SG_EINVAL, ip, "a category cannot take priority over itself");
			for (size_t j = 0; j < c->nover; j++)
				if (c->over[j] == k)
					return perr(p, SG_EINVAL, ip, "\"%s\" listed twice", cfg->cats[k].id);
			c->over[c->nover++] = (uint16_t)k;
		}
	}
	if (notify && json_array_size(notify)) {
		c->notify = calloc(json_array_size(notify), sizeof *c->notify);
		c->notify_idx = calloc(json_array_size(notify), sizeof *c->notify_idx);
		if (!c->notify || !c->notify_idx)
			return oom(p);
		for (size_t i = 0; i < json_array_size(notify); i++) {
			const json_t *v = json_array_get(notify, i);
			int k;
			pathf(ip, "categories[%zu].notify[%zu]", ci, i);
			if (!json_is_string(v))
				return perr(p, SG_EINVAL, ip, "must be a department id");
			k = cl_find_department(cfg, json_string_value(v));
			if (k < 0)
				return perr(p, SG_EINVAL, ip, "unknown department \"%s\"",
					    json_string_value(v));
			for (size_t j = 0; j < c->nnotify; j++)
				if (c->notify_idx[j] == k)
					return perr(p, SG_EINVAL, ip, "\"%s\" listed twice", cfg->depts[k].id);
			c->notify_idx[c->nnotify] = k;
			c->notify[c->nnotify++] = cfg->depts[k].id;
		}
	}
	return SG_OK;
}

/*
 * Refuses a cycle of priority_over (A over B over ... over A): every
 * category in it would drop the next and none could win. Depth-first search
 * with colours; the error names the category where the cycle closes.
 */
static int check_over_cycles(struct parse *p)
{
	struct classify_config *cfg = p->cfg;
	uint8_t colour[CLASSIFY_MAX_CATEGORIES] = {0}; /* 0 new, 1 on stack, 2 done */
	uint16_t stack[CLASSIFY_MAX_CATEGORIES], next[CLASSIFY_MAX_CATEGORIES];
	char ip[CL_PATH];

	for (size_t s = 0; s < cfg->ncats; s++) {
		size_t depth = 0;
		if (colour[s])
			continue;
		stack[0] = (uint16_t)s;
		next[0] = 0;
		colour[s] = 1;
		depth = 1;
		while (depth) {
			const struct cl_category *c = &cfg->cats[stack[depth - 1]];
			if (next[depth - 1] < c->nover) {
				uint16_t k = c->over[next[depth - 1]++];
				if (colour[k] == 1) {
					pathf(ip, "categories[%u].priority_over[%u]",
						 stack[depth - 1], next[depth - 1] - 1);
					return perr(p, SG_EINVAL, ip,
						    "priority_over forms a cycle through \"%s\"",
						    cfg->cats[k].id);
				}
				if (colour[k] == 0) {
					colour[k] = 1;
					stack[depth] = k;
					next[depth] = 0;
					depth++;
				}
			} else {
				colour[stack[depth - 1]] = 2;
				depth--;
			}
		}
	}
	return SG_OK;
}

/*
 * The significant prefix of a division code, so that "contains" is "is a
 * prefix of": a 6-digit code drops trailing "00" pairs (320500 → 3205, the
 * city; 320000 → 32, the province), a 9- or 12-digit code drops a trailing
 * "000" level and is then normalised again. Returns the length, or -1 when
 * code is not 6, 9 or 12 digits.
 */
int cl_area_normalise(const char *code, char norm[13])
{
	size_t n = strlen(code);

	if (n != 6 && n != 9 && n != 12)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (code[i] < '0' || code[i] > '9')
			return -1;
	memcpy(norm, code, n);
	while (n > 6 && memcmp(norm + n - 3, "000", 3) == 0)
		n -= 3;
	if (n == 6)
		while (n >= 2 && memcmp(norm + n - 2, "00", 2) == 0)
			n -= 2;
	norm[n] = '\0';
	return (int)n;
}

static int parse_route(struct parse *p, const json_t *v, const char *path)
{
	static const char *const members[] = {"category", "area", "department", "note", NULL};
	struct classify_config *cfg = p->cfg;
	struct cl_route *r = &cfg->routes[cfg->nroutes];
	const char *cat, *dept, *area;
	char mp[CL_PATH];
	int rc, n;

	if (!json_is_object(v))
		return perr(p, SG_EINVAL, path, "must be an object");
	rc = check_members(p, v, path, members);
	if (rc != SG_OK)
		return rc;
	memset(r, 0, sizeof *r);
	cfg->nroutes++;
	if ((rc = get_string(p, v, "category", path, true, CLASSIFY_MAX_ID_BYTES, &cat, NULL)) ||
	    (rc = get_string(p, v, "department", path, true, CLASSIFY_MAX_ID_BYTES, &dept, NULL)) ||
	    (rc = get_string(p, v, "area", path, false, CLASSIFY_MAX_ID_BYTES, &area, NULL)) ||
	    (rc = get_copy(p, v, "note", path, false, CLASSIFY_MAX_NOTE_BYTES, &r->note)))
		return rc;
	path_join(mp, path, "category");
	r->category = cl_find_category(cfg, cat);
	if (r->category < 0)
		return perr(p, SG_EINVAL, mp, "unknown category \"%s\"", cat);
	path_join(mp, path, "department");
	if (strcmp(dept, CLASSIFY_STATION) == 0) {
		r->department = CL_NO_DEPT;
		if (!cfg->cats[r->category].police)
			return perr(p, SG_EINVAL, mp,
				    "\"%s\" is not police: it cannot go to the station", cat);
	} else {
		r->department = cl_find_department(cfg, dept);
		if (r->department < 0)
			return perr(p, SG_EINVAL, mp, "unknown department \"%s\"", dept);
		enum cl_dept_kind k = cfg->depts[r->department].kind;
		if (cfg->cats[r->category].police && k != CL_KIND_POLICE && k != CL_KIND_EMERGENCY)
			return perr(p, SG_EINVAL, mp,
				    "\"%s\" is police: it goes to the station or to a police or emergency department, not to %s \"%s\"",
				    cat, cl_kind_names[k], dept);
		if (!cfg->cats[r->category].police && k == CL_KIND_POLICE)
			return perr(p, SG_EINVAL, mp,
				    "\"%s\" is not police: it cannot go to the police department \"%s\"",
				    cat, dept);
	}
	if (area) {
		path_join(mp, path, "area");
		n = cl_area_normalise(area, r->norm);
		if (n < 0)
			return perr(p, SG_EINVAL, mp, "must be a division code of 6, 9 or 12 digits");
		if (n == 0)
			return perr(p, SG_EINVAL, mp, "\"%s\" is no division", area);
		memcpy(r->area, area, strlen(area) + 1);
		r->norm_len = (size_t)n;
	}
	for (size_t i = 0; i + 1 < cfg->nroutes; i++) {
		const struct cl_route *o = &cfg->routes[i];
		if (o->category == r->category && strcmp(o->norm, r->norm) == 0) {
			path_join(mp, path, area ? "area" : "category");
			return perr(p, SG_EINVAL, mp,
				    "duplicate route for \"%s\" %s%s (also routing[%zu])", cat,
				    area ? "in " : "city-wide", area ? area : "", i);
		}
	}
	if (!area)
		cfg->cats[r->category].default_dept = r->department;
	return SG_OK;
}

/* Groups the routes that have an area by category (document order within). */
static int index_routes(struct parse *p)
{
	struct classify_config *cfg = p->cfg;
	uint32_t n = 0;

	cfg->area_routes = calloc(cfg->nroutes ? cfg->nroutes : 1, sizeof *cfg->area_routes);
	if (!cfg->area_routes)
		return oom(p);
	for (size_t c = 0; c < cfg->ncats; c++) {
		cfg->cats[c].route_off = n;
		for (size_t i = 0; i < cfg->nroutes; i++)
			if (cfg->routes[i].category == (int)c && cfg->routes[i].norm_len)
				cfg->area_routes[n++] = (uint32_t)i;
		cfg->cats[c].route_n = n - cfg->cats[c].route_off;
		if (!cfg->cats[c].police) {
			for (size_t i = 0; i < cfg->nroutes; i++)
				if (cfg->routes[i].category == (int)c && !cfg->routes[i].norm_len)
					goto found;
			return perr(p, SG_EINVAL, "routing",
				    "non-police category \"%s\" (categories[%zu]) has no city-wide route",
				    cfg->cats[c].id, c);
found:;
		}
	}
	return SG_OK;
}

/* The path of a term occurrence, rebuilt for an error message. */
static void occ_path(const struct parse *p, const struct cl_occ *o, char *buf)
{
	const struct classify_config *cfg = p->cfg;
	const struct cl_rule *r;

	if (o->rule == CL_NEGATION_RULE) {
		pathf(buf, "negation.terms[%u]", o->item);
		return;
	}
	r = &cfg->rules[o->rule];
	if (r->owner == CL_URGENCY)
		pathf(buf, "urgency[%u].%s[%u]", r->index, cl_list_names[o->list],
			 o->item);
	else
		pathf(buf, "categories[%d].rules[%u].%s[%u]", r->owner, r->index,
			 cl_list_names[o->list], o->item);
}

/* Orders occurrences by folded bytes, then by rule, then by position. */
static int occ_cmp(const void *a, const void *b)
{
	const struct cl_occ *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->s, y->s, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->rule != y->rule)
		return x->rule < y->rule ? -1 : 1;
	return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/*
 * Gives every distinct (folded) term one id, fills refs, refuses a term
 * written twice in one rule (or twice among the negation terms), and builds
 * each term's list of rules that have it among their "terms".
 */
static int build_terms(struct parse *p)
{
	struct classify_config *cfg = p->cfg;
	size_t pool_len = 0, np = 0;
	char ip[CL_PATH];
	uint32_t *fill = NULL;
	int rc = SG_OK;

	for (size_t i = 0; i < p->nocc; i++)
		p->occ[i].s = p->fold + p->occ[i].fold_off;
	if (p->nocc)
		qsort(p->occ, p->nocc, sizeof *p->occ, occ_cmp);

	for (size_t i = 0; i < p->nocc; i++) {
		const struct cl_occ *o = &p->occ[i], *q = i ? &p->occ[i - 1] : NULL;
		bool same = q && q->len == o->len &&
			    memcmp(p->fold + q->fold_off, p->fold + o->fold_off, o->len) == 0;
		if (same && q->rule == o->rule && o->rule != CL_PART_RULE) {
			occ_path(p, o, ip);
			return perr(p, SG_EINVAL, ip, "term \"%.*s\" appears twice in the same %s",
				    (int)o->len, p->fold + o->fold_off,
				    o->rule == CL_NEGATION_RULE ? "list" : "rule");
		}
		if (!same)
			pool_len += o->len + 1;
	}
	cfg->pool = malloc(pool_len ? pool_len : 1);
	cfg->terms = calloc(p->nocc ? p->nocc : 1, sizeof *cfg->terms);
	if (!cfg->pool || !cfg->terms)
		return oom(p);
	for (size_t i = 0; i < p->nocc; i++) {
		const struct cl_occ *o = &p->occ[i], *q = i ? &p->occ[i - 1] : NULL;
		struct cl_term *t;
		if (!q || q->len != o->len ||
		    memcmp(p->fold + q->fold_off, p->fold + o->fold_off, o->len) != 0) {
			t = &cfg->terms[cfg->nterms++];
			memcpy(cfg->pool + np, p->fold + o->fold_off, o->len);
			cfg->pool[np + o->len] = '\0';
			t->s = cfg->pool + np;
			t->len = (uint8_t)o->len;
			np += o->len + 1;
		}
		t = &cfg->terms[cfg->nterms - 1];
		if (o->rule == CL_NEGATION_RULE)
			t->roles |= CL_ROLE_NEGATION;
		else if (o->rule != CL_PART_RULE)
			t->roles |= CL_ROLE_RULE;
		if (o->rule != CL_NEGATION_RULE && o->rule != CL_PART_RULE && o->list == CL_ANY)
			t->post_n++;
		cfg->refs[o->slot] = (uint32_t)(cfg->nterms - 1);
	}

	/* Postings: the rules whose "terms" list has each distinct term. */
	size_t total = 0;
	for (size_t t = 0; t < cfg->nterms; t++) {
		cfg->terms[t].post_off = (uint32_t)total;
		total += cfg->terms[t].post_n;
	}
	cfg->post = calloc(total ? total : 1, sizeof *cfg->post);
	fill = calloc(cfg->nterms ? cfg->nterms : 1, sizeof *fill);
	if (!cfg->post || !fill) {
		rc = oom(p);
		goto out;
	}
	for (size_t r = 0; r < cfg->nrules; r++) {
		const struct cl_span *s = &cfg->rules[r].list[CL_ANY];
		for (uint32_t k = 0; k < s->n; k++) {
			uint32_t t = cfg->refs[s->off + k];
			cfg->post[cfg->terms[t].post_off + fill[t]++] = (uint32_t)r;
		}
	}
out:
	free(fill);
	return rc;
}

/*
 * Records the two parts of every gapped term as occurrences of their own,
 * after every list, in refs slots that no list points at.
 */
static int add_gap_parts(struct parse *p)
{
	char part[CLASSIFY_MAX_TERM_BYTES];
	int rc;

	for (size_t i = 0; i < p->ngaps; i++) {
		struct cl_gap_occ *g = &p->gaps[i];
		memcpy(part, p->fold + g->fold_off, g->at);
		g->slot_a = (uint32_t)p->cfg->nrefs;
		if ((rc = push_occ(p, part, g->at, "", CL_PART_RULE, CL_ANY, 0)))
			return rc;
		memcpy(part, p->fold + g->fold_off + g->at + 1, g->len - g->at - 1);
		g->slot_b = (uint32_t)p->cfg->nrefs;
		if ((rc = push_occ(p, part, g->len - g->at - 1, "", CL_PART_RULE, CL_ANY, 0)))
			return rc;
	}
	return SG_OK;
}

static uint8_t utf8_chars(const char *s, size_t n)
{
	uint8_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xC0) != 0x80;
	return c;
}

/*
 * Ties each gapped term to its parts once ids are known: the first part gets
 * a slot for its last position in the scan, the second part the list of the
 * gapped terms it closes. A term written in several rules is linked once.
 */
static int link_gaps(struct parse *p)
{
	struct classify_config *cfg = p->cfg;
	uint32_t *fill = NULL;
	size_t total = 0;

	for (size_t t = 0; t < cfg->nterms; t++)
		cfg->terms[t].chars = utf8_chars(cfg->terms[t].s, cfg->terms[t].len);
	for (size_t i = 0; i < p->ngaps; i++) {
		struct cl_term *g = &cfg->terms[cfg->refs[p->gaps[i].slot]];
		uint32_t a = cfg->refs[p->gaps[i].slot_a], b = cfg->refs[p->gaps[i].slot_b];
		if (g->roles & CL_ROLE_GAPPED)
			continue;
		if (cfg->ngapped == CLASSIFY_MAX_GAPPED)
			return perr(p, SG_ETOOBIG, "", "more than %d distinct terms with a '*'",
				    CLASSIFY_MAX_GAPPED);
		cfg->ngapped++;
		g->roles |= CL_ROLE_GAPPED;
		g->part_a = a;
		g->part_b = b;
		if (!(cfg->terms[a].roles & CL_ROLE_PART_A)) {
			cfg->terms[a].roles |= CL_ROLE_PART_A;
			cfg->terms[a].a_slot = (uint32_t)cfg->nparts_a++;
		}
		cfg->terms[b].roles |= CL_ROLE_PART_B;
		cfg->terms[b].gap_n++;
	}
	for (size_t t = 0; t < cfg->nterms; t++) {
		cfg->terms[t].gap_off = (uint32_t)total;
		total += cfg->terms[t].gap_n;
	}
	cfg->gap_post = calloc(total ? total : 1, sizeof *cfg->gap_post);
	fill = calloc(cfg->nterms ? cfg->nterms : 1, sizeof *fill);
	if (!cfg->gap_post || !fill) {
		free(fill);
		return oom(p);
	}
	for (size_t t = 0; t < cfg->nterms; t++) {
		const struct cl_term *g = &cfg->terms[t];
		if (g->roles & CL_ROLE_GAPPED)
			cfg->gap_post[cfg->terms[g->part_b].gap_off + fill[g->part_b]++] =
				(uint32_t)t;
	}
	free(fill);
	return SG_OK;
}

/* Reads "learned" (absent: no examples); categories must be known. */
static int parse_learned(struct parse *p, const json_t *v)
{
	static const char *const members[] = {"below", "examples", NULL};
	static const char *const ex_members[] = {"category", "text", NULL};
	struct classify_config *cfg = p->cfg;
	struct cl_learned *l = &cfg->learned;
	const json_t *arr;
	char ip[CL_PATH], mp[CL_PATH];
	int rc;

	if (!v)
		return SG_OK;
	if (!json_is_object(v))
		return perr(p, SG_EINVAL, "learned", "must be an object");
	if ((rc = check_members(p, v, "learned", members)) ||
	    (rc = get_int(p, v, "below", "learned", true, 1, CL_MAX_MIN_SCORE, &l->below)) ||
	    (rc = get_array(p, v, "examples", "learned", true, CLASSIFY_MAX_EXAMPLES, &arr)))
		return rc;
	l->examples = calloc(json_array_size(arr) ? json_array_size(arr) : 1, sizeof *l->examples);
	if (!l->examples)
		return oom(p);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *e = json_array_get(arr, i);
		const char *cat, *text;
		size_t n;
		pathf(ip, "learned.examples[%zu]", i);
		if (!json_is_object(e))
			return perr(p, SG_EINVAL, ip, "must be an object");
		if ((rc = check_members(p, e, ip, ex_members)) ||
		    (rc = get_string(p, e, "category", ip, true, CLASSIFY_MAX_ID_BYTES, &cat, NULL)) ||
		    (rc = get_string(p, e, "text", ip, true, CLASSIFY_MAX_EXAMPLE_BYTES, &text, &n)))
			return rc;
		struct cl_example *ex = &l->examples[l->nexamples];
		ex->category = cl_find_category(cfg, cat);
		if (ex->category < 0) {
			path_join(mp, ip, "category");
			return perr(p, SG_EINVAL, mp, "unknown category \"%s\"", cat);
		}
		ex->text = dup_n(text, n);
		if (!ex->text)
			return oom(p);
		l->nexamples++;
	}
	return SG_OK;
}

static int parse_document(struct parse *p, const json_t *root)
{
	static const char *const members[] = {"version",  "notes",       "fallback",
					      "min_score", "gap",        "negation",   "urgency",
					      "departments", "categories", "routing", "learned", NULL};
	static const char *const neg_members[] = {"terms", "window", NULL};
	struct classify_config *cfg = p->cfg;
	const json_t *notes, *depts, *cats, *urgency, *routing, *neg;
	const char *fallback;
	char ip[CL_PATH];
	int rc;

	if (!json_is_object(root))
		return perr(p, SG_EINVAL, "", "the document must be a JSON object");
	if ((rc = check_members(p, root, "", members)) ||
	    (rc = get_int(p, root, "version", "", true, 1, 1, &cfg->version)) ||
	    (rc = get_array(p, root, "notes", "", false, CL_MAX_NOTES, &notes)) ||
	    (rc = get_array(p, root, "departments", "", true, CLASSIFY_MAX_DEPARTMENTS, &depts)) ||
	    (rc = get_array(p, root, "categories", "", true, CLASSIFY_MAX_CATEGORIES, &cats)) ||
	    (rc = get_array(p, root, "urgency", "", false, CLASSIFY_MAX_RULES, &urgency)) ||
	    (rc = get_array(p, root, "routing", "", true, CLASSIFY_MAX_ROUTES, &routing)) ||
	    (rc = get_string(p, root, "fallback", "", true, CLASSIFY_MAX_ID_BYTES, &fallback, NULL)))
		return rc;
	cfg->min_score = 1;
	cfg->gap = CL_DEFAULT_GAP;
	if ((rc = get_int(p, root, "min_score", "", false, 1, CL_MAX_MIN_SCORE, &cfg->min_score)) ||
	    (rc = get_int(p, root, "gap", "", false, 1, CL_MAX_GAP, &cfg->gap)))
		return rc;

	if (notes && json_array_size(notes)) {
		cfg->notes = calloc(json_array_size(notes), sizeof *cfg->notes);
		if (!cfg->notes)
			return oom(p);
		for (size_t i = 0; i < json_array_size(notes); i++) {
			const json_t *v = json_array_get(notes, i);
			pathf(ip, "notes[%zu]", i);
			if (!json_is_string(v))
				return perr(p, SG_EINVAL, ip, "must be a string");
			if (json_string_length(v) > CLASSIFY_MAX_NOTE_BYTES)
				return perr(p, SG_ETOOBIG, ip, "longer than %d bytes",
					    CLASSIFY_MAX_NOTE_BYTES);
			cfg->notes[i] = dup_n(json_string_value(v), json_string_length(v));
			if (!cfg->notes[i])
				return oom(p);
			cfg->nnotes++;
		}
	}

	cfg->depts = calloc(json_array_size(depts) ? json_array_size(depts) : 1, sizeof *cfg->depts);
	if (!cfg->depts)
		return oom(p);
	for (size_t i = 0; i < json_array_size(depts); i++) {
		pathf(ip, "departments[%zu]", i);
		if ((rc = parse_department(p, json_array_get(depts, i), ip)))
			return rc;
	}

	if (json_array_size(cats) == 0)
		return perr(p, SG_EINVAL, "categories", "must list at least one category");
	cfg->cats = calloc(json_array_size(cats), sizeof *cfg->cats);
	p->over_json = calloc(json_array_size(cats), sizeof *p->over_json);
	p->notify_json = calloc(json_array_size(cats), sizeof *p->notify_json);
	if (!cfg->cats || !p->over_json || !p->notify_json)
		return oom(p);
	for (size_t i = 0; i < json_array_size(cats); i++) {
		pathf(ip, "categories[%zu]", i);
		if ((rc = parse_category(p, json_array_get(cats, i), ip)))
			return rc;
	}
	for (size_t i = 0; i < cfg->ncats; i++)
		if ((rc = resolve_category_refs(p, i)))
			return rc;
	if ((rc = check_over_cycles(p)))
		return rc;
	cfg->fallback = cl_find_category(cfg, fallback);
	if (cfg->fallback < 0)
		return perr(p, SG_EINVAL, "fallback", "unknown category \"%s\"", fallback);
	for (size_t i = 0; i < cfg->ncats; i++)
		if (cfg->cats[i].rule_n == 0 && (int)i != cfg->fallback) {
			pathf(ip, "categories[%zu].rules", i);
			return perr(p, SG_EINVAL, ip,
				    "only the fallback category may have no rules");
		}

	cfg->urgency_off = (uint32_t)cfg->nrules;
	for (size_t i = 0; urgency && i < json_array_size(urgency); i++) {
		pathf(ip, "urgency[%zu]", i);
		if ((rc = parse_rule(p, json_array_get(urgency, i), ip, CL_URGENCY, (uint32_t)i)))
			return rc;
		cfg->urgency_n++;
	}

	neg = json_object_get(root, "negation");
	cfg->negation.off = (uint32_t)cfg->nrefs;
	if (neg) {
		if (!json_is_object(neg))
			return perr(p, SG_EINVAL, "negation", "must be an object");
		if ((rc = check_members(p, neg, "negation", neg_members)) ||
		    (rc = parse_term_list(p, neg, "terms", "negation", true, CL_NEGATION_RULE,
					  CL_ANY, &cfg->negation)) ||
		    (rc = get_int(p, neg, "window", "negation", false, 0, CL_MAX_NEG_WINDOW,
				  &cfg->neg_window)))
			return rc;
	}

	if ((rc = parse_learned(p, json_object_get(root, "learned"))))
		return rc;
	cfg->routes = calloc(json_array_size(routing) ? json_array_size(routing) : 1,
			     sizeof *cfg->routes);
	if (!cfg->routes)
		return oom(p);
	for (size_t i = 0; i < json_array_size(routing); i++) {
		pathf(ip, "routing[%zu]", i);
		if ((rc = parse_route(p, json_array_get(routing, i), ip)))
			return rc;
	}
	if ((rc = add_gap_parts(p)) || (rc = build_terms(p)) || (rc = link_gaps(p)) ||
	    (rc = index_routes(p)))
		return rc;
	if (cl_automaton_build(cfg) != SG_OK || cl_learn_build(cfg) != SG_OK)
		return oom(p);
	return SG_OK;
}

int classify_config_load(const char *text, size_t len, struct classify_config **out,
			 struct classify_error *err)
{
	struct parse p;
	json_error_t jerr;
	json_t *root = NULL;
	int rc;

	memset(&p, 0, sizeof p);
	p.err = err;
	if (err)
		memset(err, 0, sizeof *err);
	if (!text || !out)
		return perr(&p, SG_EINVAL, "", "no text");
	if (len > CLASSIFY_MAX_CONFIG_TEXT)
		return perr(&p, SG_ETOOBIG, "", "the document is longer than %zu bytes",
			    CLASSIFY_MAX_CONFIG_TEXT);
	p.cfg = calloc(1, sizeof *p.cfg);
	if (!p.cfg)
		return oom(&p);
	root = sg_json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr, &rc);
	if (!root) {
		rc = perr(&p, rc, "", "%s", rc == SG_ENOMEM ? "out of memory" : jerr.text);
		if (err) {
			err->line = jerr.line > 0 ? jerr.line : 0;
			err->column = jerr.column > 0 ? jerr.column : 0;
		}
		goto out;
	}
	rc = parse_document(&p, root);
out:
	json_decref(root);
	free(p.occ);
	free(p.fold);
	free(p.over_json);
	free(p.notify_json);
	free(p.gaps);
	if (rc == SG_OK)
		*out = p.cfg;
	else
		classify_config_free(p.cfg);
	return rc;
}

void classify_config_free(struct classify_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nnotes; i++)
		free(cfg->notes[i]);
	free(cfg->notes);
	for (size_t i = 0; i < cfg->ncats; i++) {
		struct cl_category *c = &cfg->cats[i];
		free(c->id);
		free(c->name_zh);
		free(c->name_en);
		free(c->note);
		free(c->over);
		free(c->notify);
		free(c->notify_idx);
	}
	free(cfg->cats);
	for (size_t i = 0; i < cfg->ndepts; i++) {
		free(cfg->depts[i].id);
		free(cfg->depts[i].name_zh);
		free(cfg->depts[i].name_en);
		free(cfg->depts[i].note);
	}
	free(cfg->depts);
	for (size_t i = 0; i < cfg->nroutes; i++)
		free(cfg->routes[i].note);
	free(cfg->routes);
	free(cfg->area_routes);
	free(cfg->rules);
	free(cfg->refs);
	free(cfg->terms);
	free(cfg->pool);
	free(cfg->post);
	free(cfg->gap_post);
	free(cfg->ac.delta);
	free(cfg->ac.edge_off);
	free(cfg->ac.edge_byte);
	free(cfg->ac.edge_to);
	free(cfg->ac.fail);
	free(cfg->ac.term);
	free(cfg->ac.out);
	cl_learn_free(&cfg->learned);
	free(cfg);
}

/* ---------------------------------------------------------------- writing */

/*
 * json_object_set_new and json_array_append_new free the value on failure,
 * so building only needs to remember that something failed.
 */
struct jw {
	bool failed;
};

static void jset(struct jw *w, json_t *obj, const char *key, json_t *v)
{
	if (!v || json_object_set_new(obj, key, v) != 0)
		w->failed = true;
}

static void jappend(struct jw *w, json_t *arr, json_t *v)
{
	if (!v || json_array_append_new(arr, v) != 0)
		w->failed = true;
}

static json_t *span_json(struct jw *w, const struct classify_config *cfg, struct cl_span s)
{
	json_t *arr = json_array();

	if (!arr) {
		w->failed = true;
		return NULL;
	}
	for (uint32_t k = 0; k < s.n; k++) {
		const struct cl_term *t = &cfg->terms[cfg->refs[s.off + k]];
		jappend(w, arr, json_stringn(t->s, t->len));
	}
	return arr;
}

static json_t *rule_json(struct jw *w, const struct classify_config *cfg, const struct cl_rule *r)
{
	json_t *o = json_object();

	if (!o) {
		w->failed = true;
		return NULL;
	}
	for (int l = 0; l < CL_NLISTS; l++)
		if (l == CL_ANY || r->list[l].n)
			jset(w, o, cl_list_names[l], span_json(w, cfg, r->list[l]));
	if (r->owner == CL_URGENCY) {
		jset(w, o, "raise", json_integer(r->weight));
		jset(w, o, "police_only", json_boolean(r->police_only));
	} else {
		jset(w, o, "weight", json_integer(r->weight));
	}
	return o;
}

/*
 * json_dump_callback's sink for classify_config_to_json. Once an append
 * fails, every later one fails too: jansson (2.14) ignores the result of
 * writing an object's key, and would go on to finish a document with that
 * key's closing quote missing.
 */
struct dump_sink {
	struct sg_buf b;
	bool failed;
};

static int dump_append(const char *text, size_t n, void *data)
{
	struct dump_sink *d = data;

	if (d->failed || sg_buf_append(&d->b, text, n) != SG_OK) {
		d->failed = true;
		return -1;
	}
	return 0;
}

int classify_config_to_json(const struct classify_config *cfg, char **json, size_t *len)
{
	struct jw w = {false};
	struct dump_sink sink = { .failed = false };
	json_t *root, *arr, *o;
	char *s = NULL;
	size_t n = 0;
	int rc = SG_ENOMEM;

	if (!cfg || !json)
		return SG_EINVAL;
	root = json_object();
	if (!root)
		return SG_ENOMEM;
	jset(&w, root, "version", json_integer(cfg->version));
	if (cfg->nnotes) {
		arr = json_array();
		for (size_t i = 0; arr && i < cfg->nnotes; i++)
			jappend(&w, arr, json_string(cfg->notes[i]));
		jset(&w, root, "notes", arr);
	}
	jset(&w, root, "fallback", json_string(cfg->cats[cfg->fallback].id));
	jset(&w, root, "min_score", json_integer(cfg->min_score));
	jset(&w, root, "gap", json_integer(cfg->gap));
	if (cfg->negation.n) {
		o = json_object();
		if (o) {
			jset(&w, o, "terms", span_json(&w, cfg, cfg->negation));
			jset(&w, o, "window", json_integer(cfg->neg_window));
		}
		jset(&w, root, "negation", o);
	}
	arr = json_array();
	for (uint32_t k = 0; arr && k < cfg->urgency_n; k++)
		jappend(&w, arr, rule_json(&w, cfg, &cfg->rules[cfg->urgency_off + k]));
	jset(&w, root, "urgency", arr);

	arr = json_array();
	for (size_t i = 0; arr && i < cfg->ndepts; i++) {
		const struct cl_department *d = &cfg->depts[i];
		o = json_object();
		if (o) {
			jset(&w, o, "id", json_string(d->id));
			jset(&w, o, "name_zh", json_string(d->name_zh));
			if (d->name_en)
				jset(&w, o, "name_en", json_string(d->name_en));
			jset(&w, o, "kind", json_string(cl_kind_names[d->kind]));
			if (d->note)
				jset(&w, o, "note", json_string(d->note));
		}
		jappend(&w, arr, o);
	}
	jset(&w, root, "departments", arr);

	arr = json_array();
	for (size_t i = 0; arr && i < cfg->ncats; i++) {
		const struct cl_category *c = &cfg->cats[i];
		json_t *list;
		o = json_object();
		if (!o) {
			w.failed = true;
			break;
		}
		jset(&w, o, "id", json_string(c->id));
		jset(&w, o, "name_zh", json_string(c->name_zh));
		jset(&w, o, "name_en", json_string(c->name_en));
		jset(&w, o, "police", json_boolean(c->police));
		jset(&w, o, "negation", json_boolean(c->negation));
		jset(&w, o, "priority", json_integer(c->priority));
		if (c->nover) {
			list = json_array();
			for (size_t k = 0; list && k < c->nover; k++)
				jappend(&w, list, json_string(cfg->cats[c->over[k]].id));
			jset(&w, o, "priority_over", list);
		}
		if (c->nnotify) {
			list = json_array();
			for (size_t k = 0; list && k < c->nnotify; k++)
				jappend(&w, list, json_string(c->notify[k]));
			jset(&w, o, "notify", list);
		}
		if (c->note)
			jset(&w, o, "note", json_string(c->note));
		list = json_array();
		for (uint32_t k = 0; list && k < c->rule_n; k++)
			jappend(&w, list, rule_json(&w, cfg, &cfg->rules[c->rule_off + k]));
		jset(&w, o, "rules", list);
		jappend(&w, arr, o);
	}
	jset(&w, root, "categories", arr);

	arr = json_array();
	for (size_t i = 0; arr && i < cfg->nroutes; i++) {
		const struct cl_route *r = &cfg->routes[i];
		o = json_object();
		if (o) {
			jset(&w, o, "category", json_string(cfg->cats[r->category].id));
			if (r->area[0])
				jset(&w, o, "area", json_string(r->area));
			jset(&w, o, "department", json_string(cl_dept_id(cfg, r->department)));
			if (r->note)
				jset(&w, o, "note", json_string(r->note));
		}
		jappend(&w, arr, o);
	}
	jset(&w, root, "routing", arr);

	if (cfg->learned.nexamples) {
		o = json_object();
		arr = json_array();
		for (size_t i = 0; arr && i < cfg->learned.nexamples; i++) {
			const struct cl_example *ex = &cfg->learned.examples[i];
			json_t *e = json_object();
			if (e) {
				jset(&w, e, "category", json_string(cfg->cats[ex->category].id));
				jset(&w, e, "text", json_string(ex->text));
			}
			jappend(&w, arr, e);
		}
		if (o) {
			jset(&w, o, "below", json_integer(cfg->learned.below));
			jset(&w, o, "examples", arr);
		} else {
			json_decref(arr);
		}
		jset(&w, root, "learned", o);
	}

	if (w.failed)
		goto out;
	sg_buf_init(&sink.b, 0);
	if (json_dump_callback(root, dump_append, &sink, JSON_INDENT(2) | JSON_PRESERVE_ORDER) ||
	    sink.failed || !(s = sg_buf_steal(&sink.b, &n))) {
		sg_buf_release(&sink.b);
		goto out;
	}
	*json = s;
	if (len)
		*len = n;
	rc = SG_OK;
out:
	json_decref(root);
	return rc;
}
