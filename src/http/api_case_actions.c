/*
 * api_case_actions.c — what changes a case after intake: transitions of its
 * state machine, diversion (一键分流), moving it to where it really is, and
 * splitting a wrongly joined report out of it.
 *
 * Each action is a versioned store command (409 with the current version
 * when someone changed the case first). Validation answers at once; the
 * command is then queued and the answer waits for its commit with the
 * connection suspended (api_commit_start), so an HTTP worker never sleeps on
 * an fsync and one worker carries many connections' actions into the same
 * group commit.
 */
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

#define NOTE_MAX 1000

/* Reads {"version": N, "note": "..."} members shared by transitions and diversion. */
static int version_and_note(json_t *body, struct http_resp *resp, int64_t *version,
			    const char **note)
{
	json_t *v = json_object_get(body, "version");

	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		http_error(resp, 400, "invalid", "version must be the case version you read", "version");
		return 1;
	}
	*version = json_integer_value(v);
	v = json_object_get(body, "note");
	*note = NULL;
	if (v && (!json_is_string(v) || json_string_length(v) > NOTE_MAX)) {
		http_error(resp, 400, "invalid", "note must be a string of at most 1000 bytes", "note");
		return 1;
	}
	if (v)
		*note = json_string_value(v);
	return 0;
}

static void conflict(struct http_resp *resp, const struct case_row *cur)
{
	sg_buf_reset(&resp->body);
	sg_buf_printf(&resp->body,
		      "{\"error\":{\"code\":\"conflict\",\"message\":\"the case changed since you "
		      "read it (now version %lld)\",\"field\":\"version\",\"current_version\":%lld}}",
		      (long long)cur->version, (long long)cur->version);
	http_json(resp, 409);
}

/*
 * The first steps of every action: the visible case into *c, the role, the
 * body (kept in w) with only the allowed members, its version and note.
 * Non-zero when resp already holds the answer.
 */
static int action_begin(struct app *app, struct http_req *req, struct http_resp *resp,
			const char *const *allowed, const char *forbidden, struct api_commit *w,
			struct case_row *c, int64_t *version, const char **note)
{
	struct api_session *s = req->session;

	if (api_case_visible_get(app, req, resp, c))
		return 1;
	if (!api_role_may_write_cases(s->role)) {
		http_error(resp, 403, "forbidden", forbidden, NULL);
		return 1;
	}
	return api_body_object(req, resp, &w->body) || api_only_fields(w->body, allowed, resp) ||
	       version_and_note(w->body, resp, version, note);
}

/* ---- versioned changes (transition, divert, move) ---- */

struct change_wait {
	struct api_commit base; /* first: the deferral's */
	struct store_case_change ch;
	struct case_row c;     /* as read */
	struct case_row loc;   /* move: the new place */
	struct case_row after; /* the case after the change, or as stored on conflict */
	char note[NOTE_MAX + 200];
};

static int change_submit(struct app *app, struct api_commit *w)
{
	struct change_wait *cw = (struct change_wait *)w;

	return store_case_change_async(app->store, &cw->ch, api_commit_done, w);
}

/* The change's common fields: nothing else changes unless the action sets it. */
static void change_init(struct app *app, struct api_session *s, struct change_wait *w,
			int64_t version)
{
	memset(&w->ch, 0, sizeof w->ch);
	w->ch.id = w->c.id;
	w->ch.expected_version = version;
	w->ch.set_police = -1;
	w->ch.set_escalation_level = -1;
	w->ch.at = api_now(app);
	w->ch.actor = s->name;
	w->ch.out = &w->after;
}

/*
 * The second call: the case as changed (published on the stream), or 409
 * and the current version when someone changed it first.
 */
static int change_answer(struct app *app, struct http_req *req, struct http_resp *resp)
{
	struct change_wait *w = req->deferred;
	struct api_session *s = req->session;

	if (w->base.rc == SG_ECONFLICT) {
		conflict(resp, &w->after);
		return SG_OK;
	}
	if (w->base.rc)
		return w->base.rc;
	api_case_updated(app, &w->after);
	api_write_case(app, &s->scope, &resp->body, &w->after);
	http_json(resp, 200);
	return SG_OK;
}

