/*
 * forces.h — the store's part for forces and dispatch: organisations, people,
 * units, position tracks and dispatches. Same rules as store.h: every write
 * goes through the core thread's group commit and is durable when the
 * function returns 0; reads see the last committed state; every function is
 * safe from any thread.
 *
 * Scope is the caller's (the HTTP layer's): people and units are listed by
 * the areas they serve, so that a caller's visible areas turn into index
 * range reads, never a scan of millions of rows.
 */
#ifndef SAFEGRID_STORE_FORCES_H
#define SAFEGRID_STORE_FORCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/area.h"
#include "model/force.h"
#include "store/store.h"

#define STORE_FORCE_NAME_MAX 128   /* bytes of a name, UTF-8 */
#define STORE_ORG_AREAS_MAX 64
#define STORE_PERSON_GRIDS_MAX 8
#define STORE_UNIT_MEMBERS_MAX 16
#define STORE_CALLSIGN_MAX 32

/* ---- organisations --------------------------------------------------------- */

struct store_org {
	int64_t id;
	enum org_kind kind;
	int64_t parent_id;                 /* 0: none */
	char code[AREA_CODE_MAX];          /* "" if none; unique when set */
	char name[STORE_FORCE_NAME_MAX + 1];
	char phone[FORCE_PHONE_MAX + 1];   /* the duty telephone; "" if none */
	int64_t area_ids[STORE_ORG_AREAS_MAX]; /* its scope areas */
	size_t nareas;
	int64_t created_at, updated_at;    /* Unix seconds */
	int64_t version;
};

/*
 * Adds organisations in order, in one transaction (sets each id, created_at,
 * updated_at and version; a parent may be an earlier one of the same call)
 * and audits each as actor (NULL: not audited). SG_ECONFLICT if a code is
 * taken, SG_ENOTFOUND if a parent or an area does not exist.
 */
int store_orgs_add(struct store *s, struct store_org *v, size_t n, const char *actor);
/* Reads an organisation. SG_ENOTFOUND. */
int store_org_get(struct store *s, int64_t id, struct store_org *out);

struct store_org_patch {
	int64_t id;
	int64_t expected_version;
	const char *name;            /* NULL: keep */
	const char *phone;           /* NULL: keep; "": remove */
	int64_t parent_id;           /* -1: keep; 0: none */
	const int64_t *area_ids;     /* with set_areas: the new scope areas */
	size_t nareas;
	bool set_areas;
	int64_t at;
	const char *actor;
	struct store_org *out;       /* after the change, or as stored on conflict */
};

/*
 * Changes an organisation that still has expected_version, audited.
 * SG_ECONFLICT (out holds the stored one), SG_ENOTFOUND, SG_EINVAL for a
 * parent that would make a cycle.
 */
int store_org_patch(struct store *s, struct store_org_patch *p);

/* Called for each organisation in id order; non-zero stops. o is borrowed for the call. */
typedef int (*store_org_fn)(void *ctx, const struct store_org *o);
int store_orgs_list(struct store *s, store_org_fn fn, void *ctx);
/* Number of organisations. */
int store_orgs_count(struct store *s, size_t *out);

/* ---- people ---------------------------------------------------------------- */

struct store_person {
	int64_t id;
	enum person_type type;
	int64_t org_id;
	int64_t area_id;                   /* the area they serve (their scope) */
	int64_t unit_id;                   /* 0: in no unit */
	char name[STORE_FORCE_NAME_MAX + 1];
	char phone[FORCE_PHONE_MAX + 1];   /* "" if none */
	char id_number[FORCE_ID_NUMBER_LEN + 1]; /* "" if none; unique when set */
	int64_t grids[STORE_PERSON_GRIDS_MAX]; /* grids they are assigned to */
	size_t ngrids;
	int64_t created_at;
};

/*
 * Fills out with up to cap people and sets *n; *n == 0 ends the load.
 * Non-zero aborts it (that code is returned).
 */
