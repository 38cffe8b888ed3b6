/*
 * api.c — the route table, Bearer-token sessions and the helpers the
 * handler files share.
 *
 * Sessions: a token is looked up by its BLAKE2b hash, first in an in-memory
 * cache, then in the store. A cached session holds the caller's computed
 * scope so that no request recomputes it. Sessions are reference counted:
 * eviction from the cache never frees one a request still uses.
 */
#include "http/api.h"
#include "http/console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/json.h"
#include "base/log.h"

const struct http_route api_routes[] = {
	{ "GET", "/", console_serve, HTTP_ROUTE_PUBLIC },
	{ "GET", "/assets/{file}", console_serve, HTTP_ROUTE_PUBLIC },
	{ "GET", "/assets/{dir}/{file}", console_serve, HTTP_ROUTE_PUBLIC },
	{ "GET", "/healthz", api_healthz, HTTP_ROUTE_PUBLIC },
	{ "GET", "/metrics", api_metrics, HTTP_ROUTE_PUBLIC },
	{ "POST", "/api/v1/login", api_login, HTTP_ROUTE_PUBLIC },
	{ "POST", "/api/v1/logout", api_logout, 0 },
	{ "GET", "/api/v1/me", api_me, 0 },
	{ "GET", "/api/v1/areas", api_areas_list, 0 },
	{ "GET", "/api/v1/areas/{id}", api_area_get, 0 },
	{ "PATCH", "/api/v1/areas/{id}", api_area_patch, 0 },
	{ "GET", "/api/v1/areas/{id}/children", api_area_children, 0 },
	{ "GET", "/api/v1/locate", api_locate, 0 },
	{ "GET", "/api/v1/fusion", api_fusion_list, 0 },
	{ "GET", "/api/v1/fusion/summary", api_fusion_summary, 0 },
	{ "POST", "/api/v1/reports", api_reports_create, 0 },
	{ "POST", "/api/v1/reports/check", api_reports_check, 0 },
	{ "POST", "/api/v1/events", api_events_ingest, HTTP_ROUTE_BULK },
	{ "GET", "/api/v1/cases", api_cases_list, 0 },
	{ "GET", "/api/v1/cases/{id}", api_case_get, 0 },
	{ "POST", "/api/v1/reports/by-caller", api_callers_reports, 0 },
	{ "POST", "/api/v1/cases/{id}/transitions", api_case_transition, 0 },
	{ "POST", "/api/v1/cases/{id}/divert", api_case_divert, 0 },
	{ "POST", "/api/v1/cases/{id}/location", api_case_move, 0 },
	{ "POST", "/api/v1/cases/{id}/split", api_case_split, 0 },
	{ "GET", "/api/v1/categories", api_categories, 0 },
	{ "GET", "/api/v1/stream", api_stream, 0 },
	{ "POST", "/api/v1/admin/clock", api_admin_clock, 0 },
	{ "GET", "/open311/v2/services.json", api_open311_services, 0 },
	{ "POST", "/open311/v2/requests.json", api_open311_requests_create, 0 },
	{ "GET", "/open311/v2/requests.json", api_open311_requests_list, 0 },
	{ "GET", "/open311/v2/requests/{id}", api_open311_request_get, 0 },
	{ "GET", "/api/v1/stats", api_stats, 0 },
	{ "GET", "/api/v1/admin/classify", api_admin_classify_get, 0 },
	{ "PUT", "/api/v1/admin/classify", api_admin_classify_put, 0 },
	{ "GET", "/api/v1/orgs", api_orgs_list, 0 },
	{ "POST", "/api/v1/orgs", api_orgs_create, 0 },
	{ "GET", "/api/v1/orgs/{id}", api_org_get, 0 },
	{ "PATCH", "/api/v1/orgs/{id}", api_org_patch, 0 },
	{ "GET", "/api/v1/people", api_people_list, 0 },
	{ "POST", "/api/v1/people", api_people_create, 0 },
	{ "GET", "/api/v1/people/{id}", api_person_get, 0 },
	{ "GET", "/api/v1/units", api_units_list, 0 },
	{ "POST", "/api/v1/units", api_units_create, 0 },
	{ "GET", "/api/v1/units/nearest", api_units_nearest, 0 },
	{ "GET", "/api/v1/units/{id}", api_unit_get, 0 },
	{ "PUT", "/api/v1/units/{id}/position", api_unit_position, 0 },
	{ "POST", "/api/v1/units/{id}/status", api_unit_status, 0 },
	{ "POST", "/api/v1/cases/{id}/dispatch", api_case_dispatch, 0 },
	{ "GET", "/api/v1/cases/{id}/dispatches", api_case_dispatches, 0 },
	{ "POST", "/api/v1/cases/{id}/takeover", api_case_takeover, 0 },
	{ "POST", "/api/v1/dispatches/{id}/reassign", api_dispatch_reassign, 0 },
	{ "GET", "/api/v1/stats/response", api_stats_response, 0 },
};
const size_t api_nroutes = sizeof api_routes / sizeof api_routes[0];

