/*
 * city.h — the demo city: Suzhou from its real district boundaries and
 * division codes, with synthetic finer layers.
 *
 * The boundaries (data/suzhou-districts.wgs84.geojson) and the division codes
 * (data/suzhou-divisions.csv) are embedded in the binary. From them the
 * generator draws, deterministically for a seed: the city, its districts and
 * county-level cities (苏州工业园区 carved out of 姑苏区's polygon, see
 * docs/DEMO.md), about 100 station areas and about 1,900 police grids, the
 * real streets/towns and communities/villages with their real codes and names
 * as synthetic subdivisions, and about 12,000 governance grids. Each layer
 * tiles its parent exactly; the police and governance layers are drawn
 * independently.
 *
 * Demonstration only: the boundaries' licence does not allow production use.
 */
#ifndef SAFEGRID_DEMO_CITY_H
#define SAFEGRID_DEMO_CITY_H

#include <stdint.h>

#include "model/area.h"

/* Called now and then with the areas built so far; may be NULL. */
typedef void (*demo_progress_fn)(void *ctx, size_t done, size_t expected);

/*
 * Appends the demo city's areas to an initialised set, every parent before
 * its children, with parent_idx set (parent_id 0). On failure the set may
 * hold a partial city; the caller releases it either way.
 */
int demo_city_build(uint64_t seed, struct area_set *out, demo_progress_fn progress, void *ctx);

#endif