typedef int (*store_people_next_fn)(void *ctx, struct store_person *out, size_t cap, size_t *n);

/* Called after each chunk is stored, with the chunk's ids set (p borrowed for the call). */
typedef void (*store_people_added_fn)(void *ctx, const struct store_person *p, size_t n);

struct store_people_load {
	store_people_next_fn next;
	store_people_added_fn added_cb; /* may be NULL */
	void *ctx;
	const char *actor;   /* audited once with the count */
	size_t added;        /* out: people inserted */
	size_t failed_at;    /* out: on failure, the 0-based position of the person at fault, or SIZE_MAX */
};

/*
 * Inserts every person next produces in one transaction: all or none.
 * SG_ENOTFOUND for an unknown organisation or area, SG_ECONFLICT for an ID
 * number already stored (failed_at names the person). Sets no ids in the
 * caller's structures (they are reused per chunk).
 */
int store_people_load(struct store *s, struct store_people_load *load);
/* Adds one person (sets p->id). Errors as store_people_load. Audited as actor. */
int store_person_add(struct store *s, struct store_person *p, const char *actor);
/* Reads a person. SG_ENOTFOUND. */
int store_person_get(struct store *s, int64_t id, struct store_person *out);

/*
 * Which people or units a list wants. Rows come ordered by (area_id, id), so
 * the cursor is the last row's pair.
 */
struct store_force_filter {
	int type;                 /* person_type or unit_type; -1: any */
	int status;               /* units only: enum unit_status; -1: any */
	int64_t org_id;           /* 0: any */
	const int64_t *areas;     /* ascending area ids to look in; NULL: every area */
	size_t nareas;
	int64_t after_area, after_id; /* the cursor; 0, 0: from the start */
	/* Units only. */
	bool bbox;                /* the latest position inside [min_lon,max_lon]×[min_lat,max_lat] (WGS-84);
				     with since, also the one before a move since (a unit that left) */
	double min_lon, min_lat, max_lon, max_lat;
	int64_t since;            /* > 0: changed (updated_at) or moved (moved_at) at or after this Unix second */
};

typedef int (*store_person_fn)(void *ctx, const struct store_person *p);
/* Up to limit people matching f, in (area_id, id) order. */
int store_people_list(struct store *s, const struct store_force_filter *f, size_t limit,
		      store_person_fn fn, void *ctx);
int store_people_count(struct store *s, size_t *out);

/* ---- units ------------------------------------------------------------------ */

struct store_unit {
	int64_t id;
	enum unit_type type;
	char callsign[STORE_CALLSIGN_MAX + 1];
	int64_t org_id;
	int64_t area_id;          /* home area (its scope) */
	int status;               /* enum unit_status (dispatch/unit_index.h) */
	bool has_pos;
	double lon, lat;          /* latest position, WGS-84 */
	int64_t pos_at;           /* Unix ms */
	int64_t case_id;          /* the case it is dispatched to; 0: none */
	int64_t members[STORE_UNIT_MEMBERS_MAX];
	size_t nmembers;
	int64_t created_at, updated_at, version;
};

/*
 * Adds units (sets each id, version 1) with their members (each member's
 * unit becomes this one), all in one transaction. SG_ENOTFOUND for an
 * unknown organisation, area or member. actor NULL: not audited (the demo).
 */
int store_units_add(struct store *s, struct store_unit *v, size_t n, const char *actor);
/* Reads a unit with its members. SG_ENOTFOUND. */
int store_unit_get(struct store *s, int64_t id, struct store_unit *out);
typedef int (*store_unit_fn)(void *ctx, const struct store_unit *u);
/* Up to limit units matching f in (area_id, id) order, without members. */
int store_units_list(struct store *s, const struct store_force_filter *f, size_t limit,
		     store_unit_fn fn, void *ctx);
