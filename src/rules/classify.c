/*
 * classify.c — queries on a loaded classification configuration: routing a
 * category to a department by place, the categories and departments for the
 * console, and the sizes for the admin page. Loading and writing back are in
 * classify_config.c, the automaton and classifying in classify_match.c.
 */
#include "rules/classify.h"

#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "rules/classify_internal.h"

int cl_route(const struct classify_config *cfg, int ci, const char *norm, size_t norm_len)
{
	const struct cl_category *c = &cfg->cats[ci];
	int dept = c->default_dept;
	size_t best = 0;

	for (uint32_t k = 0; k < c->route_n; k++) {
		const struct cl_route *r = &cfg->routes[cfg->area_routes[c->route_off + k]];
		if (r->norm_len > best && r->norm_len <= norm_len &&
		    memcmp(r->norm, norm, r->norm_len) == 0) {
			best = r->norm_len;
			dept = r->department;
		}
	}
	return dept;
}

const char *cl_dept_id(const struct classify_config *cfg, int dept)
{
	return dept == CL_NO_DEPT ? CLASSIFY_STATION : cfg->depts[dept].id;
}

/* Normalises a caller's area code; NULL or "" is city-wide (length 0). */
int cl_query_area(const char *area_code, char norm[13], size_t *norm_len)
{
	int n;

	if (!area_code || !area_code[0]) {
		norm[0] = '\0';
		*norm_len = 0;
		return SG_OK;
	}
	n = cl_area_normalise(area_code, norm);
	if (n < 0)
		return SG_EINVAL;
	*norm_len = (size_t)n;
	return SG_OK;
}

int classify_text(const struct classify_config *cfg, const char *text,
		  struct classify_result *out)
{
	if (!text)
		return SG_EINVAL;
	return classify_text_in(cfg, text, strlen(text), NULL, out);
}

int classify_route(const struct classify_config *cfg, const char *category_id,
		   const char *area_code, const char **department)
{
	char norm[13];
	size_t norm_len;
	int ci;

	if (!cfg || !category_id || !department)
		return SG_EINVAL;
	ci = cl_find_category(cfg, category_id);
	if (ci < 0)
		return SG_ENOTFOUND;
	if (cl_query_area(area_code, norm, &norm_len) != SG_OK)
		return SG_EINVAL;
	*department = cl_dept_id(cfg, cl_route(cfg, ci, norm, norm_len));
	return SG_OK;
}

size_t classify_category_count(const struct classify_config *cfg)
{
	return cfg ? cfg->ncats : 0;
}

int classify_category_get(const struct classify_config *cfg, size_t index,
			  struct classify_category_info *out)
{
	const struct cl_category *c;

	if (!cfg || !out)
		return SG_EINVAL;
	if (index >= cfg->ncats)
		return SG_ENOTFOUND;
	c = &cfg->cats[index];
	*out = (struct classify_category_info){
		.id = c->id,
		.name_zh = c->name_zh,
		.name_en = c->name_en,
		.note = c->note,
		.police = c->police,
		.priority = c->priority,
		.nrules = c->rule_n,
		.nnotify = c->nnotify,
		.notify = c->notify,
	};
	return SG_OK;
}

const char *classify_department_name(const struct classify_config *cfg, const char *id)
{
	int d;

	if (!cfg || !id)
		return NULL;
	if (strcmp(id, CLASSIFY_STATION) == 0)
		return "属地派出所";
	d = cl_find_department(cfg, id);
	return d < 0 ? NULL : cfg->depts[d].name_zh;
}

size_t classify_department_count(const struct classify_config *cfg)
{
	return cfg ? cfg->ndepts : 0;
}

int classify_department_get(const struct classify_config *cfg, size_t index,
			    struct classify_department_info *out)
{
	const struct cl_department *d;

	if (!cfg || index >= cfg->ndepts)
		return SG_ENOTFOUND;
	d = &cfg->depts[index];
	out->id = d->id;
	out->name_zh = d->name_zh;
	out->name_en = d->name_en;
	out->kind = cl_kind_names[d->kind];
	return SG_OK;
}

void classify_config_stats(const struct classify_config *cfg, struct classify_stats *out)
{
	const struct cl_ac *ac;
	size_t nedges;

	if (!out)
		return;
	memset(out, 0, sizeof *out);
	if (!cfg)
		return;
	ac = &cfg->ac;
	nedges = ac->edge_off[ac->nstates];
	out->categories = cfg->ncats;
	out->departments = cfg->ndepts;
	out->rules = cfg->nrules;
	out->routes = cfg->nroutes;
	out->terms = cfg->nrefs;
	out->distinct_terms = cfg->nterms;
	out->states = ac->nstates;
	out->byte_classes = ac->nclasses;
	out->dense = ac->delta != NULL;
	out->automaton_bytes = ac->nstates * (sizeof *ac->edge_off + sizeof *ac->fail +
					      sizeof *ac->term + sizeof *ac->out) +
			       nedges * (sizeof *ac->edge_byte + sizeof *ac->edge_to) +
			       (ac->delta ? ac->nstates * ac->nclasses * sizeof *ac->delta : 0);
}
