/*
 * test_catalog.c — the in-memory catalog: tree, lookups, scope rules
 * (descendants, fused governance grids, never ancestors), locate, rename.
 */
#include "model/catalog.h"

#include <stdlib.h>

#include "base/err.h"
#include "test.h"

/* Pushes an axis-aligned rectangle area with a given id. */
static void push(struct area_set *s, int64_t id, enum area_kind kind, int64_t parent,
		 const char *code, double x0, double y0, double x1, double y1)
{
	struct geo_mpoly g;
	struct area *a = NULL;

	geo_mpoly_init(&g);
	geo_mpoly_begin_polygon(&g);
	geo_mpoly_begin_ring(&g);
	geo_mpoly_add_point(&g, x0, y0);
	geo_mpoly_add_point(&g, x1, y0);
	geo_mpoly_add_point(&g, x1, y1);
	geo_mpoly_add_point(&g, x0, y1);
	geo_mpoly_add_point(&g, x0, y0);
	geo_mpoly_finish(&g);
	area_set_push(s, kind, code, code, -1, parent, &g, &a);
	a->id = id;
	geo_mpoly_release(&g);
}

/*
 * City 1 [0,2]x[0,1]; districts 2 [0,1] and 3 [1,2]; in district 2:
 * station 4 with police grids 5 [0,0.5] and 6 [0.5,1]; street 7, community 8,
 * gov grids 9 [0,0.4] and 10 [0.4,1] (10 overlaps both police grids).
 * District 3: station 11 with police grid 12; street 13, community 14, gov grid 15.
 */
static struct catalog *build(void)
{
	struct area_set s;
	struct catalog *c = NULL;
	struct fusion_row f[3] = {
		{ 9, 5, 1.0, 0, 0, 0 },
		{ 10, 6, 0.83, 5, 0.17, 1 },
		{ 15, 12, 1.0, 0, 0, 0 },
	};

	area_set_init(&s);
	push(&s, 1, AREA_CITY, 0, "990000", 0, 0, 2, 1);
	push(&s, 2, AREA_DISTRICT, 1, "990001", 0, 0, 1, 1);
	push(&s, 3, AREA_DISTRICT, 1, "990002", 1, 0, 2, 1);
	push(&s, 4, AREA_STATION, 2, "PS4", 0, 0, 1, 1);
	push(&s, 5, AREA_POLICE_GRID, 4, "PG5", 0, 0, 0.5, 1);
	push(&s, 6, AREA_POLICE_GRID, 4, "PG6", 0.5, 0, 1, 1);
	push(&s, 7, AREA_STREET, 2, "ST7", 0, 0, 1, 1);
	push(&s, 8, AREA_COMMUNITY, 7, "CM8", 0, 0, 1, 1);
	push(&s, 9, AREA_GOV_GRID, 8, "GG9", 0, 0, 0.4, 1);
	push(&s, 10, AREA_GOV_GRID, 8, "GG10", 0.4, 0, 1, 1);
	push(&s, 11, AREA_STATION, 3, "PS11", 1, 0, 2, 1);
	push(&s, 12, AREA_POLICE_GRID, 11, "PG12", 1, 0, 2, 1);
	push(&s, 13, AREA_STREET, 3, "ST13", 1, 0, 2, 1);
	push(&s, 14, AREA_COMMUNITY, 13, "CM14", 1, 0, 2, 1);
	push(&s, 15, AREA_GOV_GRID, 14, "GG15", 1, 0, 2, 1);
	if (catalog_build(&s, f, 3, &c))
		c = NULL;
	area_set_release(&s);
	return c;
}

static void test_tree_and_lookups(void)
{
	struct catalog *c = build();
	uint32_t d2;

	CHECK(c != NULL);
	if (!c)
		return;
	CHECK_EQ_INT(c->n, 15);
	d2 = catalog_find(c, 2);
	CHECK_EQ_INT(c->areas[d2].nchildren, 2); /* station 4 and street 7 */
	CHECK_EQ_INT(c->areas[catalog_find(c, 5)].parent, catalog_find(c, 4));
	CHECK_EQ_INT(catalog_find(c, 99), CATALOG_NONE);
	CHECK_EQ_INT(catalog_find_code(c, "PG12"), catalog_find(c, 12));
	CHECK_EQ_INT(catalog_find_code(c, ""), CATALOG_NONE);
	CHECK_EQ_INT(c->counts[AREA_GOV_GRID], 3);
	CHECK_EQ_INT(c->nsplit, 1);
	CHECK_EQ_INT(c->areas[catalog_find(c, 10)].fused_police, catalog_find(c, 6));
	catalog_free(c);
}