int api_app_init(struct app *app, struct store *store, struct catalog *catalog)
{
	memset(app, 0, sizeof *app);
	app->store = store;
	app->catalog = catalog;
	app->token_ttl_s = 12 * 3600;
	app->join_distance_m = 200;
	app->join_window_s = 1800;
	pthread_mutex_init(&app->rules_lock, NULL);
	pthread_mutex_init(&app->sessions_lock, NULL);
	return SG_OK;
}

int64_t api_now(struct app *app)
{
	return (int64_t)time(NULL) + atomic_load(&app->clock_offset_s);
}

int64_t api_clock(void *app)
{
	return api_now(app);
}

int api_admin_classify_get(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	char *json = NULL;
	size_t len = 0;
	int rc;

	if (s->role != AUTH_ROLE_ADMIN)
		return http_error(resp, 403, "forbidden", "only an admin reads the rules", NULL);
	if ((rc = classify_config_to_json(app->classify, &json, &len)))
		return rc;
	rc = sg_buf_append(&resp->body, json, len);
	free(json);
	http_json(resp, 200);
	return rc;
}

/*
 * Replaces the classification rules: validated in full before use (a bad
 * document is a 400 naming the member at fault and changes nothing), stored
 * and audited, then swapped in for the next request.
 */
int api_admin_classify_put(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	struct classify_config *cfg = NULL, *old;
	struct classify_error err;
	char msg[320];
	int rc;

	if (s->role != AUTH_ROLE_ADMIN)
		return http_error(resp, 403, "forbidden", "only an admin replaces the rules", NULL);
	memset(&err, 0, sizeof err);
	if (classify_config_load(req->body, req->body_len, &cfg, &err)) {
		snprintf(msg, sizeof msg, "%s", err.message);
		return http_error(resp, 400, err.line ? "invalid_json" : "invalid", msg,
				  err.path[0] ? err.path : "body");
	}
	pthread_mutex_lock(&app->rules_lock);
	if (app->nretired == API_RETIRED_MAX) {
		pthread_mutex_unlock(&app->rules_lock);
		classify_config_free(cfg);
		return http_error(resp, 503, "unavailable",
				  "too many rule changes since start: restart the server", NULL);
	}
	rc = store_setting_put(app->store, "classify.json", req->body, s->name, "rules.classify.replace");
	if (rc) {
		pthread_mutex_unlock(&app->rules_lock);
		classify_config_free(cfg);
		return rc;
	}
	old = atomic_exchange(&app->classify, cfg);
	app->retired[app->nretired++] = old;
	pthread_mutex_unlock(&app->rules_lock);
	sg_buf_printf(&resp->body, "{\"ok\":true,\"categories\":%zu}", classify_category_count(cfg));
	http_json(resp, 200);
	return SG_OK;
}