/* Every unit, in id order, without members (filling the unit index at start). */
int store_units_all(struct store *s, store_unit_fn fn, void *ctx);

struct store_position {
	int64_t unit_id;
	double lon, lat;  /* WGS-84 */
	int64_t at;       /* Unix ms */
};

/*
 * Stores n positions in one transaction: a track row each (a repeated
 * unit and time is ignored) and, where newer than the unit's latest, the
 * latest. received_at (Unix s, the server's clock) is when they arrived: a
 * unit moved is listed by a since at or before it (store_force_filter),
 * whatever time its device gave the position. SG_ENOTFOUND names an unknown
 * unit through *bad (its index).
 */
int store_positions_add(struct store *s, const struct store_position *v, size_t n,
			int64_t received_at, size_t *bad);
/*
 * The same without waiting (see store_case_open_async): returns 0 and later
 * calls done(arg, rc) on the syncer thread, *bad set first (if bad is not
 * NULL); v and bad must stay valid until then. n must be at least 1.
 */
int store_positions_add_async(struct store *s, const struct store_position *v, size_t n,
			      int64_t received_at, size_t *bad, store_done_fn done, void *arg);
/* Deletes up to max track rows older than before_ms; *deleted how many. */
int store_positions_purge(struct store *s, int64_t before_ms, size_t max, size_t *deleted);
/* A unit's track between from_ms and to_ms, oldest first, at most cap rows. */
int store_unit_track(struct store *s, int64_t unit_id, int64_t from_ms, int64_t to_ms,
		     struct store_position *out, size_t cap, size_t *n);

/* ---- dispatches --------------------------------------------------------------- */

#define STORE_DISPATCH_STATUS_MAX 16

struct store_dispatch {
	int64_t id, case_id, unit_id;
	char status[STORE_DISPATCH_STATUS_MAX]; /* assigned, acknowledged, on_scene, cleared, cancelled */
	bool first;
	int priority;
	int64_t station_id, district_id;
	int64_t case_created_at, dispatched_at;
	int64_t acknowledged_at, arrived_at, cleared_at, cancelled_at; /* 0: not yet */
	bool escalated;
	char actor[STORE_NAME_MAX];
	char reason[128];
};

/* A change the same command makes to the case: from one status to another. */
struct store_case_step {
	const char *from;   /* apply only if the case is in this status; NULL: never */
	const char *to;
};

struct store_dispatch_create {
	int64_t case_id;
	int64_t expected_case_version;     /* the version the caller read */
	const int64_t *unit_ids;
	const char *const *reasons;        /* one per unit (why it was chosen); may be NULL */
	size_t n;                          /* 1 .. 32 */
	struct store_case_step step;       /* e.g. new → dispatched */
	int64_t cancel_id;                 /* reassign: cancel this dispatch first (0: none) */
	int64_t at;                        /* Unix seconds */
	const char *actor;
	struct store_dispatch *out;        /* n rows, as stored */
	int64_t busy_unit;                 /* out: on SG_ECONFLICT, the unit that was not available (0: the case changed) */
};

/*
 * Dispatches units to a case in one transaction: every unit must be
 * available (else SG_ECONFLICT with busy_unit), the case must still have
 * expected_case_version (else SG_ECONFLICT, busy_unit 0). Each unit becomes
 * dispatched, a dispatch row and a line on the case's history are written,
 * the case's version goes up (and its status steps, if it is in step.from).
 * With cancel_id, that open dispatch of the same case is cancelled first and
 * its unit made available (SG_ENOTFOUND if it is not open).
 */
int store_dispatch_create(struct store *s, struct store_dispatch_create *c);
/*
 * store_dispatch_create without waiting, as store_case_open_async: done(arg,
 * rc) runs on the store's core thread once the batch is durable, rc being
 * the command's; c (and what it points to) must stay valid until then.
 */
int store_dispatch_create_async(struct store *s, struct store_dispatch_create *c,
				store_done_fn done, void *arg);

