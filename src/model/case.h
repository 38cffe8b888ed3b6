/*
 * case.h — a case (警情 / 工单), the one unit of work, and the report that
 * opened or joined it.
 *
 * Every case type runs on the state machine of rules/casefsm.h. A case keeps
 * the areas of its location (one per kind, by id; 0 where none) so that
 * scope checks and statistics need no geometry.
 */
#ifndef SAFEGRID_MODEL_CASE_H
#define SAFEGRID_MODEL_CASE_H

#include <stdbool.h>
#include <stdint.h>

#include "model/area.h"

#define CASE_ID_MAX 48

struct case_row {
	int64_t id;
	char type[CASE_ID_MAX];       /* incident, referral, … */
	char category[CASE_ID_MAX];   /* classify.json category id */
	bool police;
	char department[CASE_ID_MAX]; /* department id; "station" for police cases */
	char status[CASE_ID_MAX];
	int priority;                 /* 1 (most urgent) .. 4 */
	double lon, lat;              /* WGS-84 */
	int64_t area_ids[AREA_KIND_COUNT];
	char source[12];              /* of the first report */
	int64_t created_at, updated_at, deadline_at; /* Unix seconds */
	int64_t version;              /* starts at 1, +1 on every change */
	int64_t reports;              /* reports joined to it */
	int escalation_level;         /* position in the escalation chain (rules/casefsm.h) */
};

#define REPORT_TEXT_MAX 4000
#define REPORT_NAME_MAX 64
#define REPORT_PHONE_MAX 24

struct report_row {
	int64_t id;
	int64_t case_id;
	char source[12];              /* 110, 12345, app, walk_in */
	char *text;                   /* owned */
	double lon, lat;              /* WGS-84 */
	int64_t reported_at, received_at;
	char caller_name[REPORT_NAME_MAX + 1];
	char caller_phone[REPORT_PHONE_MAX + 1];
	char category[CASE_ID_MAX];
};

/* One line of a case's history: who, when, from, to, note. */
struct case_event {
	int64_t at;
	char actor[64];
	char from[CASE_ID_MAX], to[CASE_ID_MAX];
	char *note; /* owned; may be NULL */
};

/*
 * Writes the masked form of a phone number: the first three and last four
 * digits kept, the middle replaced by asterisks (138****5678); shorter
 * numbers keep only their last two digits. out must hold REPORT_PHONE_MAX + 1.
 */
void case_mask_phone(const char *phone, char *out);
/*
 * Writes the key by which a caller's number is matched across reports: its
 * digits alone, without the country prefix (+86, 0086) of a mainland mobile
 * number, so that "+86 138-1234-5678" and "13812345678" are one caller.
 * out must hold REPORT_PHONE_MAX + 1. The store computes the same key in SQL
 * (reports.caller_key, store/migrations.c); the two must agree.
 */
void case_phone_key(const char *phone, char *out);
/* Masks a name to its first character followed by asterisks (张**), UTF-8 aware. */
void case_mask_name(const char *name, char *out, size_t cap);

#endif