int api_admin_clock(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "advance_s", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	json_t *body = NULL, *v;
	char now[32];

	if (!app->test_clock)
		return http_error(resp, 404, "not_found", "no such resource", NULL);
	if (s->role != AUTH_ROLE_ADMIN)
		return http_error(resp, 403, "forbidden", "only an admin may move the clock", NULL);
	if (api_body_object(req, resp, &body) || api_only_fields(body, allowed, resp))
		goto out;
	v = json_object_get(body, "advance_s");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 366 * 86400) {
		http_error(resp, 400, "invalid", "advance_s must be 0 .. 366 days in seconds", "advance_s");
		goto out;
	}
	atomic_fetch_add(&app->clock_offset_s, (int64_t)json_integer_value(v));
	api_format_time(api_now(app), now);
	sg_buf_printf(&resp->body, "{\"now\":\"%s\",\"offset_s\":%lld}", now,
		      (long long)atomic_load(&app->clock_offset_s));
	http_json(resp, 200);
out:
	json_decref(body);
	return SG_OK;
}

static void session_unref(struct api_session *s)
{
	if (s && atomic_fetch_sub(&s->refs, 1) == 1) {
		catalog_scope_release(&s->scope);
		free(s->scope_ids);
		free(s);
	}
}

void api_app_release(struct app *app)
{
	for (size_t b = 0; b < API_SESSION_BUCKETS; b++) {
		struct api_session *s = app->sessions[b], *next;
		for (; s; s = next) {
			next = s->next;
			session_unref(s);
		}
		app->sessions[b] = NULL;
	}
	pthread_mutex_destroy(&app->sessions_lock);
	for (size_t i = 0; i < app->nretired; i++)
		classify_config_free(app->retired[i]);
	app->nretired = 0;
	classify_config_free(atomic_exchange(&app->classify, NULL));
	pthread_mutex_destroy(&app->rules_lock);
}

static size_t bucket_of(const unsigned char *hash)
{
	return ((size_t)hash[0] | (size_t)hash[1] << 8) % API_SESSION_BUCKETS;
}

/* Finds a cached session and takes a reference, or NULL. */
static struct api_session *cache_get(struct app *app, const unsigned char *hash)
{
	struct api_session *s;

	pthread_mutex_lock(&app->sessions_lock);
	for (s = app->sessions[bucket_of(hash)]; s; s = s->next) {
		if (memcmp(s->hash, hash, AUTH_TOKEN_HASH_LEN) == 0) {
			atomic_fetch_add(&s->refs, 1);
			break;
		}
	}
	pthread_mutex_unlock(&app->sessions_lock);
	return s;
}

/* Removes a session from the cache (logout, expiry). */
static void cache_drop(struct app *app, const unsigned char *hash)
{
	struct api_session **pp, *victim = NULL;

	pthread_mutex_lock(&app->sessions_lock);
	for (pp = &app->sessions[bucket_of(hash)]; *pp; pp = &(*pp)->next) {
		if (memcmp((*pp)->hash, hash, AUTH_TOKEN_HASH_LEN) == 0) {
			victim = *pp;
			*pp = victim->next;
			app->nsessions--;
			break;
		}
	}
	pthread_mutex_unlock(&app->sessions_lock);
	session_unref(victim);
}

/* Adds s (with one reference for the cache); when full, the cache starts over. */
static void cache_put(struct app *app, struct api_session *s)
{
	size_t b = bucket_of(s->hash);

	pthread_mutex_lock(&app->sessions_lock);
	if (app->nsessions >= API_SESSION_CACHE_MAX) {
		for (size_t i = 0; i < API_SESSION_BUCKETS; i++) {
			struct api_session *x = app->sessions[i], *next;
			for (; x; x = next) {
				next = x->next;
				session_unref(x);
			}
			app->sessions[i] = NULL;
		}
		app->nsessions = 0;
	}
	atomic_fetch_add(&s->refs, 1);
	s->next = app->sessions[b];
	app->sessions[b] = s;
	app->nsessions++;
	pthread_mutex_unlock(&app->sessions_lock);
}

