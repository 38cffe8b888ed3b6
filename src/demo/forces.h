/*
 * forces.h — the demo city's forces (力量): the police organisations and the
 * linked ones, the people and the units, deterministic for a seed.
 *
 * Per community "one community, one officer, two auxiliaries" (一村一警两辅),
 * its cadre, volunteers and a "2+N+X" grid team; a grid worker per
 * governance grid; per station patrol cars, foot patrols and a motorcycle;
 * per district SWAT, traffic and investigation teams, a security firm with
 * guard patrols, property companies and a court; per street a governance
 * centre and a mediation committee with its mediation team and a volunteer
 * team. Every unit starts at a point inside its home area, most of them
 * available. About 29,000 people and 3,200 units for the demo city.
 */
#ifndef SAFEGRID_DEMO_FORCES_H
#define SAFEGRID_DEMO_FORCES_H

#include <stddef.h>
#include <stdint.h>

#include "model/area.h"
#include "store/store.h"

struct demo_forces_counts {
	size_t orgs, people, units;
};

/*
 * Stores the forces for the stored areas of set (ids assigned, the fusion
 * mapping stored), with positions dated now_ms (Unix milliseconds). Three
 * organisation transactions, one for the people and one for the units.
 */
int demo_forces_load(struct store *s, const struct area_set *set, uint64_t seed, int64_t now_ms,
		     struct demo_forces_counts *out);

#endif
