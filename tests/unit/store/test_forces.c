/*
 * test_forces.c — forces in the store: organisations, the (area, id) walk
 * of people lists with cursors, positions arriving out of order, the unit
 * state machine, and a dispatch that conflicts leaving nothing behind.
 */
#include "store/forces.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "test.h"

static char dir[] = P_tmpdir "/safegrid-forces-XXXXXX";
static struct store *s;
static int64_t area[3], org;

static void push_box(struct area_set *set, enum area_kind kind, const char *code, long parent)
{
	struct geo_mpoly g;

	geo_mpoly_init(&g);
	geo_mpoly_begin_polygon(&g);
	geo_mpoly_begin_ring(&g);
	geo_mpoly_add_point(&g, 120.0, 31.0);
	geo_mpoly_add_point(&g, 121.0, 31.0);
	geo_mpoly_add_point(&g, 121.0, 32.0);
	geo_mpoly_add_point(&g, 120.0, 31.0);
	geo_mpoly_finish(&g);
	area_set_push(set, kind, code, code, parent, 0, &g, NULL);
	geo_mpoly_release(&g);
}

static void setup(void)
{
	struct area_set set;
	struct store_org o;
	char path[256];

	snprintf(path, sizeof path, "%s/f.db", dir);
	CHECK_EQ_INT(store_open(path, &s), 0);
	area_set_init(&set);
	push_box(&set, AREA_CITY, "C", -1);
	push_box(&set, AREA_DISTRICT, "D", 0);
	push_box(&set, AREA_STATION, "S", 1);
	CHECK_EQ_INT(store_areas_insert(s, &set), 0);
	for (int i = 0; i < 3; i++)
		area[i] = set.v[i].id;
	area_set_release(&set);
	memset(&o, 0, sizeof o);
	o.kind = ORG_STATION;
	snprintf(o.name, sizeof o.name, "测试派出所");
	snprintf(o.code, sizeof o.code, "S");
	o.area_ids[0] = area[2];
	o.nareas = 1;
	CHECK_EQ_INT(store_orgs_add(s, &o, 1, "test"), 0);
	org = o.id;
	CHECK_EQ_INT(store_orgs_add(s, &o, 1, "test"), SG_ECONFLICT); /* the code is taken */
}

struct gen {
	int n, made;
};

static int gen_next(void *ctx, struct store_person *out, size_t cap, size_t *n)
{
	struct gen *g = ctx;

	*n = 0;
	while (g->made < g->n && *n < cap) {
		struct store_person *p = &out[(*n)++];
		memset(p, 0, sizeof *p);
		p->type = PERSON_VOLUNTEER;
		p->org_id = org;
		p->area_id = area[g->made % 3];
		snprintf(p->name, sizeof p->name, "v%d", g->made);
		g->made++;
	}
	return SG_OK;
}

struct collect {
	int64_t area[64], id[64];
	size_t n;
};

static int collect_one(void *ctx, const struct store_person *p)
{
	struct collect *c = ctx;
	c->area[c->n] = p->area_id;
	c->id[c->n++] = p->id;
	return 0;
}

static void test_people_walk_areas_in_order_and_resume_at_the_cursor(void)
{
	struct gen g = { 10, 0 };
	struct store_people_load l = { .next = gen_next, .ctx = &g, .actor = "test" };
	struct store_force_filter f = { .type = -1, .status = -1 };
	struct collect c1 = { 0 }, c2 = { 0 };
	int64_t two[2] = { area[0], area[2] };

	CHECK_EQ_INT(store_people_load(s, &l), 0);
	CHECK_EQ_INT(l.added, 10);
	CHECK_EQ_INT(store_people_list(s, &f, 4, collect_one, &c1), 0);
	CHECK_EQ_INT(c1.n, 4);
	CHECK(c1.area[0] == area[0] && c1.area[3] == area[0]); /* area 0 holds people 0, 3, 6, 9 */
	f.after_area = c1.area[3];
	f.after_id = c1.id[3];
	CHECK_EQ_INT(store_people_list(s, &f, 100, collect_one, &c2), 0);
	CHECK_EQ_INT(c2.n, 6);
	CHECK(c2.area[0] == area[1]);
	/* Only the listed areas, in order, from the cursor's area on. */
	memset(&c2, 0, sizeof c2);
	f.areas = two;
	f.nareas = 2;
	f.after_area = f.after_id = 0;
	CHECK_EQ_INT(store_people_list(s, &f, 100, collect_one, &c2), 0);
	CHECK_EQ_INT(c2.n, 7);
	CHECK(c2.area[0] == area[0] && c2.area[6] == area[2]);
	f.type = PERSON_OFFICER;
	memset(&c2, 0, sizeof c2);
	CHECK_EQ_INT(store_people_list(s, &f, 100, collect_one, &c2), 0);
	CHECK_EQ_INT(c2.n, 0);
}

