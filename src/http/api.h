/*
 * api.h — the JSON API under /api/v1 plus /healthz and /metrics: the
 * application state the handlers share, the route table and the pieces the
 * handler files share.
 */
#ifndef SAFEGRID_HTTP_API_H
#define SAFEGRID_HTTP_API_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "auth/auth.h"
#include "dispatch/policy.h"
#include "dispatch/unit_index.h"
#include "http/server.h"
#include "model/catalog.h"
#include "pipeline/feed.h"
#include "rules/casefsm.h"
#include "rules/classify.h"
#include "store/forces.h"
#include "store/store.h"

/*
 * Decimals of coordinates in GeoJSON answers. The demo city's vertices lie on
 * a 1e-10 degree grid, so ten decimals write them exactly: fewer would
 * collapse its thinnest slivers into invalid rings.
 */
#define API_GEOJSON_DIGITS 10

#define API_RETIRED_MAX 256 /* rule replacements kept alive until shutdown */

#define API_SESSION_BUCKETS 1024
#define API_SESSION_CACHE_MAX 20000

/* A logged-in caller, cached by token hash; shared by its requests (refcounted). */
struct api_session {
	unsigned char hash[AUTH_TOKEN_HASH_LEN];
	int64_t user_id;
	char name[STORE_NAME_MAX];
	enum auth_role role;
	int64_t expires_at;
	struct catalog_scope scope;
	int64_t *scope_ids;
	size_t nscope;
	atomic_int refs;
	struct api_session *next;
};

struct app {
	struct store *store;
	struct catalog *catalog; /* built at start; only names change afterwards */
	struct http_server *server;
	/*
	 * Categories, keywords, routing. An admin may replace it while the server
	 * runs (PUT /api/v1/admin/classify): readers load the pointer atomically
	 * and a replaced configuration is kept (retired) until shutdown, so no
	 * request ever sees it freed. The current one is owned by the app.
	 */
	struct classify_config *_Atomic classify;
	struct classify_config *retired[API_RETIRED_MAX];
	size_t nretired;
	pthread_mutex_t rules_lock;
	struct casefsm *fsm;              /* borrowed: case types and their states */
	struct feed *feed;                /* borrowed: the live stream; may be NULL */
	double join_distance_m;           /* reports this close ... */
	int64_t join_window_s;            /* ... and this recent join an open case */
	int64_t token_ttl_s;
	/*
	 * The server's clock is the system clock plus this offset, which only a
	 * server started with --test-clock lets an admin move (POST
	 * /api/v1/admin/clock), so that tests can pass deadlines.
	 */
	_Atomic int64_t clock_offset_s;
	bool test_clock;
	struct unit_index *units;                /* borrowed: latest positions and status */
	const struct dispatch_policy *policy;    /* borrowed: ETA, timeouts, auto dispatch */
	pthread_mutex_t sessions_lock;
	struct api_session *sessions[API_SESSION_BUCKETS];
	size_t nsessions;
};

/* Initialises app around an open store and a built catalog (both borrowed). */
int api_app_init(struct app *app, struct store *store, struct catalog *catalog);
/* Drops the session cache. */
void api_app_release(struct app *app);

/* The server's current time, Unix seconds (see clock_offset_s). */
int64_t api_now(struct app *app);
/* escalator_config.now / .escalated for the app (ctx is the struct app). */
int64_t api_clock(void *app);
void api_case_escalated(void *app, const struct case_row *c);
/* Publishes case.updated for a case changed outside api_cases.c (dispatch steps). */
void api_case_updated(struct app *app, const struct case_row *c);
/*
 * Sets f's areas to where the session's visible cases lie (in area, a
 * visible catalog index, or CATALOG_NONE for the whole scope): the scope's
 * top areas, each visible area no top area contains (a governance grid fused
 * to a visible police grid), and the strays when the scope has areas below
 * its top ones. Every visible case is listed; a stray may not be visible, so
 * the caller still checks each case. *areas (caller frees) backs f->areas.
 */
int api_case_where(struct app *app, const struct api_session *s, uint32_t area,
		   struct store_case_filter *f, struct store_case_area **areas);

/* The route table, for http_server_config. */
extern const struct http_route api_routes[];
extern const size_t api_nroutes;

/* The server hooks: Bearer-token authentication and session release. */
int api_authenticate(void *app, struct http_req *req, struct http_resp *resp);
void api_session_release(void *app, void *session);

/* ---- shared by the handler files ---- */

