/*
 * city_divisions.c — the demo city's administrative divisions: the embedded
 * CSV parsed into a tree, what a division's code says about it (street or
 * town, urban 社区 or rural 村), the county table (what the CSV does not
 * say), and the names derived from real ones (station and grid names).
 *
 * Not geometry: nothing here draws or clips (city_split.c, city_geom.c).
 * Exports (city_internal.h) demo__divisions_parse and _release, the code
 * predicates, demo__county_lookup and the three naming helpers.
 */
#include "demo/city_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"

/* ----------------------------------------------------------- divisions */

void demo__divisions_release(struct demo__divisions *d)
{
	free(d->text);
	free(d->v);
	memset(d, 0, sizeof *d);
}

static int level_parse(const char *s, enum demo__div_level *out)
{
	static const char *const names[] = { "city", "county", "township", "village" };

	for (unsigned i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum demo__div_level)i;
			return SG_OK;
		}
	}
	return SG_EINVAL;
}

/* Splits line (NUL-terminated, modified in place) at commas into exactly n fields. */
static int split_fields(char *line, char **f, unsigned n)
{
	unsigned i = 0;

	f[i++] = line;
	for (char *p = line; *p; p++) {
		if (*p == ',') {
			if (i == n)
				return SG_EINVAL;
			*p = '\0';
			f[i++] = p + 1;
		}
	}
	return i == n ? SG_OK : SG_EINVAL;
}

/*
 * Parses the embedded divisions CSV. The file is ours and sorted by level
 * then code, which puts every division after its parent and the children of
 * one parent next to each other; both are checked, not assumed, and a
 * violation is SG_EINTERNAL (a bad embedded file is a build bug).
 */
int demo__divisions_parse(struct demo__divisions *d)
{
	char *line, *next;
	size_t alloc = 0, lineno = 0;
	long last_parent = -1;
	int rc = SG_OK;

	d->text = malloc(demo__divisions_csv_len + 1);
	if (!d->text)
		return SG_ENOMEM;
	memcpy(d->text, demo__divisions_csv, demo__divisions_csv_len + 1);
	for (line = d->text; line && *line; line = next) {
		char *f[4];
		struct demo__division *dv;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (lineno++ == 0)
			continue; /* header */
		if (d->n == alloc) {
			size_t na = alloc ? alloc * 2 : 4096;
			struct demo__division *v = realloc(d->v, na * sizeof *v);
			if (!v)
				return SG_ENOMEM;
			d->v = v;
			alloc = na;
		}
		dv = &d->v[d->n];
		memset(dv, 0, sizeof *dv);
		dv->parent = dv->first_child = dv->area_idx = -1;
		if (split_fields(line, f, 4) != SG_OK || level_parse(f[2], &dv->level) != SG_OK ||
		    strlen(f[0]) + 3 >= AREA_CODE_MAX) {
			rc = SG_EINTERNAL;
			goto out;
		}
		dv->code = f[0];
		dv->name = f[1];
		if (dv->level != DEMO_DIV_CITY) {
			if (last_parent < 0 || strcmp(d->v[last_parent].code, f[3]) != 0) {
				last_parent = -1;
				for (size_t i = d->n; i-- > 0;) {
					if (strcmp(d->v[i].code, f[3]) == 0) {
						last_parent = (long)i;
						break;
					}
				}
			}
			if (last_parent < 0 || d->v[last_parent].level + 1 != dv->level) {
				rc = SG_EINTERNAL;
				goto out;
			}
			struct demo__division *p = &d->v[last_parent];
			if (p->nchildren == 0)
				p->first_child = (long)d->n;
			else if (p->first_child + (long)p->nchildren != (long)d->n) {
				rc = SG_EINTERNAL;
				goto out;
			}
			p->nchildren++;
			dv->parent = last_parent;
		}
		d->n++;
	}
	if (d->n == 0 || d->v[0].level != DEMO_DIV_CITY)
		rc = SG_EINTERNAL;
out:
	if (rc != SG_OK)
		SG_LOG(SG_LOG_ERROR, "msg=\"embedded divisions CSV is malformed\" line=%zu", lineno);
	return rc;
}

