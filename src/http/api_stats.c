/*
 * api_stats.c — statistics as the sources report them: a value for a
 * period, the comparison period's value and the change in percent ("theft
 * −5.8 % year on year"), from the counters the store keeps in step with the
 * cases.
 *
 *   GET /api/v1/stats?measure=cases&group=category|district|source|police
 *                    &area=&from=YYYY-MM-DD&to=YYYY-MM-DD&compare=yoy|mom
 */
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

#define STATS_MAX_GROUPS 256
#define STATS_MAX_DAYS 3700

struct group_row {
	char key[CASE_ID_MAX];
	int64_t value, previous;
};

struct group_acc {
	struct group_row rows[STATS_MAX_GROUPS];
	size_t n;
	int previous; /* filling the comparison period */
};

static void acc_add(void *ctx, const char *key, int64_t n)
{
	struct group_acc *a = ctx;
	size_t i;

	for (i = 0; i < a->n; i++) {
		if (strcmp(a->rows[i].key, key) == 0)
			break;
	}
	if (i == a->n) {
		if (a->n == STATS_MAX_GROUPS)
			return;
		memset(&a->rows[i], 0, sizeof a->rows[i]);
		snprintf(a->rows[i].key, sizeof a->rows[i].key, "%s", key);
		a->n++;
	}
	if (a->previous)
		a->rows[i].previous += n;
	else
		a->rows[i].value += n;
}

/* Parses YYYY-MM-DD into a day number (days since 1970-01-01) and its calendar parts. */
static int parse_day(const char *s, int64_t *day, struct tm *tm_out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof tm);
	if (!s || strlen(s) != 10 || !(end = strptime(s, "%Y-%m-%d", &tm)) || *end)
		return SG_EINVAL;
	*day = (int64_t)timegm(&tm) / 86400;
	if (tm_out)
		*tm_out = tm;
	return SG_OK;
}

/* The same calendar day shifted back by months (12 for a year), the day clamped to the month. */
static int64_t shift_back(int64_t day, int months)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, last;

	gmtime_r(&t, &tm);
	y = tm.tm_year + 1900;
	m = tm.tm_mon - months;
	while (m < 0) {
		m += 12;
		y--;
	}
	last = mdays[m] + (m == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
	tm.tm_year = y - 1900;
	tm.tm_mon = m;
	if (tm.tm_mday > last)
		tm.tm_mday = last;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return (int64_t)timegm(&tm) / 86400;
}

static void format_day(int64_t day, char out[16])
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y-%m-%d", &tm);
}

static void write_change(struct sg_buf *b, int64_t value, int64_t previous)
{
	sg_buf_printf(b, "\"value\":%lld,\"previous\":%lld,\"change_pct\":", (long long)value,
		      (long long)previous);
	if (previous > 0)
		sg_buf_printf(b, "%.1f", 100.0 * (double)(value - previous) / (double)previous);
	else
		sg_buf_puts(b, "null");
}