/*
 * Parses the body as a JSON object. On failure fills resp with a 400 naming
 * "body" (with jansson's line and column) and returns non-zero.
 */
int api_body_object(struct http_req *req, struct http_resp *resp, json_t **out);
/*
 * Refuses members of obj not in the NULL-terminated allowed list (400 naming
 * the member). Returns non-zero after filling resp.
 */
int api_only_fields(const json_t *obj, const char *const *allowed, struct http_resp *resp);
/* Parses a positive 63-bit integer from the whole string. */
int api_parse_id(const char *s, int64_t *out);
/* Writes an area as a JSON object (no geometry). */
void api_write_area(struct app *app, struct sg_buf *b, uint32_t idx);
/* Writes {"id":..,"kind":..,"code":..,"name":..} for an area. */
void api_write_area_ref(struct app *app, struct sg_buf *b, uint32_t idx);
/*
 * Parses an ISO 8601 / RFC 3339 date-time with a time zone (…Z, …+08:00 or
 * …+0800; fractions of a second ignored) into Unix seconds. SG_EINVAL otherwise.
 */
int api_parse_time(const char *s, int64_t *out);
/* Formats a Unix time as RFC 3339 UTC ("2026-11-28T16:02:12Z"). */
void api_format_time(int64_t t, char out[32]);

/* Why a report was refused: becomes the JSON error of its request or NDJSON line. */
struct intake_error {
	int status;        /* 400, 403, 500 */
	const char *code;  /* static */
	char message[192];
	char field[48];    /* "" when no field is at fault */
};

/*
 * Ingest, locate and match only, storing nothing: validates a report object
 * as api_intake_report does and fills the case it would open (classification
 * in *cls). skip names one extra member to accept ("kind" for NDJSON) or
 * NULL. For previews and for the parsers' fuzz targets.
 */
int api_intake_check(struct app *app, struct api_session *s, json_t *obj, const char *skip,
		     struct case_row *out_case, struct classify_result *cls,
		     struct intake_error *e);

/*
 * The whole pipeline for one report given as a JSON object with the members
 * of POST /api/v1/reports (source, text, lon, lat, crs, reported_at, caller,
 * category): validate, locate, classify, route, store (open or join a case),
 * publish. Returns 0 with the case as stored, the new report's id and whether
 * it joined an existing case; or non-zero with *e saying why (nothing stored).
 * For other intake channels (Open311 partners, …) built on the same steps.
 */
int api_intake_report(struct app *app, struct api_session *s, json_t *obj,
		      struct case_row *out_case, int64_t *report_id, bool *joined,
		      struct intake_error *e);

/*
 * The same pipeline in steps, for a channel that answers after the commit
 * without holding its worker (see http_defer): api_intake_prepare validates,
 * locates, classifies and routes (0 and *out, or non-zero with *e saying why;
 * obj must outlive *out); api_intake_submit queues the store (as
 * store_case_open_async); once done has run, api_intake_finish publishes
 * when rc is 0 and gives the case as stored, the report's id and whether it
 * joined, returning rc. api_intake_job_free releases the job (NULL does
 * nothing).
 */
struct api_intake_job;
int api_intake_prepare(struct app *app, struct api_session *s, json_t *obj,
		       struct api_intake_job **out, struct intake_error *e);
int api_intake_submit(struct app *app, struct api_intake_job *job, store_done_fn done,
		      void *arg);
int api_intake_finish(struct app *app, struct api_intake_job *job, int rc,
		      struct case_row *out_case, int64_t *report_id, bool *joined);
void api_intake_job_free(struct api_intake_job *job);

/*
 * A report read and decided, ready for store_case_open: the bulk ingest
 * (api_events.c) stores many in one command. api_intake_read does for one
 * report object what api_intake_prepare does (validate, locate, classify,
 * route), into *in, with the classifier's answer in *cls; skip names one
 * extra member to accept ("kind") or NULL. obj must outlive *in: r.text is
 * borrowed from it.
 */
struct api_intake {
	struct case_row c;
	struct report_row r;
	struct store_case_open op;
};
int api_intake_read(struct app *app, struct api_session *s, json_t *obj, const char *skip,
		    struct api_intake *in, struct classify_result *cls, struct intake_error *e);

/*
 * A write answered after its commit without holding a worker (api_commit.c).
 * A handler's state begins with struct api_commit (allocated with calloc):
 * the first call validates (errors are answered at once: api_commit_free),
 * prepares the store command in the state and calls api_commit_start, which
 * defers the request and calls submit; submit queues the command with the
 * store's *_async function, passing api_commit_done and w. The handler
 * returns what api_commit_start returns. The second call (req->deferred ==
 * w) finds the command's code in w->rc and answers. w always belongs to
 * api_commit_start once called.
 */
