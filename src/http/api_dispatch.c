/*
 * api_dispatch.c — who goes: dispatching units to a case by hand or by the
 * policy, the units' steps (acknowledge, arrive, clear, duty), three-level
 * command (a higher commander takes a case over or reassigns a unit),
 * escalation of unanswered dispatches, and response-time statistics.
 *
 * Every step is one store transaction (unit, dispatch, case history), then
 * the unit index and the live stream follow. A step that does not apply to
 * the unit's state is a 409 that says the state it is in. The HTTP handlers
 * validate at once, then queue their command and answer after its commit
 * with the connection suspended (api_commit_start): no worker waits for an
 * fsync. In-process callers (the simulator) use the waiting forms.
 */
#include "http/api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"

#define DISPATCH_MAX_UNITS 32
#define NOTE_MAX 500
#define UNANSWERED_BATCH 64
#define PURGE_EVERY_S 60
#define PURGE_SLICE 20000

static bool case_visible(struct app *app, const struct api_session *s, const struct case_row *c)
{
	if (s->scope.all)
		return true;
	for (int k = 0; k < AREA_KIND_COUNT; k++) {
		uint32_t i = c->area_ids[k] ? catalog_find(app->catalog, c->area_ids[k]) : CATALOG_NONE;
		if (i != CATALOG_NONE && catalog_visible(&s->scope, i))
			return true;
	}
	return false;
}

/* Catalog indexes of a case's areas, for the live stream's scope filter. */
static size_t case_areas(struct app *app, const struct case_row *c, uint32_t *idx)
{
	size_t n = 0;

	for (int k = 0; k < AREA_KIND_COUNT; k++) {
		uint32_t i = c->area_ids[k] ? catalog_find(app->catalog, c->area_ids[k]) : CATALOG_NONE;
		if (i != CATALOG_NONE)
			idx[n++] = i;
	}
	return n;
}

static int visible_case(struct app *app, struct http_req *req, struct http_resp *resp,
			struct case_row *c)
{
	int64_t id;
	int rc;

	if (api_parse_id(req->params[0], &id)) {
		http_error(resp, 400, "invalid", "id must be a positive integer", "id");
		return 1;
	}
	rc = store_case_get(app->store, id, c);
	if (rc == SG_ENOTFOUND || (!rc && !case_visible(app, req->session, c))) {
		http_error(resp, 404, "not_found", "no such case", "id");
		return 1;
	}
	if (rc) {
		http_error(resp, 500, "internal", "reading the case failed", NULL);
		return 1;
	}
	return 0;
}

/* The 409 of a stale version: the case as the caller read it changed since. */
static void version_conflict(struct http_resp *resp, int64_t current)
{
	sg_buf_reset(&resp->body);
	sg_buf_printf(&resp->body,
		      "{\"error\":{\"code\":\"conflict\",\"message\":\"the case changed since "
		      "you read it\",\"field\":\"version\",\"current_version\":%lld}}",
		      (long long)current);
	http_json(resp, 409);
}

/* The optional "note" member: 0 and *note (NULL if absent), or non-zero with resp filled. */
static int read_note(const json_t *body, struct http_resp *resp, const char **note)
{
	const json_t *v = json_object_get(body, "note");

	*note = NULL;
	if (v && (!json_is_string(v) || json_string_length(v) > NOTE_MAX)) {
		http_error(resp, 400, "invalid", "note must be a string of at most 500 bytes", "note");
		return 1;
	}
	if (v)
		*note = json_string_value(v);
	return 0;
}

static bool unit_visible(const struct api_session *s, const struct unit_rec *r)
{
	return s->scope.all || (r->home_area != CATALOG_NONE && catalog_visible(&s->scope, r->home_area));
}

static void write_dispatch(struct sg_buf *b, const struct store_dispatch *d)
{
	static const char *const names[] = { "acknowledged_at", "arrived_at", "cleared_at",
					     "cancelled_at" };
	const int64_t t[] = { d->acknowledged_at, d->arrived_at, d->cleared_at, d->cancelled_at };
	char at[32];

	api_format_time(d->dispatched_at, at);
	sg_buf_printf(b,
		      "{\"id\":%lld,\"case_id\":%lld,\"unit_id\":%lld,\"status\":\"%s\",\"first\":%s,"
		      "\"dispatched_at\":\"%s\"",
		      (long long)d->id, (long long)d->case_id, (long long)d->unit_id, d->status,
		      d->first ? "true" : "false", at);
	for (size_t i = 0; i < 4; i++) {
		if (t[i]) {
			api_format_time(t[i], at);
			sg_buf_printf(b, ",\"%s\":\"%s\"", names[i], at);
		} else {
			sg_buf_printf(b, ",\"%s\":null", names[i]);
		}
	}
	sg_buf_printf(b, ",\"escalated\":%s,\"actor\":", d->escalated ? "true" : "false");
	sg_buf_json_str(b, d->actor);
	sg_buf_puts(b, ",\"reason\":");
	if (d->reason[0])
		sg_buf_json_str(b, d->reason);
	else
		sg_buf_puts(b, "null");
	sg_buf_putc(b, '}');
}

