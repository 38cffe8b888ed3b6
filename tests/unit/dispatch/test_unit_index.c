/*
 * test_unit_index.c — the unit index against a brute-force model: random
 * units, filters, scopes, radii, stale positions, ties, shortfall counts,
 * out-of-order positions, removes and replaces; the grid's edges (the
 * antimeridian, the poles, sparse data); bad input; and writers moving units
 * while readers query, with answers that must stay whole.
 */
#include "dispatch/unit_index.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "base/err.h"
#include "geo/coord.h"
#include "test.h"

#define NOW 1800000000000LL

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double rnd_in(double lo, double hi)
{
	return lo + (hi - lo) * (double)(rnd() >> 11) / 9007199254740992.0;
}

/* Brings a generated coordinate back into range: longitudes wrap, latitudes stop at the poles. */
static void fix_coord(double *lon, double *lat)
{
	if (*lon > 180)
		*lon -= 360;
	if (*lon < -180)
		*lon += 360;
	*lat = *lat > 90 ? 90 : *lat < -90 ? -90 : *lat;
}

/* ---- the model: every unit in a plain array, queried by brute force ---- */

struct model {
	struct unit_rec *u;
	size_t n, cap;
};

static struct unit_rec *model_find(struct model *m, int64_t id)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->u[i].id == id)
			return &m->u[i];
	return NULL;
}

static void model_put(struct model *m, const struct unit_rec *u)
{
	struct unit_rec *o = model_find(m, u->id);
	if (!o) {
		if (m->n == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 256;
			m->u = realloc(m->u, m->cap * sizeof *m->u);
		}
		o = &m->u[m->n++];
	}
	*o = *u;
	if (!o->has_pos)
		o->lon = o->lat = 0, o->pos_at = 0;
}

static void model_remove(struct model *m, int64_t id)
{
	struct unit_rec *o = model_find(m, id);
	if (o)
		*o = m->u[--m->n];
}

static int cmp_hit(const void *a, const void *b)
{
	const struct unit_hit *x = a, *y = b;
	if (x->distance_m != y->distance_m)
		return x->distance_m < y->distance_m ? -1 : 1;
	return x->unit.id < y->unit.id ? -1 : x->unit.id > y->unit.id;
}

/* What the index must answer, by looking at every unit. */
static unsigned model_nearest(const struct model *m, const struct unit_query *q,
			      struct unit_hit *out, struct unit_shortfall *why)
{
	struct unit_hit *all = malloc((m->n + 1) * sizeof *all);
	unsigned n = 0, k;
	struct geo_point p = { q->lon, q->lat };

	memset(why, 0, sizeof *why);
	for (size_t i = 0; i < m->n; i++) {
		const struct unit_rec *u = &m->u[i];
		bool type_ok = !q->type_mask || (q->type_mask >> u->type & 1);
		bool status_ok = !q->status_mask || (q->status_mask >> u->status & 1);
		bool scope_ok = !q->scope || catalog_visible(q->scope, u->home_area);
		double d;

		if (!type_ok || !scope_ok)
			continue;
		if (!u->has_pos) {
			why->no_position += status_ok;
			continue;
		}
		if (u->pos_at < q->min_pos_at) {
			why->position_too_old += status_ok;
			continue;
		}
		d = geo_distance_m(p, (struct geo_point){ u->lon, u->lat });
		if (q->within_m > 0 && d > q->within_m) {
			why->outside_radius += status_ok;
			continue;
		}
		if (!status_ok) {
			why->wrong_status++;
			continue;
		}
		all[n].unit = *u;
		all[n].distance_m = d;
		n++;
	}
	qsort(all, n, sizeof *all, cmp_hit);
	k = n < q->k ? n : q->k;
	memcpy(out, all, k * sizeof *out);
	if (k == q->k)
		memset(why, 0, sizeof *why);
	free(all);
	return k;
}

