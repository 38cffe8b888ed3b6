/*
 * city_internal.h — what the demo module's files share: the embedded source
 * data (defined in demo/data.c), and what the parts of the city generator
 * call each other for. Not an API: demo/city.h is the generator's.
 *
 * The generator's parts: city.c plans the city and builds it layer by layer
 * (demo_city_build); city_divisions.c reads the division codes and names;
 * city_split.c draws seed points (with the PRNG) and cuts an area into their
 * Voronoi pieces; city_geom.c holds the GEOS helpers; city_districts.c draws
 * the counties, city_gov.c the governance layers (streets, communities,
 * governance grids) and city_police.c the police layers (stations, police
 * grids).
 */
#ifndef SAFEGRID_DEMO_CITY_INTERNAL_H
#define SAFEGRID_DEMO_CITY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "demo/city.h"
#include "geo/geos_bridge.h"
#include "model/area.h"

/* ------------------------------------------------------- embedded data */

/*
 * Each blob is the file's bytes followed by one NUL, so it can be read as a C
 * string; the length excludes that NUL. Read-only, valid for the life of the
 * process.
 */

/* data/suzhou-districts.wgs84.geojson: the 9 district polygons, WGS-84. */
extern const char demo__districts_geojson[];
extern const size_t demo__districts_geojson_len;

/* data/suzhou-divisions.csv: code,name,level,parent_code for 2,377 divisions. */
extern const char demo__divisions_csv[];
extern const size_t demo__divisions_csv_len;

/* ----------------------------------------------------------- constants */

/*
 * Every computed coordinate is rounded to this grid (about 0.01 mm), so that
 * two GEOS operations computing the same crossing point agree to the bit.
 * Fine enough that the rounding moves no area by more than 1e-7 of itself.
 */
#define DEMO_GRID_DEG 1e-10

/* Stations and police grids in the whole city (demo__build_police). */
#define DEMO_STATIONS 100
#define DEMO_POLICE_GRIDS 1900

/* ---------------------------------------------------- PRNG (city_split.c) */

/* A PRNG's state: xoshiro256** (see city_split.c for why not rand()). */
struct demo__rng {
	uint64_t s[4];
};

/* What a generator draws for; part of its seed, so the values must not change. */
enum demo__stream {
	DEMO_STREAM_STREETS = 1,
	DEMO_STREAM_COMMUNITIES,
	DEMO_STREAM_GRID_COUNTS,
	DEMO_STREAM_GOV_GRIDS,
	DEMO_STREAM_STATIONS,
	DEMO_STREAM_POLICE_GRIDS,
};

/* A generator for (seed, stream, parent, attempt); distinct tuples give unrelated sequences. */
void demo__rng_init(struct demo__rng *r, uint64_t seed, enum demo__stream stream,
		    uint64_t parent, unsigned attempt);
/* Uniform in [lo, hi]. */
unsigned demo__rng_range(struct demo__rng *r, unsigned lo, unsigned hi);

/* --------------------------------------------- divisions (city_divisions.c) */

enum demo__div_level { DEMO_DIV_CITY, DEMO_DIV_COUNTY, DEMO_DIV_TOWNSHIP, DEMO_DIV_VILLAGE };

struct demo__division {
	const char *code, *name; /* point into divisions.text */
	enum demo__div_level level;
	long parent;             /* index into v; -1 for the root */
	long first_child;        /* children are contiguous in v; -1 if none */
	size_t nchildren;
	long area_idx;           /* index in the output set once pushed; -1 before */
	unsigned ngrids;         /* villages: governance grids to draw */
};

struct demo__divisions {
	char *text; /* owned copy of the CSV; fields NUL-terminated in place */
	struct demo__division *v;
	size_t n;
};

/*
 * Parses the embedded divisions CSV into d (zeroed by the caller), every
 * division after its parent; SG_EINTERNAL if the file is malformed. Release
 * d with demo__divisions_release either way.
 */
int demo__divisions_parse(struct demo__divisions *d);
void demo__divisions_release(struct demo__divisions *d);

/* What a division's code says about it: a township is a 镇 (else a 街道 or a zone) ... */
bool demo__township_is_town(const struct demo__division *t);
/* ... and a village a 社区居委会 (urban), a 村委会 (rural), or neither. */
bool demo__village_is_shequ(const struct demo__division *v);
bool demo__village_is_cun(const struct demo__division *v);

/*
 * What the CSV does not say about a county: what its stations are called
 * when no street or town lends them a name, and where its urban core is.
 */