/* 镇 (100-199), rather than 街道 (001-099) or a zone (4xx), from the 9-digit code. */
bool demo__township_is_town(const struct demo__division *t)
{
	return t->code[6] == '1';
}

/* 社区居委会 (001-199) — urban — from the 12-digit code; 村委会 are 200-399. */
bool demo__village_is_shequ(const struct demo__division *v)
{
	return v->code[9] == '0' || v->code[9] == '1';
}

bool demo__village_is_cun(const struct demo__division *v)
{
	return v->code[9] == '2' || v->code[9] == '3';
}

/* --------------------------------------------------------- county table */

/*
 * What the CSV does not say about a county: what its stations are called
 * when no street or town lends them a name (虎丘区 is better known as 苏州
 * 高新区, its police as 高新区分局), and where its urban core is (WGS-84,
 * roughly the government seat) so that urban streets and stations can be
 * drawn denser there.
 */
static const struct demo__county_info county_table[] = {
	{ "320505", "高新区", 120.570, 31.300 }, { "320506", "吴中", 120.630, 31.265 },
	{ "320507", "相城", 120.640, 31.370 },   { "320508", "姑苏", 120.620, 31.310 },
	{ "320509", "吴江", 120.645, 31.160 },   { "320576", "园区", 120.715, 31.320 },
	{ "320581", "常熟", 120.750, 31.650 },   { "320582", "张家港", 120.550, 31.875 },
	{ "320583", "昆山", 120.980, 31.385 },   { "320585", "太仓", 121.100, 31.450 },
};

const struct demo__county_info *demo__county_lookup(const char *code)
{
	for (size_t i = 0; i < sizeof county_table / sizeof county_table[0]; i++)
		if (strcmp(county_table[i].code, code) == 0)
			return &county_table[i];
	return NULL;
}

/* --------------------------------------------------------------- names */

/* Writes the Chinese numeral for 1..99 (一, 十二, 三十) into buf (size at least 16). */
void demo__chinese_number(unsigned n, char *buf, size_t size)
{
	static const char *const digit[] = { "", "一", "二", "三", "四", "五", "六", "七", "八", "九" };
	unsigned tens = n / 10 % 10, ones = n % 10;

	if (tens == 0)
		snprintf(buf, size, "%s", digit[ones]);
	else
		snprintf(buf, size, "%s十%s", tens == 1 ? "" : digit[tens], digit[ones]);
}

/* name with suffix cut off into out, if name ends with it and something is left. */
static bool strip_suffix(const char *name, const char *suffix, char *out, size_t size)
{
	size_t n = strlen(name), k = strlen(suffix);

	if (n <= k || n - k >= size || strcmp(name + n - k, suffix) != 0)
		return false;
	memcpy(out, name, n - k);
	out[n - k] = '\0';
	return true;
}

/*
 * The short name of a street or town, as police stations take it: 狮山街道 →
 * 狮山, 巴城镇 → 巴城, 科技城（东渚街道） → 东渚. False for zones without one
 * (开发区, 林场, ...).
 */
bool demo__township_base_name(const char *name, char *out, size_t size)
{
	const char *open = strstr(name, "（"), *close = open ? strstr(open, "）") : NULL;
	char inner[64];

	if (open && close) {
		size_t n = (size_t)(close - open) - strlen("（");
		if (n >= sizeof inner)
			return false;
		memcpy(inner, open + strlen("（"), n);
		inner[n] = '\0';
		name = inner;
	}
	return strip_suffix(name, "街道", out, size) || strip_suffix(name, "镇", out, size);
}

/*
 * A community's name as grids are named after it: without the committee
 * (华盛社区居委会 → 华盛社区, 三马村委会 → 三马村); other names unchanged.
 */
void demo__community_short_name(const char *name, char *out, size_t size)
{
	static const struct {
		const char *suffix, *keep;
	} rules[] = {
		{ "村民委员会", "村" }, { "村委会", "村" },  { "居民委员会", "" },
		{ "居民委会", "" },     { "居委会", "" },
	};

	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		if (strip_suffix(name, rules[i].suffix, out, size) &&
		    strlen(out) + strlen(rules[i].keep) < size) {
			memcpy(out + strlen(out), rules[i].keep, strlen(rules[i].keep) + 1);
			return;
		}
	}
	snprintf(out, size, "%s", name);
}
