/*
 * city_internal.h — what the demo module's files share: the embedded source
 * data (defined in demo/data.c).
 *
 * Each blob is the file's bytes followed by one NUL, so it can be read as a C
 * string; the length excludes that NUL. Read-only, valid for the life of the
 * process.
 */
#ifndef SAFEGRID_DEMO_CITY_INTERNAL_H
#define SAFEGRID_DEMO_CITY_INTERNAL_H

#include <stddef.h>

/* data/suzhou-districts.wgs84.geojson: the 9 district polygons, WGS-84. */
extern const char demo__districts_geojson[];
extern const size_t demo__districts_geojson_len;

/* data/suzhou-divisions.csv: code,name,level,parent_code for 2,377 divisions. */
extern const char demo__divisions_csv[];
extern const size_t demo__divisions_csv_len;

#endif
