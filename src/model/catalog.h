/*
 * catalog.h — the areas held in memory: the read model behind every area,
 * locate and fusion query, and the scope (jurisdiction) of each user.
 *
 * Built once from the stored areas and fusion rows and then read by every
 * request thread. Only area names may change afterwards (catalog_rename,
 * guarded by a lock); everything else is immutable, so lookups take no lock.
 *
 * Scope rule: a user's scope is a set of areas. An area is visible when it is
 * one of them or a descendant of one (both hierarchies), or when it is a
 * governance grid fused to a visible police grid (双网融合: the station sees
 * the governance grids in its police grids). Nothing else is visible: an
 * ancestor of a scope area is not.
 */
#ifndef SAFEGRID_MODEL_CATALOG_H
#define SAFEGRID_MODEL_CATALOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "geo/fusion.h"
#include "geo/index.h"
#include "model/area.h"

#define CATALOG_NONE UINT32_MAX

struct catalog_area {
	int64_t id;
	enum area_kind kind;
	uint32_t parent;        /* index, or CATALOG_NONE */
	uint32_t first_child;   /* children are child_idx[first_child .. first_child + nchildren) */
	uint32_t nchildren;
	uint32_t fused_police;  /* gov grids: index of the police grid they overlap most */
	uint32_t second_police; /* gov grids: runner-up police grid, or CATALOG_NONE */
	float fused_ratio, second_ratio;
	bool split;
	char code[AREA_CODE_MAX];
	char *name;             /* guarded by catalog.name_lock; replaced on rename */
	struct geo_bbox bbox;
	double area_m2;
	struct geo_mpoly geom;
};

struct catalog {
	struct catalog_area *areas; /* ordered by id */
	uint32_t n;
	uint32_t *child_idx;
	struct geo_index *index;
	pthread_rwlock_t name_lock;
	uint32_t counts[AREA_KIND_COUNT];
	uint32_t nsplit;
};

/*
 * Builds a catalog from stored areas ordered by id (as store_areas_load
 * gives them; SG_EINVAL otherwise), taking ownership of their names and
 * geometries (the set must still be released). Fusion rows may be NULL.
 * *out set on success; caller frees with catalog_free.
 */
int catalog_build(struct area_set *set, const struct fusion_row *fusion, size_t nfusion,
		  struct catalog **out);
void catalog_free(struct catalog *c);

/* Index of the area with this id, or CATALOG_NONE. */
uint32_t catalog_find(const struct catalog *c, int64_t id);
/* Index of the area with this code, or CATALOG_NONE. Linear: for set-up paths only. */
uint32_t catalog_find_code(const struct catalog *c, const char *code);

/* Copies an area's name into buf (truncating). */
void catalog_name(struct catalog *c, uint32_t idx, char *buf, size_t len);
/* Replaces an area's name (the store must already have it). */
int catalog_rename(struct catalog *c, uint32_t idx, const char *name);

/* A visibility bitmap over the catalog's areas. */
struct catalog_scope {
	uint64_t *bits;
	uint32_t n;
	bool all; /* every area visible (a scope that contains the roots) */
};

/*
 * Computes the visible set for scope areas given by id (unknown ids are
 * ignored). Caller releases with catalog_scope_release.
 */
int catalog_scope_build(const struct catalog *c, const int64_t *ids, size_t nids,
			struct catalog_scope *out);
void catalog_scope_release(struct catalog_scope *s);

static inline bool catalog_visible(const struct catalog_scope *s, uint32_t idx)
{
	return s->all || (idx < s->n && (s->bits[idx >> 6] >> (idx & 63) & 1));
}

/*
 * Every area containing p (WGS-84), one per kind, written as catalog indexes
 * into out[kind] (CATALOG_NONE where none). Returns the number found.
 */
unsigned catalog_locate(const struct catalog *c, struct geo_point p,
			uint32_t out[AREA_KIND_COUNT]);

#endif
