/*
 * api_people.c — the people registry (GET/POST /api/v1/people,
 * GET /api/v1/people/{id}).
 *
 * A person is visible when the area they serve is. Phone and ID numbers are
 * masked in every list; a single person's record is unmasked for the roles
 * that need it, and that read is audited before it is answered.
 */
#include "http/api_forces_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "geo/coord.h"

static void write_person(struct app *app, const struct api_session *s, struct sg_buf *b,
			 const struct store_person *p, bool full)
{
	uint32_t idx = api_forces__area_idx(app, p->area_id);
	char masked[FORCE_PHONE_MAX + FORCE_ID_NUMBER_LEN + 2], t[32];

	sg_buf_printf(b, "{\"id\":%lld,\"type\":\"%s\",\"type_zh\":\"%s\",\"org_id\":%lld,\"area\":",
		      (long long)p->id, person_type_name(p->type), person_type_name_zh(p->type),
		      (long long)p->org_id);
	if (idx != CATALOG_NONE)
		api_write_area_ref(app, b, idx);
	else
		sg_buf_puts(b, "null");
	sg_buf_puts(b, ",\"unit_id\":");
	if (p->unit_id)
		sg_buf_printf(b, "%lld", (long long)p->unit_id);
	else
		sg_buf_puts(b, "null");
	sg_buf_puts(b, ",\"name\":");
	sg_buf_json_str(b, p->name);
	sg_buf_puts(b, ",\"phone\":");
	if (!p->phone[0]) {
		sg_buf_puts(b, "null");
	} else if (full) {
		sg_buf_json_str(b, p->phone);
	} else {
		case_mask_phone(p->phone, masked);
		sg_buf_json_str(b, masked);
	}
	sg_buf_puts(b, ",\"id_number\":");
	if (!p->id_number[0]) {
		sg_buf_puts(b, "null");
	} else if (full) {
		sg_buf_json_str(b, p->id_number);
	} else {
		force_mask_id_number(p->id_number, masked);
		sg_buf_json_str(b, masked);
	}
	sg_buf_printf(b, ",\"masked\":%s,\"grids\":[", full ? "false" : "true");
	for (size_t i = 0, n = 0; i < p->ngrids; i++) {
		if (!api_forces__area_visible(app, s, p->grids[i]))
			continue;
		sg_buf_printf(b, "%s%lld", n++ ? "," : "", (long long)p->grids[i]);
	}
	api_format_time(p->created_at, t);
	sg_buf_printf(b, "],\"created_at\":\"%s\"}", t);
}

struct people_ctx {
	struct app *app;
	const struct api_session *s;
	struct sg_buf *b;
	size_t n;
	int64_t last_area, last_id;
};

static int person_row(void *ctxv, const struct store_person *p)
{
	struct people_ctx *c = ctxv;

	if (c->n++)
		sg_buf_putc(c->b, ',');
	write_person(c->app, c->s, c->b, p, false);
	c->last_area = p->area_id;
	c->last_id = p->id;
	return 0;
}

int api_people_list(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct store_force_filter f;
	struct people_ctx c;
	int64_t *areas = NULL;
	size_t limit;
	int rc;

	if (api_forces__list_filter(app, req, resp, false, &f, &areas, &limit))
		return SG_OK;
	memset(&c, 0, sizeof c);
	c.app = app;
	c.s = req->session;
	c.b = &resp->body;
	sg_buf_puts(&resp->body, "{\"people\":[");
	rc = store_people_list(app->store, &f, limit, person_row, &c);
	free(areas);
	if (rc)
		return rc;
	api_forces__page_end(&resp->body, c.n, limit, c.last_area, c.last_id);
	sg_buf_putc(&resp->body, '}');
	http_json(resp, 200);
	return SG_OK;
}

int api_person_get(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	struct store_person p;
	bool full = api_role_sees_personal_data(s->role);
	int64_t id;
	int rc;

	if (api_forces__id_param(req, resp, &id))
		return SG_OK;
	rc = store_person_get(app->store, id, &p);
	if (rc == SG_ENOTFOUND || (!rc && !api_forces__area_visible(app, s, p.area_id)))
		return http_error(resp, 404, "not_found", "no such person", "id");
	if (rc)
		return rc;
	if (full && (p.phone[0] || p.id_number[0])) {
		/* An unmasked read of personal data is audited before it is answered. */
		char subject[40];
		snprintf(subject, sizeof subject, "person:%lld", (long long)p.id);
		if ((rc = store_audit_append(app->store, s->name, "personal_data.read", subject,
					     "phone/id_number")))
			return rc;
	}
	write_person(app, s, &resp->body, &p, full);
	http_json(resp, 200);
	return SG_OK;
}

