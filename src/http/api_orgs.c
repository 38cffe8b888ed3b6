/*
 * api_orgs.c — organisations: the police hierarchy and the linked
 * organisations (GET/POST /api/v1/orgs, GET/PATCH /api/v1/orgs/{id}).
 *
 * An organisation is visible when one of its scope areas is; anything else
 * answers 404 like something that does not exist. Changes carry the version
 * read (409 with the current one otherwise).
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

bool api_forces__org_visible(struct app *app, const struct api_session *s,
			     const struct store_org *o)
{
	if (s->scope.all)
		return true;
	for (size_t i = 0; i < o->nareas; i++) {
		if (api_forces__area_visible(app, s, o->area_ids[i]))
			return true;
	}
	return false;
}

static void write_org(struct app *app, const struct api_session *s, struct sg_buf *b,
		      const struct store_org *o)
{
	char t1[32], t2[32];
	bool first = true;

	sg_buf_printf(b, "{\"id\":%lld,\"kind\":\"%s\",\"parent_id\":", (long long)o->id,
		      org_kind_name(o->kind));
	if (o->parent_id)
		sg_buf_printf(b, "%lld", (long long)o->parent_id);
	else
		sg_buf_puts(b, "null");
	sg_buf_puts(b, ",\"code\":");
	if (o->code[0])
		sg_buf_json_str(b, o->code);
	else
		sg_buf_puts(b, "null");
	sg_buf_puts(b, ",\"name\":");
	sg_buf_json_str(b, o->name);
	sg_buf_puts(b, ",\"phone\":");
	if (o->phone[0])
		sg_buf_json_str(b, o->phone);
	else
		sg_buf_puts(b, "null");
	sg_buf_printf(b, ",\"police\":%s,\"areas\":[", org_kind_police(o->kind) ? "true" : "false");
	for (size_t i = 0; i < o->nareas; i++) {
		uint32_t idx = api_forces__area_idx(app, o->area_ids[i]);
		if (idx == CATALOG_NONE || !catalog_visible(&s->scope, idx))
			continue;
		if (!first)
			sg_buf_putc(b, ',');
		first = false;
		api_write_area_ref(app, b, idx);
	}
	api_format_time(o->created_at, t1);
	api_format_time(o->updated_at, t2);
	sg_buf_printf(b, "],\"created_at\":\"%s\",\"updated_at\":\"%s\",\"version\":%lld}", t1, t2,
		      (long long)o->version);
}

struct orgs_ctx {
	struct app *app;
	const struct api_session *s;
	int kind;          /* -1: any */
	int64_t parent;    /* 0: any */
	uint32_t area;     /* CATALOG_NONE: any; else orgs with a scope area inside it */
	struct catalog_scope sub;
	struct sg_buf *b;
	size_t n;
};

static int org_row(void *ctxv, const struct store_org *o)
{
	struct orgs_ctx *c = ctxv;

	if (!api_forces__org_visible(c->app, c->s, o))
		return 0;
	if (c->kind >= 0 && (int)o->kind != c->kind)
		return 0;
	if (c->parent && o->parent_id != c->parent)
		return 0;
	if (c->area != CATALOG_NONE) {
		bool in = false;
		for (size_t i = 0; i < o->nareas && !in; i++) {
			uint32_t idx = api_forces__area_idx(c->app, o->area_ids[i]);
			in = idx != CATALOG_NONE && catalog_visible(&c->sub, idx);
		}
		if (!in)
			return 0;
	}
	if (c->n++)
		sg_buf_putc(c->b, ',');
	write_org(c->app, c->s, c->b, o);
	return 0;
}

