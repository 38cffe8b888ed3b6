/* area.c — area kinds and the owning area_set array. */
#include "model/area.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"

static const char *const kind_names[AREA_KIND_COUNT] = {
	"city", "district", "station", "police_grid", "street", "community", "gov_grid",
};

const char *area_kind_name(enum area_kind k)
{
	return (unsigned)k < AREA_KIND_COUNT ? kind_names[k] : "unknown";
}

int area_kind_parse(const char *s, enum area_kind *out)
{
	for (unsigned k = 0; k < AREA_KIND_COUNT; k++) {
		if (strcmp(s, kind_names[k]) == 0) {
			*out = (enum area_kind)k;
			return SG_OK;
		}
	}
	return SG_EINVAL;
}

void area_set_init(struct area_set *s)
{
	s->v = NULL;
	s->n = s->alloc = 0;
}

void area_set_release(struct area_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].name);
		geo_mpoly_release(&s->v[i].geom);
	}
	free(s->v);
	area_set_init(s);
}

int area_set_push(struct area_set *s, enum area_kind kind, const char *code, const char *name,
		  long parent_idx, int64_t parent_id, struct geo_mpoly *geom, struct area **out)
{
	struct area *a;
	size_t clen = code ? strlen(code) : 0;

	if (clen >= AREA_CODE_MAX || (unsigned)kind >= AREA_KIND_COUNT)
		return SG_EINVAL;
	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 64;
		struct area *v = realloc(s->v, na * sizeof *v);
		if (!v)
			return SG_ENOMEM;
		s->v = v;
		s->alloc = na;
	}
	a = &s->v[s->n];
	memset(a, 0, sizeof *a);
	a->name = strdup(name ? name : "");
	if (!a->name)
		return SG_ENOMEM;
	a->kind = kind;
	a->parent_idx = parent_idx;
	a->parent_id = parent_id;
	if (clen)
		memcpy(a->code, code, clen + 1);
	a->geom = *geom;
	geo_mpoly_init(geom);
	a->bbox = geo_mpoly_bbox(&a->geom);
	a->area_m2 = geo_mpoly_area_m2(&a->geom);
	s->n++;
	if (out)
		*out = a;
	return SG_OK;
}
