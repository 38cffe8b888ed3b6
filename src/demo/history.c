/*
 * history.c — the demo's synthetic case history (see history.h): a day by
 * day generator of closed cases and the loader that streams it into the
 * store.
 *
 * Each day draws from its own random stream (the seed mixed with the day), so
 * the history does not depend on how the consumer chunks it. A day's count
 * per category is Poisson around share × volume × trend × weekday ×
 * season; each case then gets an hour from its category's daily profile, a
 * governance grid (weighted), a point inside it (located with the area
 * index, so every level's id is the one the live pipeline would find), a
 * source, a resolution time and a department from the routing table.
 */
#include "demo/history.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "geo/index.h"
#include "rules/defaults.h"

#define MAX_DAYS 4000
#define MAX_DEPTS 256
#define DAY_CASES_MAX 200000 /* a sanity cap on one day's volume */

enum profile { PROF_GENERAL, PROF_NIGHT, PROF_OFFICE, PROF_TRAFFIC, PROF_COUNT };

/* Relative hourly weights, local hours 0..23. */
static const double hour_weights[PROF_COUNT][24] = {
	[PROF_GENERAL] = { 2, 1.5, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 5, 4, 3, 2.5 },
	[PROF_NIGHT] = { 7, 6, 4, 3, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9, 9 },
	[PROF_OFFICE] = { 1, 0.5, 0.3, 0.3, 0.3, 0.5, 1, 3, 6, 9, 10, 9, 7, 8, 9, 9, 8, 6, 4, 3, 3, 2,
			  2, 1 },
	[PROF_TRAFFIC] = { 1, 0.6, 0.4, 0.4, 0.5, 1, 3, 8, 9, 6, 5, 5, 5, 5, 5, 6, 7, 9, 8, 5, 4, 3, 2,
			   1.5 },
};

/* Weekday factors, Monday..Sunday: offices close at weekends, night life peaks on Friday and Saturday. */
static const double week_factors[PROF_COUNT][7] = {
	[PROF_GENERAL] = { 1, 1, 1, 1, 1, 1.05, 0.95 },
	[PROF_NIGHT] = { 0.85, 0.85, 0.9, 0.95, 1.15, 1.3, 1.0 },
	[PROF_OFFICE] = { 1.15, 1.15, 1.12, 1.12, 1.06, 0.7, 0.7 },
	[PROF_TRAFFIC] = { 1.05, 1.05, 1.05, 1.05, 1.1, 0.85, 0.85 },
};

/*
 * Shares within the police (60 %) and the diverted (40 %) matters, and how
 * much faster than the city's trend each falls (per year). A category of the
 * config not listed here gets share 1 and the city's trend.
 */
struct category_shape {
	const char *id;
	double share;
	double extra_change;
	enum profile profile;
};

