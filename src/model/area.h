/*
 * area.h — areas: the city, its districts, stations, grids, streets and
 * communities, each with a polygon.
 *
 * Two hierarchies share this one type: the police one (city → district →
 * station → police_grid) and the governance one (district → street →
 * community → gov_grid). A kind is also the area's layer in geo/index.h.
 */
#ifndef SAFEGRID_MODEL_AREA_H
#define SAFEGRID_MODEL_AREA_H

#include <stddef.h>
#include <stdint.h>

#include "geo/polygon.h"

enum area_kind {
	AREA_CITY,
	AREA_DISTRICT,
	AREA_STATION,
	AREA_POLICE_GRID,
	AREA_STREET,
	AREA_COMMUNITY,
	AREA_GOV_GRID,
	AREA_KIND_COUNT
};

/* "city", "district", "station", "police_grid", "street", "community", "gov_grid". */
const char *area_kind_name(enum area_kind k);
/* SG_EINVAL for an unknown name. */
int area_kind_parse(const char *s, enum area_kind *out);

#define AREA_CODE_MAX 24

struct area {
	int64_t id;                /* 0 until stored */
	enum area_kind kind;
	int64_t parent_id;         /* 0: none, or not yet known (see parent_idx) */
	long parent_idx;           /* -1, or the index of the parent in the same area_set */
	char code[AREA_CODE_MAX];  /* national division code or operator's code; "" if none */
	char *name;                /* UTF-8, owned */
	struct geo_mpoly geom;     /* owned */
	struct geo_bbox bbox;
	double area_m2;
};

/* A growable array of areas that owns them. */
struct area_set {
	struct area *v;
	size_t n, alloc;
};

void area_set_init(struct area_set *s);
void area_set_release(struct area_set *s);
/*
 * Appends a new area with the given fields; takes ownership of *geom (which is
 * re-initialised empty) and copies name. Computes bbox and area_m2.
 * Returns the new area through *out (borrowed until the set changes) when out
 * is not NULL.
 */
int area_set_push(struct area_set *s, enum area_kind kind, const char *code, const char *name,
		  long parent_idx, int64_t parent_id, struct geo_mpoly *geom, struct area **out);

#endif
