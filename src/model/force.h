/*
 * force.h — the forces (力量) of public safety: organisations, people and
 * units, as names and codes; validation and masking of people's personal
 * data (phone, citizen ID number).
 *
 * Pure data: no I/O. The store keeps the rows (store/forces.h), the unit
 * index keeps the live positions (dispatch/unit_index.h).
 */
#ifndef SAFEGRID_MODEL_FORCE_H
#define SAFEGRID_MODEL_FORCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Organisations: the police hierarchy (city bureau → district branches →
 * stations, plus city-level branches) and the linked organisations that work
 * beside it.
 */
enum org_kind {
	ORG_CITY_BUREAU,            /* 市公安局 */
	ORG_DISTRICT_BRANCH,        /* 分局 */
	ORG_STATION,                /* 派出所 */
	ORG_PATROL_SWAT,            /* 巡特警 */
	ORG_TRAFFIC,                /* 交警 */
	ORG_CRIMINAL_INVESTIGATION, /* 刑侦 */
	ORG_GOV_DEPARTMENT,         /* 政府部门 */
	ORG_PROPERTY_COMPANY,       /* 物业公司 */
	ORG_SECURITY_FIRM,          /* 保安公司 */
	ORG_MEDIATION_COMMITTEE,    /* 人民调解委员会 */
	ORG_COURT,                  /* 法院 */
	ORG_KIND_COUNT
};

const char *org_kind_name(enum org_kind k);
/* SG_EINVAL for an unknown name. */
int org_kind_parse(const char *s, enum org_kind *out);
/* Whether the kind belongs to the police hierarchy. */
bool org_kind_police(enum org_kind k);

enum person_type {
	PERSON_OFFICER,        /* 民警 */
	PERSON_AUXILIARY,      /* 辅警 */
	PERSON_GRID_WORKER,    /* 网格员 */
	PERSON_COMMUNITY_CADRE,/* 社区干部 */
	PERSON_SECURITY_GUARD, /* 保安 */
	PERSON_VOLUNTEER,      /* 志愿者 */
	PERSON_MEDIATOR,       /* 调解员 */
	PERSON_LEGAL_ADVISER,  /* 法律顾问 */
	PERSON_PROPERTY_STAFF, /* 物业 */
	PERSON_TYPE_COUNT
};

const char *person_type_name(enum person_type t);
/* The Chinese name (民警, 辅警, ...). */
const char *person_type_name_zh(enum person_type t);
int person_type_parse(const char *s, enum person_type *out);

/*
 * Unit types. The codes are the bits of unit_query.type_mask in
 * dispatch/unit_index.h, so there are fewer than 32.
 */
enum unit_type {
	UNIT_PATROL_CAR,
	UNIT_FOOT_PATROL,
	UNIT_MOTORCYCLE,
	UNIT_GRID_TEAM,       /* "2+N+X": officer, cadre, N auxiliaries, X grid workers or guards */
	UNIT_SWAT_TEAM,
	UNIT_TRAFFIC_UNIT,
	UNIT_INVESTIGATION_TEAM,
	UNIT_GUARD_PATROL,
	UNIT_VOLUNTEER_TEAM,
	UNIT_MEDIATION_TEAM,
	UNIT_TYPE_COUNT
};

const char *unit_type_name(enum unit_type t);
int unit_type_parse(const char *s, enum unit_type *out);

/*
 * A unit's status, as stored: off_duty, available, dispatched, on_scene,
 * busy — the same order as enum unit_status of dispatch/unit_index.h (the
 * store sits below that module and names them here).
 */
#define FORCE_UNIT_STATUS_COUNT 5
const char *force_unit_status_name(int s);
/* SG_EINVAL for an unknown name. */
int force_unit_status_parse(const char *s, int *out);

#define FORCE_PHONE_MAX 24
#define FORCE_ID_NUMBER_LEN 18

/* A telephone number: 3..24 characters, digits with an optional leading + and - or spaces. */
bool force_phone_valid(const char *s);
/*
 * A citizen ID number (居民身份证号码, GB 11643-1999): 18 characters, 17
 * digits and a check character (digit or X) that matches the ISO 7064
 * MOD 11-2 checksum, with a plausible birth date.
 */
bool force_id_number_valid(const char *s);
/*
 * The masked ID number: the first 6 (the issuing area) and the last 4 kept,
 * the 8 in between as asterisks (320508********123X). out holds 19 bytes.
 * Anything that is not 18 bytes long is masked whole but its last 2.
 */
void force_mask_id_number(const char *id, char out[FORCE_ID_NUMBER_LEN + 1]);
/* Writes the check character an 18-character ID number with these 17 digits must end in. */
char force_id_number_check(const char digits17[17]);

#endif