/* An available patrol car at home in area 2, added at created_at (0: now). */
static int64_t make_unit_added_at(const char *callsign, int64_t created_at)
{
	struct store_unit u;

	memset(&u, 0, sizeof u);
	u.type = UNIT_PATROL_CAR;
	snprintf(u.callsign, sizeof u.callsign, "%s", callsign);
	u.org_id = org;
	u.area_id = area[2];
	u.status = 1; /* available */
	u.created_at = created_at;
	CHECK_EQ_INT(store_units_add(s, &u, 1, NULL), 0);
	return u.id;
}

static int64_t make_unit(const char *callsign)
{
	return make_unit_added_at(callsign, 0);
}

static void test_positions_out_of_order_keep_the_newest(void)
{
	int64_t id = make_unit("P1");
	struct store_position p[3] = { { id, 120.5, 31.5, 2000 }, { id, 120.6, 31.6, 1000 }, { id, 120.7, 31.7, 1500 } };
	struct store_position track[8];
	struct store_unit u;
	size_t n = 0, bad;

	CHECK_EQ_INT(store_positions_add(s, p, 3, 1000, &bad), 0);
	CHECK_EQ_INT(store_unit_get(s, id, &u), 0);
	CHECK(u.has_pos && u.pos_at == 2000 && u.lon == 120.5);
	CHECK_EQ_INT(store_unit_track(s, id, 0, 10000, track, 8, &n), 0);
	CHECK_EQ_INT(n, 3);
	CHECK(track[0].at == 1000 && track[2].at == 2000);
	p[0].unit_id = 999999;
	CHECK_EQ_INT(store_positions_add(s, p, 1, 1000, &bad), SG_ENOTFOUND);
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(store_positions_purge(s, 1600, 100, &n), 0);
	CHECK_EQ_INT(n, 2);
}

/* store_unit_fn: whether the unit sought (ctx) is listed. */
static int find_unit(void *ctx, const struct store_unit *u)
{
	int64_t *want = ctx;

	if (u->id == *want)
		*want = 0;
	return 0;
}

/* Whether a list with since (if > 0) and, with box, the box [120.4,120.6]×[31.4,31.6] has the unit. */
static bool listed(int64_t id, int64_t since, bool box)
{
	struct store_force_filter f = { .type = -1, .status = -1, .since = since, .bbox = box,
					.min_lon = 120.4, .max_lon = 120.6, .min_lat = 31.4,
					.max_lat = 31.6 };

	CHECK_EQ_INT(store_units_list(s, &f, 1000, find_unit, &id), 0);
	return id == 0;
}

static bool listed_since(int64_t id, int64_t since)
{
	return listed(id, since, false);
}

static void test_a_unit_that_left_a_box_is_listed_by_its_changes(void)
{
	int64_t id = make_unit_added_at("P10", 500);
	struct store_position in = { id, 120.5, 31.5, 1000 }, out = { id, 121.0, 31.0, 2000 },
			      further = { id, 121.1, 31.0, 3000 };

	CHECK_EQ_INT(store_positions_add(s, &in, 1, 2000000, NULL), 0);
	CHECK(listed(id, 0, true) && listed(id, 1999999, true));
	CHECK_EQ_INT(store_positions_add(s, &out, 1, 2000100, NULL), 0);
	/* A box's poll since learns it left; a whole read of the box no longer has it. */
	CHECK(listed(id, 2000050, true) && !listed(id, 0, true));
	CHECK(!listed(id, 2000101, true));
	/* Moving on outside: neither its place nor the one before is in the box. */
	CHECK_EQ_INT(store_positions_add(s, &further, 1, 2000200, NULL), 0);
	CHECK(!listed(id, 2000150, true) && listed(id, 2000150, false));
}

