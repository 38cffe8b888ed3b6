/*
 * forces.c — the demo city's organisations, people and units (see
 * forces.h). Built in memory from the area set and the stored fusion
 * mapping, then stored in five transactions.
 */
#include "demo/forces.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "store/forces.h"

#define NONE ((size_t)-1)

/* splitmix64: small, fast, and good enough for synthetic data. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static double rnd_unit(uint64_t *s)
{
	return (double)(rnd(s) >> 11) * (1.0 / 9007199254740992.0);
}

static const char *const surnames[] = {
	"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
	"郭", "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "邓", "冯", "韩", "曹",
	"曾", "彭", "萧", "蔡", "潘", "田", "董", "袁", "于", "余", "叶", "蒋", "杜", "苏", "魏",
	"程", "吕", "丁", "沈", "任", "姚", "卢", "钟", "姜", "崔", "谭", "陆", "范", "汪", "顾",
};

static const char *const given[] = {
	"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
	"明", "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "国", "文", "辉", "玲", "斌",
	"宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "婷", "雪", "琳", "晨", "欣", "怡",
	"嘉", "博", "峰", "鹏", "飞", "鑫", "波", "亮", "红", "燕", "梅", "莉", "萍", "瑶", "晶",
};

#define NSUR (sizeof surnames / sizeof surnames[0])
#define NGIV (sizeof given / sizeof given[0])

struct gen {
	const struct area_set *set;
	uint64_t rng;
	int64_t now_ms;
	size_t *fused;          /* per area: set index of the fused police grid (gov grids) */
	size_t *first_grid;     /* per community: its first governance grid */
	size_t *next_grid;      /* per gov grid: the next grid of its community */
	size_t *ngrids;         /* per community */
	int64_t *org_of;        /* per area: the organisation serving it (stations, streets, districts) */
	int64_t *mediation_of;  /* per street */
	int64_t *court_of, *firm_of, *property_of; /* per district */
	struct store_person *people;
	size_t npeople, apeople, stored;
	struct store_unit *units;
	size_t nunits, aunits;
	/* members of units as indexes into people, resolved to ids after the load */
	size_t (*members)[STORE_UNIT_MEMBERS_MAX];
	uint64_t counter; /* ID numbers */
	int64_t bureau, swat, traffic, cid;
};