int api_case_transition(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "to", "note", "version", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct change_wait *w;
	struct case_row *c;
	json_t *to;
	const char *note;
	int64_t version;
	int type;

	if (req->deferred)
		return change_answer(app, req, resp);
	if (!(w = calloc(1, sizeof *w)))
		return SG_ENOMEM;
	c = &w->c;
	if (action_begin(app, req, resp, allowed, "this role may not change cases", &w->base, c,
			 &version, &note))
		goto refused;
	to = json_object_get(w->base.body, "to");
	type = casefsm_type(app->fsm, c->type);
	if (!json_is_string(to) || type < 0 || !casefsm_has_state(app->fsm, type, json_string_value(to))) {
		http_error(resp, 400, "invalid", "to must be a state of this case's type", "to");
		goto refused;
	}
	if (version != c->version) {
		conflict(resp, c);
		goto refused;
	}
	if (!casefsm_allowed(app->fsm, type, c->status, json_string_value(to))) {
		char msg[160];
		snprintf(msg, sizeof msg, "a %s case cannot go from %s to %s", c->type, c->status,
			 json_string_value(to));
		http_error(resp, 409, "invalid_transition", msg, "to");
		goto refused;
	}
	change_init(app, s, w, version);
	w->ch.to_status = json_string_value(to);
	w->ch.note = note;
	return api_commit_start(app, req, &w->base, change_submit);
refused:
	api_commit_free(w);
	return SG_OK;
}

/*
 * 一键分流: hands a case to a department as a referral, or takes it back to
 * the police ("department":"station") as a new incident. The case keeps its
 * id, reports and history.
 */
int api_case_divert(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "department", "note", "version", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct change_wait *w;
	struct case_row *c;
	json_t *dept;
	const char *note, *d;
	int64_t version;
	int type;
	bool to_police;

	if (req->deferred)
		return change_answer(app, req, resp);
	if (!(w = calloc(1, sizeof *w)))
		return SG_ENOMEM;
	c = &w->c;
	if (action_begin(app, req, resp, allowed, "this role may not divert cases", &w->base, c,
			 &version, &note))
		goto refused;
	dept = json_object_get(w->base.body, "department");
	d = json_is_string(dept) ? json_string_value(dept) : "";
	if (!classify_department_name(app->classify, d)) {
		http_error(resp, 400, "invalid", "department is not a configured department",
			   "department");
		goto refused;
	}
	if (strcmp(d, c->department) == 0) {
		http_error(resp, 409, "invalid_transition", "the case is already with that department",
			   "department");
		goto refused;
	}
	if (version != c->version) {
		conflict(resp, c);
		goto refused;
	}
	to_police = strcmp(d, CLASSIFY_STATION) == 0;
	type = casefsm_type(app->fsm, to_police ? "incident" : "referral");
	if (type < 0) {
		api_commit_free(w);
		return SG_EINTERNAL;
	}
	change_init(app, s, w, version);
	w->ch.set_type = to_police ? "incident" : "referral";
	w->ch.set_department = d;
	w->ch.set_police = to_police;
	w->ch.to_status = casefsm_initial(app->fsm, type);
	w->ch.set_escalation_level =
		casefsm_start_level(app->fsm, to_police ? AREA_STATION : AREA_GOV_GRID);
	w->ch.set_deadline = w->ch.at + casefsm_deadline(app->fsm, type, c->priority);
	snprintf(w->note, sizeof w->note, "%s %s%s%s", to_police ? "taken back from" : "diverted to",
		 to_police ? c->department : d, note ? ": " : "", note ? note : "");
	w->ch.note = w->note;
	return api_commit_start(app, req, &w->base, change_submit);
refused:
	api_commit_free(w);
	return SG_OK;
}

/*
 * Moves a case to where it really is: re-locates it and, if that changes its
 * owner (the station of a police case, the department of a referral),
 * re-routes it; both on the history. The statistics follow the case.
 */