static bool rec_equal(const struct unit_rec *a, const struct unit_rec *b)
{
	return a->id == b->id && a->type == b->type && a->status == b->status &&
	       a->home_area == b->home_area && a->has_pos == b->has_pos &&
	       (!a->has_pos || (a->lon == b->lon && a->lat == b->lat && a->pos_at == b->pos_at));
}

/* Runs q on both and counts one failure per differing answer (printing the first few). */
static int compare(struct unit_index *ix, const struct model *m, const struct unit_query *q)
{
	static int shown;
	struct unit_hit got[UNIT_QUERY_MAX_K], want[UNIT_QUERY_MAX_K];
	struct unit_shortfall gw, ww;
	unsigned ng = 0, nw;
	int rc = unit_index_nearest(ix, q, got, &ng, &gw);
	bool same;

	nw = model_nearest(m, q, want, &ww);
	same = rc == 0 && ng == nw && memcmp(&gw, &ww, sizeof gw) == 0;
	for (unsigned i = 0; same && i < nw; i++)
		same = rec_equal(&got[i].unit, &want[i].unit) &&
		       got[i].distance_m == want[i].distance_m;
	if (!same && shown++ < 5) {
		fprintf(stderr,
			"  query (%.6f,%.6f) k=%u r=%g types=%x st=%x min_at=%lld scope=%s: got %u "
			"want %u; why got %u/%u/%u/%u want %u/%u/%u/%u\n",
			q->lon, q->lat, q->k, q->within_m, q->type_mask, q->status_mask,
			(long long)q->min_pos_at, q->scope ? "yes" : "no", ng, nw, gw.wrong_status,
			gw.position_too_old, gw.no_position, gw.outside_radius, ww.wrong_status,
			ww.position_too_old, ww.no_position, ww.outside_radius);
		for (unsigned i = 0; i < ng || i < nw; i++)
			fprintf(stderr, "    %u: got %lld %.3f  want %lld %.3f\n", i,
				i < ng ? (long long)got[i].unit.id : 0LL,
				i < ng ? got[i].distance_m : 0.0,
				i < nw ? (long long)want[i].unit.id : 0LL,
				i < nw ? want[i].distance_m : 0.0);
	}
	return same ? 0 : 1;
}

static struct unit_rec random_unit(int64_t id, double lon0, double lat0, double span)
{
	struct unit_rec u = { 0 };

	u.id = id;
	u.type = (uint16_t)(rnd() % 6);
	u.status = (uint8_t)(rnd() % UNIT_STATUS_COUNT);
	u.home_area = rnd() % 12 == 0 ? CATALOG_NONE : (uint32_t)(rnd() % 10);
	u.has_pos = rnd() % 20 != 0;
	if (u.has_pos) {
		u.lon = lon0 + rnd_in(0, span);
		u.lat = lat0 + rnd_in(0, span);
		fix_coord(&u.lon, &u.lat);
		u.pos_at = NOW - (int64_t)(rnd() % 3600000);
	}
	return u;
}

static struct unit_query random_query(double lon0, double lat0, double span,
				      const struct catalog_scope *scopes)
{
	struct unit_query q = { 0 };
	unsigned r = (unsigned)(rnd() % 10);

	q.lon = lon0 + rnd_in(-0.2 * span, 1.2 * span);
	q.lat = lat0 + rnd_in(-0.2 * span, 1.2 * span);
	fix_coord(&q.lon, &q.lat);
	q.k = r == 0 ? UNIT_QUERY_MAX_K : (unsigned)(1 + rnd() % 12);
	q.within_m = rnd() % 3 == 0 ? rnd_in(50, 30000) : 0;
	switch (rnd() % 4) {
	case 0: q.type_mask = 0; break;
	case 1: q.type_mask = 1u << (rnd() % 6); break;
	case 2: q.type_mask = (uint32_t)(rnd() & 0x3f); break;
	default: q.type_mask = 1u << 20; break; /* a type nobody has */
	}
	switch (rnd() % 3) {
	case 0: q.status_mask = 0; break;
	case 1: q.status_mask = 1u << UNIT_AVAILABLE; break;
	default: q.status_mask = (uint32_t)(rnd() & 0x1f); break;
	}
	q.min_pos_at = rnd() % 3 == 0 ? NOW - 1800000 : 0;
	q.scope = rnd() % 3 == 0 ? NULL : &scopes[rnd() % 3];
	return q;
}

