/*
 * test_city.c — the demo city: counts, real codes and names, the hierarchy,
 * exact tiling of every layer, determinism, and well-known places.
 *
 * Includes the generator's files to reach their helpers (apportioning,
 * numerals, the PRNG); the library's copies are then never linked in.
 * The city is built three times (seed 1 twice, seed 2 once); the first build
 * is timed and the time printed.
 */
#include "../../../src/demo/city.c"
#include "../../../src/demo/city_districts.c"
#include "../../../src/demo/city_divisions.c"
#include "../../../src/demo/city_geom.c"
#include "../../../src/demo/city_gov.c"
#include "../../../src/demo/city_police.c"
#include "../../../src/demo/city_split.c"

#include <time.h>

#include "test.h"

static struct area_set city;
static double build_seconds;
static size_t progress_calls, progress_last_done, progress_last_expected;
static int progress_monotonic = 1;

static void on_progress(void *ctx, size_t done, size_t expected)
{
	(void)ctx;
	if (done < progress_last_done)
		progress_monotonic = 0;
	progress_calls++;
	progress_last_done = done;
	progress_last_expected = expected;
}

static const struct area *find_code(const struct area_set *s, const char *code)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].code, code) == 0)
			return &s->v[i];
	return NULL;
}

static size_t count_kind(const struct area_set *s, enum area_kind k)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++)
		n += s->v[i].kind == k;
	return n;
}

/* The one area of kind k containing p, or NULL if none or several do. */
static const struct area *locate(const struct area_set *s, enum area_kind k, double lon, double lat)
{
	struct geo_point p = { lon, lat };
	const struct area *hit = NULL;

	for (size_t i = 0; i < s->n; i++) {
		if (s->v[i].kind != k || !geo_mpoly_contains(&s->v[i].geom, p))
			continue;
		if (hit)
			return NULL;
		hit = &s->v[i];
	}
	return hit;
}

static void test_counts_per_kind_are_in_range(void)
{
	size_t st = count_kind(&city, AREA_STATION), pg = count_kind(&city, AREA_POLICE_GRID);
	size_t gg = count_kind(&city, AREA_GOV_GRID);

	CHECK_EQ_INT(count_kind(&city, AREA_CITY), 1);
	CHECK_EQ_INT(count_kind(&city, AREA_DISTRICT), 10);
	CHECK_EQ_INT(count_kind(&city, AREA_STREET), 118);
	CHECK_EQ_INT(count_kind(&city, AREA_COMMUNITY), 2248);
	CHECK(st >= 95 && st <= 110);
	CHECK(pg >= 1800 && pg <= 2300);
	CHECK(gg >= 11000 && gg <= 13000);
	printf("demo/city: %zu areas: 10 districts, 118 streets, 2248 communities, %zu stations, "
	       "%zu police grids, %zu governance grids\n",
	       city.n, st, pg, gg);
}

static void test_real_codes_and_names_are_kept(void)
{
	static const struct {
		const char *code, *name;
		enum area_kind kind;
	} want[] = {
		{ "320500", "苏州市", AREA_CITY },
		{ "320508", "姑苏区", AREA_DISTRICT },
		{ "320576", "苏州工业园区", AREA_DISTRICT },
		{ "320583", "昆山市", AREA_DISTRICT },
		{ "320508018", "平江街道", AREA_STREET },
		{ "320576054", "金鸡湖街道", AREA_STREET },
		{ "320583100", "玉山镇", AREA_STREET },
	};

	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const struct area *a = find_code(&city, want[i].code);
		CHECK(a != NULL);
		if (!a)
			continue;
		CHECK_STR(a->name, want[i].name);
		CHECK_EQ_INT(a->kind, want[i].kind);
	}
}

/* Every community row of the CSV is an area with its code, name, and its street as parent. */
static void test_every_village_row_is_a_community_under_its_street(void)
{
	struct demo__divisions d = { 0 };
	size_t missing = 0, wrong = 0;

	CHECK_EQ_INT(demo__divisions_parse(&d), SG_OK);
	for (size_t i = 0; i < d.n; i++) {
		const struct area *a;

		if (d.v[i].level != DEMO_DIV_VILLAGE)
			continue;
		a = find_code(&city, d.v[i].code);
		if (!a) {
			missing++;
			continue;
		}
		if (a->kind != AREA_COMMUNITY || strcmp(a->name, d.v[i].name) != 0 ||
		    strcmp(city.v[a->parent_idx].code, d.v[d.v[i].parent].code) != 0)
			wrong++;
	}
	CHECK_EQ_INT(missing, 0);
	CHECK_EQ_INT(wrong, 0);
	demo__divisions_release(&d);
}