enum store_unit_action {
	STORE_UNIT_ACKNOWLEDGE, /* dispatched: the crew has the order */
	STORE_UNIT_ARRIVE,      /* dispatched → on_scene */
	STORE_UNIT_CLEAR,       /* dispatched or on_scene → available; the dispatch ends */
	STORE_UNIT_ON_DUTY,     /* off_duty → available */
	STORE_UNIT_OFF_DUTY,    /* available → off_duty */
	STORE_UNIT_BUSY,        /* available → busy (on something not dispatched) */
	STORE_UNIT_FREE,        /* busy → available */
	STORE_UNIT_ACTION_COUNT
};

const char *store_unit_action_name(enum store_unit_action a);
int store_unit_action_parse(const char *s, enum store_unit_action *out);

struct store_unit_step {
	int64_t unit_id;
	enum store_unit_action action;
	struct store_case_step step;   /* e.g. on arrive: dispatched → on_scene */
	int64_t at;
	const char *actor, *note;      /* note may be NULL */
	struct store_unit *out;        /* the unit after (or as stored on conflict), no members */
	struct store_dispatch *dispatch; /* out: the dispatch touched (id 0 if none) */
	bool case_changed;             /* out: a history line was written on dispatch->case_id */
};

/*
 * Moves a unit through its state machine (off_duty, available, dispatched,
 * on_scene, busy) and its open dispatch through assigned → acknowledged →
 * on_scene → cleared, with a history line on the case. SG_ECONFLICT when
 * the action does not apply to the unit's current state (out holds it),
 * SG_ENOTFOUND for an unknown unit.
 */
int store_unit_apply(struct store *s, struct store_unit_step *st);
/*
 * store_unit_apply without waiting, as store_dispatch_create_async. On
 * SG_ECONFLICT st->out holds the unit as the command saw it; read it again
 * (store_unit_get) for the state as committed.
 */
int store_unit_apply_async(struct store *s, struct store_unit_step *st, store_done_fn done,
			   void *arg);

/* A case's dispatches, oldest first; at most cap. */
int store_case_dispatches(struct store *s, int64_t case_id, struct store_dispatch *out, size_t cap,
			  size_t *n);
/* One dispatch. SG_ENOTFOUND. */
int store_dispatch_get(struct store *s, int64_t id, struct store_dispatch *out);
/* Up to cap ids of dispatches still unacknowledged since before at, not yet escalated, oldest first. */
int store_dispatches_unanswered(struct store *s, int64_t before, int64_t *ids, size_t cap,
				size_t *n);
/*
 * Escalates an unanswered dispatch: marks it escalated and raises its
 * case's escalation level to level (if lower), with a history line, in one
 * transaction. SG_ECONFLICT if it was answered or escalated meanwhile.
 * *case_id is set to the dispatch's case.
 */
int store_dispatch_escalate(struct store *s, int64_t id, int level, int64_t at, const char *note,
			    int64_t *case_id);

/* Response times of the first dispatch of each case, grouped by station or district. */
struct store_response_row {
	int64_t area_id;       /* the station or district */
	int64_t cases;         /* cases dispatched in the range */
	int64_t dispatch_s;    /* sum of (first dispatch − case opened) */
	int64_t arrived;       /* of them, with a unit arrived */
	int64_t arrive_s;      /* sum of (first arrival − case opened) */
	int64_t within_target; /* arrived within the target of their priority */
};

typedef void (*store_response_fn)(void *ctx, const struct store_response_row *r);

/*
 * Groups the cases first dispatched in [from, to) (Unix seconds) by station
 * (by_district false) or district; in_district non-zero keeps that district's
 * only. target_s[p] is the arrival target of priority p (1..4).
 */
int store_response_stats(struct store *s, bool by_district, int64_t in_district, int64_t from,
			 int64_t to, const int64_t target_s[5], store_response_fn fn, void *ctx);

#endif