int api_orgs_list(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	const char *kind = http_query(req, "kind"), *parent = http_query(req, "parent");
	const char *area = http_query(req, "area");
	struct orgs_ctx c;
	enum org_kind k;
	int rc;

	memset(&c, 0, sizeof c);
	c.app = app;
	c.s = s;
	c.kind = -1;
	c.area = CATALOG_NONE;
	c.b = &resp->body;
	if (kind) {
		if (org_kind_parse(kind, &k))
			return http_error(resp, 400, "invalid", "kind is not an organisation kind", "kind");
		c.kind = (int)k;
	}
	if (parent && api_parse_id(parent, &c.parent))
		return http_error(resp, 400, "invalid", "parent must be an organisation id", "parent");
	if (area) {
		if ((c.area = api_forces__visible_area_named(app, s, area)) == CATALOG_NONE)
			return http_error(resp, 404, "not_found", "no such area", "area");
		if ((rc = catalog_scope_build(app->catalog, &app->catalog->areas[c.area].id, 1, &c.sub)))
			return rc;
	}
	sg_buf_puts(&resp->body, "{\"orgs\":[");
	rc = store_orgs_list(app->store, org_row, &c);
	catalog_scope_release(&c.sub);
	if (rc)
		return rc;
	sg_buf_printf(&resp->body, "],\"count\":%zu}", c.n);
	http_json(resp, 200);
	return SG_OK;
}

/* The visible organisation named by {id}, or an error answer. */
static int visible_org(struct app *app, struct http_req *req, struct http_resp *resp,
		       struct store_org *o)
{
	int64_t id;
	int rc;

	if (api_forces__id_param(req, resp, &id))
		return 1;
	rc = store_org_get(app->store, id, o);
	if (rc == SG_ENOTFOUND || (!rc && !api_forces__org_visible(app, req->session, o))) {
		http_error(resp, 404, "not_found", "no such organisation", "id");
		return 1;
	}
	if (rc) {
		http_error(resp, 500, "internal", "reading the organisation failed", NULL);
		return 1;
	}
	return 0;
}

int api_org_get(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct store_org *o = malloc(sizeof *o);

	if (!o)
		return SG_ENOMEM;
	if (!visible_org(app, req, resp, o)) {
		write_org(app, req->session, &resp->body, o);
		http_json(resp, 200);
	}
	free(o);
	return SG_OK;
}

/* Reads "areas": an array of visible area ids or codes, into o. */
static int org_areas_json(struct app *app, const struct api_session *s, const json_t *v,
			  struct store_org *o, struct http_resp *resp)
{
	size_t i;
	json_t *x;

	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > STORE_ORG_AREAS_MAX) {
		http_error(resp, 400, "invalid", "areas must be an array of 1 to 64 area ids or codes",
			   "areas");
		return 1;
	}
	o->nareas = 0;
	json_array_foreach(v, i, x) {
		uint32_t idx = api_forces__visible_area_json(app, s, x);
		if (idx == CATALOG_NONE) {
			http_error(resp, 400, "invalid", "every area must be an area in your jurisdiction",
				   "areas");
			return 1;
		}
		o->area_ids[o->nareas++] = app->catalog->areas[idx].id;
	}
	return 0;
}

int api_orgs_create(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "kind", "parent_id", "code", "name", "phone", "areas", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct store_org *o = calloc(1, sizeof *o), parent;
	json_t *body = NULL, *v;
	int rc = SG_OK;

	if (!o)
		return SG_ENOMEM;
	if (s->role != AUTH_ROLE_ADMIN && s->role != AUTH_ROLE_COMMANDER) {
		http_error(resp, 403, "forbidden", "only an admin or a commander adds organisations", NULL);
		goto out;
	}
	if (api_body_object(req, resp, &body) || api_only_fields(body, allowed, resp))
		goto out;
	v = json_object_get(body, "kind");
	if (!json_is_string(v) || org_kind_parse(json_string_value(v), &o->kind)) {
		http_error(resp, 400, "invalid", "kind must be an organisation kind", "kind");
		goto out;
	}
	if (api_forces__text(body, "name", STORE_FORCE_NAME_MAX, true, o->name, sizeof o->name,
			     resp) ||
	    api_forces__text(body, "code", AREA_CODE_MAX - 1, false, o->code, sizeof o->code,
			     resp) ||
	    api_forces__text(body, "phone", FORCE_PHONE_MAX, false, o->phone, sizeof o->phone,
			     resp))
		goto out;
	if (o->phone[0] && !force_phone_valid(o->phone)) {
		http_error(resp, 400, "invalid", "phone must be a telephone number", "phone");
		goto out;
	}
	v = json_object_get(body, "parent_id");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    store_org_get(app->store, json_integer_value(v), &parent) ||
		    !api_forces__org_visible(app, s, &parent)) {
			http_error(resp, 400, "invalid", "parent_id must be an organisation you see",
				   "parent_id");
			goto out;
		}
		o->parent_id = parent.id;
	}
	if (org_areas_json(app, s, json_object_get(body, "areas"), o, resp))
		goto out;
	o->created_at = api_now(app);
	rc = store_orgs_add(app->store, o, 1, s->name);
	if (rc == SG_ECONFLICT) {
		rc = SG_OK;
		http_error(resp, 409, "conflict", "an organisation already has this code", "code");
		goto out;
	}
	if (rc)
		goto out;
	write_org(app, s, &resp->body, o);
	http_json(resp, 201);
