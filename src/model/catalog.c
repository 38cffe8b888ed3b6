/*
 * catalog.c — the in-memory areas, their tree, fusion links, scopes and the
 * area index.
 */
#include "model/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

uint32_t catalog_find(const struct catalog *c, int64_t id)
{
	uint32_t lo = 0, hi = c->n;

	/* Ids are usually dense from 1 (the store assigns them): try that slot first. */
	if (id >= 1 && id <= (int64_t)c->n && c->areas[id - 1].id == id)
		return (uint32_t)(id - 1);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (c->areas[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n && c->areas[lo].id == id ? lo : CATALOG_NONE;
}

uint32_t catalog_find_code(const struct catalog *c, const char *code)
{
	for (uint32_t i = 0; i < c->n; i++) {
		if (code[0] && strcmp(c->areas[i].code, code) == 0)
			return i;
	}
	return CATALOG_NONE;
}

/* Children lists in one array (CSR), each list in id order. */
static int build_children(struct catalog *c)
{
	uint32_t *fill;

	for (uint32_t i = 0; i < c->n; i++) {
		if (c->areas[i].parent != CATALOG_NONE)
			c->areas[c->areas[i].parent].nchildren++;
	}
	c->child_idx = malloc((c->n ? c->n : 1) * sizeof *c->child_idx);
	fill = calloc(c->n ? c->n : 1, sizeof *fill);
	if (!c->child_idx || !fill) {
		free(fill);
		return SG_ENOMEM;
	}
	for (uint32_t i = 0, off = 0; i < c->n; i++) {
		c->areas[i].first_child = off;
		off += c->areas[i].nchildren;
	}
	for (uint32_t i = 0; i < c->n; i++) {
		uint32_t p = c->areas[i].parent;
		if (p != CATALOG_NONE)
			c->child_idx[c->areas[p].first_child + fill[p]++] = i;
	}
	free(fill);
	return SG_OK;
}

static int build_index(struct catalog *c)
{
	struct geo_index_input *in = malloc((c->n ? c->n : 1) * sizeof *in);
	int rc;

	if (!in)
		return SG_ENOMEM;
	for (uint32_t i = 0; i < c->n; i++) {
		in[i].id = c->areas[i].id;
		in[i].layer = (unsigned)c->areas[i].kind;
		in[i].geom = &c->areas[i].geom;
	}
	rc = geo_index_build(in, c->n, &c->index);
	free(in);
	return rc;
}

int catalog_build(struct area_set *set, const struct fusion_row *fusion, size_t nfusion,
		  struct catalog **out)
{
	struct catalog *c = calloc(1, sizeof *c);
	int rc = SG_ENOMEM;

	if (!c)
		return SG_ENOMEM;
	pthread_rwlock_init(&c->name_lock, NULL);
	c->areas = calloc(set->n ? set->n : 1, sizeof *c->areas);
	if (!c->areas)
		goto fail;
	for (size_t i = 0; i < set->n; i++) {
		struct area *a = &set->v[i];
		struct catalog_area *ca = &c->areas[i];
		ca->id = a->id;
		ca->kind = a->kind;
		ca->parent = CATALOG_NONE; /* resolved once all ids are in */
		ca->fused_police = ca->second_police = CATALOG_NONE;
		memcpy(ca->code, a->code, sizeof ca->code);
		ca->name = a->name;
		a->name = NULL;
		ca->geom = a->geom;
		geo_mpoly_init(&a->geom);
		ca->bbox = a->bbox;
		ca->area_m2 = a->area_m2;
		c->n++;
	}
	for (uint32_t i = 0; i < c->n; i++) {
		if (i > 0 && c->areas[i].id <= c->areas[i - 1].id) {
			rc = SG_EINVAL; /* not ordered by id */
			goto fail;
		}
	}
	for (uint32_t i = 0; i < c->n; i++) {
		if (set->v[i].parent_id > 0)
			c->areas[i].parent = catalog_find(c, set->v[i].parent_id);
	}
	for (uint32_t i = 0; i < c->n; i++)
		c->counts[c->areas[i].kind]++;
	for (size_t i = 0; i < nfusion; i++) {
		uint32_t g = catalog_find(c, fusion[i].gov_grid_id);
		if (g == CATALOG_NONE)
			continue;
		c->areas[g].fused_police = catalog_find(c, fusion[i].police_grid_id);
		c->areas[g].second_police = catalog_find(c, fusion[i].second_police_grid_id);
		c->areas[g].fused_ratio = (float)fusion[i].ratio;
		c->areas[g].second_ratio = (float)fusion[i].second_ratio;
		c->areas[g].split = fusion[i].split != 0;
		c->nsplit += c->areas[g].split;
	}
	if ((rc = build_children(c)))
		goto fail;
	if ((rc = build_index(c)))
		goto fail;
	*out = c;
	return SG_OK;
fail:
	catalog_free(c);
	return rc;
}

void catalog_free(struct catalog *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->n; i++) {
		free(c->areas[i].name);
		geo_mpoly_release(&c->areas[i].geom);
	}
	free(c->areas);
	free(c->child_idx);
	geo_index_free(c->index);
	pthread_rwlock_destroy(&c->name_lock);
	free(c);
}

void catalog_name(struct catalog *c, uint32_t idx, char *buf, size_t len)
{
	pthread_rwlock_rdlock(&c->name_lock);
	snprintf(buf, len, "%s", c->areas[idx].name);
	pthread_rwlock_unlock(&c->name_lock);
}

int catalog_rename(struct catalog *c, uint32_t idx, const char *name)
{
	char *n = strdup(name), *old;

	if (!n)
		return SG_ENOMEM;
	pthread_rwlock_wrlock(&c->name_lock);
	old = c->areas[idx].name;
	c->areas[idx].name = n;
	pthread_rwlock_unlock(&c->name_lock);
	free(old);
	return SG_OK;
}

static void mark_subtree(const struct catalog *c, uint64_t *bits, uint32_t root, uint32_t *stack)
{
	uint32_t top = 0;

	stack[top++] = root;
	while (top) {
		uint32_t i = stack[--top];
		if (bits[i >> 6] >> (i & 63) & 1)
			continue;
		bits[i >> 6] |= (uint64_t)1 << (i & 63);
		for (uint32_t k = 0; k < c->areas[i].nchildren; k++)
			stack[top++] = c->child_idx[c->areas[i].first_child + k];
	}
}

int catalog_scope_build(const struct catalog *c, const int64_t *ids, size_t nids,
			struct catalog_scope *out)
{
	size_t words = (c->n + 63) / 64 + 1;
	uint64_t *bits = calloc(words, sizeof *bits);
	uint32_t *stack = malloc(((size_t)c->n + 1) * sizeof *stack);
	struct catalog_scope s = { bits, c->n, false };

	if (!bits || !stack) {
		free(bits);
		free(stack);
		return SG_ENOMEM;
	}
	for (size_t k = 0; k < nids; k++) {
		uint32_t i = catalog_find(c, ids[k]);
		if (i == CATALOG_NONE)
			continue;
		if (c->areas[i].parent == CATALOG_NONE && c->areas[i].kind == AREA_CITY)
			s.all = true;
		mark_subtree(c, bits, i, stack);
	}
	/* 双网融合: governance grids whose police grid is visible. */
	for (uint32_t i = 0; i < c->n; i++) {
		uint32_t p = c->areas[i].fused_police;
		if (c->areas[i].kind == AREA_GOV_GRID && p != CATALOG_NONE &&
		    (bits[p >> 6] >> (p & 63) & 1))
			bits[i >> 6] |= (uint64_t)1 << (i & 63);
	}
	free(stack);
	*out = s;
	return SG_OK;
}

void catalog_scope_release(struct catalog_scope *s)
{
	free(s->bits);
	s->bits = NULL;
	s->n = 0;
}

unsigned catalog_locate(const struct catalog *c, struct geo_point p,
			uint32_t out[AREA_KIND_COUNT])
{
	int64_t ids[GEO_INDEX_MAX_LAYERS];
	unsigned found = 0;

	geo_index_locate(c->index, p, ids);
	for (unsigned k = 0; k < AREA_KIND_COUNT; k++) {
		out[k] = ids[k] ? catalog_find(c, ids[k]) : CATALOG_NONE;
		found += out[k] != CATALOG_NONE;
	}
	return found;
}
