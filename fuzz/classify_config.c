/*
 * classify_config.c — libFuzzer target for the classifier's configuration (rules/classify_config.c)
 * loader (and, through a loaded configuration, the classifier).
 *
 * Feeds the input as a configuration document. When it is refused, the
 * error must carry a message and a known code, and nothing is returned. When
 * it loads, a few fixed reports (and the input itself, as a report) are
 * classified and every promise of the result is checked; every category is
 * routed for a few places; and the configuration is written back as JSON,
 * which must load again and write back to the same bytes. A broken promise
 * aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "rules/classify.h"

static const char *const reports[] = {
	"闻到很浓的煤气味，楼道里",
	"有人冒充淘宝客服让我转账，被骗了3000元",
	"楼上装修太吵了，现在还在打桩",
	"没有人受伤，车子追尾了",
	"",
	"\xe7\x81\xab\xff\xfe\x80 ABC abc KTV k粉",
};

static const char *const areas[] = {NULL, "320508", "320508018", "320508018003", "320500"};

static int ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

/* A reported match must be the term, as folded, at its offset. */
static void check_result(const struct classify_result *r, const char *text, size_t len)
{
	if (!r->category || !r->category_zh || !r->department || r->priority < 1 ||
	    r->priority > 4 || r->base_priority < 1 || r->base_priority > 4 || r->score < 0 ||
	    r->nmatches > CLASSIFY_MAX_MATCHES || (r->runner_up && r->runner_up_score <= 0))
		abort();
	for (size_t i = 0; i < r->nmatches; i++) {
		const struct classify_match *m = &r->matches[i];
		if (!m->term || m->len == 0 || m->len != strlen(m->term))
			abort();
		if (m->offset == CLASSIFY_OFFSET_UNKNOWN)
			continue;
		if (m->offset > len || m->len > len - m->offset)
			abort();
		for (size_t k = 0; k < m->len; k++)
			if (ascii_lower((unsigned char)text[m->offset + k]) != (unsigned char)m->term[k])
				abort();
	}
}

static void exercise(const struct classify_config *cfg, const uint8_t *data, size_t size)
{
	struct classify_result r;
	struct classify_category_info info;
	const char *dept;

	for (size_t i = 0; i < sizeof reports / sizeof reports[0]; i++) {
		if (classify_text(cfg, reports[i], &r) != SG_OK)
			abort();
		check_result(&r, reports[i], strlen(reports[i]));
		if (classify_department_name(cfg, r.department) == NULL)
			abort();
	}
	if (classify_text_in(cfg, (const char *)data, size, "320508", &r) != SG_OK)
		abort();
	check_result(&r, (const char *)data, size);

	for (size_t c = 0; c < classify_category_count(cfg); c++) {
		if (classify_category_get(cfg, c, &info) != SG_OK || !info.id)
			abort();
		for (size_t a = 0; a < sizeof areas / sizeof areas[0]; a++)
			if (classify_route(cfg, info.id, areas[a], &dept) != SG_OK ||
			    classify_department_name(cfg, dept) == NULL ||
			    (!info.police && strcmp(dept, CLASSIFY_STATION) == 0))
				abort();
	}
	if (classify_category_get(cfg, classify_category_count(cfg), &info) != SG_ENOTFOUND)
		abort();
}

/* Writing back, loading and writing again must give the same bytes. */
static void round_trip(const struct classify_config *cfg)
{
	struct classify_config *again = NULL;
	struct classify_error err;
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	int rc = classify_config_to_json(cfg, &a, &alen);

	if (rc == SG_ENOMEM)
		return;
	if (rc != SG_OK || !a || alen != strlen(a))
		abort();
	rc = classify_config_load(a, alen, &again, &err);
	if (rc != SG_OK)
		abort();
	if (classify_config_to_json(again, &b, &blen) != SG_OK || blen != alen ||
	    memcmp(a, b, alen) != 0)
		abort();
	classify_config_free(again);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct classify_config *cfg = NULL;
	struct classify_error err;
	int rc = classify_config_load((const char *)data, size, &cfg, &err);

	if (rc != SG_OK) {
		if (cfg != NULL || err.message[0] == '\0' ||
		    (rc != SG_EINVAL && rc != SG_ETOOBIG && rc != SG_ENOMEM))
			abort();
		return 0;
	}
	if (!cfg)
		abort();
	exercise(cfg, data, size);
	round_trip(cfg);
	classify_config_free(cfg);
	return 0;
}