out:
	json_decref(body);
	free(o);
	return rc;
}

int api_org_patch(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "version", "name", "phone", "parent_id", "areas", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct store_org *o = malloc(sizeof *o), *after = malloc(sizeof *after), *areas = NULL;
	struct store_org_patch p;
	char name[STORE_FORCE_NAME_MAX + 1] = "", phone[FORCE_PHONE_MAX + 1] = "";
	json_t *body = NULL, *v;
	int rc = SG_OK;

	if (!o || !after) {
		rc = SG_ENOMEM;
		goto out;
	}
	if (visible_org(app, req, resp, o))
		goto out;
	if (s->role != AUTH_ROLE_ADMIN && s->role != AUTH_ROLE_COMMANDER) {
		http_error(resp, 403, "forbidden", "only an admin or a commander changes organisations",
			   NULL);
		goto out;
	}
	if (api_body_object(req, resp, &body) || api_only_fields(body, allowed, resp))
		goto out;
	memset(&p, 0, sizeof p);
	p.id = o->id;
	p.parent_id = -1;
	v = json_object_get(body, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		http_error(resp, 400, "invalid", "version must be the version you read", "version");
		goto out;
	}
	p.expected_version = json_integer_value(v);
	if (api_forces__text(body, "name", STORE_FORCE_NAME_MAX, false, name, sizeof name, resp))
		goto out;
	if (name[0])
		p.name = name;
	v = json_object_get(body, "phone");
	if (json_is_null(v)) {
		p.phone = "";
	} else if (v) {
		if (api_forces__text(body, "phone", FORCE_PHONE_MAX, true, phone, sizeof phone,
				     resp))
			goto out;
		if (!force_phone_valid(phone)) {
			http_error(resp, 400, "invalid", "phone must be a telephone number", "phone");
			goto out;
		}
		p.phone = phone;
	}
	v = json_object_get(body, "parent_id");
	if (json_is_null(v)) {
		p.parent_id = 0;
	} else if (v) {
		struct store_org parent;
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    store_org_get(app->store, json_integer_value(v), &parent) ||
		    !api_forces__org_visible(app, s, &parent)) {
			http_error(resp, 400, "invalid", "parent_id must be an organisation you see",
				   "parent_id");
			goto out;
		}
		p.parent_id = parent.id;
	}
	v = json_object_get(body, "areas");
	if (v) {
		if (!(areas = calloc(1, sizeof *areas))) {
			rc = SG_ENOMEM;
			goto out;
		}
		if (org_areas_json(app, s, v, areas, resp))
			goto out;
		p.area_ids = areas->area_ids;
		p.nareas = areas->nareas;
		p.set_areas = true;
	}
	p.at = api_now(app);
	p.actor = s->name;
	p.out = after;
	rc = store_org_patch(app->store, &p);
	if (rc == SG_ECONFLICT) {
		rc = SG_OK;
		sg_buf_printf(&resp->body,
			      "{\"error\":{\"code\":\"conflict\",\"message\":\"the organisation changed "
			      "since you read it\",\"field\":\"version\",\"current_version\":%lld}}",
			      (long long)after->version);
		http_json(resp, 409);
		goto out;
	}
	if (rc == SG_EINVAL) {
		rc = SG_OK;
		http_error(resp, 400, "invalid", "parent_id would make the organisation its own ancestor",
			   "parent_id");
		goto out;
	}
	if (rc)
		goto out;
	write_org(app, s, &resp->body, after);
	http_json(resp, 200);
out:
	json_decref(body);
	free(o);
	free(after);
	free(areas);
	return rc;
}