static void test_every_parent_is_earlier_and_of_the_right_kind(void)
{
	static const int parent_kind[AREA_KIND_COUNT] = {
		[AREA_CITY] = -1,
		[AREA_DISTRICT] = AREA_CITY,
		[AREA_STATION] = AREA_DISTRICT,
		[AREA_POLICE_GRID] = AREA_STATION,
		[AREA_STREET] = AREA_DISTRICT,
		[AREA_COMMUNITY] = AREA_STREET,
		[AREA_GOV_GRID] = AREA_COMMUNITY,
	};
	size_t bad = 0;

	for (size_t i = 0; i < city.n; i++) {
		const struct area *a = &city.v[i];
		int want = parent_kind[a->kind];

		if (want < 0)
			bad += a->parent_idx != -1;
		else
			bad += a->parent_idx < 0 || (size_t)a->parent_idx >= i ||
			       (int)city.v[a->parent_idx].kind != want || a->parent_id != 0;
	}
	CHECK_EQ_INT(bad, 0);
}

static int cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_codes_are_unique_and_shaped(void)
{
	size_t dup = 0, bad_shape = 0, empty = 0;
	char **codes = malloc(city.n * sizeof *codes);

	CHECK(codes != NULL);
	if (!codes)
		return;
	for (size_t i = 0; i < city.n; i++) {
		const struct area *a = &city.v[i];
		size_t len = strlen(a->code);

		codes[i] = city.v[i].code;
		empty += len == 0;
		if (a->kind == AREA_GOV_GRID)
			bad_shape += len != 15 || strspn(a->code, "0123456789") != 15 ||
				     strncmp(a->code, city.v[a->parent_idx].code, 12) != 0 ||
				     !strstr(a->name, "网格");
		if (a->kind == AREA_STATION)
			bad_shape += strncmp(a->code, city.v[a->parent_idx].code, 6) != 0 ||
				     strstr(a->code, "-PS") != a->code + 6 ||
				     strcmp(a->name + strlen(a->name) - strlen("派出所"), "派出所") != 0;
		if (a->kind == AREA_POLICE_GRID)
			bad_shape += strncmp(a->code, city.v[a->parent_idx].code,
					     strlen(city.v[a->parent_idx].code)) != 0 ||
				     strncmp(a->name, city.v[a->parent_idx].name,
					     strlen(city.v[a->parent_idx].name)) != 0 ||
				     !strstr(a->name, "警务网格");
	}
	qsort(codes, city.n, sizeof *codes, cmp_str_ptr);
	for (size_t i = 1; i < city.n; i++)
		dup += strcmp(codes[i - 1], codes[i]) == 0;
	free(codes);
	CHECK_EQ_INT(dup, 0);
	CHECK_EQ_INT(empty, 0);
	CHECK_EQ_INT(bad_shape, 0);
}

/* Well-known places (WGS-84) fall in the right county, and in exactly one. */
static void test_well_known_places_lie_in_their_districts(void)
{
	static const struct {
		const char *what;
		double lon, lat;
		const char *district;
	} places[] = {
		{ "拙政园 Humble Administrator's Garden", 120.6285, 31.3237, "姑苏区" },
		{ "金鸡湖 Jinji Lake", 120.70, 31.31, "苏州工业园区" },
		{ "昆山 centre", 120.98, 31.385, "昆山市" },
		{ "张家港 centre", 120.55, 31.875, "张家港市" },
		{ "常熟 centre", 120.75, 31.65, "常熟市" },
		{ "太仓 centre", 121.10, 31.45, "太仓市" },
		{ "吴江 centre", 120.64, 31.16, "吴江区" },
	};

	for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
		const struct area *d = locate(&city, AREA_DISTRICT, places[i].lon, places[i].lat);
		CHECK(d != NULL);
		if (!d) {
			fprintf(stderr, "  %s: no single district\n", places[i].what);
			continue;
		}
		CHECK_STR(d->name, places[i].district);
		/* Below the district, both hierarchies have exactly one area there, inside it. */
		for (enum area_kind k = AREA_STATION; k <= AREA_GOV_GRID; k++) {
			const struct area *a = locate(&city, k, places[i].lon, places[i].lat);
			CHECK(a != NULL);
		}
	}
}

/* Children's indices ordered by (parent, kind): the groups that must tile their parent. */
static const struct area_set *sort_set;