static void publish_dispatch(struct app *app, const struct case_row *c,
			     const struct store_dispatch *d)
{
	uint32_t idx[AREA_KIND_COUNT];
	size_t n = case_areas(app, c, idx);
	struct sg_buf b;

	if (!app->feed || n == 0)
		return;
	sg_buf_init(&b, 0);
	write_dispatch(&b, d);
	if (feed_publish(app->feed, FEED_DISPATCH_UPDATED, idx, n, b.data, NULL) != 0)
		SG_LOG(SG_LOG_WARN, "msg=\"feed publish failed\" dispatch=%lld", (long long)d->id);
	sg_buf_release(&b);
}

/* After a stored step: the unit's new state into the index and onto the stream. */
static void unit_changed(struct app *app, int64_t unit_id)
{
	struct store_unit u;

	if (store_unit_get(app->store, unit_id, &u) == 0) {
		unit_index_set_status(app->units, u.id, (enum unit_status)u.status, u.version);
		api_publish_unit(app, &u);
	}
}

/* The case's status step when units are dispatched: into "dispatched" where its type allows. */
static struct store_case_step dispatch_step(struct app *app, const struct case_row *c)
{
	struct store_case_step st = { NULL, NULL };
	int type = casefsm_type(app->fsm, c->type);

	if (type >= 0 && casefsm_allowed(app->fsm, type, c->status, "dispatched")) {
		st.from = c->status;
		st.to = "dispatched";
	}
	return st;
}

/*
 * Chooses units for a case by the policy: for each unit type the matching
 * rule asks for, the nearest available by ETA in the caller's scope within
 * the policy's search radius. Fills ids and reasons (reasons point into
 * texts); returns how many were found and writes what is missing into
 * short_b as JSON objects.
 */
static size_t auto_choose(struct app *app, const struct api_session *s, const struct case_row *c,
			  const struct policy_rule *rule, int64_t *ids, char texts[][128],
			  struct sg_buf *short_b)
{
	size_t n = 0;

	for (size_t i = 0; i < rule->nneeds; i++) {
		const struct policy_need *need = &rule->needs[i];
		struct unit_hit hits[UNIT_QUERY_MAX_K];
		struct unit_shortfall why;
		struct unit_query q;
		unsigned got = 0, taken = 0;
		double best_eta[UNIT_QUERY_MAX_K];
		unsigned order[UNIT_QUERY_MAX_K];

		memset(&q, 0, sizeof q);
		q.lon = c->lon;
		q.lat = c->lat;
		/* Ask for more than needed: units chosen for an earlier need are skipped. */
		q.k = need->count + (unsigned)n + 4;
		if (q.k > UNIT_QUERY_MAX_K)
			q.k = UNIT_QUERY_MAX_K;
		q.within_m = app->policy->search_radius_m;
		q.type_mask = 1u << need->type;
		q.status_mask = 1u << UNIT_AVAILABLE;
		q.min_pos_at = (api_now(app) * 1000) - app->policy->max_position_age_s * 1000;
		q.scope = s->scope.all ? NULL : &s->scope;
		memset(&why, 0, sizeof why);
		if (unit_index_nearest(app->units, &q, hits, &got, &why))
			got = 0;
		/* One type per need: distance order is ETA order. */
		for (unsigned h = 0; h < got; h++) {
			order[h] = h;
			best_eta[h] = dispatch_policy_eta_s(app->policy, need->type, hits[h].distance_m);
		}
		for (unsigned h = 0; h < got && taken < need->count && n < DISPATCH_MAX_UNITS; h++) {
			const struct unit_hit *x = &hits[order[h]];
			bool dup = false;
			for (size_t j = 0; j < n; j++)
				dup |= ids[j] == x->unit.id;
			if (dup)
				continue;
			ids[n] = x->unit.id;
			snprintf(texts[n], sizeof texts[n], "auto: nearest %s, %.0f m, ETA ~%.0f s",
				 unit_type_name(need->type), x->distance_m, ceil(best_eta[order[h]]));
			n++;
			taken++;
		}
		if (taken < need->count) {
			sg_buf_printf(short_b,
				      "%s{\"type\":\"%s\",\"wanted\":%u,\"found\":%u,\"wrong_status\":%u,"
				      "\"position_too_old\":%u,\"no_position\":%u,\"outside_radius\":%u}",
				      short_b->len ? "," : "", unit_type_name(need->type), need->count,
				      taken, why.wrong_status, why.position_too_old, why.no_position,
				      why.outside_radius);
		}
	}
	return n;
}

/* The store command dispatching n units to case c (as read: its version is checked). */
static void dispatch_prepare(struct app *app, const char *actor, const struct case_row *c,
			     const int64_t *ids, const char *const *reasons, size_t n,
			     struct store_dispatch *out, struct store_dispatch_create *dc)
{
	memset(dc, 0, sizeof *dc);
	dc->case_id = c->id;
	dc->expected_case_version = c->version;
	dc->unit_ids = ids;
	dc->reasons = reasons;
	dc->n = n;
	dc->step = dispatch_step(app, c);
	dc->at = api_now(app);
	dc->actor = actor;
	dc->out = out;
}