/*
 * Checks a person object (POST /api/v1/people) into p. Returns 0, or fills
 * resp and returns non-zero. The organisation must be one the caller sees.
 */
static int person_from_json(struct app *app, const struct api_session *s, json_t *body,
			    struct store_person *p, struct http_resp *resp)
{
	static const char *const allowed[] = { "type", "org_id", "area", "name", "phone", "id_number",
					       "grids", NULL };
	struct store_org org;
	uint32_t idx;
	json_t *v;

	memset(p, 0, sizeof *p);
	if (api_only_fields(body, allowed, resp))
		return 1;
	v = json_object_get(body, "type");
	if (!json_is_string(v) || person_type_parse(json_string_value(v), &p->type))
		return http_error(resp, 400, "invalid", "type must be a person type", "type"), 1;
	v = json_object_get(body, "org_id");
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    store_org_get(app->store, json_integer_value(v), &org) ||
	    !api_forces__org_visible(app, s, &org))
		return http_error(resp, 400, "invalid", "org_id must be an organisation you see",
				  "org_id"),
		       1;
	p->org_id = org.id;
	if ((idx = api_forces__visible_area_json(app, s, json_object_get(body, "area"))) ==
	    CATALOG_NONE)
		return http_error(resp, 400, "invalid", "area must be an area in your jurisdiction",
				  "area"),
		       1;
	p->area_id = app->catalog->areas[idx].id;
	if (api_forces__text(body, "name", STORE_FORCE_NAME_MAX, true, p->name, sizeof p->name,
			     resp))
		return 1;
	v = json_object_get(body, "phone");
	if (v && (!json_is_string(v) || !force_phone_valid(json_string_value(v))))
		return http_error(resp, 400, "invalid", "phone must be a telephone number", "phone"), 1;
	if (v)
		snprintf(p->phone, sizeof p->phone, "%s", json_string_value(v));
	v = json_object_get(body, "id_number");
	if (v && (!json_is_string(v) || !force_id_number_valid(json_string_value(v))))
		return http_error(resp, 400, "invalid",
				  "id_number must be an 18-character citizen ID number with a valid "
				  "check character",
				  "id_number"),
		       1;
	if (v)
		snprintf(p->id_number, sizeof p->id_number, "%s", json_string_value(v));
	v = json_object_get(body, "grids");
	if (v) {
		size_t i;
		json_t *g;
		if (!json_is_array(v) || json_array_size(v) > STORE_PERSON_GRIDS_MAX)
			return http_error(resp, 400, "invalid",
					  "grids must be an array of at most 8 grid ids", "grids"),
			       1;
		json_array_foreach(v, i, g) {
			uint32_t gi = api_forces__visible_area_json(app, s, g);
			if (gi == CATALOG_NONE || (app->catalog->areas[gi].kind != AREA_GOV_GRID &&
						   app->catalog->areas[gi].kind != AREA_POLICE_GRID))
				return http_error(resp, 400, "invalid",
						  "every grid must be a governance or police grid in "
						  "your jurisdiction",
						  "grids"),
				       1;
			p->grids[p->ngrids++] = app->catalog->areas[gi].id;
		}
	}
	return 0;
}

int api_people_create(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	struct store_person p;
	json_t *body = NULL;
	int rc = SG_OK;

	if (!api_forces__role_manages(s->role))
		return http_error(resp, 403, "forbidden", "this role may not add people", NULL);
	if (api_body_object(req, resp, &body) || person_from_json(app, s, body, &p, resp))
		goto out;
	p.created_at = api_now(app);
	rc = store_person_add(app->store, &p, s->name);
	if (rc == SG_ECONFLICT) {
		rc = SG_OK;
		http_error(resp, 409, "conflict", "a person with this ID number is already registered",
			   "id_number");
		goto out;
	}
	if (rc)
		goto out;
	write_person(app, s, &resp->body, &p, api_role_sees_personal_data(s->role));
	http_json(resp, 201);
out:
	json_decref(body);
	return rc;
}