static const struct category_shape shapes[] = {
	{ "theft", 22, -0.08, PROF_GENERAL },
	{ "fraud", 10, -0.05, PROF_OFFICE },
	{ "traffic_accident", 14, 0, PROF_TRAFFIC },
	{ "public_order", 8, -0.01, PROF_NIGHT },
	{ "violence", 7, -0.02, PROF_NIGHT },
	{ "illegal_parking", 9, 0.03, PROF_TRAFFIC },
	{ "police_assistance", 8, 0, PROF_GENERAL },
	{ "dangerous_driving", 3, 0, PROF_NIGHT },
	{ "suspicious_person", 4, 0, PROF_NIGHT },
	{ "domestic_violence", 3, 0, PROF_NIGHT },
	{ "missing_person", 2, 0, PROF_GENERAL },
	{ "rescue", 2, 0, PROF_GENERAL },
	{ "fire", 1.5, 0, PROF_GENERAL },
	{ "gas_leak", 0.5, 0, PROF_GENERAL },
	{ "robbery", 0.8, -0.06, PROF_NIGHT },
	{ "drugs", 0.6, -0.03, PROF_NIGHT },
	{ "gambling", 0.8, -0.03, PROF_NIGHT },
	{ "suicide_risk", 0.7, 0, PROF_NIGHT },
	{ "hazardous_goods", 0.3, 0, PROF_OFFICE },
	{ "sexual_offence", 0.5, 0, PROF_NIGHT },
	{ "extortion", 0.4, 0, PROF_GENERAL },
	{ "prostitution", 0.5, -0.03, PROF_NIGHT },
	{ "noise", 10, 0, PROF_NIGHT },
	{ "municipal_facilities", 10, 0, PROF_OFFICE },
	{ "water", 5, 0, PROF_GENERAL },
	{ "power", 4, 0, PROF_GENERAL },
	{ "gas", 2, 0, PROF_GENERAL },
	{ "sanitation", 8, 0, PROF_OFFICE },
	{ "consumer_dispute", 9, 0.02, PROF_OFFICE },
	{ "housing", 6, 0, PROF_OFFICE },
	{ "labour", 6, 0, PROF_OFFICE },
	{ "traffic_management", 5, 0, PROF_TRAFFIC },
	{ "animals", 2, 0, PROF_GENERAL },
	{ "environment", 4, 0, PROF_OFFICE },
	{ "medical", 3, 0, PROF_OFFICE },
	{ "medical_emergency", 2, 0.02, PROF_GENERAL },
	{ "education", 2, 0, PROF_OFFICE },
	{ "market_regulation", 4, 0, PROF_OFFICE },
	{ "landscaping", 2, 0, PROF_OFFICE },
	{ "city_management", 8, 0, PROF_OFFICE },
	{ "neighbour_dispute", 6, 0, PROF_NIGHT },
	{ "social_security", 3, 0, PROF_OFFICE },
	{ "telecom", 2, 0, PROF_OFFICE },
	{ "civil_affairs", 2, 0, PROF_OFFICE },
	{ "other", 5, 0, PROF_GENERAL },
};

/* Urban districts of the demo city (姑苏, 虎丘, 吴中, 相城, 园区): busier per grid. */
static const char *const urban_districts[] = { "320508", "320505", "320506", "320507", "320576" };
#define URBAN_WEIGHT 2.5

static const char *const type_names[] = { "incident", "referral" };
static const char *const status_names[] = { "closed", "resolved" };
static const char *const source_names[] = { "110", "12345", "app", "walk_in" };
enum { SRC_110, SRC_12345, SRC_APP, SRC_WALK_IN };

/* Deadlines by priority as data/rules/cases.json sets them (incident, referral). */
static const int64_t deadlines[2][4] = { { 300, 900, 3600, 14400 }, { 1800, 7200, 86400, 259200 } };
/* Mean seconds to resolve by priority (incident, referral). */
static const double resolve_mean[2][4] = { { 2400, 7200, 21600, 43200 },
					   { 21600, 86400, 172800, 345600 } };

struct category {
	char id[CASE_ID_MAX];
	bool police;
	int priority;
	double rate;      /* mean cases per day at the reference moment */
	double change;    /* yearly */
	enum profile profile;
};

struct grid {
	int64_t id;
	struct geo_bbox bbox;
	struct geo_point fallback;          /* a point known to lie in the grid */
	int64_t fallback_ids[GEO_INDEX_MAX_LAYERS];
};

struct demo_history {
	struct demo_history_params p;
	struct category *cats;
	size_t ncats;
	const char *cat_names[256];
	const char *dept_names[MAX_DEPTS];
	size_t ndepts;
	struct store_history_tables tables;
	struct grid *grids;
	double *grid_cum; /* cumulative weights */
	size_t ngrids;
	struct geo_index *index;
	/* Department index by category for each street id (ids are dense), and city-wide. */
	uint8_t *dept_by_street; /* (max_id + 1) × ncats, only street rows used */
	uint8_t *dept_city;      /* ncats */
	int64_t max_id;
	double hour_cum[PROF_COUNT][24];
	int64_t first_day, last_day, day; /* local days; day is the next to generate */
	struct store_history_case *buf;   /* the current day's cases */
	size_t nbuf, next, bufcap;
	struct classify_config *own_cfg;
};