/* After a stored dispatch: the index and the stream follow; c becomes the case after. */
static void dispatch_after(struct app *app, struct case_row *c, const int64_t *ids, size_t n,
			   const struct store_dispatch *out)
{
	for (size_t i = 0; i < n; i++) {
		unit_changed(app, ids[i]);
		publish_dispatch(app, c, &out[i]);
	}
	if (store_case_get(app->store, c->id, c) == 0)
		api_case_updated(app, c);
}

int api_dispatch_auto(struct app *app, struct api_session *s, struct case_row *c, size_t *n)
{
	const struct policy_rule *rule = dispatch_policy_match(app->policy, c->category, c->priority);
	struct store_dispatch out[DISPATCH_MAX_UNITS];
	struct store_dispatch_create dc;
	int64_t ids[DISPATCH_MAX_UNITS];
	char texts[DISPATCH_MAX_UNITS][128];
	const char *reasons[DISPATCH_MAX_UNITS];
	struct sg_buf shortfall;
	int rc;

	*n = 0;
	if (!rule)
		return SG_ENOTFOUND;
	sg_buf_init(&shortfall, 0);
	*n = auto_choose(app, s, c, rule, ids, texts, &shortfall);
	sg_buf_release(&shortfall);
	if (*n == 0)
		return SG_ENOTFOUND;
	for (size_t i = 0; i < *n; i++)
		reasons[i] = texts[i];
	dispatch_prepare(app, s->name, c, ids, reasons, *n, out, &dc);
	if ((rc = store_dispatch_create(app->store, &dc))) {
		*n = 0;
		return rc;
	}
	dispatch_after(app, c, ids, *n, out);
	return SG_OK;
}

/* The store command of one unit step. */
static void unit_step_prepare(struct app *app, const char *actor, int64_t unit_id,
			      enum store_unit_action action, const char *note,
			      struct store_unit *after, struct store_dispatch *d,
			      struct store_unit_step *st)
{
	memset(st, 0, sizeof *st);
	st->unit_id = unit_id;
	st->action = action;
	st->note = note;
	if (action == STORE_UNIT_ARRIVE) {
		/* The case follows its first unit on scene, where its type has that step. */
		st->step.from = "dispatched";
		st->step.to = "on_scene";
	}
	st->at = api_now(app);
	st->actor = actor;
	st->out = after;
	st->dispatch = d;
}

/*
 * After a unit step's commit (rc its code; on SG_ECONFLICT st->out holds the
 * unit as stored): the index, the stream and the case follow. Returns rc.
 */
static int unit_step_after(struct app *app, const struct store_unit_step *st, int rc)
{
	if (rc && rc != SG_ECONFLICT)
		return rc;
	/* On a conflict too: the index learns the state the store holds. */
	unit_index_set_status(app->units, st->out->id, (enum unit_status)st->out->status,
			      st->out->version);
	if (rc)
		return rc;
	api_publish_unit(app, st->out);
	if (st->case_changed) {
		struct case_row c;
		if (store_case_get(app->store, st->dispatch->case_id, &c) == 0) {
			publish_dispatch(app, &c, st->dispatch);
			api_case_updated(app, &c);
		}
	}
	return SG_OK;
}

int api_unit_step(struct app *app, const char *actor, int64_t unit_id, enum store_unit_action action,
		  const char *note, struct store_unit *after, struct store_dispatch *d)
{
	struct store_unit_step st;

	unit_step_prepare(app, actor, unit_id, action, note, after, d, &st);
	return unit_step_after(app, &st, store_unit_apply(app->store, &st));
}

static void case_after(struct app *app, int64_t case_id)
{
	struct case_row c;

	if (store_case_get(app->store, case_id, &c) == 0)
		api_case_updated(app, &c);
}

/* POST /api/v1/cases/{id}/dispatch, answered after the dispatch's commit. */
struct dispatch_wait {
	struct api_commit base; /* first: the deferral's */
	struct store_dispatch_create dc;
	struct case_row c;      /* as read; the case after, once answered */
	int64_t ids[DISPATCH_MAX_UNITS];
	char texts[DISPATCH_MAX_UNITS][128];
	const char *reasons[DISPATCH_MAX_UNITS];
	struct store_dispatch out[DISPATCH_MAX_UNITS];
	size_t n;
	struct sg_buf shortfall;
};

static void dispatch_wait_release(struct api_commit *w)
{
	sg_buf_release(&((struct dispatch_wait *)w)->shortfall);
}

static int dispatch_submit(struct app *app, struct api_commit *w)
{
	return store_dispatch_create_async(app->store, &((struct dispatch_wait *)w)->dc,
					   api_commit_done, w);
}