static int cmp_by_parent_kind(const void *a, const void *b)
{
	const struct area *x = &sort_set->v[*(const size_t *)a], *y = &sort_set->v[*(const size_t *)b];

	if (x->parent_idx != y->parent_idx)
		return x->parent_idx < y->parent_idx ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

struct edge {
	double ax, ay, bx, by;
};

static int cmp_edge(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct edge)) == 0 ? 0 : (memcmp(a, b, sizeof(struct edge)) < 0 ? -1 : 1);
}

static double ring_length(const struct geo_mpoly *m)
{
	double len = 0;

	for (uint32_t r = 0; r < m->nrings; r++)
		for (uint32_t i = m->ring_off[r]; i + 1 < m->ring_off[r + 1]; i++)
			len += hypot(m->pts[i + 1].lon - m->pts[i].lon, m->pts[i + 1].lat - m->pts[i].lat);
	return len;
}

struct tiling_stats {
	size_t groups, shared_edges, midpoint_misses;
	double worst_area_rel, worst_symdiff_grid, worst_unshared_excess;
};

/*
 * Checks one group (children ch[0..n) of parent p): areas add up, GEOS sees
 * their union equal the parent, every edge two children share is the same
 * pair of points in both and its midpoint belongs to exactly one of them
 * (the index's half-open rule), and the edges not shared add up to the
 * parent's perimeter — no neighbour boundary is duplicated with different
 * vertices.
 */
static void check_group(GEOSContextHandle_t ctx, const struct area *p, const size_t *ch, size_t n,
			struct tiling_stats *st)
{
	GEOSGeometry **parts = calloc(n, sizeof *parts), *col, *u, *pg, *sd;
	struct edge *edges = NULL;
	size_t nedges = 0, alloc = 0;
	double sum = 0, sd_area = 1, unshared = 0;

	CHECK(parts != NULL);
	if (!parts)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct area *c = &city.v[ch[i]];
		sum += c->area_m2;
		parts[i] = geo_mpoly_to_geos(ctx, &c->geom);
		for (uint32_t r = 0; r < c->geom.nrings; r++) {
			for (uint32_t k = c->geom.ring_off[r]; k + 1 < c->geom.ring_off[r + 1]; k++) {
				struct geo_point a = c->geom.pts[k], b = c->geom.pts[k + 1];
				struct edge e;
				if (a.lon > b.lon || (a.lon == b.lon && a.lat > b.lat)) {
					struct geo_point t = a;
					a = b;
					b = t;
				}
				e = (struct edge){ a.lon, a.lat, b.lon, b.lat };
				if (nedges == alloc) {
					alloc = alloc ? alloc * 2 : 1024;
					edges = realloc(edges, alloc * sizeof *edges);
				}
				edges[nedges++] = e;
			}
		}
	}
	st->groups++;
	if (sum > 0 && fabs(sum - p->area_m2) / p->area_m2 > st->worst_area_rel)
		st->worst_area_rel = fabs(sum - p->area_m2) / p->area_m2;

	col = GEOSGeom_createCollection_r(ctx, GEOS_GEOMETRYCOLLECTION, parts, (unsigned)n);
	u = col ? GEOSUnaryUnion_r(ctx, col) : NULL;
	pg = geo_mpoly_to_geos(ctx, &p->geom);
	sd = u && pg ? GEOSSymDifference_r(ctx, u, pg) : NULL;
	CHECK(sd != NULL);
	/* Rounding to the grid moves a boundary point by under one grid step. */
	if (sd && GEOSArea_r(ctx, sd, &sd_area) &&
	    sd_area / (ring_length(&p->geom) * DEMO_GRID_DEG) > st->worst_symdiff_grid)
		st->worst_symdiff_grid = sd_area / (ring_length(&p->geom) * DEMO_GRID_DEG);

	qsort(edges, nedges, sizeof *edges, cmp_edge);
	for (size_t i = 0; i < nedges;) {
		size_t j = i + 1;
		while (j < nedges && cmp_edge(&edges[i], &edges[j]) == 0)
			j++;
		if (j - i == 1) {
			unshared += hypot(edges[i].bx - edges[i].ax, edges[i].by - edges[i].ay);
		} else {
			struct geo_point m = { (edges[i].ax + edges[i].bx) / 2, (edges[i].ay + edges[i].by) / 2 };
			size_t hits = 0;
			for (size_t k = 0; k < n; k++) {
				const struct area *c = &city.v[ch[k]];
				if (m.lon >= c->bbox.min_lon && m.lon <= c->bbox.max_lon &&
				    m.lat >= c->bbox.min_lat && m.lat <= c->bbox.max_lat)
					hits += geo_mpoly_contains(&c->geom, m);
			}
			st->shared_edges++;
			st->midpoint_misses += hits != 1 || j - i != 2;
		}
		i = j;
	}
	if ((unshared - ring_length(&p->geom)) / ring_length(&p->geom) > st->worst_unshared_excess)
		st->worst_unshared_excess = (unshared - ring_length(&p->geom)) / ring_length(&p->geom);

	free(edges);
	free(parts);
	if (col)
		GEOSGeom_destroy_r(ctx, col);
	if (u)
		GEOSGeom_destroy_r(ctx, u);
	if (pg)
		GEOSGeom_destroy_r(ctx, pg);
	if (sd)
		GEOSGeom_destroy_r(ctx, sd);
}