/* splitmix64: small, fast, and good enough for synthetic data. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(uint64_t *s)
{
	return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_normal(uint64_t *s)
{
	double u = rng_unit(s), v = rng_unit(s);
	return sqrt(-2.0 * log(u + 1e-300)) * cos(2.0 * M_PI * v);
}

static int64_t rng_poisson(uint64_t *s, double lambda)
{
	if (lambda <= 0)
		return 0;
	if (lambda < 30) {
		double l = exp(-lambda), p = 1.0;
		int64_t k = 0;
		do {
			k++;
			p *= rng_unit(s);
		} while (p > l);
		return k - 1;
	}
	double x = floor(lambda + sqrt(lambda) * rng_normal(s) + 0.5);
	return x < 0 ? 0 : (int64_t)x;
}

void demo_history_params_default(struct demo_history_params *p, uint64_t seed, int64_t end)
{
	memset(p, 0, sizeof *p);
	p->seed = seed;
	p->end = end;
	p->days = 1096;
	p->per_day = 1900;
	p->yearly_change = -0.06;
}

static const struct category_shape *shape_of(const char *id)
{
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		if (strcmp(shapes[i].id, id) == 0)
			return &shapes[i];
	}
	return NULL;
}

static int dept_index(struct demo_history *h, const char *dept, uint8_t *out)
{
	for (size_t i = 0; i < h->ndepts; i++) {
		if (strcmp(h->dept_names[i], dept) == 0) {
			*out = (uint8_t)i;
			return SG_OK;
		}
	}
	if (h->ndepts == MAX_DEPTS)
		return SG_ETOOBIG;
	h->dept_names[h->ndepts] = dept; /* borrowed from the config */
	*out = (uint8_t)h->ndepts++;
	return SG_OK;
}

static int setup_categories(struct demo_history *h, const struct classify_config *cfg)
{
	double police_total = 0, other_total = 0;
	size_t n = classify_category_count(cfg);

	if (n == 0 || n > 256)
		return SG_EINVAL;
	h->cats = calloc(n, sizeof *h->cats);
	if (!h->cats)
		return SG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct classify_category_info info;
		const struct category_shape *sh;
		int rc = classify_category_get(cfg, i, &info);
		if (rc)
			return rc;
		sh = shape_of(info.id);
		snprintf(h->cats[i].id, sizeof h->cats[i].id, "%s", info.id);
		h->cats[i].police = info.police;
		h->cats[i].priority = info.priority < 1 ? 1 : info.priority > 4 ? 4 : info.priority;
		h->cats[i].rate = sh ? sh->share : 1.0;
		h->cats[i].change = h->p.yearly_change + (sh ? sh->extra_change : 0);
		h->cats[i].profile = sh ? sh->profile : PROF_GENERAL;
		if (info.police)
			police_total += h->cats[i].rate;
		else
			other_total += h->cats[i].rate;
		h->cat_names[i] = h->cats[i].id;
	}
	/* 60 % police, 40 % diverted (all of one kind if the config has only one). */
	for (size_t i = 0; i < n; i++) {
		struct category *c = &h->cats[i];
		double group = c->police ? (other_total > 0 ? 0.6 : 1.0) : (police_total > 0 ? 0.4 : 1.0);
		c->rate = h->p.per_day * group * c->rate / (c->police ? police_total : other_total);
	}
	h->ncats = n;
	return SG_OK;
}

static bool in_list(const char *code, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(code, list[i]) == 0)
			return true;
	}
	return false;
}

/* The ids of the urban districts present in set (by code); at most cap. */
static size_t urban_ids(const struct area_set *set, int64_t *ids, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < set->n && n < cap; i++) {
		if (set->v[i].kind == AREA_DISTRICT &&
		    in_list(set->v[i].code, urban_districts,
			    sizeof urban_districts / sizeof urban_districts[0]))
			ids[n++] = set->v[i].id;
	}
	return n;
}