static int dispatch_answer(struct app *app, struct http_req *req, struct http_resp *resp)
{
	struct dispatch_wait *w = req->deferred;
	int64_t busy = w->dc.busy_unit;

	if (w->base.rc == SG_ECONFLICT) {
		if (busy) {
			struct unit_rec r;
			unit_index_get(app->units, busy, &r);
			sg_buf_printf(&resp->body,
				      "{\"error\":{\"code\":\"conflict\",\"message\":\"unit %lld is %s, "
				      "not available\",\"field\":\"unit_ids\",\"unit_id\":%lld}}",
				      (long long)busy, unit_status_name((enum unit_status)r.status),
				      (long long)busy);
		} else {
			sg_buf_puts(&resp->body, "{\"error\":{\"code\":\"conflict\",\"message\":\"the case "
						 "changed meanwhile: read it again\",\"field\":\"version\"}}");
		}
		http_json(resp, 409);
		return SG_OK;
	}
	if (w->base.rc)
		return w->base.rc;
	dispatch_after(app, &w->c, w->ids, w->n, w->out);
	sg_buf_printf(&resp->body, "{\"case_id\":%lld,\"case_status\":\"%s\",\"case_version\":%lld,"
				   "\"dispatches\":[",
		      (long long)w->c.id, w->c.status, (long long)w->c.version);
	for (size_t i = 0; i < w->n; i++) {
		if (i)
			sg_buf_putc(&resp->body, ',');
		write_dispatch(&resp->body, &w->out[i]);
	}
	sg_buf_printf(&resp->body, "],\"unit_shortfall\":%s%s%s}", w->shortfall.len ? "[" : "null",
		      w->shortfall.len ? w->shortfall.data : "", w->shortfall.len ? "]" : "");
	http_json(resp, 201);
	return SG_OK;
}

int api_case_dispatch(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "unit_ids", "auto", "version", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct dispatch_wait *w;
	struct case_row *c;
	json_t *body, *v, *autov;
	size_t n = 0;
	int type;

	if (req->deferred)
		return dispatch_answer(app, req, resp);
	if (!(w = calloc(1, sizeof *w)))
		return SG_ENOMEM;
	sg_buf_init(&w->shortfall, 0);
	w->base.release = dispatch_wait_release;
	c = &w->c;
	if (visible_case(app, req, resp, c))
		goto refused;
	if (s->role == AUTH_ROLE_ANALYST) {
		http_error(resp, 403, "forbidden", "this role may not dispatch", NULL);
		goto refused;
	}
	if (api_body_object(req, resp, &w->base.body) || api_only_fields(w->base.body, allowed, resp))
		goto refused;
	body = w->base.body;
	v = json_object_get(body, "version");
	if (v && (!json_is_integer(v) || json_integer_value(v) != c->version)) {
		version_conflict(resp, c->version);
		goto refused;
	}
	type = casefsm_type(app->fsm, c->type);
	if (type < 0 || casefsm_terminal(app->fsm, type, c->status) ||
	    strcmp(c->status, "resolved") == 0) {
		http_error(resp, 409, "invalid_transition", "the case is no longer open for dispatch",
			   "id");
		goto refused;
	}
	autov = json_object_get(body, "auto");
	v = json_object_get(body, "unit_ids");
	if ((autov != NULL) == (v != NULL) || (autov && !json_is_true(autov))) {
		http_error(resp, 400, "invalid", "give either unit_ids or \"auto\":true", "unit_ids");
		goto refused;
	}
	if (v) {
		size_t i;
		json_t *x;
		if (!json_is_array(v) || json_array_size(v) == 0 ||
		    json_array_size(v) > DISPATCH_MAX_UNITS) {
			http_error(resp, 400, "invalid", "unit_ids must be an array of 1 to 32 unit ids",
				   "unit_ids");
			goto refused;
		}
		json_array_foreach(v, i, x) {
			struct unit_rec r;
			if (!json_is_integer(x) || json_integer_value(x) <= 0 ||
			    unit_index_get(app->units, json_integer_value(x), &r) || !unit_visible(s, &r)) {
				http_error(resp, 400, "invalid", "every unit must be a unit you see",
					   "unit_ids");
				goto refused;
			}
			for (size_t j = 0; j < n; j++) {
				if (w->ids[j] == r.id) {
					http_error(resp, 400, "invalid", "a unit is named twice", "unit_ids");
					goto refused;
				}
			}
			w->reasons[n] = "chosen by hand";
			w->ids[n++] = r.id;
		}
	} else {
		const struct policy_rule *rule = dispatch_policy_match(app->policy, c->category, c->priority);
		if (!rule) {
			http_error(resp, 409, "no_policy", "no dispatch rule matches this case", "auto");
			goto refused;
		}
		n = auto_choose(app, s, c, rule, w->ids, w->texts, &w->shortfall);
		for (size_t i = 0; i < n; i++)
			w->reasons[i] = w->texts[i];
		if (n == 0) {
			sg_buf_printf(&resp->body,
				      "{\"error\":{\"code\":\"unit_shortfall\",\"message\":\"no unit the "
				      "policy asks for is available\",\"field\":\"auto\",\"shortfall\":[%s]}}",
				      w->shortfall.data ? w->shortfall.data : "");
			http_json(resp, 409);
			goto refused;
		}
	}
	w->n = n;
	dispatch_prepare(app, s->name, c, w->ids, w->reasons, n, w->out, &w->dc);
	return api_commit_start(app, req, &w->base, dispatch_submit);
refused:
	api_commit_free(w);
	return SG_OK;
}