static void test_a_late_position_is_listed_by_when_it_arrived(void)
{
	int64_t id = make_unit_added_at("P9", 500);
	struct store_position first = { id, 120.5, 31.5, 5000 }, late = { id, 120.51, 31.51, 6000 },
			      older = { id, 120.52, 31.52, 5500 };

	CHECK(listed_since(id, 500) && !listed_since(id, 501)); /* changed when added */
	CHECK_EQ_INT(store_positions_add(s, &first, 1, 1000000, NULL), 0);
	CHECK(listed_since(id, 999999) && listed_since(id, 1000000) && !listed_since(id, 1000001));
	/* Sent late: its device's time is long before the poll, its arrival after. */
	CHECK_EQ_INT(store_positions_add(s, &late, 1, 1000100, NULL), 0);
	CHECK(listed_since(id, 1000050));
	/* Older than the latest: kept on the track, the unit does not move, no poll lists it. */
	CHECK_EQ_INT(store_positions_add(s, &older, 1, 1000200, NULL), 0);
	CHECK(!listed_since(id, 1000150));
}

static int apply(int64_t unit, enum store_unit_action a, struct store_unit *out, struct store_dispatch *d)
{
	struct store_unit_step st = { .unit_id = unit, .action = a, .at = 100, .actor = "t", .out = out,
				      .dispatch = d };
	return store_unit_apply(s, &st);
}

static void test_unit_state_machine_and_conflicts(void)
{
	int64_t id = make_unit("P2");
	struct store_unit u;
	struct store_dispatch d;

	CHECK_EQ_INT(apply(id, STORE_UNIT_ARRIVE, &u, &d), SG_ECONFLICT);
	CHECK_EQ_INT(u.status, 1);
	CHECK_EQ_INT(apply(id, STORE_UNIT_BUSY, &u, &d), 0);
	CHECK_EQ_INT(u.status, 4);
	CHECK_EQ_INT(apply(id, STORE_UNIT_OFF_DUTY, &u, &d), SG_ECONFLICT);
	CHECK_EQ_INT(apply(id, STORE_UNIT_FREE, &u, &d), 0);
	CHECK_EQ_INT(apply(id, STORE_UNIT_OFF_DUTY, &u, &d), 0);
	CHECK_EQ_INT(u.status, 0);
	CHECK_EQ_INT(apply(id, STORE_UNIT_ON_DUTY, &u, &d), 0);
	CHECK_EQ_INT(u.status, 1);
	CHECK(d.id == 0);
}

static void test_a_conflicting_dispatch_leaves_nothing_behind(void)
{
	int64_t a = make_unit("D1"), b = make_unit("D2"), ids[2] = { a, b };
	struct store_dispatch out[2];
	struct store_dispatch_create dc;
	struct store_unit u;
	struct store_dispatch d;

	CHECK_EQ_INT(apply(b, STORE_UNIT_BUSY, &u, &d), 0);
	memset(&dc, 0, sizeof dc);
	dc.case_id = 1;
	dc.unit_ids = ids;
	dc.n = 2;
	dc.at = 100;
	dc.actor = "t";
	dc.out = out;
	/* There is no case 1 in this store: not found, and unit a stays available. */
	CHECK_EQ_INT(store_dispatch_create(s, &dc), SG_ENOTFOUND);
	CHECK_EQ_INT(store_unit_get(s, a, &u), 0);
	CHECK_EQ_INT(u.status, 1);
	CHECK(u.case_id == 0);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	setup();
	TEST_RUN(test_people_walk_areas_in_order_and_resume_at_the_cursor);
	TEST_RUN(test_positions_out_of_order_keep_the_newest);
	TEST_RUN(test_a_late_position_is_listed_by_when_it_arrived);
	TEST_RUN(test_a_unit_that_left_a_box_is_listed_by_its_changes);
	TEST_RUN(test_unit_state_machine_and_conflicts);
	TEST_RUN(test_a_conflicting_dispatch_leaves_nothing_behind);
	store_close(s);
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return test_summary("store/forces");
}