/* The department of every category in every street (routing may name streets), and city-wide. */
static int setup_routing(struct demo_history *h, const struct area_set *set,
			 const struct classify_config *cfg)
{
	int rc = SG_OK;

	h->dept_city = calloc(h->ncats, 1);
	h->dept_by_street = calloc((size_t)(h->max_id + 1) * h->ncats, 1);
	if (!h->dept_city || !h->dept_by_street)
		return SG_ENOMEM;
	for (size_t c = 0; !rc && c < h->ncats; c++) {
		const char *dept = NULL;
		if (!(rc = classify_route(cfg, h->cats[c].id, NULL, &dept)))
			rc = dept_index(h, dept, &h->dept_city[c]);
	}
	for (size_t i = 0; !rc && i < set->n; i++) {
		const struct area *a = &set->v[i];
		size_t len = strlen(a->code);
		/* A code the router does not take (an operator's own) routes city-wide. */
		const char *code = len == 6 || len == 9 || len == 12 ? a->code : NULL;
		if (a->kind != AREA_STREET)
			continue;
		for (size_t c = 0; !rc && c < h->ncats; c++) {
			const char *dept = NULL;
			rc = classify_route(cfg, h->cats[c].id, code, &dept);
			if (rc == SG_EINVAL) /* not a division code after all: city-wide */
				rc = classify_route(cfg, h->cats[c].id, NULL, &dept);
			if (!rc)
				rc = dept_index(h, dept, &h->dept_by_street[(size_t)a->id * h->ncats + c]);
		}
	}
	return rc;
}

/* A random point of the grid's bbox that the index puts in the grid; false after tries misses. */
static bool point_in_grid(const struct demo_history *h, const struct grid *g, uint64_t *rng,
			  int tries, struct geo_point *pt, int64_t ids[GEO_INDEX_MAX_LAYERS])
{
	for (int t = 0; t < tries; t++) {
		pt->lon = g->bbox.min_lon + rng_unit(rng) * (g->bbox.max_lon - g->bbox.min_lon);
		pt->lat = g->bbox.min_lat + rng_unit(rng) * (g->bbox.max_lat - g->bbox.min_lat);
		geo_index_locate(h->index, *pt, ids);
		if (ids[AREA_GOV_GRID] == g->id)
			return true;
	}
	return false;
}

static int setup_places(struct demo_history *h, const struct area_set *set)
{
	struct geo_index_input *in = malloc((set->n + 1) * sizeof *in);
	uint64_t rng = h->p.seed ^ 0x5eed0f91d5ULL;
	int64_t urban[16];
	size_t nurban = urban_ids(set, urban, sizeof urban / sizeof urban[0]);
	double total = 0;
	int rc;

	if (!in)
		return SG_ENOMEM;
	for (size_t i = 0; i < set->n; i++) {
		in[i].id = set->v[i].id;
		in[i].layer = (unsigned)set->v[i].kind;
		in[i].geom = &set->v[i].geom;
		if (set->v[i].id > h->max_id)
			h->max_id = set->v[i].id;
		if (set->v[i].kind == AREA_GOV_GRID)
			h->ngrids++;
	}
	rc = geo_index_build(in, set->n, &h->index);
	free(in);
	if (rc)
		return rc;
	if (h->ngrids == 0)
		return SG_EINVAL;
	h->grids = calloc(h->ngrids, sizeof *h->grids);
	h->grid_cum = calloc(h->ngrids, sizeof *h->grid_cum);
	if (!h->grids || !h->grid_cum)
		return SG_ENOMEM;
	h->ngrids = 0;
	for (size_t i = 0; i < set->n; i++) {
		const struct area *a = &set->v[i];
		struct grid *g;
		double w, u;
		if (a->kind != AREA_GOV_GRID)
			continue;
		g = &h->grids[h->ngrids];
		g->id = a->id;
		g->bbox = a->bbox;
		/* A grid the index never answers for (hidden under an overlap) gets no cases. */
		if (!point_in_grid(h, g, &rng, 400, &g->fallback, g->fallback_ids))
			continue;
		/* The district as located, so that sets read back from a store (no parent_idx) work too. */
		w = 1.0;
		for (size_t k = 0; k < nurban; k++) {
			if (g->fallback_ids[AREA_DISTRICT] == urban[k])
				w = URBAN_WEIGHT;
		}
		/* Hot spots: some grids are several times busier than their neighbours. */
		u = rng_unit(&rng);
		w *= 0.3 + 3.4 * u * rng_unit(&rng);
		total += w;
		h->grid_cum[h->ngrids++] = total;
	}
	return h->ngrids ? SG_OK : SG_EINVAL;
}