/* Loads a session from the store: token row, user, scope. */
static int session_load(struct app *app, const unsigned char *hash, struct api_session **out)
{
	struct store_user u;
	struct api_session *s;
	int64_t user_id, expires;
	int rc;

	if ((rc = store_token_get(app->store, hash, &user_id, &expires)))
		return rc;
	if ((rc = store_user_get(app->store, NULL, user_id, &u)))
		return rc;
	s = calloc(1, sizeof *s);
	if (!s) {
		store_user_release(&u);
		return SG_ENOMEM;
	}
	memcpy(s->hash, hash, AUTH_TOKEN_HASH_LEN);
	s->user_id = u.id;
	snprintf(s->name, sizeof s->name, "%s", u.name);
	if (auth_role_parse(u.role, &s->role))
		rc = SG_EINVAL;
	s->expires_at = expires;
	if (!rc)
		rc = catalog_scope_build(app->catalog, u.scope, u.nscope, &s->scope);
	s->scope_ids = u.scope;
	s->nscope = u.nscope;
	u.scope = NULL;
	store_user_release(&u);
	if (rc) {
		free(s->scope_ids);
		free(s);
		return rc;
	}
	atomic_init(&s->refs, 1);
	*out = s;
	return SG_OK;
}

int api_authenticate(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	const char *h = http_header(req, "Authorization");
	unsigned char hash[AUTH_TOKEN_HASH_LEN];
	struct api_session *s;

	if (!h || strncmp(h, "Bearer ", 7) != 0 || auth_token_hash(h + 7, hash) != 0)
		return http_error(resp, 401, "unauthorized",
				  "a valid Bearer token is required (POST /api/v1/login)", NULL),
		       1;
	s = cache_get(app, hash);
	if (!s) {
		if (session_load(app, hash, &s) != 0)
			return http_error(resp, 401, "unauthorized", "unknown or revoked token",
					  NULL),
			       1;
		cache_put(app, s);
	}
	/* Tokens expire by the real clock: the test clock moves deadlines, not logins. */
	if (s->expires_at <= (int64_t)time(NULL)) {
		session_unref(s);
		cache_drop(app, hash);
		return http_error(resp, 401, "unauthorized", "token expired", NULL), 1;
	}
	req->session = s;
	return 0;
}

void api_session_release(void *app, void *session)
{
	session_unref(session);
}

int api_logout(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	int rc = store_token_delete(app->store, s->hash);

	if (rc)
		return rc;
	cache_drop(app, s->hash);
	sg_buf_puts(&resp->body, "{\"ok\":true}");
	http_json(resp, 200);
	return SG_OK;
}

int api_body_object(struct http_req *req, struct http_resp *resp, json_t **out)
{
	json_error_t err;
	int rc;
	json_t *j = sg_json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err, &rc);
	char msg[256];

	if (rc == SG_ENOMEM) {
		/* Not the client's fault: 503, which it may retry. */
		http_error(resp, 503, "unavailable", "out of memory reading the body", NULL);
		return 1;
	}
	if (!j) {
		snprintf(msg, sizeof msg, "invalid JSON at line %d column %d: %s", err.line,
			 err.column, err.text);
		http_error(resp, 400, "invalid_json", msg, "body");
		return 1;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		http_error(resp, 400, "invalid", "the body must be a JSON object", "body");
		return 1;
	}
	*out = j;
	return 0;
}

int api_only_fields(const json_t *obj, const char *const *allowed, struct http_resp *resp)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		int ok = 0;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(*a, key) == 0;
		if (!ok) {
			char msg[160];
			snprintf(msg, sizeof msg, "unknown field \"%.100s\"", key);
			http_error(resp, 400, "invalid", msg, key);
			return 1;
		}
	}
	return 0;
}

int api_parse_id(const char *s, int64_t *out)
{
	int64_t v = 0;

	if (!s || !*s || strlen(s) > 18)
		return SG_EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return SG_EINVAL;
		v = v * 10 + (*p - '0');
	}
	if (v <= 0)
		return SG_EINVAL;
	*out = v;
	return SG_OK;
}

/*
 * Parses ISO 8601 date-times with a time zone, as GeoReport's examples
 * write them: 2026-11-28T09:30:00Z, …+08:00 or …+0800, with optional
 * fractions of a second (ignored).
 */