static void test_every_layer_tiles_its_parent_exactly(void)
{
	GEOSContextHandle_t ctx = geo_geos_context_new();
	size_t *idx = malloc(city.n * sizeof *idx), n = 0;
	struct tiling_stats st = { 0 };

	CHECK(ctx != NULL && idx != NULL);
	if (!ctx || !idx)
		goto out;
	for (size_t i = 0; i < city.n; i++)
		if (city.v[i].parent_idx >= 0)
			idx[n++] = i;
	sort_set = &city;
	qsort(idx, n, sizeof *idx, cmp_by_parent_kind);
	for (size_t i = 0; i < n;) {
		const struct area *first = &city.v[idx[i]];
		size_t j = i + 1;
		while (j < n && city.v[idx[j]].parent_idx == first->parent_idx &&
		       city.v[idx[j]].kind == first->kind)
			j++;
		check_group(ctx, &city.v[first->parent_idx], idx + i, j - i, &st);
		i = j;
	}
	printf("demo/city: %zu parent/layer groups; worst relative error of the children's area "
	       "sum %.2e; worst symmetric difference %.2f of perimeter x grid; %zu shared edges "
	       "(%zu not resolving once); unshared edges exceed the perimeter by at most %.2e\n",
	       st.groups, st.worst_area_rel, st.worst_symdiff_grid, st.shared_edges,
	       st.midpoint_misses, st.worst_unshared_excess);
	CHECK_EQ_INT(st.groups, 1 + 10 * 2 + 118 + 2248 + count_kind(&city, AREA_STATION));
	CHECK(st.worst_area_rel < 1e-6);
	CHECK(st.worst_symdiff_grid <= 1.0);
	CHECK(st.shared_edges > 10000);
	CHECK_EQ_INT(st.midpoint_misses, 0);
	CHECK(st.worst_unshared_excess < 1e-9);
out:
	free(idx);
	geo_geos_context_free(ctx);
}

static int same_area(const struct area *a, const struct area *b)
{
	return a->kind == b->kind && a->parent_idx == b->parent_idx && strcmp(a->code, b->code) == 0 &&
	       strcmp(a->name, b->name) == 0 && a->geom.npts == b->geom.npts &&
	       a->geom.nrings == b->geom.nrings && a->geom.npolys == b->geom.npolys &&
	       memcmp(a->geom.pts, b->geom.pts, a->geom.npts * sizeof *a->geom.pts) == 0;
}

static void test_same_seed_same_city_other_seed_other_city(void)
{
	struct area_set again, other;
	size_t differ = 0, same_geom = 0;

	area_set_init(&again);
	area_set_init(&other);
	CHECK_EQ_INT(demo_city_build(1, &again, NULL, NULL), SG_OK);
	CHECK_EQ_INT(again.n, city.n);
	for (size_t i = 0; i < city.n && i < again.n; i++)
		differ += !same_area(&city.v[i], &again.v[i]);
	CHECK_EQ_INT(differ, 0);

	CHECK_EQ_INT(demo_city_build(2, &other, NULL, NULL), SG_OK);
	for (size_t i = 0; i < city.n && i < other.n; i++)
		if (city.v[i].kind == AREA_COMMUNITY || city.v[i].kind == AREA_STATION)
			same_geom += same_area(&city.v[i], &other.v[i]);
	/* The counties are fixed by the data; the drawn layers are not. */
	CHECK(same_area(&city.v[1], &other.v[1]));
	CHECK(same_geom < 100);
	area_set_release(&again);
	area_set_release(&other);
}

static void test_progress_reaches_the_expected_total(void)
{
	CHECK(progress_calls > 5);
	CHECK(progress_monotonic);
	CHECK_EQ_INT(progress_last_done, city.n);
	CHECK_EQ_INT(progress_last_expected, city.n);
}

static void test_build_takes_a_few_seconds_at_most(void)
{
	/* About 4 s optimised, 16 s with ASan+UBSan; this catches a blow-up, not a slow machine. */
	CHECK(build_seconds < 60.0);
}

