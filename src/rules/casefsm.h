/*
 * casefsm.h — case types as data: states, allowed transitions, deadlines by
 * priority and the escalation chain.
 *
 * Every case type (incident, referral, and the kinds later work adds) runs on
 * this one state machine, configured by data/rules/cases.json:
 *
 *   version      1
 *   notes        optional array of strings
 *   escalation   the chain of area kinds a passed deadline climbs, finest
 *                first, e.g. ["gov_grid","station","district","city"]
 *   types        array of {"id", "name_zh", "initial", "states": [...],
 *                "terminal": [...], "transitions": [[from,to],...],
 *                "deadlines": {"1": seconds, .. "4": seconds}}
 *
 * Unknown members are refused; every state named in initial, terminal and
 * transitions must be declared; a terminal state has no way out; ids are
 * [a-z][a-z0-9_]* of at most 31 bytes. Loaded once, never modified: any
 * number of threads may read one configuration at once.
 */
#ifndef SAFEGRID_RULES_CASEFSM_H
#define SAFEGRID_RULES_CASEFSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/area.h"

#define CASEFSM_MAX_TYPES 32
#define CASEFSM_MAX_STATES 32
#define CASEFSM_MAX_ID 32
#define CASEFSM_PRIORITIES 4 /* 1 (most urgent) .. 4 */

struct casefsm;

struct casefsm_error {
	char path[96];     /* the member at fault, e.g. "types[1].transitions[3]" */
	char message[160];
};

/*
 * Parses and validates a configuration of len bytes. *out set on success;
 * caller frees with casefsm_free. SG_EINVAL / SG_ETOOBIG / SG_ENOMEM, with err
 * saying where and why.
 */
int casefsm_load(const char *text, size_t len, struct casefsm **out, struct casefsm_error *err);
void casefsm_free(struct casefsm *f);

/* Index of a type by id, or -1. */
int casefsm_type(const struct casefsm *f, const char *type);
/* Copies the id of type number t into buf; SG_ENOTFOUND past the last type. */
int casefsm_type_id(const struct casefsm *f, int t, char *buf, size_t cap);
/* The type's initial state (borrowed). */
const char *casefsm_initial(const struct casefsm *f, int type);
/* Whether state is one of the type's states. */
bool casefsm_has_state(const struct casefsm *f, int type, const char *state);
/* Whether from → to is allowed for the type. */
bool casefsm_allowed(const struct casefsm *f, int type, const char *from, const char *to);
/* Whether state is terminal for the type. */
bool casefsm_terminal(const struct casefsm *f, int type, const char *state);
/* Seconds a case of this priority (1..4) has to leave its initial state. */
int64_t casefsm_deadline(const struct casefsm *f, int type, int priority);
/* Number of levels in the escalation chain. */
int casefsm_escalation_levels(const struct casefsm *f);
/* The area kind at a level of the chain (clamped to the chain). */
enum area_kind casefsm_escalation_kind(const struct casefsm *f, int level);
/*
 * The level a new case starts at: the position of kind in the chain (a
 * police case starts with its station, a referral at the grid), or 0 when
 * the chain does not name kind.
 */
int casefsm_start_level(const struct casefsm *f, enum area_kind kind);

/*
 * The states reachable from `from` in one step, written as a JSON array into
 * buf (for answers that tell a client what it may do). Returns bytes written.
 */
size_t casefsm_next_json(const struct casefsm *f, int type, const char *from, char *buf,
			 size_t cap);

#endif