int demo_history_new(const struct area_set *set, const struct classify_config *cfg,
		     const struct demo_history_params *p, struct demo_history **out)
{
	struct demo_history *h;
	int rc;

	if (!set || !p || p->days < 1 || p->days > MAX_DAYS || !(p->per_day > 0) ||
	    p->per_day > DAY_CASES_MAX / 4 || !(p->yearly_change > -0.9) || p->yearly_change > 1)
		return SG_EINVAL;
	h = calloc(1, sizeof *h);
	if (!h)
		return SG_ENOMEM;
	h->p = *p;
	if (!cfg) {
		if ((rc = classify_config_load(rules__classify_json, rules__classify_json_len,
					       &h->own_cfg, NULL)))
			goto out;
		cfg = h->own_cfg;
	}
	if ((rc = setup_categories(h, cfg)) || (rc = setup_places(h, set)) ||
	    (rc = setup_routing(h, set, cfg)))
		goto out;
	for (int pr = 0; pr < PROF_COUNT; pr++) {
		double sum = 0;
		for (int hr = 0; hr < 24; hr++)
			h->hour_cum[pr][hr] = (sum += hour_weights[pr][hr]);
	}
	h->last_day = store_stats_day(p->end);
	h->first_day = h->last_day - p->days + 1;
	h->day = h->first_day;
	h->tables = (struct store_history_tables){
		.categories = h->cat_names, .ncategories = h->ncats,
		.types = type_names, .ntypes = 2,
		.departments = h->dept_names, .ndepartments = h->ndepts,
		.statuses = status_names, .nstatuses = 2,
		.sources = source_names, .nsources = 4,
	};
out:
	if (rc) {
		demo_history_free(h);
		return rc;
	}
	*out = h;
	return SG_OK;
}

void demo_history_free(struct demo_history *h)
{
	if (!h)
		return;
	geo_index_free(h->index);
	classify_config_free(h->own_cfg);
	free(h->cats);
	free(h->grids);
	free(h->grid_cum);
	free(h->dept_by_street);
	free(h->dept_city);
	free(h->buf);
	free(h);
}

const struct store_history_tables *demo_history_tables(const struct demo_history *h)
{
	return &h->tables;
}

