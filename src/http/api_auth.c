/* api_auth.c — login (argon2id check, token issue, audit) and /me. */
#include "http/api.h"

#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"

/*
 * A hash of a random password: when the user does not exist we still verify
 * against it, so that the answer takes as long as for a wrong password and
 * does not reveal which names exist.
 */
static char dummy_hash[AUTH_PW_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_init(void)
{
	auth_password_hash("not-a-real-password-0", dummy_hash);
}

int api_login(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "name", "password", NULL };
	struct app *app = appv;
	struct store_user u;
	json_t *body = NULL, *jname, *jpw;
	const char *name, *pw;
	char token[AUTH_TOKEN_LEN + 1], expires[32];
	unsigned char hash[AUTH_TOKEN_HASH_LEN];
	int64_t now = (int64_t)time(NULL);
	int found, ok, rc = SG_OK;

	memset(&u, 0, sizeof u);
	if (api_body_object(req, resp, &body) || api_only_fields(body, allowed, resp))
		goto out;
	jname = json_object_get(body, "name");
	jpw = json_object_get(body, "password");
	if (!json_is_string(jname) || json_string_length(jname) == 0 ||
	    json_string_length(jname) >= STORE_NAME_MAX) {
		http_error(resp, 400, "invalid", "name must be a non-empty string of at most 63 bytes",
			   "name");
		goto out;
	}
	if (!json_is_string(jpw) || json_string_length(jpw) > AUTH_PASSWORD_MAX) {
		http_error(resp, 400, "invalid", "password must be a string of at most 256 bytes",
			   "password");
		goto out;
	}
	name = json_string_value(jname);
	pw = json_string_value(jpw);
	pthread_once(&dummy_once, dummy_init);
	found = store_user_get(app->store, name, 0, &u) == 0;
	ok = auth_password_verify(pw, found ? u.pw_hash : dummy_hash) && found;
	if (!ok) {
		store_audit_append(app->store, name, "login.failed", name, NULL);
		http_error(resp, 401, "invalid_credentials", "wrong name or password", NULL);
		goto out;
	}
	auth_token_new(token, hash);
	rc = store_login_record(app->store, hash, u.id, now, now + app->token_ttl_s, u.name,
				u.role);
	if (rc)
		goto out;
	api_format_time(now + app->token_ttl_s, expires);
	sg_buf_printf(&resp->body,
		      "{\"token\":\"%s\",\"expires_at\":\"%s\",\"user\":{\"id\":%lld,\"name\":",
		      token, expires, (long long)u.id);
	sg_buf_json_str(&resp->body, u.name);
	sg_buf_printf(&resp->body, ",\"role\":\"%s\"}}", u.role);
	http_json(resp, 200);
	SG_LOG(SG_LOG_INFO, "msg=login user_id=%lld", (long long)u.id);
out:
	memset(token, 0, sizeof token);
	json_decref(body);
	store_user_release(&u);
	return rc;
}

int api_me(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	char expires[32];
	int first = 1;

	api_format_time(s->expires_at, expires);
	sg_buf_printf(&resp->body, "{\"id\":%lld,\"name\":", (long long)s->user_id);
	sg_buf_json_str(&resp->body, s->name);
	/* personal_data: whether the role reads callers and people in full (the console asks no more). */
	sg_buf_printf(&resp->body,
		      ",\"role\":\"%s\",\"personal_data\":%s,\"expires_at\":\"%s\",\"scope\":[",
		      auth_role_name(s->role), api_role_sees_personal_data(s->role) ? "true" : "false",
		      expires);
	for (size_t i = 0; i < s->nscope; i++) {
		uint32_t idx = catalog_find(app->catalog, s->scope_ids[i]);
		if (idx == CATALOG_NONE)
			continue;
		if (!first)
			sg_buf_putc(&resp->body, ',');
		first = 0;
		api_write_area_ref(app, &resp->body, idx);
	}
	sg_buf_puts(&resp->body, "]}");
	http_json(resp, 200);
	return SG_OK;
}