struct demo__county_info {
	const char *code, *station_prefix;
	double core_lon, core_lat;
};

/* The county's entry in the table, or NULL for a code not in it. */
const struct demo__county_info *demo__county_lookup(const char *code);

/* Names: the Chinese numeral for 1..99 into buf (size at least 16). */
void demo__chinese_number(unsigned n, char *buf, size_t size);
/* A street's or town's short name (狮山街道 → 狮山); false for a zone without one. */
bool demo__township_base_name(const char *name, char *out, size_t size);
/* A community's name without its committee (华盛社区居委会 → 华盛社区). */
void demo__community_short_name(const char *name, char *out, size_t size);

/* ------------------------------------------------------ builder (city.c) */

/* One run of demo_city_build: its output, inputs and GEOS context. */
struct demo__build {
	GEOSContextHandle_t ctx;
	struct area_set *out;
	size_t base; /* out->n when we started */
	uint64_t seed;
	struct demo__divisions div;
	long county_first;  /* the counties are v[county_first .. +ncounties) */
	size_t ncounties;
	demo_progress_fn progress;
	void *progress_ctx;
	size_t expected, reported;
};

/* Reports progress if it moved enough since the last report, or always when force. */
void demo__report(struct demo__build *b, bool force);

/* ------------------------------------------------- GEOS helpers (city_geom.c) */

/* Logs a failed GEOS call and returns the code for it (SG_EINTERNAL). */
int demo__geos_failed(struct demo__build *b, const char *what);
/* Replaces *g (which it frees) by its polygonal parts; *g is NULL on failure. */
int demo__keep_polygonal(struct demo__build *b, GEOSGeometry **g);
/* Area in m² of g's polygonal parts. */
int demo__geos_area_m2(struct demo__build *b, const GEOSGeometry *g, double *out);
/* Appends g (borrowed) to the output as a new area. */
int demo__push_geos(struct demo__build *b, enum area_kind kind, const char *code,
		    const char *name, long parent_idx, const GEOSGeometry *g);
/* One polygon with no edge longer than about 100 m; a new geometry, NULL on failure. */
GEOSGeometry *demo__densified_polygon(struct demo__build *b, const GEOSGeometry *poly);
/* Replaces the polygonal *g (which it frees) by its densified copy. */
int demo__densify(struct demo__build *b, GEOSGeometry **g);
/* A new collection of the given type holding clones of g[0..n) (borrowed); NULL on failure. */
GEOSGeometry *demo__collect(struct demo__build *b, int type, GEOSGeometry *const *g, size_t n);
/* The union of n geometries (borrowed), on the grid; NULL on failure. */
GEOSGeometry *demo__union_of(struct demo__build *b, GEOSGeometry *const *g, size_t n);

/* ------------------------------------------- seeds, Voronoi (city_split.c) */

/* Where urban seeds cluster: a centre and a spread, in degrees. */
struct demo__core {
	double lon, lat, sigma_lon, sigma_lat;
};

/* A county's urban core; false for a county not in the table. */
bool demo__county_core(const struct demo__build *b, const struct demo__division *county,
		       struct demo__core *out);

/*
 * Splits the area at parent_idx into n Voronoi pieces, seeds drawn from
 * stream (near core with probability p_core[i], when both are given), and
 * fills seeds[] and cells[] (n each, cells initialised and empty); sorted
 * puts the seeds in north-to-south order.
 */
int demo__split_area(struct demo__build *b, long parent_idx, size_t n,
		     enum demo__stream stream, const struct demo__core *core, const double *p_core,
		     bool sorted, struct geo_point *seeds, struct geo_mpoly *cells);

/* Scratch arrays for one split, grown as needed and reused. */
struct demo__scratch {
	struct geo_point *seeds;
	struct geo_mpoly *cells;
	double *p_core;
	size_t alloc;
};

/* Makes room for n of each (cells initialised); SG_ENOMEM. */
int demo__scratch_reserve(struct demo__scratch *s, size_t n);
void demo__scratch_release(struct demo__scratch *s);

/* ---------------------------------------------------------------- layers */

/* The city and its counties (city_districts.c). */
int demo__build_districts(struct demo__build *b);
/* Streets and towns, communities and villages, governance grids (city_gov.c). */
int demo__build_streets(struct demo__build *b, struct demo__scratch *s);
int demo__build_communities(struct demo__build *b, struct demo__scratch *s);
int demo__build_gov_grids(struct demo__build *b, struct demo__scratch *s);
/* Stations and police grids (city_police.c). */
int demo__build_police(struct demo__build *b, struct demo__scratch *s);

#endif