struct api_commit {
	struct http_defer *d;
	int rc;                               /* the command's, once committed */
	json_t *body;                         /* the request's body: the command borrows its strings */
	void (*release)(struct api_commit *w); /* frees what else w owns; NULL: nothing */
};
int api_commit_start(struct app *app, struct http_req *req, struct api_commit *w,
		     int (*submit)(struct app *app, struct api_commit *w));
/* The store's done callback for a struct api_commit. */
void api_commit_done(void *w, int rc);
/* Frees a struct api_commit's state (release, body, the state itself). NULL does nothing. */
void api_commit_free(void *w);

/* ---- cases (api_cases.c), for the case actions (api_case_actions.c) ---- */

/* Roles that may change cases (all but the analyst). */
bool api_role_may_write_cases(enum auth_role r);
/*
 * The case named by the {id} segment if the caller sees it: 0 and *c, or
 * non-zero with resp filled (400, 404, 500).
 */
int api_case_visible_get(struct app *app, struct http_req *req, struct http_resp *resp,
			 struct case_row *c);
/* Writes a case as JSON for a viewer with this scope (no personal data). */
void api_write_case(struct app *app, const struct catalog_scope *scope, struct sg_buf *b,
		    const struct case_row *c);
/* Publishes case.created for a case opened outside api_cases.c (a split). */
void api_case_created(struct app *app, const struct case_row *c);
/*
 * Locates a case's place given as lon, lat (and crs) members of obj: fills
 * out's area ids, lon and lat (WGS-84), and *route_code, the code the
 * routing table knows the place by (or NULL). Non-zero with *e on failure.
 */
int api_case_locate(struct app *app, struct api_session *s, const json_t *obj,
		    struct case_row *out, const char **route_code, struct intake_error *e);
/*
 * The case a report opens on its own (split out of a wrongly joined case):
 * its place, category and routing as intake would decide them now, created
 * at `at`. Non-zero with *e (409 when its category is no longer configured).
 */
int api_case_for_report(struct app *app, struct api_session *s, const struct report_row *r,
			int64_t at, struct case_row *out, struct intake_error *e);

/* ---- forces (api_forces.c, api_orgs.c, api_people.c, api_units.c, api_nearest.c), dispatch ---- */

/*
 * One kind of NDJSON event line for POST /api/v1/events besides "report":
 * parse checks one line's object (kind member included) and adds it to the
 * kind's batch (*batch starts NULL; the kind allocates it); submit queues the
 * whole batch as one transaction without waiting (as store_case_open_async:
 * 0 and done(arg, rc) later on the store's syncer thread, or non-zero and no
 * call); after, once that commit is durable, publishes and says how many
 * were stored; release frees the batch. A new kind is one more entry in
 * api_event_kinds.
 */
struct api_event_kind {
	const char *name;
	int (*parse)(struct app *app, struct api_session *s, json_t *obj, void **batch,
		     struct intake_error *e);
	int (*submit)(struct app *app, void *batch, store_done_fn done, void *arg);
	void (*after)(struct app *app, void *batch, size_t *stored);
	void (*release)(void *batch);
};
#define API_EVENT_KINDS_MAX 8
extern const struct api_event_kind api_event_kinds[];
extern const size_t api_nevent_kinds;

/* Roles that read people's phone and ID numbers in full (each such read is audited). */
bool api_role_sees_personal_data(enum auth_role r);
/* Fills app->units from the stored units (at start). */
int api_units_load(struct app *app);
/*
 * The deadline timer's extra pass (escalator_config.tick): escalates
 * dispatches left unacknowledged past the policy's ack timeout and purges
 * position tracks past their retention.
 */
void api_dispatch_tick(void *app, int64_t now);
/*
 * Dispatches units to a case by the policy, as POST .../dispatch {"auto":true}
 * does, as s (borrowed). *n units went; c is updated to the case after.
 * SG_ENOTFOUND when no rule matches or no unit is found, SG_ECONFLICT.
 */
int api_dispatch_auto(struct app *app, struct api_session *s, struct case_row *c, size_t *n);
/*
 * One unit step (acknowledge, arrive, clear, duty...) as POST
 * /api/v1/units/{id}/status does: stored, then the index and the stream
 * follow. *after (and *d, the dispatch touched) as for store_unit_apply.
 */