int api_case_dispatches(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct store_dispatch *v = NULL;
	struct case_row c;
	size_t n = 0;
	int rc;

	if (visible_case(app, req, resp, &c))
		return SG_OK;
	if (!(v = malloc(256 * sizeof *v)))
		return SG_ENOMEM;
	if ((rc = store_case_dispatches(app->store, c.id, v, 256, &n)))
		goto out;
	sg_buf_printf(&resp->body, "{\"case_id\":%lld,\"dispatches\":[", (long long)c.id);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sg_buf_putc(&resp->body, ',');
		write_dispatch(&resp->body, &v[i]);
	}
	sg_buf_puts(&resp->body, "]}");
	http_json(resp, 200);
out:
	free(v);
	return rc;
}

/* POST /api/v1/units/{id}/status, answered after the step's commit. */
struct step_wait {
	struct api_commit base; /* first: the deferral's */
	struct store_unit_step st;
	enum store_unit_action action;
	struct store_unit after;
	struct store_dispatch d;
};

static int step_submit(struct app *app, struct api_commit *w)
{
	return store_unit_apply_async(app->store, &((struct step_wait *)w)->st, api_commit_done, w);
}

static int step_answer(struct app *app, struct http_req *req, struct http_resp *resp)
{
	struct step_wait *w = req->deferred;
	int rc = w->base.rc;

	/* The state as committed, which the 409 names (the command saw it before others' steps). */
	if (rc == SG_ECONFLICT && store_unit_get(app->store, w->st.unit_id, &w->after))
		return SG_EINTERNAL;
	rc = unit_step_after(app, &w->st, rc);
	if (rc == SG_ECONFLICT) {
		sg_buf_printf(&resp->body,
			      "{\"error\":{\"code\":\"invalid_transition\",\"message\":\"a unit that is "
			      "%s cannot %s\",\"field\":\"action\",\"status\":\"%s\"}}",
			      force_unit_status_name(w->after.status), store_unit_action_name(w->action),
			      force_unit_status_name(w->after.status));
		http_json(resp, 409);
		return SG_OK;
	}
	if (rc)
		return rc;
	sg_buf_puts(&resp->body, "{\"unit\":");
	api_write_unit(app, &resp->body, &w->after);
	sg_buf_puts(&resp->body, ",\"dispatch\":");
	if (w->d.id)
		write_dispatch(&resp->body, &w->d);
	else
		sg_buf_puts(&resp->body, "null");
	sg_buf_putc(&resp->body, '}');
	http_json(resp, 200);
	return SG_OK;
}

int api_unit_status(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "action", "note", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct step_wait *w;
	struct unit_rec r;
	const char *note;
	json_t *v;
	int64_t id;

	if (req->deferred)
		return step_answer(app, req, resp);
	if (api_parse_id(req->params[0], &id))
		return http_error(resp, 400, "invalid", "id must be a positive integer", "id");
	if (unit_index_get(app->units, id, &r) || !unit_visible(s, &r))
		return http_error(resp, 404, "not_found", "no such unit", "id");
	if (s->role == AUTH_ROLE_ANALYST)
		return http_error(resp, 403, "forbidden", "this role may not change units", NULL);
	if (!(w = calloc(1, sizeof *w)))
		return SG_ENOMEM;
	if (api_body_object(req, resp, &w->base.body) || api_only_fields(w->base.body, allowed, resp))
		goto refused;
	v = json_object_get(w->base.body, "action");
	if (!json_is_string(v) || store_unit_action_parse(json_string_value(v), &w->action)) {
		http_error(resp, 400, "invalid",
			   "action must be acknowledge, arrive, clear, on_duty, off_duty, busy or free",
			   "action");
		goto refused;
	}
	if (read_note(w->base.body, resp, &note))
		goto refused;
	unit_step_prepare(app, s->name, id, w->action, note, &w->after, &w->d, &w->st);
	return api_commit_start(app, req, &w->base, step_submit);
refused:
	api_commit_free(w);
	return SG_OK;
}

/*
 * The caller's command level as an index into the escalation chain: the
 * highest level among their scope areas (the whole city for an unrestricted
 * scope). -1 when none of their areas is on the chain.
 */
