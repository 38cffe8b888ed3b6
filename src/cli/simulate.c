/*
 * simulate.c — `serve --demo --simulate RATE`: a living city for the
 * console. A thread inside the server, acting through the same paths as
 * the API (intake, auto dispatch, unit steps, positions):
 *
 * - reports arrive at RATE a minute on average, shaped by the hour of the
 *   day (quiet before dawn, peaks in the evening), at random points of
 *   random governance grids, with texts of everyday 110/12345 calls;
 * - a new police case is dispatched by the policy;
 * - dispatched units acknowledge after a few seconds, drive to the case,
 *   arrive, stay a few minutes, clear, and the case is resolved;
 * - available units patrol between random points of their home area;
 *   every moving unit reports its position every POSITION_EVERY_S seconds.
 *
 * What it is not: a traffic model (units move in straight lines at their
 * type's speed, slower on patrol).
 */
#include "cli/cli.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "http/api.h"

#define TICK_MS 1000
#define POSITION_EVERY_S 10
#define ARRIVE_M 30.0
#define PATROL_SPEED_SHARE 0.3

enum phase { IDLE, PATROL, TO_ACK, EN_ROUTE, ON_SCENE };

struct sim_unit {
	int64_t id;
	enum unit_type type;
	uint32_t home;           /* catalog index */
	double lon, lat, tlon, tlat;
	enum phase phase;
	int64_t case_id;
	int64_t until;           /* seconds (server clock) the current phase lasts */
	int64_t next_report;     /* when its next position is due */
};

struct cli_simulator {
	struct app *app;
	struct api_session session;
	double rate_per_min;
	uint64_t rng;
	struct sim_unit *u;
	size_t n;
	uint32_t *grids;        /* catalog indexes of governance grids */
	size_t ngrids;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	uint64_t reports, dispatched, positions;
};

static const char *const texts[] = {
	"小区门口有人打架", "我的电动车被偷了", "楼上装修噪音扰民", "路口发生交通事故，两车相撞",
	"邻居吵架纠纷", "小区里有可疑人员徘徊", "路灯坏了不亮", "垃圾很久没人清理", "老人走失了",
	"有人聚众赌博", "车辆乱停堵塞消防通道", "接到诈骗电话被骗了钱", "家里被盗了",
	"有人醉酒闹事", "下水道堵了污水外溢",
};