int api_parse_time(const char *s, int64_t *out)
{
	struct tm tm;
	const char *p;
	int64_t t;
	size_t n;

	memset(&tm, 0, sizeof tm);
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return SG_EINVAL;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return SG_EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	t = (int64_t)timegm(&tm);
	if (strcmp(p, "Z") == 0) {
		*out = t;
		return SG_OK;
	}
	n = strlen(p);
	if ((*p == '+' || *p == '-') && (n == 6 || n == 5)) {
		const char *mm_s = n == 6 ? p + 4 : p + 3;
		int hh, mm;
		if (n == 6 && p[3] != ':')
			return SG_EINVAL;
		if (strspn(p + 1, "0123456789") != (n == 6 ? 2u : 4u) ||
		    strspn(mm_s, "0123456789") != 2)
			return SG_EINVAL;
		hh = (p[1] - '0') * 10 + (p[2] - '0');
		mm = (mm_s[0] - '0') * 10 + (mm_s[1] - '0');
		if (hh > 14 || mm > 59)
			return SG_EINVAL;
		t -= (*p == '+' ? 1 : -1) * (int64_t)(hh * 3600 + mm * 60);
		*out = t;
		return SG_OK;
	}
	return SG_EINVAL;
}

void api_format_time(int64_t t, char out[32])
{
	/*
	 * The civil date of a day count (H. Hinnant's days-to-civil), by hand:
	 * gmtime_r and strftime cost more than the rest of a nearest answer's unit.
	 */
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400, secs = t - days * 86400;
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);

	if (y < 1000 || y > 9999) { /* strftime does not pad %Y: keep its spelling */
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
		return;
	}
	{
		const int v[6] = { (int)y, (int)m, (int)d, (int)(secs / 3600), (int)(secs / 60 % 60),
				   (int)(secs % 60) };
		char *o = out;
		*o++ = (char)('0' + v[0] / 1000);
		*o++ = (char)('0' + v[0] / 100 % 10);
		*o++ = (char)('0' + v[0] / 10 % 10);
		*o++ = (char)('0' + v[0] % 10);
		for (int i = 1; i < 6; i++) {
			*o++ = "--T::"[i - 1];
			*o++ = (char)('0' + v[i] / 10);
			*o++ = (char)('0' + v[i] % 10);
		}
		*o++ = 'Z';
		*o = '\0';
	}
}

void api_write_area_ref(struct app *app, struct sg_buf *b, uint32_t idx)
{
	const struct catalog_area *a = &app->catalog->areas[idx];
	char name[512];

	catalog_name(app->catalog, idx, name, sizeof name);
	sg_buf_puts(b, "{\"id\":");
	sg_buf_put_int(b, (long long)a->id);
	sg_buf_puts(b, ",\"kind\":\"");
	sg_buf_puts(b, area_kind_name(a->kind));
	sg_buf_puts(b, "\",\"code\":");
	if (a->code[0])
		sg_buf_json_str(b, a->code);
	else
		sg_buf_puts(b, "null");
	sg_buf_puts(b, ",\"name\":");
	sg_buf_json_str(b, name);
	sg_buf_putc(b, '}');
}

void api_write_area(struct app *app, struct sg_buf *b, uint32_t idx)
{
	const struct catalog_area *a = &app->catalog->areas[idx];

	api_write_area_ref(app, b, idx);
	b->len--; /* reopen the object */
	b->data[b->len] = '\0';
	if (a->parent != CATALOG_NONE)
		sg_buf_printf(b, ",\"parent\":%lld", (long long)app->catalog->areas[a->parent].id);
	else
		sg_buf_puts(b, ",\"parent\":null");
	sg_buf_printf(b, ",\"bbox\":[%.7f,%.7f,%.7f,%.7f],\"area_m2\":%.1f,\"children\":%u}",
		      a->bbox.min_lon, a->bbox.min_lat, a->bbox.max_lon, a->bbox.max_lat,
		      a->area_m2, a->nchildren);
}