static void test_station_scope_sees_descendants_and_fused_grids_not_ancestors(void)
{
	struct catalog *c = build();
	struct catalog_scope s;
	int64_t scope = 4;

	if (!c)
		return;
	CHECK_EQ_INT(catalog_scope_build(c, &scope, 1, &s), 0);
	CHECK(!s.all);
	CHECK(catalog_visible(&s, catalog_find(c, 4)));
	CHECK(catalog_visible(&s, catalog_find(c, 5)));
	CHECK(catalog_visible(&s, catalog_find(c, 6)));
	CHECK(catalog_visible(&s, catalog_find(c, 9)));  /* fused to police grid 5 */
	CHECK(catalog_visible(&s, catalog_find(c, 10))); /* fused to police grid 6 */
	CHECK(!catalog_visible(&s, catalog_find(c, 2))); /* ancestor */
	CHECK(!catalog_visible(&s, catalog_find(c, 1)));
	CHECK(!catalog_visible(&s, catalog_find(c, 8))); /* governance parent of a visible grid */
	CHECK(!catalog_visible(&s, catalog_find(c, 12)));
	CHECK(!catalog_visible(&s, catalog_find(c, 15)));
	catalog_scope_release(&s);
	catalog_free(c);
}

static void test_city_scope_sees_all_and_unknown_ids_see_nothing(void)
{
	struct catalog *c = build();
	struct catalog_scope s;
	int64_t city = 1, unknown = 77;
	uint32_t seen = 0;

	if (!c)
		return;
	CHECK_EQ_INT(catalog_scope_build(c, &city, 1, &s), 0);
	CHECK(s.all);
	catalog_scope_release(&s);
	CHECK_EQ_INT(catalog_scope_build(c, &unknown, 1, &s), 0);
	for (uint32_t i = 0; i < c->n; i++)
		seen += catalog_visible(&s, i);
	CHECK_EQ_INT(seen, 0);
	catalog_scope_release(&s);
	catalog_free(c);
}

static void test_locate_returns_one_area_per_kind(void)
{
	struct catalog *c = build();
	uint32_t out[AREA_KIND_COUNT];

	if (!c)
		return;
	CHECK_EQ_INT(catalog_locate(c, (struct geo_point){ 0.7, 0.5 }, out), 7);
	CHECK_EQ_INT(c->areas[out[AREA_POLICE_GRID]].id, 6);
	CHECK_EQ_INT(c->areas[out[AREA_GOV_GRID]].id, 10);
	CHECK_EQ_INT(c->areas[out[AREA_DISTRICT]].id, 2);
	CHECK_EQ_INT(catalog_locate(c, (struct geo_point){ 1.5, 0.5 }, out), 7);
	CHECK_EQ_INT(c->areas[out[AREA_STATION]].id, 11);
	CHECK_EQ_INT(catalog_locate(c, (struct geo_point){ 5, 5 }, out), 0);
	CHECK_EQ_INT(out[AREA_CITY], CATALOG_NONE);
	catalog_free(c);
}

static void test_rename_replaces_the_name(void)
{
	struct catalog *c = build();
	char buf[64];

	if (!c)
		return;
	CHECK_EQ_INT(catalog_rename(c, catalog_find(c, 9), "东门网格"), 0);
	catalog_name(c, catalog_find(c, 9), buf, sizeof buf);
	CHECK_STR(buf, "东门网格");
	catalog_free(c);
}

static void test_build_refuses_areas_out_of_id_order(void)
{
	struct area_set s;
	struct catalog *c = NULL;

	area_set_init(&s);
	push(&s, 5, AREA_CITY, 0, "A", 0, 0, 1, 1);
	push(&s, 3, AREA_DISTRICT, 5, "B", 0, 0, 1, 1);
	CHECK_EQ_INT(catalog_build(&s, NULL, 0, &c), SG_EINVAL);
	CHECK(c == NULL);
	area_set_release(&s);
}

int main(void)
{
	TEST_RUN(test_tree_and_lookups);
	TEST_RUN(test_station_scope_sees_descendants_and_fused_grids_not_ancestors);
	TEST_RUN(test_city_scope_sees_all_and_unknown_ids_see_nothing);
	TEST_RUN(test_locate_returns_one_area_per_kind);
	TEST_RUN(test_rename_replaces_the_name);
	TEST_RUN(test_build_refuses_areas_out_of_id_order);
	return test_summary("model/catalog");
}