/* Hour of day (China Standard Time) → share of the daily mean. */
static const double rhythm[24] = {
	0.45, 0.35, 0.25, 0.2, 0.2, 0.3, 0.55, 0.85, 1.1, 1.2, 1.2, 1.15,
	1.1,  1.1,  1.15, 1.2, 1.25, 1.3, 1.35, 1.4, 1.45, 1.35, 1.05, 0.7,
};

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double unit_rand(uint64_t *s)
{
	return (double)(rnd(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* A random point of an area (its polygon; the middle of its box if none is found). */
static struct geo_point point_in(struct cli_simulator *sim, uint32_t idx)
{
	const struct catalog_area *a = &sim->app->catalog->areas[idx];
	struct geo_point p;

	for (int i = 0; i < 30; i++) {
		p.lon = a->bbox.min_lon + unit_rand(&sim->rng) * (a->bbox.max_lon - a->bbox.min_lon);
		p.lat = a->bbox.min_lat + unit_rand(&sim->rng) * (a->bbox.max_lat - a->bbox.min_lat);
		if (geo_mpoly_contains(&a->geom, p))
			return p;
	}
	p.lon = (a->bbox.min_lon + a->bbox.max_lon) / 2;
	p.lat = (a->bbox.min_lat + a->bbox.max_lat) / 2;
	return p;
}

static int load_unit(void *ctx, const struct store_unit *u)
{
	struct cli_simulator *sim = ctx;
	struct sim_unit *x;

	if (sim->n % 1024 == 0) {
		struct sim_unit *nv = realloc(sim->u, (sim->n + 1024) * sizeof *nv);
		if (!nv)
			return 1;
		sim->u = nv;
	}
	x = &sim->u[sim->n];
	memset(x, 0, sizeof *x);
	x->id = u->id;
	x->type = u->type;
	x->home = catalog_find(sim->app->catalog, u->area_id);
	if (x->home == CATALOG_NONE)
		return 0;
	x->lon = u->lon;
	x->lat = u->lat;
	if (!u->has_pos) {
		struct geo_point p = point_in(sim, x->home);
		x->lon = p.lon;
		x->lat = p.lat;
	}
	x->phase = u->status == UNIT_AVAILABLE ? PATROL : IDLE;
	x->tlon = x->lon;
	x->tlat = x->lat;
	x->next_report = (int64_t)(rnd(&sim->rng) % POSITION_EVERY_S);
	sim->n++;
	return 0;
}

/* Moves a unit dt seconds toward its target; true once it is there. */
static bool move(struct cli_simulator *sim, struct sim_unit *x, double dt, double share)
{
	double speed = sim->app->policy->speed_mps[x->type] / sim->app->policy->detour_factor * share;
	struct geo_point a = { x->lon, x->lat }, b = { x->tlon, x->tlat };
	double d = geo_distance_m(a, b), f;

	if (d <= speed * dt || d < 1) {
		x->lon = x->tlon;
		x->lat = x->tlat;
		return true;
	}
	f = speed * dt / d;
	x->lon += (x->tlon - x->lon) * f;
	x->lat += (x->tlat - x->lat) * f;
	return false;
}

static struct sim_unit *find(struct cli_simulator *sim, int64_t id)
{
	size_t lo = 0, hi = sim->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (sim->u[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < sim->n && sim->u[lo].id == id ? &sim->u[lo] : NULL;
}

/* A report at a random grid; a new police case gets its units by the policy. */
static void new_report(struct cli_simulator *sim, int64_t now)
{
	struct app *app = sim->app;
	uint32_t grid = sim->grids[rnd(&sim->rng) % sim->ngrids];
	struct geo_point p = point_in(sim, grid);
	struct intake_error e;
	struct case_row c;
	int64_t report_id;
	bool joined;
	size_t n = 0;
	json_t *obj = json_pack("{s:s, s:s, s:f, s:f}", "source", rnd(&sim->rng) % 3 ? "110" : "12345",
				"text", texts[rnd(&sim->rng) % (sizeof texts / sizeof texts[0])], "lon",
				p.lon, "lat", p.lat);

	if (!obj)
		return;
	if (api_intake_report(app, &sim->session, obj, &c, &report_id, &joined, &e) == 0) {
		sim->reports++;
		if (!joined && c.police && api_dispatch_auto(app, &sim->session, &c, &n) == 0) {
			struct store_dispatch d[32];
			size_t nd = 0;
			sim->dispatched += n;
			if (store_case_dispatches(app->store, c.id, d, 32, &nd) == 0) {
				for (size_t i = 0; i < nd; i++) {
					struct sim_unit *x = find(sim, d[i].unit_id);
					if (!x || strcmp(d[i].status, "assigned") != 0)
						continue;
					x->phase = TO_ACK;
					x->case_id = c.id;
					x->tlon = c.lon;
					x->tlat = c.lat;
					x->until = now + 3 + (int64_t)(rnd(&sim->rng) % 12);
				}
			}
		}
	}
	json_decref(obj);
}

/* Resolves a case once its last unit cleared, where its type allows. */
static void resolve(struct cli_simulator *sim, int64_t case_id)
{
	struct app *app = sim->app;
	struct store_case_change ch;
	struct case_row c, after;
	int type;

	if (store_case_get(app->store, case_id, &c))
		return;
	type = casefsm_type(app->fsm, c.type);
	if (type < 0 || !casefsm_allowed(app->fsm, type, c.status, "resolved"))
		return;
	memset(&ch, 0, sizeof ch);
	ch.id = c.id;
	ch.expected_version = c.version;
	ch.to_status = "resolved";
	ch.set_police = -1;
	ch.set_escalation_level = -1;
	ch.at = api_now(app);
	ch.actor = sim->session.name;
	ch.note = "handled on scene";
	ch.out = &after;
	if (store_case_change(app->store, &ch) == 0)
		api_case_updated(app, &after);
}

static void step_units(struct cli_simulator *sim, int64_t now, double dt, struct store_position *pos,
		       size_t *npos)
{
	struct app *app = sim->app;
	int64_t now_ms = now * 1000;

	for (size_t i = 0; i < sim->n; i++) {
		struct sim_unit *x = &sim->u[i];
		struct store_unit after;
		struct store_dispatch d;
		bool moved = false;

		switch (x->phase) {
		case IDLE:
			break;
		case PATROL:
			if (move(sim, x, dt, PATROL_SPEED_SHARE)) {
				struct geo_point p = point_in(sim, x->home);
				x->tlon = p.lon;
				x->tlat = p.lat;
			}
			moved = true;
			break;
		case TO_ACK:
			if (now >= x->until) {
				if (api_unit_step(app, sim->session.name, x->id, STORE_UNIT_ACKNOWLEDGE, NULL,
						  &after, &d) == 0)
					x->phase = EN_ROUTE;
				else
					x->phase = after.status == UNIT_AVAILABLE ? PATROL : IDLE;
			}
			break;
		case EN_ROUTE:
			moved = true;
			if (move(sim, x, dt, 1.0) ||
			    geo_distance_m((struct geo_point){ x->lon, x->lat },
					   (struct geo_point){ x->tlon, x->tlat }) < ARRIVE_M) {
				if (api_unit_step(app, sim->session.name, x->id, STORE_UNIT_ARRIVE, NULL, &after,
						  &d) == 0) {
					x->phase = ON_SCENE;
					x->until = now + 60 + (int64_t)(rnd(&sim->rng) % 240);
				} else {
					x->phase = after.status == UNIT_AVAILABLE ? PATROL : IDLE;
				}
			}
			break;
		case ON_SCENE:
			if (now >= x->until) {
				int64_t case_id = x->case_id;
				if (api_unit_step(app, sim->session.name, x->id, STORE_UNIT_CLEAR, NULL, &after,
						  &d) == 0) {
					bool last = true;
					/* The case is done when no other unit is still with it. */
					for (size_t j = 0; j < sim->n; j++)
						last &= sim->u[j].case_id != case_id || &sim->u[j] == x ||
							sim->u[j].phase == PATROL || sim->u[j].phase == IDLE;
					if (last)
						resolve(sim, case_id);
				}
				x->phase = PATROL;
				x->case_id = 0;
			}
			break;
		}
		if (moved && now >= x->next_report) {
			x->next_report = now + POSITION_EVERY_S;
			pos[*npos].unit_id = x->id;
			pos[*npos].lon = x->lon;
			pos[*npos].lat = x->lat;
			pos[*npos].at = now_ms;
			(*npos)++;
		}
	}
}

static void *sim_main(void *arg)
{
	struct cli_simulator *sim = arg;
	struct store_position *pos = malloc((sim->n + 1) * sizeof *pos);
	struct timespec ts;
	double carry = 0;

	if (!pos)
		return NULL;
	pthread_mutex_lock(&sim->lock);
	while (!sim->stop) {
		int64_t now = api_now(sim->app);
		time_t local = (time_t)(now + 8 * 3600);
		struct tm tm;
		size_t npos = 0;
		double expected;

		pthread_mutex_unlock(&sim->lock);
		gmtime_r(&local, &tm);
		/* Reports this tick: the rate shaped by the hour, drawn as Bernoulli slices. */
		expected = sim->rate_per_min / 60.0 * rhythm[tm.tm_hour] * (TICK_MS / 1000.0) + carry;
		carry = 0;
		while (expected >= 1) {
			new_report(sim, now);
			expected -= 1;
		}
		if (unit_rand(&sim->rng) < expected)
			new_report(sim, now);
		step_units(sim, now, TICK_MS / 1000.0, pos, &npos);
		if (npos) {
			if (store_positions_add(sim->app->store, pos, npos, now, NULL) == 0) {
				for (size_t i = 0; i < npos; i++)
					unit_index_move(sim->app->units, pos[i].unit_id, pos[i].lon, pos[i].lat,
							pos[i].at);
				sim->positions += npos;
			}
		}
		pthread_mutex_lock(&sim->lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += TICK_MS / 1000;
		if (!sim->stop)
			pthread_cond_timedwait(&sim->wake, &sim->lock, &ts);
	}
	pthread_mutex_unlock(&sim->lock);
	free(pos);
	return NULL;
}

int cli_simulator_start(struct app *app, double rate_per_min, uint64_t seed,
			struct cli_simulator **out)
{
	struct cli_simulator *sim = calloc(1, sizeof *sim);
	int rc;

	if (!sim)
		return SG_ENOMEM;
	sim->app = app;
	sim->rate_per_min = rate_per_min;
	sim->rng = seed ^ 0x5151ULL;
	/* The simulator acts as a city-wide commander named "simulator". */
	snprintf(sim->session.name, sizeof sim->session.name, "simulator");
	sim->session.role = AUTH_ROLE_COMMANDER;
	sim->session.scope.all = true;
	atomic_init(&sim->session.refs, 1);
	if ((rc = store_units_all(app->store, load_unit, sim)))
		goto fail;
	if (!(sim->grids = malloc((app->catalog->n + 1) * sizeof *sim->grids))) {
		rc = SG_ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < app->catalog->n; i++) {
		if (app->catalog->areas[i].kind == AREA_GOV_GRID)
			sim->grids[sim->ngrids++] = i;
	}
	if (sim->ngrids == 0) {
		rc = SG_EINVAL;
		goto fail;
	}
	pthread_mutex_init(&sim->lock, NULL);
	pthread_cond_init(&sim->wake, NULL);
	if (pthread_create(&sim->thread, NULL, sim_main, sim) != 0) {
		pthread_mutex_destroy(&sim->lock);
		pthread_cond_destroy(&sim->wake);
		rc = SG_ENOMEM;
		goto fail;
	}
	SG_LOG(SG_LOG_INFO, "msg=\"simulator started\" units=%zu rate_per_min=%.1f", sim->n,
	       rate_per_min);
	*out = sim;
	return SG_OK;
fail:
	free(sim->u);
	free(sim->grids);
	free(sim);
	return rc;
}

void cli_simulator_stop(struct cli_simulator *sim)
{
	if (!sim)
		return;
	pthread_mutex_lock(&sim->lock);
	sim->stop = true;
	pthread_cond_signal(&sim->wake);
	pthread_mutex_unlock(&sim->lock);
	pthread_join(sim->thread, NULL);
	SG_LOG(SG_LOG_INFO, "msg=\"simulator stopped\" reports=%llu dispatched=%llu positions=%llu",
	       (unsigned long long)sim->reports, (unsigned long long)sim->dispatched,
	       (unsigned long long)sim->positions);
	pthread_mutex_destroy(&sim->lock);
	pthread_cond_destroy(&sim->wake);
	free(sim->u);
	free(sim->grids);
	free(sim);
}