static int command_level(struct app *app, const struct api_session *s)
{
	int best = -1;

	if (s->scope.all)
		return casefsm_escalation_levels(app->fsm) - 1;
	for (size_t i = 0; i < s->nscope; i++) {
		uint32_t idx = catalog_find(app->catalog, s->scope_ids[i]);
		int lv;
		if (idx == CATALOG_NONE)
			continue;
		lv = casefsm_start_level(app->fsm, app->catalog->areas[idx].kind);
		if (lv >= 0 && casefsm_escalation_kind(app->fsm, lv) == app->catalog->areas[idx].kind &&
		    lv > best)
			best = lv;
	}
	return best;
}

/* A higher commander: a commander or admin whose level is above the station's. */
static bool higher_commander(struct app *app, const struct api_session *s, int *level)
{
	*level = command_level(app, s);
	return (s->role == AUTH_ROLE_COMMANDER || s->role == AUTH_ROLE_ADMIN) &&
	       *level > casefsm_start_level(app->fsm, AREA_STATION);
}

/* Takeover, answered after its commit. */
struct takeover_wait {
	struct api_commit base; /* first: the deferral's */
	struct store_case_change ch;
	struct case_row after;
	char note[NOTE_MAX + 160];
};

static int takeover_submit(struct app *app, struct api_commit *w)
{
	return store_case_change_async(app->store, &((struct takeover_wait *)w)->ch, api_commit_done,
				       w);
}

static int takeover_answer(struct app *app, struct http_req *req, struct http_resp *resp)
{
	struct takeover_wait *w = req->deferred;
	struct api_session *s = req->session;

	if (w->base.rc == SG_ECONFLICT) {
		version_conflict(resp, w->after.version);
		return SG_OK;
	}
	if (w->base.rc)
		return w->base.rc;
	api_case_updated(app, &w->after);
	sg_buf_printf(&resp->body,
		      "{\"case_id\":%lld,\"version\":%lld,\"command_level\":\"%s\",\"taken_over_by\":",
		      (long long)w->after.id, (long long)w->after.version,
		      area_kind_name(casefsm_escalation_kind(app->fsm, w->after.escalation_level)));
	sg_buf_json_str(&resp->body, s->name);
	sg_buf_putc(&resp->body, '}');
	http_json(resp, 200);
	return SG_OK;
}

/*
 * Three-level command: a commander above the station takes a case over; the
 * case's command level becomes theirs (its escalation level), with a line
 * on its history. A versioned change like any other.
 */
int api_case_takeover(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "version", "note", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct takeover_wait *w;
	struct case_row c;
	const char *note;
	json_t *v;
	int level;

	if (req->deferred)
		return takeover_answer(app, req, resp);
	if (visible_case(app, req, resp, &c))
		return SG_OK;
	if (!higher_commander(app, s, &level))
		return http_error(resp, 403, "forbidden",
				  "only a commander above the station takes a case over", NULL);
	if (!(w = calloc(1, sizeof *w)))
		return SG_ENOMEM;
	if (api_body_object(req, resp, &w->base.body) || api_only_fields(w->base.body, allowed, resp))
		goto refused;
	v = json_object_get(w->base.body, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		http_error(resp, 400, "invalid", "version must be the case version you read", "version");
		goto refused;
	}
	if (json_integer_value(v) != c.version) {
		version_conflict(resp, c.version);
		goto refused;
	}
	if (c.escalation_level >= level) {
		http_error(resp, 409, "invalid_transition",
			   "the case is already commanded at your level or above", "id");
		goto refused;
	}
	if (read_note(w->base.body, resp, &note))
		goto refused;
	snprintf(w->note, sizeof w->note, "taken over by %s at %s level%s%s", s->name,
		 area_kind_name(casefsm_escalation_kind(app->fsm, level)), note ? ": " : "",
		 note ? note : "");
	w->ch.id = c.id;
	w->ch.expected_version = c.version;
	w->ch.set_police = -1;
	w->ch.set_escalation_level = level;
	w->ch.at = api_now(app);
	w->ch.actor = s->name;
	w->ch.note = w->note;
	w->ch.out = &w->after;
	return api_commit_start(app, req, &w->base, takeover_submit);
refused:
	api_commit_free(w);
	return SG_OK;
}

/* Reassignment, answered after its commit. */
struct reassign_wait {
	struct api_commit base; /* first: the deferral's */
	struct store_dispatch_create dc;
	struct store_dispatch d, out; /* the dispatch cancelled, the new one */
	struct case_row c;
	int64_t unit_id;
	char reason[NOTE_MAX + 64];
	const char *reasons[1];
};

static int reassign_submit(struct app *app, struct api_commit *w)
{
	return store_dispatch_create_async(app->store, &((struct reassign_wait *)w)->dc,
					   api_commit_done, w);
}