int api_stats(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	struct catalog *cat = app->catalog;
	const char *measure = http_query(req, "measure"), *group_s = http_query(req, "group");
	const char *area_s = http_query(req, "area"), *compare = http_query(req, "compare");
	const char *from_s = http_query(req, "from"), *to_s = http_query(req, "to");
	struct group_acc *acc = NULL;
	enum store_stats_group g = STORE_STATS_TOTAL;
	int by_district = 0, months = 12, rc = SG_OK;
	int64_t from, to, pfrom, pto, id, total = 0, ptotal = 0, rn = 0, rsec = 0;
	uint32_t area = CATALOG_NONE;
	char d1[16], d2[16], d3[16], d4[16];

	if (measure && strcmp(measure, "cases") != 0)
		return http_error(resp, 400, "invalid", "measure must be cases", "measure");
	if (!group_s || strcmp(group_s, "category") == 0)
		g = STORE_STATS_CATEGORY;
	else if (strcmp(group_s, "source") == 0)
		g = STORE_STATS_SOURCE;
	else if (strcmp(group_s, "police") == 0)
		g = STORE_STATS_POLICE;
	else if (strcmp(group_s, "district") == 0)
		by_district = 1;
	else
		return http_error(resp, 400, "invalid", "group must be category, district, source or police",
				  "group");
	if (compare && strcmp(compare, "yoy") != 0 && strcmp(compare, "mom") != 0)
		return http_error(resp, 400, "invalid", "compare must be yoy or mom", "compare");
	if (compare && strcmp(compare, "mom") == 0)
		months = 1;
	to = store_stats_day(api_now(app));
	if (to_s && parse_day(to_s, &to, NULL))
		return http_error(resp, 400, "invalid", "to must be a date YYYY-MM-DD", "to");
	from = to - 6;
	if (from_s && parse_day(from_s, &from, NULL))
		return http_error(resp, 400, "invalid", "from must be a date YYYY-MM-DD", "from");
	if (from > to || to - from >= STATS_MAX_DAYS)
		return http_error(resp, 400, "invalid", "from must not be after to, nor ten years before",
				  "from");
	pfrom = shift_back(from, months);
	pto = shift_back(to, months);
	if (area_s) {
		area = catalog_find_code(cat, area_s);
		if (area == CATALOG_NONE && api_parse_id(area_s, &id) == 0)
			area = catalog_find(cat, id);
	} else {
		/* The caller's first scope area (the city for city-wide roles). */
		area = s->nscope ? catalog_find(cat, s->scope_ids[0]) : CATALOG_NONE;
	}
	if (area == CATALOG_NONE || !catalog_visible(&s->scope, area))
		return http_error(resp, 404, "not_found", "no such area", "area");
	if (!(acc = calloc(1, sizeof *acc)))
		return SG_ENOMEM;

	if (by_district) {
		/* One row per district under the area (or the area itself if it is one). */
		const struct catalog_area *a = &cat->areas[area];
		uint32_t list[64], n = 0;
		if (a->kind == AREA_DISTRICT) {
			list[n++] = area;
		} else {
			for (uint32_t k = 0; k < a->nchildren && n < 64; k++) {
				uint32_t c = cat->child_idx[a->first_child + k];
				if (cat->areas[c].kind == AREA_DISTRICT && catalog_visible(&s->scope, c))
					list[n++] = c;
			}
		}
		for (uint32_t k = 0; k < n; k++) {
			struct group_acc one;
			memset(&one, 0, sizeof one);
			if ((rc = store_stats_cases(app->store, cat->areas[list[k]].id, from, to,
						    STORE_STATS_TOTAL, acc_add, &one)))
				goto out;
			one.previous = 1;
			if ((rc = store_stats_cases(app->store, cat->areas[list[k]].id, pfrom, pto,
						    STORE_STATS_TOTAL, acc_add, &one)))
				goto out;
			snprintf(acc->rows[acc->n].key, sizeof acc->rows[acc->n].key, "%s",
				 cat->areas[list[k]].code);
			acc->rows[acc->n].value = one.n ? one.rows[0].value : 0;
			acc->rows[acc->n].previous = one.n ? one.rows[0].previous : 0;
			acc->n++;
		}
	} else {
		if ((rc = store_stats_cases(app->store, cat->areas[area].id, from, to, g, acc_add, acc)))
			goto out;
		acc->previous = 1;
		if ((rc = store_stats_cases(app->store, cat->areas[area].id, pfrom, pto, g, acc_add,
					    acc)))
			goto out;
	}
	for (size_t i = 0; i < acc->n; i++) {
		total += acc->rows[i].value;
		ptotal += acc->rows[i].previous;
	}
	if ((rc = store_stats_resolution(app->store, cat->areas[area].id, from, to, &rn, &rsec)))
		goto out;
	format_day(from, d1);
	format_day(to, d2);
	format_day(pfrom, d3);
	format_day(pto, d4);
	sg_buf_puts(&resp->body, "{\"measure\":\"cases\",\"group\":");
	sg_buf_json_str(&resp->body, group_s ? group_s : "category");
	sg_buf_puts(&resp->body, ",\"area\":");
	api_write_area_ref(app, &resp->body, area);
	sg_buf_printf(&resp->body,
		      ",\"from\":\"%s\",\"to\":\"%s\",\"compare\":\"%s\",\"previous_from\":\"%s\","
		      "\"previous_to\":\"%s\",\"total\":{",
		      d1, d2, months == 12 ? "yoy" : "mom", d3, d4);
	write_change(&resp->body, total, ptotal);
	sg_buf_printf(&resp->body, "},\"resolved\":%lld,\"mean_resolution_s\":", (long long)rn);
	if (rn)
		sg_buf_printf(&resp->body, "%lld", (long long)(rsec / rn));
	else
		sg_buf_puts(&resp->body, "null");
	sg_buf_puts(&resp->body, ",\"groups\":[");
	for (size_t i = 0; i < acc->n; i++) {
		const char *key = acc->rows[i].key;
		if (g == STORE_STATS_POLICE && !by_district)
			key = strcmp(key, "1") == 0 ? "police" : "non_police";
		sg_buf_puts(&resp->body, i ? ",{\"key\":" : "{\"key\":");
		sg_buf_json_str(&resp->body, key);
		sg_buf_putc(&resp->body, ',');
		write_change(&resp->body, acc->rows[i].value, acc->rows[i].previous);
		sg_buf_putc(&resp->body, '}');
	}
	sg_buf_puts(&resp->body, "]}");
	http_json(resp, 200);
out:
	free(acc);
	return rc;
}