int api_case_move(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "lon", "lat", "crs", "version", "note", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct change_wait *w;
	struct case_row *c, *loc;
	struct intake_error e;
	const char *note, *dept = NULL, *route;
	int64_t version;

	if (req->deferred)
		return change_answer(app, req, resp);
	if (!(w = calloc(1, sizeof *w)))
		return SG_ENOMEM;
	c = &w->c;
	loc = &w->loc;
	if (action_begin(app, req, resp, allowed, "this role may not move cases", &w->base, c,
			 &version, &note))
		goto refused;
	if (api_case_locate(app, s, w->base.body, loc, &route, &e)) {
		http_error(resp, e.status, e.code, e.message, e.field);
		goto refused;
	}
	if (version != c->version) {
		conflict(resp, c);
		goto refused;
	}
	/* The department's name lives in the rules, kept alive until shutdown even when replaced. */
	if (!c->police && classify_route(app->classify, c->category, route, &dept))
		dept = NULL;
	if (dept && strcmp(dept, c->department) == 0)
		dept = NULL;
	if (c->police && loc->area_ids[AREA_STATION] != c->area_ids[AREA_STATION])
		snprintf(w->note, sizeof w->note, "moved; re-routed from station %lld to station %lld%s%s",
			 (long long)c->area_ids[AREA_STATION], (long long)loc->area_ids[AREA_STATION],
			 note ? ": " : "", note ? note : "");
	else if (dept)
		snprintf(w->note, sizeof w->note, "moved; re-routed from %s to %s%s%s", c->department,
			 dept, note ? ": " : "", note ? note : "");
	else
		snprintf(w->note, sizeof w->note, "moved%s%s", note ? ": " : "", note ? note : "");
	change_init(app, s, w, version);
	w->ch.set_department = dept;
	w->ch.set_location = loc;
	w->ch.note = w->note;
	return api_commit_start(app, req, &w->base, change_submit);
refused:
	api_commit_free(w);
	return SG_OK;
}

/* ---- split ---- */

struct split_wait {
	struct api_commit base; /* first: the deferral's */
	struct store_case_split sp;
	struct case_row c;      /* as read */
	struct case_row fresh;  /* the case the report opens */
	struct case_row after;  /* the old case after, or as stored on conflict */
};

static int split_submit(struct app *app, struct api_commit *w)
{
	struct split_wait *sw = (struct split_wait *)w;

	return store_case_split_async(app->store, &sw->sp, api_commit_done, w);
}

static int split_answer(struct app *app, struct http_req *req, struct http_resp *resp)
{
	struct split_wait *w = req->deferred;
	struct api_session *s = req->session;

	if (w->base.rc == SG_ECONFLICT) {
		conflict(resp, &w->after);
		return SG_OK;
	}
	if (w->base.rc)
		return w->base.rc;
	api_case_updated(app, &w->after);
	api_case_created(app, &w->fresh);
	sg_buf_puts(&resp->body, "{\"case\":");
	api_write_case(app, &s->scope, &resp->body, &w->after);
	sg_buf_puts(&resp->body, ",\"new_case\":");
	api_write_case(app, &s->scope, &resp->body, &w->fresh);
	sg_buf_putc(&resp->body, '}');
	http_json(resp, 201);
	return SG_OK;
}

/* Splits a wrongly joined report out of a case into a case of its own. */
int api_case_split(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "report_id", "version", "note", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct split_wait *w;
	struct report_row *reports = NULL;
	struct case_row *c;
	struct intake_error e;
	size_t nrep = 0;
	json_t *v;
	const struct report_row *r = NULL;
	const char *note;
	int64_t version;
	int rc = SG_OK;

	if (req->deferred)
		return split_answer(app, req, resp);
	if (!(w = calloc(1, sizeof *w)))
		return SG_ENOMEM;
	c = &w->c;
	if (action_begin(app, req, resp, allowed, "this role may not split cases", &w->base, c,
			 &version, &note))
		goto refused;
	v = json_object_get(w->base.body, "report_id");
	if ((rc = store_case_reports(app->store, c->id, &reports, &nrep)))
		goto refused;
	for (size_t i = 0; json_is_integer(v) && i < nrep; i++) {
		if (reports[i].id == json_integer_value(v))
			r = &reports[i];
	}
	if (!r) {
		http_error(resp, 400, "invalid", "report_id must be one of this case's reports",
			   "report_id");
		goto refused;
	}
	if (nrep < 2) {
		http_error(resp, 409, "invalid_transition", "a case's only report cannot be split out",
			   "report_id");
		goto refused;
	}
	if (version != c->version) {
		conflict(resp, c);
		goto refused;
	}
	if (api_case_for_report(app, s, r, api_now(app), &w->fresh, &e)) {
		if (e.status >= 500)
			rc = SG_EINTERNAL;
		else
			http_error(resp, e.status, e.code, e.message, e.field);
		goto refused;
	}
	memset(&w->sp, 0, sizeof w->sp);
	w->sp.case_id = c->id;
	w->sp.expected_version = version;
	w->sp.report_id = r->id;
	w->sp.new_case = &w->fresh;
	w->sp.at = w->fresh.created_at;
	w->sp.actor = s->name;
	w->sp.out_old = &w->after;
	store_reports_free(reports, nrep);
	return api_commit_start(app, req, &w->base, split_submit);
refused:
	store_reports_free(reports, nrep);
	api_commit_free(w);
	return rc;
}