static int reassign_answer(struct app *app, struct http_req *req, struct http_resp *resp)
{
	struct reassign_wait *w = req->deferred;

	if (w->base.rc == SG_ENOTFOUND)
		return http_error(resp, 409, "invalid_transition", "the dispatch is no longer open", "id");
	if (w->base.rc == SG_ECONFLICT) {
		sg_buf_printf(&resp->body,
			      "{\"error\":{\"code\":\"conflict\",\"message\":\"unit %lld is not "
			      "available\",\"field\":\"unit_id\",\"unit_id\":%lld}}",
			      (long long)w->unit_id, (long long)w->unit_id);
		http_json(resp, 409);
		return SG_OK;
	}
	if (w->base.rc)
		return w->base.rc;
	unit_changed(app, w->d.unit_id);
	unit_changed(app, w->unit_id);
	store_dispatch_get(app->store, w->d.id, &w->d);
	publish_dispatch(app, &w->c, &w->d);
	publish_dispatch(app, &w->c, &w->out);
	case_after(app, w->c.id);
	sg_buf_puts(&resp->body, "{\"cancelled\":");
	write_dispatch(&resp->body, &w->d);
	sg_buf_puts(&resp->body, ",\"dispatch\":");
	write_dispatch(&resp->body, &w->out);
	sg_buf_putc(&resp->body, '}');
	http_json(resp, 201);
	return SG_OK;
}

/* A higher commander moves an open dispatch to another unit, in one transaction. */
int api_dispatch_reassign(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "unit_id", "note", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct reassign_wait *w;
	struct store_dispatch d;
	struct case_row c;
	struct unit_rec r;
	const char *note;
	json_t *v;
	int64_t id;
	int level;

	if (req->deferred)
		return reassign_answer(app, req, resp);
	if (api_parse_id(req->params[0], &id))
		return http_error(resp, 400, "invalid", "id must be a positive integer", "id");
	if (store_dispatch_get(app->store, id, &d) || store_case_get(app->store, d.case_id, &c) ||
	    !case_visible(app, s, &c))
		return http_error(resp, 404, "not_found", "no such dispatch", "id");
	if (!higher_commander(app, s, &level))
		return http_error(resp, 403, "forbidden",
				  "only a commander above the station reassigns a dispatch", NULL);
	if (!(w = calloc(1, sizeof *w)))
		return SG_ENOMEM;
	if (api_body_object(req, resp, &w->base.body) || api_only_fields(w->base.body, allowed, resp))
		goto refused;
	v = json_object_get(w->base.body, "unit_id");
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    unit_index_get(app->units, json_integer_value(v), &r) || !unit_visible(s, &r)) {
		http_error(resp, 400, "invalid", "unit_id must be a unit you see", "unit_id");
		goto refused;
	}
	if (r.id == d.unit_id) {
		http_error(resp, 409, "invalid_transition", "the dispatch already has this unit",
			   "unit_id");
		goto refused;
	}
	if (read_note(w->base.body, resp, &note))
		goto refused;
	w->d = d;
	w->c = c;
	w->unit_id = r.id;
	snprintf(w->reason, sizeof w->reason, "reassigned by %s%s%s", s->name, note ? ": " : "",
		 note ? note : "");
	w->reasons[0] = w->reason;
	w->dc.case_id = c.id;
	w->dc.unit_ids = &w->unit_id;
	w->dc.reasons = w->reasons;
	w->dc.n = 1;
	w->dc.cancel_id = d.id;
	w->dc.at = api_now(app);
	w->dc.actor = s->name;
	w->dc.out = &w->out;
	return api_commit_start(app, req, &w->base, reassign_submit);
refused:
	api_commit_free(w);
	return SG_OK;
}

/* ---- the timer's duties ---------------------------------------------------------- */

static int64_t last_purge;

void api_dispatch_tick(void *appv, int64_t now)
{
	struct app *app = appv;
	int64_t ids[UNANSWERED_BATCH];
	size_t n = 0;
	int top = casefsm_escalation_levels(app->fsm) - 1;

	if (store_dispatches_unanswered(app->store, now - app->policy->ack_timeout_s, ids,
					UNANSWERED_BATCH, &n) == 0) {
		for (size_t i = 0; i < n; i++) {
			struct store_dispatch d;
			struct case_row c;
			char note[160];
			int level;
			if (store_dispatch_get(app->store, ids[i], &d) ||
			    store_case_get(app->store, d.case_id, &c))
				continue;
			level = c.escalation_level < top ? c.escalation_level + 1 : top;
			snprintf(note, sizeof note,
				 "unit %lld did not acknowledge within %lld s: escalated to %s",
				 (long long)d.unit_id, (long long)app->policy->ack_timeout_s,
				 area_kind_name(casefsm_escalation_kind(app->fsm, level)));
			if (store_dispatch_escalate(app->store, d.id, level, now, note, NULL))
				continue; /* answered meanwhile */
			SG_LOG(SG_LOG_INFO, "msg=\"dispatch escalated\" dispatch=%lld case=%lld",
			       (long long)d.id, (long long)c.id);
			if (store_dispatch_get(app->store, d.id, &d) == 0 &&
			    store_case_get(app->store, c.id, &c) == 0) {
				publish_dispatch(app, &c, &d);
				api_case_escalated(app, &c);
			}
		}
	}
	/* Tracks past their retention go in slices, once a minute (one timer thread: no race). */
	if (now - last_purge >= PURGE_EVERY_S) {
		size_t deleted = 0;
		last_purge = now;
		if (store_positions_purge(app->store, (now - app->policy->track_retention_s) * 1000,
					  PURGE_SLICE, &deleted) == 0 &&
		    deleted)
			SG_LOG(SG_LOG_INFO, "msg=\"tracks purged\" rows=%zu", deleted);
	}
}