static void test_apportion_gives_every_share_its_minimum_and_sums_to_total(void)
{
	const double w[] = { 1, 0, 3, 6 };
	unsigned out[4];

	CHECK_EQ_INT(apportion(w, 4, 20, 2, out), SG_OK);
	CHECK_EQ_INT(out[0] + out[1] + out[2] + out[3], 20);
	CHECK_EQ_INT(out[1], 2);
	CHECK(out[3] > out[2] && out[2] > out[0]);
	CHECK_EQ_INT(apportion(w, 4, 7, 2, out), SG_EINVAL);
}

static void test_chinese_numbers_read_as_written(void)
{
	char buf[16];

	demo__chinese_number(2, buf, sizeof buf);
	CHECK_STR(buf, "二");
	demo__chinese_number(10, buf, sizeof buf);
	CHECK_STR(buf, "十");
	demo__chinese_number(12, buf, sizeof buf);
	CHECK_STR(buf, "十二");
	demo__chinese_number(30, buf, sizeof buf);
	CHECK_STR(buf, "三十");
	demo__chinese_number(47, buf, sizeof buf);
	CHECK_STR(buf, "四十七");
}

static void test_names_shorten_as_people_say_them(void)
{
	char buf[64];

	CHECK(demo__township_base_name("狮山街道", buf, sizeof buf));
	CHECK_STR(buf, "狮山");
	CHECK(demo__township_base_name("巴城镇", buf, sizeof buf));
	CHECK_STR(buf, "巴城");
	CHECK(demo__township_base_name("科技城（东渚街道）", buf, sizeof buf));
	CHECK_STR(buf, "东渚");
	CHECK(!demo__township_base_name("浒墅关经开区（镇）", buf, sizeof buf));
	CHECK(!demo__township_base_name("吴中区林场", buf, sizeof buf));
	demo__community_short_name("华盛社区居委会", buf, sizeof buf);
	CHECK_STR(buf, "华盛社区");
	demo__community_short_name("三马村委会", buf, sizeof buf);
	CHECK_STR(buf, "三马村");
	demo__community_short_name("湖景花园社区居民委员会", buf, sizeof buf);
	CHECK_STR(buf, "湖景花园社区");
	demo__community_short_name("南湖农场生活区", buf, sizeof buf);
	CHECK_STR(buf, "南湖农场生活区");
}

static void test_rng_streams_are_reproducible_and_distinct(void)
{
	struct demo__rng a, b, c;
	int same = 1, differ = 0;

	demo__rng_init(&a, 7, DEMO_STREAM_STREETS, 3, 0);
	demo__rng_init(&b, 7, DEMO_STREAM_STREETS, 3, 0);
	demo__rng_init(&c, 7, DEMO_STREAM_STREETS, 4, 0);
	for (int i = 0; i < 100; i++) {
		uint64_t x = rng_next(&a), y = rng_next(&b), z = rng_next(&c);
		same &= x == y;
		differ += x != z;
	}
	CHECK(same);
	CHECK_EQ_INT(differ, 100);
	for (int i = 0; i < 1000; i++) {
		double u = rng_unit(&a);
		CHECK(u >= 0.0 && u < 1.0);
	}
}

int main(void)
{
	struct timespec t0, t1;

	area_set_init(&city);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ_INT(demo_city_build(1, &city, on_progress, NULL), SG_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	build_seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("demo/city: built seed 1 in %.2f s\n", build_seconds);

	TEST_RUN(test_counts_per_kind_are_in_range);
	TEST_RUN(test_real_codes_and_names_are_kept);
	TEST_RUN(test_every_village_row_is_a_community_under_its_street);
	TEST_RUN(test_every_parent_is_earlier_and_of_the_right_kind);
	TEST_RUN(test_codes_are_unique_and_shaped);
	TEST_RUN(test_well_known_places_lie_in_their_districts);
	TEST_RUN(test_every_layer_tiles_its_parent_exactly);
	TEST_RUN(test_progress_reaches_the_expected_total);
	TEST_RUN(test_build_takes_a_few_seconds_at_most);
	TEST_RUN(test_same_seed_same_city_other_seed_other_city);
	TEST_RUN(test_apportion_gives_every_share_its_minimum_and_sums_to_total);
	TEST_RUN(test_chinese_numbers_read_as_written);
	TEST_RUN(test_names_shorten_as_people_say_them);
	TEST_RUN(test_rng_streams_are_reproducible_and_distinct);

	area_set_release(&city);
	return test_summary("demo/city");
}