/* Scopes: every area; areas 0-4; area 7 only. */
static uint64_t scope_bits[2] = { 0x1f, 1u << 7 };
static struct catalog_scope scopes[3] = {
	{ NULL, 0, true },
	{ &scope_bits[0], 10, false },
	{ &scope_bits[1], 10, false },
};

/*
 * Random units in a box, random queries against the model, with random
 * changes between them: moves (some older than what is held), status
 * changes, removes, replaces and new units.
 */
static void run_random(double lon0, double lat0, double span, int nunits, int rounds)
{
	struct unit_index *ix = NULL;
	struct model m = { 0 };
	int64_t next_id = 1;
	int bad = 0, queries = 0;

	CHECK_EQ_INT(unit_index_new(&ix), 0);
	for (int i = 0; i < nunits; i++) {
		struct unit_rec u = random_unit(next_id++, lon0, lat0, span);
		/* Every tenth unit sits exactly on another's position: ties by id. */
		if (i > 0 && i % 10 == 0 && m.u[m.n - 1].has_pos) {
			u.has_pos = true;
			u.lon = m.u[m.n - 1].lon;
			u.lat = m.u[m.n - 1].lat;
			u.pos_at = m.u[m.n - 1].pos_at;
		}
		CHECK_EQ_INT(unit_index_put(ix, &u), 0);
		model_put(&m, &u);
	}
	CHECK_EQ_INT(unit_index_count(ix), m.n);
	for (int round = 0; round < rounds; round++) {
		for (int i = 0; i < 20; i++) {
			struct unit_query q = random_query(lon0, lat0, span, scopes);
			bad += compare(ix, &m, &q);
			queries++;
		}
		for (int i = 0; i < 30 && m.n; i++) {
			struct unit_rec *o = &m.u[rnd() % m.n];
			unsigned what = (unsigned)(rnd() % 10);
			if (what < 5) {
				double lon = o->has_pos && what < 3 ? o->lon + rnd_in(-0.003, 0.003)
								    : lon0 + rnd_in(0, span);
				double lat = o->has_pos && what < 3 ? o->lat + rnd_in(-0.003, 0.003)
								    : lat0 + rnd_in(0, span);
				int64_t at = NOW - (int64_t)(rnd() % 3600000);
				fix_coord(&lon, &lat);
				CHECK_EQ_INT(unit_index_move(ix, o->id, lon, lat, at), 0);
				if (!o->has_pos || at >= o->pos_at) {
					o->has_pos = true;
					o->lon = lon;
					o->lat = lat;
					o->pos_at = at;
				}
			} else if (what < 7) {
				enum unit_status s = (enum unit_status)(rnd() % UNIT_STATUS_COUNT);
				CHECK_EQ_INT(unit_index_set_status(ix, o->id, s, 0), 0);
				o->status = (uint8_t)s;
			} else if (what < 8) {
				int64_t id = o->id;
				CHECK_EQ_INT(unit_index_remove(ix, id), 0);
				model_remove(&m, id);
				CHECK_EQ_INT(unit_index_remove(ix, id), SG_ENOTFOUND);
			} else if (what < 9) {
				struct unit_rec u = random_unit(o->id, lon0, lat0, span);
				CHECK_EQ_INT(unit_index_put(ix, &u), 0);
				model_put(&m, &u);
			} else {
				struct unit_rec u = random_unit(next_id++, lon0, lat0, span);
				CHECK_EQ_INT(unit_index_put(ix, &u), 0);
				model_put(&m, &u);
			}
		}
	}
	CHECK_EQ_INT(unit_index_count(ix), m.n);
	for (size_t i = 0; i < m.n; i++) {
		struct unit_rec got;
		CHECK_EQ_INT(unit_index_get(ix, m.u[i].id, &got), 0);
		CHECK(rec_equal(&got, &m.u[i]));
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(queries > 0);
	unit_index_free(ix);
	free(m.u);
}

static void test_nearest_matches_brute_force_in_a_city(void)
{
	/* Suzhou's size: about 50 km across, dense enough for the rings to stop early. */
	run_random(120.4, 31.1, 0.5, 3000, 200);
}

static void test_nearest_matches_brute_force_when_sparse(void)
{
	/* Few units over a wide area: searches run out of budget and scan. */
	run_random(100.0, 20.0, 20.0, 150, 100);
}

static void test_nearest_matches_brute_force_across_the_antimeridian(void)
{
	run_random(179.9, -10.05, 0.2, 400, 100);
}

static void test_nearest_matches_brute_force_near_the_poles(void)
{
	run_random(-10.0, 89.8, 0.2, 400, 60);
	run_random(40.0, -90.0, 0.15, 400, 60);
}

static void test_ties_broken_by_smaller_id(void)
{
	struct unit_index *ix = NULL;
	struct unit_hit out[4];
	unsigned n = 0;
	struct unit_query q = { 120.6, 31.3, 3, 0, 0, 0, 0, NULL };
	int64_t ids[4] = { 40, 7, 19, 3 };

	CHECK_EQ_INT(unit_index_new(&ix), 0);
	for (int i = 0; i < 4; i++) {
		struct unit_rec u = { ids[i], 1, UNIT_AVAILABLE, 0, true, 120.61, 31.3, NOW, 0, "" };
		CHECK_EQ_INT(unit_index_put(ix, &u), 0);
	}
	CHECK_EQ_INT(unit_index_nearest(ix, &q, out, &n, NULL), 0);
	CHECK_EQ_INT(n, 3);
	CHECK_EQ_INT(out[0].unit.id, 3);
	CHECK_EQ_INT(out[1].unit.id, 7);
	CHECK_EQ_INT(out[2].unit.id, 19);
	CHECK(out[0].distance_m == out[2].distance_m);
	CHECK_NEAR(out[0].distance_m, 952.0, 10.0);
	unit_index_free(ix);
}

static void test_shortfall_says_why(void)
{
	struct unit_index *ix = NULL;
	struct unit_hit out[5];
	struct unit_shortfall why;
	unsigned n = 0;
	struct unit_query q = { 120.6, 31.3, 5, 2000, 1u << 2, 1u << UNIT_AVAILABLE, NOW - 60000,
				NULL };
	struct unit_rec units[] = {
		{ 1, 2, UNIT_AVAILABLE, 0, true, 120.601, 31.3, NOW, 0, "" },     /* the one hit */
		{ 2, 2, UNIT_BUSY, 0, true, 120.602, 31.3, NOW, 0, "" },          /* wrong status */
		{ 3, 2, UNIT_AVAILABLE, 0, true, 120.603, 31.3, NOW - 120000, 0, "" }, /* too old */
		{ 4, 2, UNIT_AVAILABLE, 0, false, 0, 0, 0, 0, "" },               /* no position */
		{ 5, 2, UNIT_AVAILABLE, 0, true, 120.7, 31.3, NOW, 0, "" },       /* 9.5 km away */
		{ 6, 3, UNIT_AVAILABLE, 0, true, 120.601, 31.3, NOW, 0, "" },     /* other type: not counted */
		{ 7, 2, UNIT_BUSY, 0, true, 120.7, 31.3, NOW, 0, "" },            /* busy and far: not counted */
	};

	CHECK_EQ_INT(unit_index_new(&ix), 0);
	for (size_t i = 0; i < sizeof units / sizeof *units; i++)
		CHECK_EQ_INT(unit_index_put(ix, &units[i]), 0);
	CHECK_EQ_INT(unit_index_nearest(ix, &q, out, &n, &why), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(out[0].unit.id, 1);
	CHECK_EQ_INT(why.wrong_status, 1);
	CHECK_EQ_INT(why.position_too_old, 1);
	CHECK_EQ_INT(why.no_position, 1);
	CHECK_EQ_INT(why.outside_radius, 1);
	/* Enough hits: nothing to explain, and the counts are zero. */
	q.k = 1;
	memset(&why, 0xff, sizeof why);
	CHECK_EQ_INT(unit_index_nearest(ix, &q, out, &n, &why), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(why.wrong_status + why.position_too_old + why.no_position + why.outside_radius, 0);
	/* An empty index answers nothing, without error. */
	unit_index_free(ix);
	CHECK_EQ_INT(unit_index_new(&ix), 0);
	CHECK_EQ_INT(unit_index_nearest(ix, &q, out, &n, NULL), 0);
	CHECK_EQ_INT(n, 0);
	unit_index_free(ix);
}

static void test_out_of_order_positions_are_ignored(void)
{
	struct unit_index *ix = NULL;
	struct unit_rec u = { 9, 0, UNIT_AVAILABLE, 0, false, 0, 0, 0, 0, "" }, got;

	CHECK_EQ_INT(unit_index_new(&ix), 0);
	CHECK_EQ_INT(unit_index_put(ix, &u), 0);
	CHECK_EQ_INT(unit_index_move(ix, 9, 120.5, 31.2, NOW), 0);
	CHECK_EQ_INT(unit_index_move(ix, 9, 121.0, 31.6, NOW - 1), 0);
	CHECK_EQ_INT(unit_index_get(ix, 9, &got), 0);
	CHECK(got.has_pos);
	CHECK(got.lon == 120.5 && got.lat == 31.2 && got.pos_at == NOW);
	/* The same time again is newer news, not older. */
	CHECK_EQ_INT(unit_index_move(ix, 9, 120.6, 31.25, NOW), 0);
	CHECK_EQ_INT(unit_index_get(ix, 9, &got), 0);
	CHECK(got.lon == 120.6);
	unit_index_free(ix);
}

static void test_status_of_an_older_version_is_ignored(void)
{
	struct unit_index *ix = NULL;
	struct unit_rec u = { 9, 0, UNIT_AVAILABLE, 0, true, 120.5, 31.2, NOW, 1, "苏A-110" }, got;
	struct unit_hit out[UNIT_QUERY_MAX_K];
	unsigned n = 0;
	struct unit_query q = { 120.5, 31.2, 1, 0, 0, 1u << UNIT_BUSY, 0, NULL };

	CHECK_EQ_INT(unit_index_new(&ix), 0);
	CHECK_EQ_INT(unit_index_put(ix, &u), 0);
	/* Version 3 (busy) arrives before version 2 (available): 3 stays. */
	CHECK_EQ_INT(unit_index_set_status(ix, 9, UNIT_BUSY, 3), 0);
	CHECK_EQ_INT(unit_index_set_status(ix, 9, UNIT_AVAILABLE, 2), 0);
	CHECK_EQ_INT(unit_index_get(ix, 9, &got), 0);
	CHECK(got.status == UNIT_BUSY && got.version == 3);
	CHECK_STR(got.callsign, "苏A-110");
	/* The grid follows too: the unit is found among the busy ones. */
	CHECK_EQ_INT(unit_index_nearest(ix, &q, out, &n, NULL), 0);
	CHECK_EQ_INT(n, 1);
	CHECK(out[0].unit.id == 9 && out[0].unit.callsign[0] == '\0' && out[0].unit.version == 0);
	/* The same version again (a conflict re-reading the store) applies. */
	CHECK_EQ_INT(unit_index_set_status(ix, 9, UNIT_ON_SCENE, 3), 0);
	CHECK_EQ_INT(unit_index_get(ix, 9, &got), 0);
	CHECK(got.status == UNIT_ON_SCENE && got.version == 3);
	/* Version 0 applies whatever is held, and keeps the version. */
	CHECK_EQ_INT(unit_index_set_status(ix, 9, UNIT_OFF_DUTY, 0), 0);
	CHECK_EQ_INT(unit_index_get(ix, 9, &got), 0);
	CHECK(got.status == UNIT_OFF_DUTY && got.version == 3);
	unit_index_free(ix);
}

static void test_bad_input_is_refused_and_changes_nothing(void)
{
	struct unit_index *ix = NULL;
	struct unit_rec u = { 1, 0, UNIT_AVAILABLE, 0, true, 120.5, 31.2, NOW, 0, "" }, got;
	struct unit_hit out[UNIT_QUERY_MAX_K];
	unsigned n = 0;
	struct unit_query q = { 120.5, 31.2, 1, 0, 0, 0, 0, NULL };
	enum unit_status st;

	CHECK_EQ_INT(unit_index_new(&ix), 0);
	CHECK_EQ_INT(unit_index_put(ix, &u), 0);
	u.id = 0;
	CHECK_EQ_INT(unit_index_put(ix, &u), SG_EINVAL);
	u.id = 1;
	u.type = 32;
	CHECK_EQ_INT(unit_index_put(ix, &u), SG_EINVAL);
	u.type = 0;
	u.status = UNIT_STATUS_COUNT;
	CHECK_EQ_INT(unit_index_put(ix, &u), SG_EINVAL);
	u.status = UNIT_BUSY;
	u.lon = 180.5;
	CHECK_EQ_INT(unit_index_put(ix, &u), SG_EINVAL);
	u.lon = 120;
	u.lat = NAN;
	CHECK_EQ_INT(unit_index_put(ix, &u), SG_EINVAL);
	CHECK_EQ_INT(unit_index_move(ix, 1, 120, 91, NOW + 1), SG_EINVAL);
	CHECK_EQ_INT(unit_index_move(ix, 1, NAN, 31, NOW + 1), SG_EINVAL);
	CHECK_EQ_INT(unit_index_move(ix, 2, 120, 31, NOW + 1), SG_ENOTFOUND);
	CHECK_EQ_INT(unit_index_set_status(ix, 1, UNIT_STATUS_COUNT, 0), SG_EINVAL);
	CHECK_EQ_INT(unit_index_set_status(ix, 2, UNIT_BUSY, 0), SG_ENOTFOUND);
	CHECK_EQ_INT(unit_index_remove(ix, 2), SG_ENOTFOUND);
	CHECK_EQ_INT(unit_index_get(ix, 2, &got), SG_ENOTFOUND);
	CHECK_EQ_INT(unit_index_get(ix, 1, &got), 0);
	CHECK(got.status == UNIT_AVAILABLE && got.lon == 120.5 && got.lat == 31.2);
	CHECK_EQ_INT(unit_index_count(ix), 1);

	q.k = 0;
	CHECK_EQ_INT(unit_index_nearest(ix, &q, out, &n, NULL), SG_EINVAL);
	q.k = UNIT_QUERY_MAX_K + 1;
	CHECK_EQ_INT(unit_index_nearest(ix, &q, out, &n, NULL), SG_EINVAL);
	q.k = 1;
	q.within_m = -1;
	CHECK_EQ_INT(unit_index_nearest(ix, &q, out, &n, NULL), SG_EINVAL);
	q.within_m = NAN;
	CHECK_EQ_INT(unit_index_nearest(ix, &q, out, &n, NULL), SG_EINVAL);
	q.within_m = 0;
	q.lat = -90.01;
	CHECK_EQ_INT(unit_index_nearest(ix, &q, out, &n, NULL), SG_EINVAL);
	q.lat = 31.2;
	q.k = UNIT_QUERY_MAX_K;
	CHECK_EQ_INT(unit_index_nearest(ix, &q, out, &n, NULL), 0);
	CHECK_EQ_INT(n, 1);

	CHECK_EQ_INT(unit_status_parse("on_scene", &st), 0);
	CHECK_EQ_INT(st, UNIT_ON_SCENE);
	CHECK_EQ_INT(unit_status_parse("Available", &st), SG_EINVAL);
	CHECK_EQ_INT(unit_status_parse(NULL, &st), SG_EINVAL);
	for (int s = 0; s < UNIT_STATUS_COUNT; s++) {
		CHECK_EQ_INT(unit_status_parse(unit_status_name((enum unit_status)s), &st), 0);
		CHECK_EQ_INT(st, s);
	}
	unit_index_free(ix);
	unit_index_free(NULL);
}

/* ---- concurrency ---- */

/*
 * Group A (ids 1..GROUP_A): available units of type 0 that writers keep
 * moving across the whole city, cell to cell; a query for all of them must
 * always get every one exactly once, wherever each is in its move.
 * Group B (ids 1001..): type 1 units whose status flips between available
 * and busy by whole replacement (put), with the status written into the
 * position too (available: lat above 31.5; busy: below); an available hit
 * with a busy position is half an update. Group C (ids 3001..): type 2
 * units put and removed at random, so arrays grow and slots move while
 * readers read.
 */
#define GROUP_A 60
#define GROUP_B 200

struct mt {
	struct unit_index *ix;
	atomic_bool stop;
	atomic_int failures;
	atomic_long queries, updates;
	unsigned seed;
};

static uint64_t mt_rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double mt_in(uint64_t *s, double lo, double hi)
{
	return lo + (hi - lo) * (double)(mt_rnd(s) >> 11) / 9007199254740992.0;
}

static void *mt_writer(void *arg)
{
	struct mt *t = arg;
	uint64_t s = 0x9e3779b97f4a7c15ULL ^ atomic_fetch_add(&t->updates, 1);
	int64_t at = NOW;

	while (!atomic_load(&t->stop)) {
		unsigned what = (unsigned)(mt_rnd(&s) % 8);
		if (what == 0) {
			/* Group C: type 2 units come and go, so the arrays grow and shrink under readers. */
			int64_t id = 3001 + (int64_t)(mt_rnd(&s) % 2000);
			struct unit_rec u = { id, 2, UNIT_AVAILABLE, 0, true, mt_in(&s, 120.4, 120.9),
					      mt_in(&s, 31.1, 31.6), NOW, 0, "" };
			int rc = unit_index_remove(t->ix, id);
			if ((rc && rc != SG_ENOTFOUND) || (rc == SG_ENOTFOUND && unit_index_put(t->ix, &u)))
				atomic_fetch_add(&t->failures, 1);
		} else if (what < 4) {
			int64_t id = 1 + (int64_t)(mt_rnd(&s) % GROUP_A);
			if (unit_index_move(t->ix, id, mt_in(&s, 120.4, 120.9), mt_in(&s, 31.1, 31.6),
					    ++at))
				atomic_fetch_add(&t->failures, 1);
		} else {
			bool avail = mt_rnd(&s) & 1;
			struct unit_rec u = { 1001 + (int64_t)(mt_rnd(&s) % GROUP_B), 1,
					      avail ? UNIT_AVAILABLE : UNIT_BUSY, 0, true,
					      mt_in(&s, 120.4, 120.9),
					      avail ? mt_in(&s, 31.5, 31.6) : mt_in(&s, 31.1, 31.5),
					      NOW, 0, "" };
			if (unit_index_put(t->ix, &u))
				atomic_fetch_add(&t->failures, 1);
		}
		atomic_fetch_add(&t->updates, 1);
	}
	return NULL;
}

static void *mt_reader(void *arg)
{
	struct mt *t = arg;
	uint64_t s = 0xd1b54a32d192ed03ULL ^ (uint64_t)atomic_fetch_add(&t->queries, 1);
	struct unit_hit out[UNIT_QUERY_MAX_K];

	while (!atomic_load(&t->stop)) {
		struct unit_query q = { mt_in(&s, 120.3, 121.0), mt_in(&s, 31.0, 31.7), GROUP_A, 0,
					1u << 0, 0, 0, NULL };
		bool seen[GROUP_A + 1] = { false };
		unsigned n = 0;
		bool ok;

		ok = unit_index_nearest(t->ix, &q, out, &n, NULL) == 0 && n == GROUP_A;
		for (unsigned i = 0; ok && i < n; i++) {
			int64_t id = out[i].unit.id;
			ok = id >= 1 && id <= GROUP_A && !seen[id] &&
			     out[i].distance_m == geo_distance_m((struct geo_point){ q.lon, q.lat },
								 (struct geo_point){ out[i].unit.lon,
										     out[i].unit.lat }) &&
			     (i == 0 || out[i - 1].distance_m <= out[i].distance_m);
			if (ok)
				seen[id] = true;
		}
		q.k = 20;
		q.type_mask = 1u << 1;
		q.status_mask = 1u << UNIT_AVAILABLE;
		ok = ok && unit_index_nearest(t->ix, &q, out, &n, NULL) == 0;
		for (unsigned i = 0; ok && i < n; i++)
			ok = out[i].unit.status == UNIT_AVAILABLE && out[i].unit.lat >= 31.5 &&
			     out[i].unit.type == 1;
		if (!ok)
			atomic_fetch_add(&t->failures, 1);
		atomic_fetch_add(&t->queries, 1);
	}
	return NULL;
}

static void test_writers_and_readers_see_whole_updates(void)
{
	struct mt t = { 0 };
	pthread_t w[2], r[3];
	struct timespec pause = { 0, 600 * 1000000 };

	CHECK_EQ_INT(unit_index_new(&t.ix), 0);
	for (int64_t id = 1; id <= GROUP_A; id++) {
		struct unit_rec u = { id, 0, UNIT_AVAILABLE, 0, true, 120.4 + 0.005 * (double)id, 31.3,
				      NOW, 0, "" };
		CHECK_EQ_INT(unit_index_put(t.ix, &u), 0);
	}
	for (int64_t i = 0; i < GROUP_B; i++) {
		struct unit_rec u = { 1001 + i, 1, UNIT_BUSY, 0, true, 120.5, 31.2, NOW, 0, "" };
		CHECK_EQ_INT(unit_index_put(t.ix, &u), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, mt_writer, &t);
	for (int i = 0; i < 3; i++)
		pthread_create(&r[i], NULL, mt_reader, &t);
	nanosleep(&pause, NULL);
	atomic_store(&t.stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(r[i], NULL);
	CHECK_EQ_INT(atomic_load(&t.failures), 0);
	CHECK(atomic_load(&t.queries) > 100);
	CHECK(atomic_load(&t.updates) > 1000);
	CHECK(unit_index_count(t.ix) >= GROUP_A + GROUP_B);
	unit_index_free(t.ix);
}

int main(void)
{
	TEST_RUN(test_nearest_matches_brute_force_in_a_city);
	TEST_RUN(test_nearest_matches_brute_force_when_sparse);
	TEST_RUN(test_nearest_matches_brute_force_across_the_antimeridian);
	TEST_RUN(test_nearest_matches_brute_force_near_the_poles);
	TEST_RUN(test_ties_broken_by_smaller_id);
	TEST_RUN(test_shortfall_says_why);
	TEST_RUN(test_out_of_order_positions_are_ignored);
	TEST_RUN(test_status_of_an_older_version_is_ignored);
	TEST_RUN(test_bad_input_is_refused_and_changes_nothing);
	TEST_RUN(test_writers_and_readers_see_whole_updates);
	return test_summary("unit_index");
}
