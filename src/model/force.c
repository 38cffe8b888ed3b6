/* force.c — names of organisation, person and unit kinds; personal data checks and masks. */
#include "model/force.h"

#include <string.h>

#include "base/err.h"

static const char *const org_names[ORG_KIND_COUNT] = {
	"city_bureau",	      "district_branch",  "station",		 "patrol_swat",
	"traffic",	      "criminal_investigation", "gov_department", "property_company",
	"security_firm",      "mediation_committee", "court",
};

static const char *const person_names[PERSON_TYPE_COUNT] = {
	"officer",	    "auxiliary", "grid_worker",	  "community_cadre", "security_guard",
	"volunteer",	    "mediator",	 "legal_adviser", "property_staff",
};

static const char *const person_names_zh[PERSON_TYPE_COUNT] = {
	"民警", "辅警", "网格员", "社区干部", "保安", "志愿者", "调解员", "法律顾问", "物业",
};

static const char *const unit_names[UNIT_TYPE_COUNT] = {
	"patrol_car", "foot_patrol",	    "motorcycle",    "grid_team",      "swat_team",
	"traffic_unit", "investigation_team", "guard_patrol", "volunteer_team", "mediation_team",
};

static int parse_name(const char *s, const char *const *names, int n, int *out)
{
	for (int i = 0; s && i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return SG_OK;
		}
	}
	return SG_EINVAL;
}

const char *org_kind_name(enum org_kind k)
{
	return (unsigned)k < ORG_KIND_COUNT ? org_names[k] : "unknown";
}

int org_kind_parse(const char *s, enum org_kind *out)
{
	int v, rc = parse_name(s, org_names, ORG_KIND_COUNT, &v);
	if (!rc)
		*out = (enum org_kind)v;
	return rc;
}

bool org_kind_police(enum org_kind k)
{
	return k <= ORG_CRIMINAL_INVESTIGATION;
}

const char *person_type_name(enum person_type t)
{
	return (unsigned)t < PERSON_TYPE_COUNT ? person_names[t] : "unknown";
}

const char *person_type_name_zh(enum person_type t)
{
	return (unsigned)t < PERSON_TYPE_COUNT ? person_names_zh[t] : "";
}

int person_type_parse(const char *s, enum person_type *out)
{
	int v, rc = parse_name(s, person_names, PERSON_TYPE_COUNT, &v);
	if (!rc)
		*out = (enum person_type)v;
	return rc;
}

const char *unit_type_name(enum unit_type t)
{
	return (unsigned)t < UNIT_TYPE_COUNT ? unit_names[t] : "unknown";
}

int unit_type_parse(const char *s, enum unit_type *out)
{
	int v, rc = parse_name(s, unit_names, UNIT_TYPE_COUNT, &v);
	if (!rc)
		*out = (enum unit_type)v;
	return rc;
}

bool force_phone_valid(const char *s)
{
	size_t n = strlen(s), digits = 0;

	if (n < 3 || n > FORCE_PHONE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (!(s[i] == '+' && i == 0) && s[i] != '-' && s[i] != ' ')
			return false;
	}
	return digits >= 3;
}

char force_id_number_check(const char digits17[17])
{
	static const int weight[17] = { 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2 };
	static const char check[11] = { '1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2' };
	int sum = 0;

	for (int i = 0; i < 17; i++)
		sum += (digits17[i] - '0') * weight[i];
	return check[sum % 11];
}

bool force_id_number_valid(const char *s)
{
	int year, month, day;

	if (strlen(s) != FORCE_ID_NUMBER_LEN || strspn(s, "0123456789") < 17)
		return false;
	year = (s[6] - '0') * 1000 + (s[7] - '0') * 100 + (s[8] - '0') * 10 + (s[9] - '0');
	month = (s[10] - '0') * 10 + (s[11] - '0');
	day = (s[12] - '0') * 10 + (s[13] - '0');
	if (year < 1900 || year > 2100 || month < 1 || month > 12 || day < 1 || day > 31)
		return false;
	return s[17] == force_id_number_check(s);
}

void force_mask_id_number(const char *id, char out[FORCE_ID_NUMBER_LEN + 1])
{
	size_t n = strlen(id);

	if (n == FORCE_ID_NUMBER_LEN) {
		memcpy(out, id, 6);
		memset(out + 6, '*', 8);
		memcpy(out + 14, id + 14, 4);
		out[18] = '\0';
		return;
	}
	if (n > FORCE_ID_NUMBER_LEN)
		n = FORCE_ID_NUMBER_LEN;
	memset(out, '*', n);
	if (n > 2)
		memcpy(out + n - 2, id + strlen(id) - 2, 2);
	out[n] = '\0';
}

static const char *const unit_status_names[FORCE_UNIT_STATUS_COUNT] = {
	"off_duty", "available", "dispatched", "on_scene", "busy",
};

const char *force_unit_status_name(int s)
{
	return (unsigned)s < FORCE_UNIT_STATUS_COUNT ? unit_status_names[s] : "unknown";
}

int force_unit_status_parse(const char *s, int *out)
{
	return parse_name(s, unit_status_names, FORCE_UNIT_STATUS_COUNT, out);
}