static size_t pick_cum(const double *cum, size_t n, double x)
{
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static int cmp_created(const void *a, const void *b)
{
	int64_t x = ((const struct store_history_case *)a)->created_at;
	int64_t y = ((const struct store_history_case *)b)->created_at;
	return x < y ? -1 : x > y;
}

static void make_case(struct demo_history *h, uint64_t *rng, size_t cat, int64_t day_start,
		      struct store_history_case *c)
{
	const struct category *k = &h->cats[cat];
	const double *hc = h->hour_cum[k->profile];
	int ty = k->police ? 0 : 1; /* index into type_names: police matters are incidents */
	size_t gi = pick_cum(h->grid_cum, h->ngrids, rng_unit(rng) * h->grid_cum[h->ngrids - 1]);
	const struct grid *g = &h->grids[gi];
	int64_t ids[GEO_INDEX_MAX_LAYERS];
	struct geo_point pt;
	double u;
	int hour = (int)pick_cum(hc, 24, rng_unit(rng) * hc[23]);
	int64_t street, resolve, closing, last = h->p.end - 1;

	memset(c, 0, sizeof *c);
	if (!point_in_grid(h, g, rng, 8, &pt, ids)) {
		pt = g->fallback;
		memcpy(ids, g->fallback_ids, sizeof ids);
	}
	for (int a = 0; a < AREA_KIND_COUNT; a++)
		c->area_ids[a] = ids[a];
	c->lon = pt.lon;
	c->lat = pt.lat;
	c->created_at = day_start + hour * 3600 + (int64_t)(rng_unit(rng) * 3600);
	c->category = (uint8_t)cat;
	c->police = k->police;
	c->priority = (uint8_t)k->priority;
	c->type = (uint8_t)ty;
	street = ids[AREA_STREET];
	c->department = street > 0 && street <= h->max_id
				? h->dept_by_street[(size_t)street * h->ncats + cat]
				: h->dept_city[cat];
	u = rng_unit(rng);
	if (k->police)
		c->source = u < 0.80 ? SRC_110 : u < 0.92 ? SRC_APP : SRC_WALK_IN;
	else
		c->source = u < 0.85 ? SRC_12345 : u < 0.97 ? SRC_APP : SRC_WALK_IN;
	c->deadline_at = c->created_at + deadlines[ty][k->priority - 1];
	resolve = 300 + (int64_t)(-resolve_mean[ty][k->priority - 1] * log(1.0 - rng_unit(rng)));
	closing = ty ? 86400 : 1800; /* a referral is closed after the citizen's feedback */
	c->resolved_at = c->created_at + resolve;
	/* Whatever would lie in the future happened just now, or not yet. */
	if (c->resolved_at > last)
		c->resolved_at = last > c->created_at ? last : c->created_at;
	if (c->resolved_at + closing <= last) {
		c->status = 0; /* closed */
		c->updated_at = c->resolved_at + closing;
		c->version = 5;
	} else {
		c->status = 1; /* resolved */
		c->updated_at = c->resolved_at;
		c->version = 4;
	}
}

/* Generates the cases of local day h->day into h->buf, ordered by time. */
static int gen_day(struct demo_history *h)
{
	int64_t day = h->day;
	uint64_t rng = h->p.seed * 0x9e3779b97f4a7c15ULL ^ (uint64_t)day * 0xd1b54a32d192ed03ULL;
	int dow = (int)(((day + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday; 0 = Monday */
	/* Years from the middle of the last year, so per_day is the last year's mean. */
	double years = (double)(day - (h->last_day - 182)) / 365.25;
	/* A mild season: more in summer (peak about 1 August), less in winter. */
	double season = 1.0 + 0.08 * cos(2.0 * M_PI * ((double)day - 212.0) / 365.25);
	int64_t day_start = day * 86400 - 8 * 3600;
	size_t n = 0;

	for (size_t c = 0; c < h->ncats; c++) {
		const struct category *k = &h->cats[c];
		double lambda = k->rate * pow(1.0 + k->change, years) * season *
				week_factors[k->profile][dow];
		int64_t cnt = rng_poisson(&rng, lambda);
		if (n + (size_t)cnt > DAY_CASES_MAX)
			return SG_ETOOBIG;
		if (n + (size_t)cnt > h->bufcap) {
			size_t cap = h->bufcap ? h->bufcap : 4096;
			struct store_history_case *nb;
			while (cap < n + (size_t)cnt)
				cap *= 2;
			nb = realloc(h->buf, cap * sizeof *nb);
			if (!nb)
				return SG_ENOMEM;
			h->buf = nb;
			h->bufcap = cap;
		}
		for (int64_t i = 0; i < cnt; i++) {
			make_case(h, &rng, c, day_start, &h->buf[n]);
			/* The last day stops at end. */
			if (h->buf[n].created_at < h->p.end)
				n++;
		}
	}
	qsort(h->buf, n, sizeof *h->buf, cmp_created);
	h->nbuf = n;
	h->next = 0;
	h->day++;
	return SG_OK;
}

int demo_history_next(void *ctx, struct store_history_case *out, size_t cap, size_t *n)
{
	struct demo_history *h = ctx;
	size_t got = 0;
	int rc;

	while (got < cap) {
		size_t take;
		if (h->next == h->nbuf) {
			if (h->day > h->last_day)
				break;
			if ((rc = gen_day(h)))
				return rc;
			continue;
		}
		take = h->nbuf - h->next;
		if (take > cap - got)
			take = cap - got;
		memcpy(out + got, h->buf + h->next, take * sizeof *out);
		h->next += take;
		got += take;
	}
	*n = got;
	return SG_OK;
}

int demo_history_load(struct store *s, const struct area_set *set, uint64_t seed, int64_t end,
		      size_t *ncases)
{
	struct demo_history_params p;
	struct demo_history *h = NULL;
	struct store_history_load load;
	int rc;

	demo_history_params_default(&p, seed, end);
	SG_LOG(SG_LOG_INFO, "msg=\"generating the demo history\" days=%d per_day=%.0f", p.days,
	       p.per_day);
	if ((rc = demo_history_new(set, NULL, &p, &h)))
		return rc;
	memset(&load, 0, sizeof load);
	load.tables = demo_history_tables(h);
	load.next = demo_history_next;
	load.ctx = h;
	load.rebuild_indexes = true;
	rc = store_history_load(s, &load);
	if (!rc && ncases)
		*ncases = load.cases;
	demo_history_free(h);
	return rc;
}