static size_t by_id(const struct area_set *set, int64_t id)
{
	size_t lo = 0, hi = set->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (set->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < set->n && set->v[lo].id == id ? lo : NONE;
}

static size_t ancestor(const struct area_set *set, size_t i, enum area_kind kind)
{
	while (i != NONE && set->v[i].kind != kind)
		i = set->v[i].parent_idx >= 0 ? (size_t)set->v[i].parent_idx : NONE;
	return i;
}

static void person_name(struct gen *g, char *out, size_t cap)
{
	const char *a = surnames[rnd(&g->rng) % NSUR], *b = given[rnd(&g->rng) % NGIV];

	if (rnd(&g->rng) % 3)
		snprintf(out, cap, "%s%s%s", a, b, given[rnd(&g->rng) % NGIV]);
	else
		snprintf(out, cap, "%s%s", a, b);
}

/*
 * A valid, unique citizen ID number: the district's division code, a birth
 * date spread over 1965-1999 and a sequence number, and the check character.
 */
static void id_number(struct gen *g, const char *district_code, char out[FORCE_ID_NUMBER_LEN + 1])
{
	uint64_t k = g->counter++;
	time_t birth = (time_t)(-157766400 + (int64_t)((k / 1000) * 37 % 12775) * 86400); /* from 1965 */
	struct tm tm;
	char digits[48];

	gmtime_r(&birth, &tm);
	snprintf(digits, sizeof digits, "%.6s%04d%02d%02d%03u",
		 strlen(district_code) >= 6 ? district_code : "320500", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, (unsigned)(k % 1000));
	memcpy(out, digits, 17);
	out[17] = force_id_number_check(digits);
	out[18] = '\0';
}

/* Adds a person; returns its index, or NONE when out of memory. */
static size_t add_person(struct gen *g, enum person_type type, int64_t org, size_t area,
			 size_t grid)
{
	const struct area_set *set = g->set;
	size_t d = ancestor(set, area, AREA_DISTRICT);
	struct store_person *p;

	if (g->npeople == g->apeople) {
		size_t na = g->apeople ? g->apeople * 2 : 8192;
		struct store_person *nv = realloc(g->people, na * sizeof *nv);
		if (!nv)
			return NONE;
		g->people = nv;
		g->apeople = na;
	}
	p = &g->people[g->npeople];
	memset(p, 0, sizeof *p);
	p->type = type;
	p->org_id = org;
	p->area_id = set->v[area].id;
	person_name(g, p->name, sizeof p->name);
	snprintf(p->phone, sizeof p->phone, "1%c%09llu", "3578"[rnd(&g->rng) % 4],
		 (unsigned long long)(rnd(&g->rng) % 1000000000ULL));
	id_number(g, d != NONE ? set->v[d].code : "320500", p->id_number);
	if (grid != NONE)
		p->grids[p->ngrids++] = set->v[grid].id;
	p->created_at = g->now_ms / 1000;
	return g->npeople++;
}

/* Copies src into dst of cap bytes, truncating. */
static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

/* A point inside an area (its polygon), drawn from the bounding box. */
static void point_in(struct gen *g, size_t area, double *lon, double *lat)
{
	const struct area *a = &g->set->v[area];

	for (int i = 0; i < 40; i++) {
		struct geo_point p = { a->bbox.min_lon + rnd_unit(&g->rng) * (a->bbox.max_lon - a->bbox.min_lon),
				       a->bbox.min_lat + rnd_unit(&g->rng) * (a->bbox.max_lat - a->bbox.min_lat) };
		if (geo_mpoly_contains(&a->geom, p)) {
			*lon = p.lon;
			*lat = p.lat;
			return;
		}
	}
	*lon = (a->bbox.min_lon + a->bbox.max_lon) / 2;
	*lat = (a->bbox.min_lat + a->bbox.max_lat) / 2;
}

/* Adds a unit with members (indexes into people); returns 0 or SG_ENOMEM. */
static int add_unit(struct gen *g, enum unit_type type, const char *callsign, int64_t org,
		    size_t home, const size_t *members, size_t nmembers)
{
	struct store_unit *u;
	double r = rnd_unit(&g->rng);

	if (g->nunits == g->aunits) {
		size_t na = g->aunits ? g->aunits * 2 : 1024;
		struct store_unit *nv = realloc(g->units, na * sizeof *nv);
		size_t (*nm)[STORE_UNIT_MEMBERS_MAX] = realloc(g->members, na * sizeof *nm);
		if (nv)
			g->units = nv;
		if (nm)
			g->members = nm;
		if (!nv || !nm)
			return SG_ENOMEM;
		g->aunits = na;
	}
	u = &g->units[g->nunits];
	memset(u, 0, sizeof *u);
	u->type = type;
	copy_str(u->callsign, sizeof u->callsign, callsign);
	u->org_id = org;
	u->area_id = g->set->v[home].id;
	/* Most units are on duty and free; some rest, a few are busy with something else. */
	u->status = r < 0.85 ? 1 /* available */ : r < 0.95 ? 0 /* off_duty */ : 4 /* busy */;
	u->has_pos = true;
	point_in(g, home, &u->lon, &u->lat);
	u->pos_at = g->now_ms;
	u->created_at = u->updated_at = g->now_ms / 1000;
	u->nmembers = nmembers;
	for (size_t i = 0; i < nmembers; i++)
		g->members[g->nunits][i] = members[i];
	g->nunits++;
	return SG_OK;
}

static struct store_org *org_slot(struct store_org **v, size_t *n, size_t *alloc)
{
	if (*n == *alloc) {
		size_t na = *alloc ? *alloc * 2 : 64;
		struct store_org *nv = realloc(*v, na * sizeof *nv);
		if (!nv)
			return NULL;
		*v = nv;
		*alloc = na;
	}
	memset(&(*v)[*n], 0, sizeof **v);
	return &(*v)[(*n)++];
}

static void org_fill(struct store_org *o, enum org_kind kind, int64_t parent, const char *code,
		     const char *name, int64_t area)
{
	o->kind = kind;
	o->parent_id = parent;
	copy_str(o->code, sizeof o->code, code);
	copy_str(o->name, sizeof o->name, name);
	o->area_ids[0] = area;
	o->nareas = 1;
}

/* Feeds the generated people to store_people_load and takes their ids back. */
static int people_next(void *ctx, struct store_person *out, size_t cap, size_t *n)
{
	struct gen *g = ctx;
	size_t k = g->npeople - g->stored < cap ? g->npeople - g->stored : cap;

	memcpy(out, g->people + g->stored, k * sizeof *out);
	*n = k;
	return SG_OK;
}

static void people_added(void *ctx, const struct store_person *p, size_t n)
{
	struct gen *g = ctx;

	for (size_t i = 0; i < n; i++)
		g->people[g->stored + i].id = p[i].id;
	g->stored += n;
}

static int build_orgs(struct store *s, struct gen *g, size_t *norgs)
{
	const struct area_set *set = g->set;
	struct store_org *v = NULL;
	size_t n = 0, alloc = 0, city = NONE;
	char name[2 * STORE_FORCE_NAME_MAX], code[2 * AREA_CODE_MAX];
	int rc = SG_ENOMEM;

	for (size_t i = 0; i < set->n && city == NONE; i++)
		city = set->v[i].kind == AREA_CITY ? i : NONE;
	if (city == NONE)
		return SG_EINVAL;
	/* 1: the city bureau */
	snprintf(name, sizeof name, "%s公安局", set->v[city].name);
	snprintf(code, sizeof code, "%s-GA", set->v[city].code);
	if (!org_slot(&v, &n, &alloc))
		goto out;
	org_fill(&v[0], ORG_CITY_BUREAU, 0, code, name, set->v[city].id);
	if ((rc = store_orgs_add(s, v, 1, NULL)))
		goto out;
	g->bureau = v[0].id;
	*norgs += 1;

	/* 2: city branches, district branches and linked organisations */
	n = 0;
	rc = SG_ENOMEM;
	{
		static const struct {
			enum org_kind kind;
			const char *suffix, *name;
		} branches[] = {
			{ ORG_PATROL_SWAT, "XTJ", "巡特警支队" },
			{ ORG_TRAFFIC, "JJ", "交通警察支队" },
			{ ORG_CRIMINAL_INVESTIGATION, "XZ", "刑事侦查支队" },
		};
		for (size_t b = 0; b < 3; b++) {
			struct store_org *o = org_slot(&v, &n, &alloc);
			if (!o)
				goto out;
			snprintf(name, sizeof name, "%s公安局%s", set->v[city].name, branches[b].name);
			snprintf(code, sizeof code, "%s-%s", set->v[city].code, branches[b].suffix);
			org_fill(o, branches[b].kind, g->bureau, code, name, set->v[city].id);
		}
	}
	for (size_t i = 0; i < set->n; i++) {
		const struct area *a = &set->v[i];
		struct store_org *o;
		if (a->kind == AREA_DISTRICT) {
			static const struct {
				enum org_kind kind;
				const char *name, *suffix;
			} per_district[] = {
				{ ORG_DISTRICT_BRANCH, "公安分局", "FJ" },
				{ ORG_COURT, "人民法院", "FY" },
				{ ORG_SECURITY_FIRM, "保安服务公司", "BA" },
				{ ORG_PROPERTY_COMPANY, "安居物业公司", "WY" },
			};
			for (size_t k = 0; k < 4; k++) {
				if (!(o = org_slot(&v, &n, &alloc)))
					goto out;
				snprintf(name, sizeof name, "%s%s", a->name, per_district[k].name);
				snprintf(code, sizeof code, "%s-%s", a->code, per_district[k].suffix);
				org_fill(o, per_district[k].kind, k == 0 ? g->bureau : 0, code, name, a->id);
			}
		} else if (a->kind == AREA_STREET) {
			if (!(o = org_slot(&v, &n, &alloc)))
				goto out;
			snprintf(name, sizeof name, "%s综治中心", a->name);
			snprintf(code, sizeof code, "%s-ZZ", a->code);
			org_fill(o, ORG_GOV_DEPARTMENT, 0, code, name, a->id);
			if (!(o = org_slot(&v, &n, &alloc)))
				goto out;
			snprintf(name, sizeof name, "%s人民调解委员会", a->name);
			snprintf(code, sizeof code, "%s-TJ", a->code);
			org_fill(o, ORG_MEDIATION_COMMITTEE, 0, code, name, a->id);
		}
	}
	if ((rc = store_orgs_add(s, v, n, NULL)))
		goto out;
	*norgs += n;
	g->swat = v[0].id;
	g->traffic = v[1].id;
	g->cid = v[2].id;
	{
		/* Remember who serves what: org_of[district] = its branch, [street] = its centre. */
		size_t k = 3;
		for (size_t i = 0; i < set->n; i++) {
			if (set->v[i].kind == AREA_DISTRICT) {
				g->org_of[i] = v[k].id;
				g->court_of[i] = v[k + 1].id;
				g->firm_of[i] = v[k + 2].id;
				g->property_of[i] = v[k + 3].id;
				k += 4;
			} else if (set->v[i].kind == AREA_STREET) {
				g->org_of[i] = v[k].id;
				g->mediation_of[i] = v[k + 1].id;
				k += 2;
			}
		}
	}

	/* 3: stations, under their district's branch */
	n = 0;
	rc = SG_ENOMEM;
	for (size_t i = 0; i < set->n; i++) {
		const struct area *a = &set->v[i];
		size_t d = ancestor(set, i, AREA_DISTRICT);
		struct store_org *o;
		if (a->kind != AREA_STATION)
			continue;
		if (!(o = org_slot(&v, &n, &alloc)))
			goto out;
		org_fill(o, ORG_STATION, d != NONE ? g->org_of[d] : g->bureau, a->code, a->name, a->id);
	}
	if ((rc = store_orgs_add(s, v, n, NULL)))
		goto out;
	*norgs += n;
	for (size_t i = 0, k = 0; i < set->n; i++) {
		if (set->v[i].kind == AREA_STATION)
			g->org_of[i] = v[k++].id;
	}
out:
	free(v);
	return rc;
}

static int build_people_and_units(struct gen *g)
{
	const struct area_set *set = g->set;
	size_t m[STORE_UNIT_MEMBERS_MAX];
	char cs[3 * STORE_CALLSIGN_MAX];
	int rc = SG_OK;

#define PERSON(var, type, org, area, grid)                              \
	do {                                                            \
		if (((var) = add_person(g, type, org, area, grid)) == NONE) \
			return SG_ENOMEM;                               \
	} while (0)

	/* Communities: one officer and two auxiliaries, a cadre, volunteers, a grid team. */
	for (size_t c = 0; c < set->n; c++) {
		size_t grid = g->first_grid[c], street, pg, st;
		int64_t centre, station_org;
		if (set->v[c].kind != AREA_COMMUNITY || grid == NONE)
			continue;
		street = ancestor(set, c, AREA_STREET);
		pg = g->fused[grid];
		st = pg != NONE ? ancestor(set, pg, AREA_STATION) : NONE;
		if (street == NONE || st == NONE)
			continue;
		centre = g->org_of[street];
		station_org = g->org_of[st];
		PERSON(m[0], PERSON_OFFICER, station_org, pg, pg);
		PERSON(m[1], PERSON_COMMUNITY_CADRE, centre, grid, grid);
		PERSON(m[2], PERSON_AUXILIARY, station_org, pg, pg);
		PERSON(m[3], PERSON_AUXILIARY, station_org, pg, pg);
		/* A grid worker for every grid of the community; the first one joins the team. */
		for (size_t gr = grid, k = 0; gr != NONE; gr = g->next_grid[gr], k++) {
			size_t w;
			PERSON(w, PERSON_GRID_WORKER, centre, gr, gr);
			if (k == 0)
				m[4] = w;
		}
		for (int k = 0; k < 3; k++) {
			size_t vol, gr = grid;
			for (uint64_t hop = rnd(&g->rng) % (g->ngrids[c] ? g->ngrids[c] : 1); hop; hop--)
				gr = g->next_grid[gr] != NONE ? g->next_grid[gr] : gr;
			PERSON(vol, PERSON_VOLUNTEER, centre, gr, gr);
		}
		snprintf(cs, sizeof cs, "%s-WG", set->v[c].code);
		if ((rc = add_unit(g, UNIT_GRID_TEAM, cs, station_org, grid, m, 5)))
			return rc;
	}
	/* Stations: three patrol cars, two foot patrols, a motorcycle. */
	for (size_t st = 0; st < set->n; st++) {
		int64_t org;
		if (set->v[st].kind != AREA_STATION)
			continue;
		org = g->org_of[st];
		for (int k = 1; k <= 3; k++) {
			PERSON(m[0], PERSON_OFFICER, org, st, NONE);
			PERSON(m[1], PERSON_AUXILIARY, org, st, NONE);
			snprintf(cs, sizeof cs, "%s-C%d", set->v[st].code, k);
			if ((rc = add_unit(g, UNIT_PATROL_CAR, cs, org, st, m, 2)))
				return rc;
		}
		for (int k = 1; k <= 2; k++) {
			PERSON(m[0], PERSON_AUXILIARY, org, st, NONE);
			PERSON(m[1], PERSON_AUXILIARY, org, st, NONE);
			snprintf(cs, sizeof cs, "%s-F%d", set->v[st].code, k);
			if ((rc = add_unit(g, UNIT_FOOT_PATROL, cs, org, st, m, 2)))
				return rc;
		}
		PERSON(m[0], PERSON_AUXILIARY, org, st, NONE);
		snprintf(cs, sizeof cs, "%s-M1", set->v[st].code);
		if ((rc = add_unit(g, UNIT_MOTORCYCLE, cs, org, st, m, 1)))
			return rc;
	}
	/* Districts: SWAT, traffic, investigation; guards, property staff, legal advisers. */
	for (size_t d = 0; d < set->n; d++) {
		static const struct {
			enum unit_type type;
			int units, crew;
			const char *suffix;
		} teams[] = {
			{ UNIT_SWAT_TEAM, 2, 4, "SWAT" },
			{ UNIT_TRAFFIC_UNIT, 3, 2, "TR" },
			{ UNIT_INVESTIGATION_TEAM, 1, 3, "CID" },
		};
		const int64_t team_org[] = { g->swat, g->traffic, g->cid };
		size_t some_grid = NONE;
		if (set->v[d].kind != AREA_DISTRICT)
			continue;
		for (size_t t = 0; t < 3; t++) {
			for (int k = 1; k <= teams[t].units; k++) {
				for (int c = 0; c < teams[t].crew; c++)
					PERSON(m[c], PERSON_OFFICER, team_org[t], d, NONE);
				snprintf(cs, sizeof cs, "%s-%s%d", set->v[d].code, teams[t].suffix, k);
				if ((rc = add_unit(g, teams[t].type, cs, team_org[t], d, m,
						   (size_t)teams[t].crew)))
					return rc;
			}
		}
		/* Guards and property staff are posted at compounds: a governance grid of the district. */
		for (size_t i = 0; i < set->n && some_grid == NONE; i++) {
			if (set->v[i].kind == AREA_GOV_GRID && ancestor(set, i, AREA_DISTRICT) == d &&
			    rnd(&g->rng) % 8 == 0)
				some_grid = i;
		}
		if (some_grid == NONE)
			continue;
		for (int k = 1; k <= 2; k++) {
			PERSON(m[0], PERSON_SECURITY_GUARD, g->firm_of[d], some_grid, some_grid);
			PERSON(m[1], PERSON_SECURITY_GUARD, g->firm_of[d], some_grid, some_grid);
			snprintf(cs, sizeof cs, "%s-BA%d", set->v[d].code, k);
			if ((rc = add_unit(g, UNIT_GUARD_PATROL, cs, g->firm_of[d], some_grid, m, 2)))
				return rc;
		}
		for (int k = 0; k < 4; k++)
			PERSON(m[0], PERSON_PROPERTY_STAFF, g->property_of[d], some_grid, some_grid);
		for (int k = 0; k < 2; k++)
			PERSON(m[0], PERSON_LEGAL_ADVISER, g->court_of[d], d, NONE);
	}
	/* Streets: a mediation team and a volunteer team at their first community. */
	for (size_t s = 0; s < set->n; s++) {
		size_t home = NONE;
		if (set->v[s].kind != AREA_STREET)
			continue;
		for (size_t c = 0; c < set->n && home == NONE; c++) {
			if (set->v[c].kind == AREA_COMMUNITY && set->v[c].parent_idx == (long)s &&
			    g->first_grid[c] != NONE)
				home = g->first_grid[c];
		}
		if (home == NONE)
			continue;
		for (int k = 0; k < 3; k++)
			PERSON(m[k], PERSON_MEDIATOR, g->mediation_of[s], home, NONE);
		snprintf(cs, sizeof cs, "%s-TJ", set->v[s].code);
		if ((rc = add_unit(g, UNIT_MEDIATION_TEAM, cs, g->mediation_of[s], home, m, 3)))
			return rc;
		for (int k = 0; k < 4; k++)
			PERSON(m[k], PERSON_VOLUNTEER, g->org_of[s], home, home);
		snprintf(cs, sizeof cs, "%s-ZY", set->v[s].code);
		if ((rc = add_unit(g, UNIT_VOLUNTEER_TEAM, cs, g->org_of[s], home, m, 4)))
			return rc;
	}
#undef PERSON
	return SG_OK;
}

int demo_forces_load(struct store *s, const struct area_set *set, uint64_t seed, int64_t now_ms,
		     struct demo_forces_counts *out)
{
	struct gen g;
	struct fusion_row *rows = NULL;
	struct store_people_load load;
	size_t nrows = 0, norgs = 0;
	int rc;

	memset(&g, 0, sizeof g);
	g.set = set;
	g.rng = seed ^ 0xF0C3F0C3ULL;
	g.now_ms = now_ms;
	g.fused = malloc(set->n * sizeof *g.fused);
	g.first_grid = malloc(set->n * sizeof *g.first_grid);
	g.next_grid = malloc(set->n * sizeof *g.next_grid);
	g.ngrids = calloc(set->n, sizeof *g.ngrids);
	g.org_of = calloc(set->n, sizeof *g.org_of);
	g.mediation_of = calloc(set->n, sizeof *g.mediation_of);
	g.court_of = calloc(set->n, sizeof *g.court_of);
	g.firm_of = calloc(set->n, sizeof *g.firm_of);
	g.property_of = calloc(set->n, sizeof *g.property_of);
	if (!g.fused || !g.first_grid || !g.next_grid || !g.ngrids || !g.org_of || !g.mediation_of ||
	    !g.court_of || !g.firm_of || !g.property_of) {
		rc = SG_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < set->n; i++) {
		g.fused[i] = g.first_grid[i] = g.next_grid[i] = NONE;
		if (i && set->v[i].id <= set->v[i - 1].id) {
			rc = SG_EINVAL; /* the set must be stored, ids ascending */
			goto out;
		}
	}
	/* Each community's grids, in reverse order of the set (a linked list per community). */
	for (size_t i = set->n; i-- > 0;) {
		long c = set->v[i].parent_idx;
		if (set->v[i].kind != AREA_GOV_GRID || c < 0)
			continue;
		g.next_grid[i] = g.first_grid[c];
		g.first_grid[c] = i;
		g.ngrids[c]++;
	}
	if ((rc = store_fusion_load(s, &rows, &nrows)))
		goto out;
	for (size_t i = 0; i < nrows; i++) {
		size_t gi = by_id(set, rows[i].gov_grid_id), pi = by_id(set, rows[i].police_grid_id);
		if (gi != NONE)
			g.fused[gi] = pi;
	}
	if ((rc = build_orgs(s, &g, &norgs)) || (rc = build_people_and_units(&g)))
		goto out;
	memset(&load, 0, sizeof load);
	load.next = people_next;
	load.added_cb = people_added;
	load.ctx = &g;
	if ((rc = store_people_load(s, &load)))
		goto out;
	for (size_t u = 0; u < g.nunits; u++) {
		for (size_t k = 0; k < g.units[u].nmembers; k++)
			g.units[u].members[k] = g.people[g.members[u][k]].id;
	}
	if ((rc = store_units_add(s, g.units, g.nunits, NULL)))
		goto out;
	if (out) {
		out->orgs = norgs;
		out->people = g.npeople;
		out->units = g.nunits;
	}
out:
	free(rows);
	free(g.fused);
	free(g.first_grid);
	free(g.next_grid);
	free(g.ngrids);
	free(g.org_of);
	free(g.mediation_of);
	free(g.court_of);
	free(g.firm_of);
	free(g.property_of);
	free(g.people);
	free(g.units);
	free(g.members);
	return rc;
}