/* ---- response-time statistics ------------------------------------------------------ */

struct response_ctx {
	struct app *app;
	const struct api_session *s;
	struct sg_buf *b;
	size_t n;
	struct store_response_row total;
};

static void response_row(void *ctxv, const struct store_response_row *r)
{
	struct response_ctx *c = ctxv;
	uint32_t idx = r->area_id ? catalog_find(c->app->catalog, r->area_id) : CATALOG_NONE;

	if (!c->s->scope.all && (idx == CATALOG_NONE || !catalog_visible(&c->s->scope, idx)))
		return;
	c->total.cases += r->cases;
	c->total.dispatch_s += r->dispatch_s;
	c->total.arrived += r->arrived;
	c->total.arrive_s += r->arrive_s;
	c->total.within_target += r->within_target;
	sg_buf_printf(c->b, "%s{\"area\":", c->n++ ? "," : "");
	if (idx != CATALOG_NONE)
		api_write_area_ref(c->app, c->b, idx);
	else
		sg_buf_puts(c->b, "null");
	sg_buf_printf(c->b,
		      ",\"cases\":%lld,\"avg_dispatch_s\":%.1f,\"arrived\":%lld,\"avg_arrive_s\":%.1f,"
		      "\"within_target\":%lld,\"share_within_target\":%.4f}",
		      (long long)r->cases, r->cases ? (double)r->dispatch_s / (double)r->cases : 0.0,
		      (long long)r->arrived, r->arrived ? (double)r->arrive_s / (double)r->arrived : 0.0,
		      (long long)r->within_target,
		      r->cases ? (double)r->within_target / (double)r->cases : 0.0);
}

int api_stats_response(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	const char *by = http_query(req, "by"), *district = http_query(req, "district");
	const char *from_s = http_query(req, "from"), *to_s = http_query(req, "to");
	struct response_ctx c;
	int64_t from, to = api_now(app) + 1, in_district = 0;
	bool by_district = false;
	int rc;

	if (by && strcmp(by, "district") != 0 && strcmp(by, "station") != 0)
		return http_error(resp, 400, "invalid", "by must be station or district", "by");
	by_district = by && strcmp(by, "district") == 0;
	if (to_s && api_parse_time(to_s, &to))
		return http_error(resp, 400, "invalid", "to must be an RFC 3339 time", "to");
	from = to - 30 * 86400;
	if (from_s && api_parse_time(from_s, &from))
		return http_error(resp, 400, "invalid", "from must be an RFC 3339 time", "from");
	if (from >= to)
		return http_error(resp, 400, "invalid", "from must be before to", "from");
	if (district) {
		uint32_t idx = catalog_find_code(app->catalog, district);
		int64_t id;
		if (idx == CATALOG_NONE && api_parse_id(district, &id) == 0)
			idx = catalog_find(app->catalog, id);
		if (idx == CATALOG_NONE || app->catalog->areas[idx].kind != AREA_DISTRICT ||
		    !catalog_visible(&s->scope, idx))
			return http_error(resp, 404, "not_found", "no such district", "district");
		in_district = app->catalog->areas[idx].id;
	}
	memset(&c, 0, sizeof c);
	c.app = app;
	c.s = s;
	c.b = &resp->body;
	sg_buf_printf(&resp->body, "{\"by\":\"%s\",\"targets_s\":{\"1\":%lld,\"2\":%lld,\"3\":%lld,"
				   "\"4\":%lld},\"rows\":[",
		      by_district ? "district" : "station", (long long)app->policy->arrival_target_s[1],
		      (long long)app->policy->arrival_target_s[2],
		      (long long)app->policy->arrival_target_s[3],
		      (long long)app->policy->arrival_target_s[4]);
	if ((rc = store_response_stats(app->store, by_district, in_district, from, to,
				       app->policy->arrival_target_s, response_row, &c)))
		return rc;
	sg_buf_printf(&resp->body,
		      "],\"total\":{\"cases\":%lld,\"avg_dispatch_s\":%.1f,\"arrived\":%lld,"
		      "\"avg_arrive_s\":%.1f,\"within_target\":%lld,\"share_within_target\":%.4f}}",
		      (long long)c.total.cases,
		      c.total.cases ? (double)c.total.dispatch_s / (double)c.total.cases : 0.0,
		      (long long)c.total.arrived,
		      c.total.arrived ? (double)c.total.arrive_s / (double)c.total.arrived : 0.0,
		      (long long)c.total.within_target,
		      c.total.cases ? (double)c.total.within_target / (double)c.total.cases : 0.0);
	http_json(resp, 200);
	return SG_OK;
}