int api_unit_step(struct app *app, const char *actor, int64_t unit_id, enum store_unit_action action,
		  const char *note, struct store_unit *after, struct store_dispatch *d);
/* Catalog index of the station whose forces an area belongs to, or CATALOG_NONE. */
uint32_t api_station_of(struct app *app, uint32_t idx);
/* Writes a unit as JSON (no members). */
void api_write_unit(struct app *app, struct sg_buf *b, const struct store_unit *u);
/* Publishes a unit's change on the live stream, to those who see its home area. */
void api_publish_unit(struct app *app, const struct store_unit *u);

/* handlers (api_system.c, api_auth.c, api_areas.c, api_fusion.c) */
int api_healthz(void *app, struct http_req *req, struct http_resp *resp);
int api_metrics(void *app, struct http_req *req, struct http_resp *resp);
int api_login(void *app, struct http_req *req, struct http_resp *resp);
int api_logout(void *app, struct http_req *req, struct http_resp *resp);
int api_me(void *app, struct http_req *req, struct http_resp *resp);
int api_areas_list(void *app, struct http_req *req, struct http_resp *resp);
int api_area_get(void *app, struct http_req *req, struct http_resp *resp);
int api_area_children(void *app, struct http_req *req, struct http_resp *resp);
int api_area_patch(void *app, struct http_req *req, struct http_resp *resp);
int api_locate(void *app, struct http_req *req, struct http_resp *resp);
int api_fusion_list(void *app, struct http_req *req, struct http_resp *resp);
int api_fusion_summary(void *app, struct http_req *req, struct http_resp *resp);
int api_reports_create(void *app, struct http_req *req, struct http_resp *resp);
int api_reports_check(void *app, struct http_req *req, struct http_resp *resp);
int api_events_ingest(void *app, struct http_req *req, struct http_resp *resp);
int api_cases_list(void *app, struct http_req *req, struct http_resp *resp);
int api_case_get(void *app, struct http_req *req, struct http_resp *resp);
int api_callers_reports(void *app, struct http_req *req, struct http_resp *resp);
int api_case_transition(void *app, struct http_req *req, struct http_resp *resp);
int api_case_divert(void *app, struct http_req *req, struct http_resp *resp);
int api_case_move(void *app, struct http_req *req, struct http_resp *resp);
int api_case_split(void *app, struct http_req *req, struct http_resp *resp);
int api_categories(void *app, struct http_req *req, struct http_resp *resp);
int api_stream(void *app, struct http_req *req, struct http_resp *resp);
int api_admin_clock(void *app, struct http_req *req, struct http_resp *resp);
int api_open311_services(void *app, struct http_req *req, struct http_resp *resp);
int api_open311_requests_create(void *app, struct http_req *req, struct http_resp *resp);
int api_open311_requests_list(void *app, struct http_req *req, struct http_resp *resp);
int api_open311_request_get(void *app, struct http_req *req, struct http_resp *resp);
int api_stats(void *app, struct http_req *req, struct http_resp *resp);
int api_admin_classify_get(void *app, struct http_req *req, struct http_resp *resp);
int api_admin_classify_put(void *app, struct http_req *req, struct http_resp *resp);
int api_orgs_list(void *app, struct http_req *req, struct http_resp *resp);
int api_org_get(void *app, struct http_req *req, struct http_resp *resp);
int api_orgs_create(void *app, struct http_req *req, struct http_resp *resp);
int api_org_patch(void *app, struct http_req *req, struct http_resp *resp);
int api_people_list(void *app, struct http_req *req, struct http_resp *resp);
int api_person_get(void *app, struct http_req *req, struct http_resp *resp);
int api_people_create(void *app, struct http_req *req, struct http_resp *resp);
int api_units_list(void *app, struct http_req *req, struct http_resp *resp);
int api_unit_get(void *app, struct http_req *req, struct http_resp *resp);
int api_units_create(void *app, struct http_req *req, struct http_resp *resp);
int api_unit_position(void *app, struct http_req *req, struct http_resp *resp);
int api_units_nearest(void *app, struct http_req *req, struct http_resp *resp);
int api_unit_status(void *app, struct http_req *req, struct http_resp *resp);
int api_case_dispatch(void *app, struct http_req *req, struct http_resp *resp);
int api_case_dispatches(void *app, struct http_req *req, struct http_resp *resp);
int api_case_takeover(void *app, struct http_req *req, struct http_resp *resp);
int api_dispatch_reassign(void *app, struct http_req *req, struct http_resp *resp);
int api_stats_response(void *app, struct http_req *req, struct http_resp *resp);

#endif
