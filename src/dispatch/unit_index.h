/*
 * unit_index.h — the latest known position and status of every unit (力量:
 * patrol cars, foot patrols, grid teams, guards...), and the k nearest units
 * that match a filter.
 *
 * In memory only: the store keeps the registry and the position tracks; at
 * start the server fills the index from the store and then keeps it current
 * as positions and status changes arrive. It is not a store of record.
 *
 * Thread safety: every function may be called from any thread at any time.
 * Position updates stream in at thousands per second while request threads
 * run nearest queries; a query sees each unit either before or after an
 * update, never half of one.
 *
 * Distances are great-circle metres on WGS-84 coordinates. Ties in distance
 * are broken by the smaller unit id, so answers are deterministic.
 */
#ifndef SAFEGRID_DISPATCH_UNIT_INDEX_H
#define SAFEGRID_DISPATCH_UNIT_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "model/catalog.h"

enum unit_status {
	UNIT_OFF_DUTY,
	UNIT_AVAILABLE,
	UNIT_DISPATCHED,
	UNIT_ON_SCENE,
	UNIT_BUSY,
	UNIT_STATUS_COUNT
};

/* "off_duty", "available", "dispatched", "on_scene", "busy". */
const char *unit_status_name(enum unit_status s);
/* SG_EINVAL for an unknown name. */
int unit_status_parse(const char *s, enum unit_status *out);

/* The longest callsign the index keeps, in bytes (the store's limit). */
#define UNIT_CALLSIGN_MAX 32

/* One unit as the index holds it. */
struct unit_rec {
	int64_t id;            /* > 0, unique */
	uint16_t type;         /* the caller's unit type code, < 32 (a bit in type_mask) */
	uint8_t status;        /* enum unit_status */
	uint32_t home_area;    /* catalog index of the area the unit serves (for scope), or CATALOG_NONE */
	bool has_pos;          /* false until a first position arrives */
	double lon, lat;       /* WGS-84, valid when has_pos */
	int64_t pos_at;        /* Unix milliseconds of the position, valid when has_pos */
	int64_t version;       /* the store's row version of the unit's status; 0: unknown */
	char callsign[UNIT_CALLSIGN_MAX + 1]; /* NUL-terminated; longer ones are cut */
};

struct unit_index;

/* *out set on success; caller frees with unit_index_free. SG_ENOMEM. */
int unit_index_new(struct unit_index **out);
/* Frees the index; NULL does nothing. No other call may be running. */
void unit_index_free(struct unit_index *ix);

/* Number of units held. */
size_t unit_index_count(struct unit_index *ix);

/*
 * Inserts a unit or replaces everything known about it. SG_EINVAL for an id
 * <= 0, a type >= 32, a status out of range or a position outside
 * [-180,180]×[-90,90]; SG_ENOMEM.
 */
int unit_index_put(struct unit_index *ix, const struct unit_rec *u);

/*
 * Records a new position. A position older than the one held is ignored
 * (positions may arrive out of order) and still returns 0.
 * SG_ENOTFOUND for an unknown unit; SG_EINVAL for a bad coordinate.
 */
int unit_index_move(struct unit_index *ix, int64_t id, double lon, double lat, int64_t at_ms);

/*
 * Changes a unit's status as of the store's row version. Status steps are
 * committed in version order but their callers may reach the index in any
 * order, so a version older than the one held is ignored (and still returns
 * 0): the index ends with the status of the latest commit. Version 0 always
 * applies and leaves the held version as it is. SG_ENOTFOUND, SG_EINVAL.
 */
int unit_index_set_status(struct unit_index *ix, int64_t id, enum unit_status status,
			  int64_t version);

/* Removes a unit. SG_ENOTFOUND if it was not held. */
int unit_index_remove(struct unit_index *ix, int64_t id);

/* Copies a unit's record into *out. SG_ENOTFOUND. */
int unit_index_get(struct unit_index *ix, int64_t id, struct unit_rec *out);

/* What a nearest query asks for. */
struct unit_query {
	double lon, lat;                    /* WGS-84 */
	unsigned k;                         /* 1 .. UNIT_QUERY_MAX_K */
	double within_m;                    /* 0: no radius */
	uint32_t type_mask;                 /* bit t set: type t matches; 0: every type */
	uint32_t status_mask;               /* bit s set: status s matches; 0: every status */
	int64_t min_pos_at;                 /* positions older than this (Unix ms) are never used */
	const struct catalog_scope *scope;  /* borrowed; units whose home_area is not visible are never returned; NULL: no scope check */
};

#define UNIT_QUERY_MAX_K 100

struct unit_hit {
	struct unit_rec unit;
	double distance_m;
};

/*
 * Why fewer than k units were found: among the units that matched every
 * other condition, how many each condition turned away. Filled only when
 * the answer has fewer than k hits (all zero otherwise).
 */
struct unit_shortfall {
	uint32_t wrong_status;    /* right type, in scope, fresh, in radius, but not in status_mask */
	uint32_t position_too_old;/* matching but their latest position is older than min_pos_at */
	uint32_t no_position;     /* matching but never reported a position */
	uint32_t outside_radius;  /* matching and fresh, but farther than within_m */
};

/*
 * Writes up to q->k nearest matching units into out (nearest first) and
 * their number into *nout. A hit's version is 0 and its callsign empty (the
 * scan stays on the slots' first bytes): unit_index_get has them for the
 * hits that are shown. why may be NULL. SG_EINVAL for a bad query
 * (k out of range, bad coordinate, negative radius).
 */
int unit_index_nearest(struct unit_index *ix, const struct unit_query *q, struct unit_hit *out,
		       unsigned *nout, struct unit_shortfall *why);

#endif
