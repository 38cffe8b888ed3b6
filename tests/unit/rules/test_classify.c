/*
 * test_classify.c — tests for rules/classify.c: the default configuration
 * against tables of realistic reports, every kind of configuration error,
 * scoring and precedence, urgency, routing by area, hostile texts, writing
 * the configuration back, and speed.
 *
 * Run from the repository root (the tables and data/rules/classify.json are
 * read relative to it).
 */
#include "rules/classify.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "test.h"

#define DEFAULT_CONFIG "data/rules/classify.json"
#define TABLE "tests/unit/rules/reports_zh.tsv"
#define HOLDOUT "tests/unit/rules/reports_zh_holdout.tsv"

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf) {
			buf[n] = '\0';
			if (len)
				*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static struct classify_config *default_cfg;

static struct classify_config *load_default(void)
{
	struct classify_error err;
	size_t len;
	char *text;

	if (default_cfg)
		return default_cfg;
	text = read_file(DEFAULT_CONFIG, &len);
	if (!text) {
		fprintf(stderr, "cannot read %s (run from the repository root)\n", DEFAULT_CONFIG);
		return NULL;
	}
	if (classify_config_load(text, len, &default_cfg, &err) != SG_OK)
		fprintf(stderr, "default config: %s: %s\n", err.path, err.message);
	free(text);
	return default_cfg;
}

/* Loads text, expecting failure rc with the error at path (NULL: any path). */
static void expect_error(const char *text, int rc, const char *path, const char *what)
{
	struct classify_config *cfg = NULL;
	struct classify_error err;
	int got = classify_config_load(text, strlen(text), &cfg, &err);

	if (got != rc || (path && strcmp(err.path, path) != 0) || cfg != NULL || !err.message[0])
		fprintf(stderr, "  case \"%s\": rc %d (want %d), path \"%s\" (want \"%s\"): %s\n",
			what, got, rc, err.path, path ? path : "*", err.message);
	CHECK_EQ_INT(got, rc);
	CHECK(cfg == NULL);
	CHECK(err.message[0] != '\0');
	if (path)
		CHECK_STR(err.path, path);
	classify_config_free(cfg);
}

static struct classify_config *load_ok(const char *text)
{
	struct classify_config *cfg = NULL;
	struct classify_error err;

	if (classify_config_load(text, strlen(text), &cfg, &err) != SG_OK)
		fprintf(stderr, "  unexpected load failure: %s: %s\n", err.path, err.message);
	CHECK(cfg != NULL);
	return cfg;
}

/* A small valid document with fixed departments and routing around the categories given. */
#define DEPTS \
	"\"departments\":[{\"id\":\"city\",\"name_zh\":\"城管\",\"kind\":\"government\"}," \
	"{\"id\":\"cops\",\"name_zh\":\"交警\",\"kind\":\"police\"}]"
#define MINIR(cats, extra, routes)                                                            \
	"{\"version\":1,\"fallback\":\"other\"," extra DEPTS ",\"categories\":[" cats              \
	",{\"id\":\"other\",\"name_zh\":\"其他\",\"name_en\":\"Other\",\"police\":false," \
	"\"priority\":4,\"rules\":[]}],"                                                           \
	"\"routing\":[" routes "{\"category\":\"other\",\"department\":\"city\"}]}"
/* Police categories need no route; a non-police one x needs ROUTE("x"). */
#define MINI(cats, extra) MINIR(cats, extra, "")
#define ROUTE(id) "{\"category\":\"" id "\",\"department\":\"city\"},"
#define CAT(id, police, prio, rules)                                                         \
	"{\"id\":\"" id "\",\"name_zh\":\"" id "\",\"name_en\":\"" id "\",\"police\":" police \
	",\"priority\":" prio ",\"rules\":[" rules "]}"

/* ------------------------------------------------------------ the tables */

struct table_score {
	int rows, police_ok, category_ok;
};

/*
 * Classifies every row of a table (category TAB police TAB text) and counts
 * agreements; prints each disagreement so a regression is easy to read.
 */
static struct table_score run_table(const struct classify_config *cfg, const char *path)
{
	struct table_score s = {0, 0, 0};
	char *text = read_file(path, NULL), *line, *next;

	if (!text) {
		fprintf(stderr, "cannot read %s\n", path);
		return s;
	}
	for (line = text; line && *line; line = next) {
		char *tab1, *tab2, *nl = strchr(line, '\n');
		struct classify_result r;
		next = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		tab1 = strchr(line, '\t');
		tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
		CHECK(tab2 != NULL);
		if (!tab2)
			continue;
		*tab1 = *tab2 = '\0';
		CHECK_EQ_INT(classify_text(cfg, tab2 + 1, &r), SG_OK);
		s.rows++;
		bool police = tab1[1] == '1';
		s.police_ok += r.police == police;
		s.category_ok += strcmp(r.category, line) == 0;
		if (strcmp(r.category, line) != 0)
			printf("  %s %-18s got %-18s (%d; next %s %d) %s\n",
			       r.police == police ? "  " : "P!", line, r.category, r.score,
			       r.runner_up ? r.runner_up : "-", r.runner_up_score, tab2 + 1);
	}
	free(text);
	return s;
}

static void test_report_table_meets_accuracy_targets(void)
{
	struct classify_config *cfg = load_default();
	struct table_score s;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	s = run_table(cfg, TABLE);
	printf("table %s: %d reports, police/non-police %.1f%%, category %.1f%%\n", TABLE, s.rows,
	       100.0 * s.police_ok / (s.rows ? s.rows : 1),
	       100.0 * s.category_ok / (s.rows ? s.rows : 1));
	CHECK(s.rows >= 150);
	CHECK(s.police_ok * 100 >= s.rows * 95);
	CHECK(s.category_ok * 100 >= s.rows * 85);
}

/*
 * The hold-out table was run once before this test existed (police 97.4%,
 * category 91.5%); the floors sit just under that, so that a change making
 * new text worse fails here. Once anything is tuned on these reports, they
 * are no hold-out any more: move them to reports_zh.tsv and write new ones.
 */
static void test_holdout_table_stays_at_its_first_run_figures(void)
{
	struct classify_config *cfg = load_default();
	struct table_score s;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	s = run_table(cfg, HOLDOUT);
	printf("holdout %s: %d reports, police/non-police %.1f%%, category %.1f%%\n", HOLDOUT,
	       s.rows, 100.0 * s.police_ok / (s.rows ? s.rows : 1),
	       100.0 * s.category_ok / (s.rows ? s.rows : 1));
	CHECK(s.rows >= 150);
	CHECK(s.police_ok * 1000 >= s.rows * 960);
	CHECK(s.category_ok * 1000 >= s.rows * 905);
}

static void test_default_config_has_the_documented_taxonomy(void)
{
	struct classify_config *cfg = load_default();
	struct classify_category_info info;
	struct classify_stats st;
	size_t police = 0;
	const char *dept;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK(classify_category_count(cfg) >= 40);
	for (size_t i = 0; i < classify_category_count(cfg); i++) {
		CHECK_EQ_INT(classify_category_get(cfg, i, &info), SG_OK);
		police += info.police;
		CHECK(info.priority >= 1 && info.priority <= 4);
		CHECK_EQ_INT(classify_route(cfg, info.id, NULL, &dept), SG_OK);
		/* Police matters stay with the police; everything else is diverted. */
		if (info.police)
			CHECK(strcmp(dept, CLASSIFY_STATION) == 0 || strcmp(dept, "traffic_police") == 0);
		else
			CHECK(strcmp(dept, CLASSIFY_STATION) != 0 && classify_department_name(cfg, dept));
	}
	CHECK(police >= 15);
	CHECK_EQ_INT(classify_category_get(cfg, classify_category_count(cfg), &info), SG_ENOTFOUND);
	classify_config_stats(cfg, &st);
	CHECK_EQ_INT(st.categories, classify_category_count(cfg));
	CHECK(st.terms > 1000);
	CHECK(st.distinct_terms <= st.terms);
	CHECK(st.states > st.distinct_terms);
	CHECK(st.dense); /* the default configuration scans with one lookup per byte */
	printf("default config: %zu categories, %zu departments, %zu rules, %zu routes, %zu terms "
	       "(%zu distinct), %zu states, %zu byte classes, %.1f MiB automaton\n",
	       st.categories, st.departments, st.rules, st.routes, st.terms, st.distinct_terms,
	       st.states, st.byte_classes, st.automaton_bytes / 1048576.0);
	CHECK_STR(classify_department_name(cfg, "gas_company"), "苏州港华燃气有限公司");
	CHECK_STR(classify_department_name(cfg, CLASSIFY_STATION), "属地派出所");
	CHECK(classify_department_name(cfg, "no_such_department") == NULL);
}

/* ------------------------------------------------------ precedence etc. */

static void classify_ok(const struct classify_config *cfg, const char *text,
			struct classify_result *r)
{
	memset(r, 0, sizeof *r);
	CHECK_EQ_INT(classify_text(cfg, text, r), SG_OK);
}

static void test_gas_leak_takes_precedence_over_gas_service(void)
{
	struct classify_config *cfg = load_default();
	struct classify_result r;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	classify_ok(cfg, "燃气费交了但是卡里余额不对", &r);
	CHECK_STR(r.category, "gas");
	CHECK(!r.police);
	CHECK_STR(r.department, "gas_company");
	classify_ok(cfg, "想办理燃气开户", &r);
	CHECK_STR(r.category, "gas");

	classify_ok(cfg, "厨房里全是煤气味", &r);
	CHECK_STR(r.category, "gas_leak");
	CHECK(r.police);
	CHECK_EQ_INT(r.priority, 1);
	CHECK_STR(r.department, CLASSIFY_STATION);
	/* A bill complaint that also smells gas is a leak first. */
	classify_ok(cfg, "燃气费太贵了，而且家里燃气管道好像在漏气", &r);
	CHECK_STR(r.category, "gas_leak");
	CHECK(r.police);
	CHECK(r.runner_up == NULL || strcmp(r.runner_up, "gas") != 0);
}

static void test_priority_over_drops_a_higher_scoring_category(void)
{
	struct classify_config *cfg = load_ok(MINIR(
		CAT("leak", "true", "1", "{\"terms\":[\"泄漏\"],\"weight\":1}") ","
		CAT("bill", "false", "3", "{\"terms\":[\"燃气\"],\"weight\":50}"),
		"", ROUTE("bill")) );
	struct classify_result r;

	if (!cfg)
		return;
	/* bill scores 50 alone */
	classify_ok(cfg, "燃气账单", &r);
	CHECK_STR(r.category, "bill");
	CHECK_EQ_INT(r.score, 50);
	classify_config_free(cfg);

	cfg = load_ok(MINIR(
		CAT("leak", "true", "1", "{\"terms\":[\"泄漏\"],\"weight\":1}") ","
		"{\"id\":\"bill\",\"name_zh\":\"b\",\"name_en\":\"b\",\"police\":false,\"priority\":3,"
		"\"rules\":[{\"terms\":[\"燃气\"],\"weight\":50}]}",
		"", ROUTE("bill")) );
	if (!cfg)
		return;
	classify_ok(cfg, "燃气泄漏", &r);
	CHECK_STR(r.category, "bill"); /* no priority_over: the weight decides */
	classify_config_free(cfg);

	cfg = load_ok(MINIR(
		"{\"id\":\"leak\",\"name_zh\":\"l\",\"name_en\":\"l\",\"police\":true,\"priority\":1,"
		"\"priority_over\":[\"bill\"],\"rules\":[{\"terms\":[\"泄漏\"],\"weight\":1}]},"
		CAT("bill", "false", "3", "{\"terms\":[\"燃气\"],\"weight\":50}"),
		"", ROUTE("bill")) );
	if (!cfg)
		return;
	classify_ok(cfg, "燃气泄漏", &r);
	CHECK_STR(r.category, "leak");
	CHECK_EQ_INT(r.score, 1);
	CHECK(r.runner_up == NULL); /* bill's score was dropped, not merely beaten */
	classify_config_free(cfg);
}

static void test_ties_go_to_urgency_then_police_then_order(void)
{
	struct classify_config *cfg = load_ok(MINIR(
		CAT("a", "false", "3", "{\"terms\":[\"甲\"],\"weight\":5}") ","
		CAT("b", "false", "2", "{\"terms\":[\"甲\"],\"weight\":5}") ","
		CAT("c", "false", "2", "{\"terms\":[\"乙\"],\"weight\":5}") ","
		CAT("d", "true", "2", "{\"terms\":[\"乙\"],\"weight\":5}") ","
		CAT("e", "false", "3", "{\"terms\":[\"丙\"],\"weight\":5}") ","
		CAT("f", "false", "3", "{\"terms\":[\"丙\"],\"weight\":5}"),
		"", ROUTE("a") ROUTE("b") ROUTE("c") ROUTE("e") ROUTE("f")) );
	struct classify_result r;

	if (!cfg)
		return;
	classify_ok(cfg, "甲", &r);
	CHECK_STR(r.category, "b"); /* more urgent default priority */
	CHECK_STR(r.runner_up, "a");
	classify_ok(cfg, "乙", &r);
	CHECK_STR(r.category, "d"); /* police */
	classify_ok(cfg, "丙", &r);
	CHECK_STR(r.category, "e"); /* listed first */
	classify_config_free(cfg);
}

static void test_rule_needs_any_term_any_with_all_of_all_and_none_of_not(void)
{
	struct classify_config *cfg = load_ok(MINIR(
		CAT("x", "false", "3",
		    "{\"terms\":[\"电动车\",\"自行车\"],\"with\":[\"不见了\",\"没了\"],"
		    "\"all\":[\"小区\",\"楼下\"],\"not\":[\"借走\"],\"weight\":3}") ","
		CAT("y", "false", "3", "{\"terms\":[\"天台\"],\"weight\":1},"
					  "{\"terms\":[\"天台\",\"楼顶\"],\"weight\":2}"),
		"", ROUTE("x") ROUTE("y")) );
	struct classify_result r;

	if (!cfg)
		return;
	classify_ok(cfg, "小区楼下电动车不见了", &r);
	CHECK_STR(r.category, "x");
	CHECK_EQ_INT(r.score, 3);
	classify_ok(cfg, "小区楼下电动车", &r); /* no with-term */
	CHECK_STR(r.category, "other");
	classify_ok(cfg, "小区电动车不见了", &r); /* not all of "all" */
	CHECK_STR(r.category, "other");
	classify_ok(cfg, "小区楼下电动车不见了，原来是邻居借走了", &r);
	CHECK_STR(r.category, "other");
	classify_ok(cfg, "天台楼顶天台", &r); /* each rule adds its weight once */
	CHECK_STR(r.category, "y");
	CHECK_EQ_INT(r.score, 3);
	classify_config_free(cfg);
}

static void test_min_score_sends_weak_evidence_to_the_fallback(void)
{
	struct classify_config *cfg = load_ok(MINIR(
		CAT("x", "false", "3", "{\"terms\":[\"弱\"],\"weight\":1},{\"terms\":[\"强\"],\"weight\":5}"),
		"\"min_score\":2,", ROUTE("x")) );
	struct classify_result r;

	if (!cfg)
		return;
	classify_ok(cfg, "弱", &r);
	CHECK_STR(r.category, "other");
	CHECK_EQ_INT(r.score, 0);
	CHECK_STR(r.runner_up, "x");
	CHECK_EQ_INT(r.runner_up_score, 1);
	classify_ok(cfg, "强", &r);
	CHECK_STR(r.category, "x");
	classify_config_free(cfg);
}

static void test_negation_word_right_before_a_term_cancels_it(void)
{
	struct classify_config *cfg = load_default();
	struct classify_result r;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	classify_ok(cfg, "楼下着火了", &r);
	CHECK_STR(r.category, "fire");
	classify_ok(cfg, "刚才看到有烟，问了物业说没着火，是在烧烤", &r);
	CHECK(strcmp(r.category, "fire") != 0);
	/* An occurrence that is not negated still counts. */
	classify_ok(cfg, "不是着火，哦不对，真的着火了", &r);
	CHECK_STR(r.category, "fire");
	classify_config_free(NULL);
}

/* Reference for a gapped term a*b: some b begins 0..gap characters after the last a before it ends. */
static bool naive_gapped(const char *text, const char *a, const char *b, int gap)
{
	size_t la = strlen(a), lb = strlen(b), n = strlen(text);

	for (size_t bs = 0; bs + lb <= n; bs++) {
		long last_end = -1;
		if (memcmp(text + bs, b, lb) != 0)
			continue;
		/* the last a that has ended by the time this b has ended */
		for (size_t as = 0; as + la <= bs + lb; as++)
			if (memcmp(text + as, a, la) == 0)
				last_end = (long)(as + la);
		if (last_end < 0 || (size_t)last_end > bs)
			continue;
		int chars = 0;
		for (size_t i = (size_t)last_end; i < bs; i++)
			chars += ((unsigned char)text[i] & 0xC0) != 0x80;
		if (chars <= gap)
			return true;
	}
	return false;
}

static void test_gapped_terms_allow_a_few_characters_between_their_parts(void)
{
	struct classify_config *cfg = load_ok(MINI(
		CAT("hit", "true", "2",
		    "{\"terms\":[\"被*打\",\"把*偷\"],\"weight\":5},{\"terms\":[\"被\"],\"weight\":1}"),
		"\"gap\":4,\"negation\":{\"terms\":[\"没\"]},"));
	static const struct {
		const char *text;
		int score; /* of "hit"; 0: the fallback */
	} cases[] = {
		{"被打了", 6},                   /* no gap at all */
		{"我被人打了", 6},               /* one character */
		{"被几个人围打", 6},             /* four: the limit */
		{"被几个人围着打", 1},           /* five: too far, only 被 counts */
		{"打了他一下被", 1},             /* wrong order */
		{"他把我的车偷了", 5},           /* the other term, without 被 */
		{"被ABCD打", 6},                 /* ASCII characters count one each */
		{"被\xe2\x80\x9c人\xe2\x80\x9d打", 6},
		{"没被人打", 0},                 /* negated at its first part (police: negation on) */
		{"", 0},
	};
	struct classify_result r;

	if (!cfg)
		return;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		CHECK_EQ_INT(classify_text(cfg, cases[i].text, &r), SG_OK);
		if (cases[i].score != (strcmp(r.category, "hit") == 0 ? r.score : 0))
			fprintf(stderr, "  \"%s\": %s %d, want %d\n", cases[i].text, r.category,
				r.score, cases[i].score);
		CHECK_EQ_INT(strcmp(r.category, "hit") == 0 ? r.score : 0, cases[i].score);
	}
	/* The match is reported as the term, at no offset (it is not in the text as written). */
	classify_ok(cfg, "我被人打了", &r);
	bool gapped = false;
	for (size_t k = 0; k < r.nmatches; k++)
		if (strcmp(r.matches[k].term, "被*打") == 0)
			gapped = r.matches[k].offset == CLASSIFY_OFFSET_UNKNOWN;
	CHECK(gapped);
	/* It is written back as it was, gap included. */
	char *json = NULL;
	CHECK_EQ_INT(classify_config_to_json(cfg, &json, NULL), SG_OK);
	CHECK(json && strstr(json, "\"被*打\"") && strstr(json, "\"gap\": 4"));
	free(json);
	classify_config_free(cfg);

	/* Random texts over a small alphabet against the reference. */
	cfg = load_ok(MINIR(CAT("hit", "false", "2", "{\"terms\":[\"甲乙*丙\"],\"weight\":1}"),
			    "\"gap\":3,", ROUTE("hit")));
	if (!cfg)
		return;
	static const char *const alpha[] = {"甲", "乙", "丙", "丁", "a"};
	uint32_t x = 12345;
	int agree = 0;
	for (int t = 0; t < 2000; t++) {
		char text[64 * 3 + 1] = "";
		int n = 1 + (int)((x = x * 1103515245u + 12345u) >> 16) % 12;
		for (int k = 0; k < n; k++)
			strcat(text, alpha[((x = x * 1103515245u + 12345u) >> 16) % 5]);
		CHECK_EQ_INT(classify_text(cfg, text, &r), SG_OK);
		bool want = naive_gapped(text, "甲乙", "丙", 3);
		if (want != (strcmp(r.category, "hit") == 0))
			fprintf(stderr, "  \"%s\": got %s, want %s\n", text, r.category,
				want ? "hit" : "other");
		agree += want == (strcmp(r.category, "hit") == 0);
	}
	CHECK_EQ_INT(agree, 2000);
	classify_config_free(cfg);
}

static void test_examples_decide_when_the_rules_say_too_little(void)
{
	/* "hit" has one keyword rule; the examples teach it other words, and "calm" too. */
	struct classify_config *cfg = load_ok(MINIR(
		CAT("hit", "true", "2", "{\"terms\":[\"打人\"],\"weight\":8},{\"terms\":[\"吵\"],\"weight\":2}")
		"," CAT("calm", "false", "3", "{\"terms\":[\"安静\"],\"weight\":8}"),
		"\"negation\":{\"terms\":[\"没\"]},\"learned\":{\"below\":6,\"examples\":["
		"{\"category\":\"hit\",\"text\":\"他拿剪刀冲过来划伤了我的手\"},"
		"{\"category\":\"hit\",\"text\":\"有人拿着剪刀在街上乱挥\"},"
		"{\"category\":\"calm\",\"text\":\"楼下的花开得很好看\"},"
		"{\"category\":\"calm\",\"text\":\"公园里的花很好看\"}]},",
		ROUTE("calm")));
	struct classify_result r;

	if (!cfg)
		return;
	/* No rule matches: the examples' words decide. */
	classify_ok(cfg, "那个人拿着剪刀追我", &r);
	CHECK_STR(r.category, "hit");
	CHECK(r.learned);
	CHECK_EQ_INT(r.score, 0);
	CHECK(r.police);
	classify_ok(cfg, "小区的花真好看", &r);
	CHECK_STR(r.category, "calm");
	CHECK(r.learned && !r.police);
	CHECK_STR(r.department, "city");
	/* A weak rule (2 < below) is overruled, and becomes the runner-up. */
	classify_ok(cfg, "他们吵着吵着，楼下的花开得很好看", &r);
	CHECK_STR(r.category, "calm");
	CHECK(r.learned);
	CHECK(r.runner_up && strcmp(r.runner_up, "hit") == 0 && r.runner_up_score == 2);
	/* A strong one is not. */
	classify_ok(cfg, "有人打人，花很好看", &r);
	CHECK_STR(r.category, "hit");
	CHECK(!r.learned);
	CHECK_EQ_INT(r.score, 8);
	/* A category whose own term the text negates is not the examples' to give. */
	classify_ok(cfg, "他拿着剪刀，但是没打人", &r);
	CHECK(strcmp(r.category, "hit") != 0);
	/* A text sharing nothing with the examples gets the fallback; so does empty text. */
	classify_ok(cfg, "ABC", &r);
	CHECK_STR(r.category, "other");
	CHECK(!r.learned);
	classify_ok(cfg, "", &r);
	CHECK_STR(r.category, "other");
	/* The examples are written back, and load back to the same document. */
	char *json = NULL, *again = NULL;
	struct classify_config *back = NULL;
	CHECK_EQ_INT(classify_config_to_json(cfg, &json, NULL), SG_OK);
	CHECK(json && strstr(json, "\"below\": 6") && strstr(json, "他拿剪刀冲过来划伤了我的手"));
	if (json)
		back = load_ok(json);
	if (back) {
		CHECK_EQ_INT(classify_config_to_json(back, &again, NULL), SG_OK);
		CHECK(again && strcmp(json, again) == 0);
		classify_ok(back, "那个人拿着剪刀追我", &r);
		CHECK_STR(r.category, "hit");
	}
	free(json);
	free(again);
	classify_config_free(back);
	classify_config_free(cfg);

	/* One byte past the limit of an example's text. */
	size_t cap = CLASSIFY_MAX_EXAMPLE_BYTES + 1024;
	char *doc = malloc(cap), *text = malloc(CLASSIFY_MAX_EXAMPLE_BYTES + 2);
	if (doc && text) {
		memset(text, 'a', CLASSIFY_MAX_EXAMPLE_BYTES + 1);
		text[CLASSIFY_MAX_EXAMPLE_BYTES + 1] = '\0';
		snprintf(doc, cap,
			 "{\"version\":1,\"fallback\":\"other\",\"learned\":{\"below\":5,\"examples\":"
			 "[{\"category\":\"other\",\"text\":\"%s\"}]}," DEPTS ",\"categories\":["
			 "{\"id\":\"other\",\"name_zh\":\"o\",\"name_en\":\"o\",\"police\":false,"
			 "\"priority\":4,\"rules\":[]}],"
			 "\"routing\":[{\"category\":\"other\",\"department\":\"city\"}]}",
			 text);
		expect_error(doc, SG_ETOOBIG, "learned.examples[0].text", "example too long");
		text[CLASSIFY_MAX_EXAMPLE_BYTES] = '\0'; /* at the limit: fine */
		snprintf(doc, cap,
			 "{\"version\":1,\"fallback\":\"other\",\"learned\":{\"below\":5,\"examples\":"
			 "[{\"category\":\"other\",\"text\":\"%s\"}]}," DEPTS ",\"categories\":["
			 "{\"id\":\"other\",\"name_zh\":\"o\",\"name_en\":\"o\",\"police\":false,"
			 "\"priority\":4,\"rules\":[]}],"
			 "\"routing\":[{\"category\":\"other\",\"department\":\"city\"}]}",
			 text);
		classify_config_free(load_ok(doc));
	}
	free(text);
	free(doc);
}

static void test_ascii_letters_match_without_case(void)
{
	struct classify_config *cfg = load_ok(MINI(
		CAT("x", "true", "2", "{\"terms\":[\"K粉\",\"APP\"],\"weight\":4}"), ""));
	struct classify_result r;

	if (!cfg)
		return;
	classify_ok(cfg, "有人在卖k粉", &r);
	CHECK_STR(r.category, "x");
	classify_ok(cfg, "下载了一个app", &r);
	CHECK_STR(r.category, "x");
	CHECK_STR(r.matches[0].term, "app");
	classify_config_free(cfg);
}

static void test_urgency_words_raise_priority_and_old_news_lowers_it(void)
{
	struct classify_config *cfg = load_default();
	struct classify_result r;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	classify_ok(cfg, "我的电动车被偷了", &r);
	CHECK_STR(r.category, "theft");
	CHECK_EQ_INT(r.priority, 2);
	CHECK_EQ_INT(r.base_priority, 2);
	classify_ok(cfg, "小偷正在撬锁，就在我家楼下", &r);
	CHECK_STR(r.category, "theft");
	CHECK_EQ_INT(r.priority, 1);
	bool urgent_term = false;
	for (size_t i = 0; i < r.nmatches; i++)
		if (r.matches[i].kind == CLASSIFY_MATCH_URGENCY && strcmp(r.matches[i].term, "正在") == 0)
			urgent_term = true;
	CHECK(urgent_term);
	classify_ok(cfg, "上个月电动车被偷了，想问问进展", &r);
	CHECK_STR(r.category, "theft");
	CHECK_EQ_INT(r.priority, 3);
	/* Priorities stay within 1..4. */
	classify_ok(cfg, "昨天有辆车违停在我家门口", &r);
	CHECK_STR(r.category, "illegal_parking");
	CHECK_EQ_INT(r.base_priority, 4);
	CHECK_EQ_INT(r.priority, 4);
	/* Urgency beats staleness when both appear. */
	classify_ok(cfg, "昨天偷我电动车的小偷现在又来了", &r);
	CHECK_EQ_INT(r.priority, 1);
	/* police_only urgency does not touch a diverted matter. */
	classify_ok(cfg, "现在楼上装修太吵了", &r);
	CHECK_STR(r.category, "noise");
	CHECK_EQ_INT(r.priority, 3);
	/* ...but a cry for help does. */
	classify_ok(cfg, "救命，楼上装修太吵了", &r);
	CHECK_EQ_INT(r.priority, 1);
}

static void test_matches_explain_the_choice_with_offsets(void)
{
	struct classify_config *cfg = load_default();
	struct classify_result r;
	const char *text = "我的电动车在小区楼下被偷了";
	bool found = false;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	classify_ok(cfg, text, &r);
	CHECK_STR(r.category, "theft");
	CHECK(r.nmatches >= 1);
	for (size_t i = 0; i < r.nmatches; i++) {
		const struct classify_match *m = &r.matches[i];
		/* A gapped term ("被*偷") is not in the text as written: it has no offset. */
		CHECK((m->offset == CLASSIFY_OFFSET_UNKNOWN) == (strchr(m->term, '*') != NULL));
		if (m->offset != CLASSIFY_OFFSET_UNKNOWN)
			CHECK(memcmp(text + m->offset, m->term, m->len) == 0);
		if (strcmp(m->term, "被偷") == 0)
			found = m->offset == strlen("我的电动车在小区楼下");
	}
	CHECK(found);
}

/* ---------------------------------------------------------------- routing */

static void test_routing_takes_the_most_specific_area(void)
{
	struct classify_config *cfg = load_default();
	struct classify_result r;
	const char *d = NULL;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK_EQ_INT(classify_route(cfg, "sanitation", NULL, &d), SG_OK);
	CHECK_STR(d, "environmental_sanitation");
	CHECK_EQ_INT(classify_route(cfg, "sanitation", "", &d), SG_OK);
	CHECK_STR(d, "environmental_sanitation");
	CHECK_EQ_INT(classify_route(cfg, "sanitation", "320505", &d), SG_OK); /* Huqiu: city-wide */
	CHECK_STR(d, "environmental_sanitation");
	CHECK_EQ_INT(classify_route(cfg, "sanitation", "320508", &d), SG_OK); /* Gusu */
	CHECK_STR(d, "gusu_sanitation");
	CHECK_EQ_INT(classify_route(cfg, "sanitation", "320508020", &d), SG_OK); /* Canglang */
	CHECK_STR(d, "gusu_sanitation");
	CHECK_EQ_INT(classify_route(cfg, "sanitation", "320508018", &d), SG_OK); /* Pingjiang */
	CHECK_STR(d, "pingjiang_street_office");
	CHECK_EQ_INT(classify_route(cfg, "sanitation", "320508018003", &d), SG_OK); /* a community */
	CHECK_STR(d, "pingjiang_street_office");
	CHECK_EQ_INT(classify_route(cfg, "sanitation", "320508000", &d), SG_OK); /* = 320508 */
	CHECK_STR(d, "gusu_sanitation");
	CHECK_EQ_INT(classify_route(cfg, "sanitation", "320500", &d), SG_OK); /* the city itself */
	CHECK_STR(d, "environmental_sanitation");
	CHECK_EQ_INT(classify_route(cfg, "noise", "320576052", &d), SG_OK); /* SIP, Weiting */
	CHECK_STR(d, "sip_enforcement");
	CHECK_EQ_INT(classify_route(cfg, "theft", "320508", &d), SG_OK);
	CHECK_STR(d, CLASSIFY_STATION);
	CHECK_EQ_INT(classify_route(cfg, "illegal_parking", "320508", &d), SG_OK);
	CHECK_STR(d, "traffic_police");

	d = "untouched";
	CHECK_EQ_INT(classify_route(cfg, "no_such", NULL, &d), SG_ENOTFOUND);
	CHECK_EQ_INT(classify_route(cfg, "sanitation", "3205", &d), SG_EINVAL);
	CHECK_EQ_INT(classify_route(cfg, "sanitation", "32050a", &d), SG_EINVAL);
	CHECK_STR(d, "untouched");

	const char *text = "小区门口垃圾好几天没人清运";
	CHECK_EQ_INT(classify_text_in(cfg, text, strlen(text), "320508018", &r), SG_OK);
	CHECK_STR(r.category, "sanitation");
	CHECK_STR(r.department, "pingjiang_street_office");
	CHECK_EQ_INT(classify_text_in(cfg, text, strlen(text), "12", &r), SG_EINVAL);
}

static void test_route_areas_nest_by_division_code(void)
{
	struct classify_config *cfg = load_ok(
		"{\"version\":1,\"fallback\":\"x\"," DEPTS ","
		"\"categories\":[" CAT("x", "false", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],"
		"\"routing\":[{\"category\":\"x\",\"department\":\"city\"},"
		"{\"category\":\"x\",\"area\":\"320000\",\"department\":\"city\",\"note\":\"province\"}]}");
	const char *d = NULL;

	if (!cfg)
		return;
	CHECK_EQ_INT(classify_route(cfg, "x", "320583102", &d), SG_OK);
	CHECK_STR(d, "city");
	classify_config_free(cfg);
}

/* ------------------------------------------------------- hostile texts */

static void test_fallback_when_nothing_matches_and_for_empty_text(void)
{
	struct classify_config *cfg = load_default();
	struct classify_result r;

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	/* No rule matches: the examples may still suggest something, at score 0. */
	classify_ok(cfg, "今天天气不错", &r);
	CHECK_EQ_INT(r.score, 0);
	CHECK(r.learned || strcmp(r.category, "other") == 0);
	/* Sharing not even a character with the examples, it is the fallback. */
	classify_ok(cfg, "\xc5\xbd\xc5\xbd\xc5\xbd", &r);
	CHECK_STR(r.category, "other");
	CHECK_EQ_INT(r.score, 0);
	CHECK(!r.police && !r.learned);
	CHECK_STR(r.department, "hotline_12345");
	CHECK_EQ_INT(r.nmatches, 0);
	classify_ok(cfg, "", &r);
	CHECK_STR(r.category, "other");
	CHECK_EQ_INT(classify_text_in(cfg, NULL, 0, NULL, &r), SG_OK);
	CHECK_STR(r.category, "other");
	CHECK_EQ_INT(classify_text(cfg, NULL, &r), SG_EINVAL);
	CHECK_EQ_INT(classify_text(NULL, "x", &r), SG_EINVAL);
	CHECK_EQ_INT(classify_text(cfg, "x", NULL), SG_EINVAL);
}

static void test_long_binary_and_invalid_utf8_texts_are_scanned_safely(void)
{
	struct classify_config *cfg = load_default();
	struct classify_result r;
	const size_t n = 64 * 1024;
	char *buf = malloc(CLASSIFY_MAX_TEXT + 1);
	const char *unit = "我家电动车被偷了，";
	uint32_t x = 12345;

	CHECK(cfg != NULL && buf != NULL);
	if (!cfg || !buf) {
		free(buf);
		return;
	}
	/* 64 KB of the same report. */
	for (size_t i = 0; i + strlen(unit) < n; i += strlen(unit))
		memcpy(buf + i, unit, strlen(unit));
	memset(buf + (n / strlen(unit)) * strlen(unit), ' ', n - (n / strlen(unit)) * strlen(unit));
	buf[n] = '\0';
	classify_ok(cfg, buf, &r);
	CHECK_STR(r.category, "theft");

	/* 64 KB of random bytes, NULs included: invalid UTF-8 everywhere. */
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (char)(x >> 16);
	}
	CHECK_EQ_INT(classify_text_in(cfg, buf, n, NULL, &r), SG_OK);
	CHECK(r.category != NULL);

	/* A truncated UTF-8 sequence right before a term, and a term cut in half at the end. */
	const char *tricky = "\xe7\x81着火\xe7";
	classify_ok(cfg, tricky, &r);
	CHECK_STR(r.category, "fire");
	const char *cut = "着\xe7\x81";
	classify_ok(cfg, cut, &r);
	CHECK_EQ_INT(r.score, 0); /* no term matched (the examples may still guess) */
	CHECK(strcmp(r.category, "fire") != 0 || r.learned);

	/* A NUL inside the text does not end it for classify_text_in. */
	const char withnul[] = "abc\0楼道里着火了";
	CHECK_EQ_INT(classify_text_in(cfg, withnul, sizeof withnul - 1, NULL, &r), SG_OK);
	CHECK_STR(r.category, "fire");

	memset(buf, 'a', CLASSIFY_MAX_TEXT + 1);
	CHECK_EQ_INT(classify_text_in(cfg, buf, CLASSIFY_MAX_TEXT + 1, NULL, &r), SG_ETOOBIG);
	free(buf);
}

static void test_text_with_hundreds_of_distinct_terms_still_classifies(void)
{
	/* 600 distinct terms in one category: more than the per-call list holds. */
	size_t cap = 600 * 16 + 4096;
	char *doc = malloc(cap), *text = malloc(600 * 8 + 64);
	size_t n = 0, tn = 0;
	struct classify_result r;
	struct classify_config *cfg;

	CHECK(doc && text);
	if (!doc || !text)
		goto out;
	n += (size_t)snprintf(doc + n, cap - n,
			      "{\"version\":1,\"fallback\":\"other\"," DEPTS ",\"categories\":["
			      "{\"id\":\"many\",\"name_zh\":\"m\",\"name_en\":\"m\",\"police\":true,"
			      "\"priority\":2,\"rules\":[{\"terms\":[");
	for (int i = 0; i < 600; i++) {
		n += (size_t)snprintf(doc + n, cap - n, "%s\"w%03d\"", i ? "," : "", i);
		tn += (size_t)snprintf(text + tn, 600 * 8 + 64 - tn, "w%03d ", i);
	}
	n += (size_t)snprintf(doc + n, cap - n,
			      "],\"weight\":1},{\"terms\":[\"w599\"],\"all\":[\"w000\"],\"weight\":7}]},"
			      "{\"id\":\"other\",\"name_zh\":\"o\",\"name_en\":\"o\",\"police\":false,"
			      "\"priority\":4,\"rules\":[]}],"
			      "\"routing\":[{\"category\":\"other\",\"department\":\"city\"}]}");
	cfg = load_ok(doc);
	if (!cfg)
		goto out;
	CHECK_EQ_INT(classify_text(cfg, text, &r), SG_OK);
	CHECK_STR(r.category, "many");
	CHECK_EQ_INT(r.score, 8);
	CHECK(r.matches_truncated);
	CHECK_EQ_INT(r.nmatches, CLASSIFY_MAX_MATCHES);
	classify_config_free(cfg);
out:
	free(doc);
	free(text);
}

/*
 * Builds a configuration of nterms random terms (1..maxlen CJK characters
 * from an alphabet of alpha characters) in one category, classifies random
 * texts, and checks every answer against a naive search: the category is
 * "hit" exactly when some term occurs, every reported match is a term at its
 * reported offset, and all occurring terms are reported when they fit.
 */
static void differential(int nterms, int maxlen, int alpha, bool want_dense)
{
	uint32_t x = (uint32_t)(nterms * 7919 + maxlen);
	size_t cap = (size_t)nterms * ((size_t)maxlen * 3 + 4) + 1024, n = 0;
	char *doc = malloc(cap), (*terms)[3 * 24 + 1] = calloc((size_t)nterms, sizeof *terms);
	struct classify_config *cfg = NULL;
	struct classify_stats st;
	int agree = 0;

	CHECK(doc && terms && maxlen <= 21);
	if (!doc || !terms)
		goto out;
#define RND() (x = x * 1103515245u + 12345u, (x >> 8) & 0xffffff)
#define PUT_CHAR(buf, at, k)                                                      \
	do {                                                                      \
		unsigned cp_ = 0x4e00u + (unsigned)(k);                           \
		(buf)[(at)++] = (char)(0xe0 | (cp_ >> 12));                       \
		(buf)[(at)++] = (char)(0x80 | ((cp_ >> 6) & 0x3f));               \
		(buf)[(at)++] = (char)(0x80 | (cp_ & 0x3f));                      \
	} while (0)
	for (int i = 0; i < nterms; i++) {
		size_t at = 0;
		int len = 1 + (int)(RND() % (unsigned)maxlen);
		for (int k = 0; k < len; k++)
			PUT_CHAR(terms[i], at, RND() % (unsigned)alpha);
		terms[i][at] = '\0';
		for (int j = 0; j < i; j++) /* a rule may not list a term twice */
			if (strcmp(terms[i], terms[j]) == 0) {
				i--;
				break;
			}
	}
	n += (size_t)snprintf(doc + n, cap - n,
			      "{\"version\":1,\"fallback\":\"other\"," DEPTS ",\"categories\":["
			      "{\"id\":\"hit\",\"name_zh\":\"h\",\"name_en\":\"h\",\"police\":true,"
			      "\"priority\":2,\"rules\":[{\"terms\":[");
	for (int i = 0; i < nterms; i++)
		n += (size_t)snprintf(doc + n, cap - n, "%s\"%s\"", i ? "," : "", terms[i]);
	snprintf(doc + n, cap - n,
		 "],\"weight\":1}]},{\"id\":\"other\",\"name_zh\":\"o\",\"name_en\":\"o\","
		 "\"police\":false,\"priority\":4,\"rules\":[]}],"
		 "\"routing\":[{\"category\":\"other\",\"department\":\"city\"}]}");
	cfg = load_ok(doc);
	if (!cfg)
		goto out;
	classify_config_stats(cfg, &st);
	CHECK(st.dense == want_dense);
	for (int t = 0; t < 300; t++) {
		char text[3 * 64 + 1];
		size_t at = 0;
		int found = 0;
		struct classify_result r;
		while (at < 3 * 40) {
			if (RND() % 8 == 0) { /* plant a whole term now and then */
				const char *w = terms[RND() % (unsigned)nterms];
				if (at + strlen(w) > 3 * 60)
					break;
				memcpy(text + at, w, strlen(w));
				at += strlen(w);
			} else {
				PUT_CHAR(text, at, RND() % (unsigned)alpha);
			}
		}
		text[at] = '\0';
		for (int i = 0; i < nterms; i++)
			found += strstr(text, terms[i]) != NULL;
		CHECK_EQ_INT(classify_text(cfg, text, &r), SG_OK);
		bool ok = (found > 0) == (strcmp(r.category, "hit") == 0);
		for (size_t k = 0; k < r.nmatches; k++)
			ok = ok && r.matches[k].offset + r.matches[k].len <= at &&
			     memcmp(text + r.matches[k].offset, r.matches[k].term, r.matches[k].len) == 0;
		if (found <= CLASSIFY_MAX_MATCHES)
			ok = ok && r.nmatches == (size_t)found && !r.matches_truncated;
		agree += ok;
	}
	CHECK_EQ_INT(agree, 300);
#undef RND
#undef PUT_CHAR
out:
	classify_config_free(cfg);
	free(doc);
	free(terms);
}

static void test_dense_automaton_agrees_with_naive_search(void)
{
	differential(400, 4, 60, true);
}

static void test_sparse_automaton_of_a_huge_config_agrees_with_naive_search(void)
{
	/* About 240,000 states over ~100 byte classes: past the dense table's cap. */
	differential(8000, 20, 2000, false);
}

/* ------------------------------------------------------ validation errors */

static void test_config_errors_name_the_member_at_fault(void)
{
	expect_error("{\"version\":1,", SG_EINVAL, "", "syntax");
	expect_error("[]", SG_EINVAL, "", "not an object");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"), "\"colour\":1,"),
		     SG_EINVAL, "colour", "unknown top-level member");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1,\"wieght\":2}"), ""),
		     SG_EINVAL, "categories[0].rules[0].wieght", "unknown rule member");
	expect_error(MINI("{\"id\":\"x\",\"name_zh\":\"x\",\"name_en\":\"x\",\"police\":true,"
			  "\"priority\":2,\"rules\":[{\"terms\":[\"a\"],\"weight\":1}],\"colour\":1}", ""),
		     SG_EINVAL, "categories[0].colour", "unknown category member");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\",7],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].rules[0].terms[1]", "term not a string");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":\"甲\",\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].rules[0].terms", "terms not an array");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].rules[0].terms", "no terms");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"]}"), ""),
		     SG_EINVAL, "categories[0].rules[0].weight", "missing weight");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":0}"), ""),
		     SG_EINVAL, "categories[0].rules[0].weight", "weight 0");
	expect_error(MINI(CAT("x", "false", "5", "{\"terms\":[\"甲\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].priority", "priority 5");
	expect_error(MINI(CAT("X", "false", "3", "{\"terms\":[\"甲\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].id", "id not snake_case");
	expect_error(MINI(CAT("x", "\"yes\"", "3", "{\"terms\":[\"甲\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].police", "police not a boolean");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].rules[0].terms[0]", "empty term");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\" 甲\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].rules[0].terms[0]", "term with a space");
	expect_error(MINI(CAT("x", "true", "3",
			      "{\"terms\":[\"一二三四五六七八九十一二三四五六七八九十一二\"],\"weight\":1}"), ""),
		     SG_ETOOBIG, "categories[0].rules[0].terms[0]", "term of 66 bytes");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\",\"乙\"],\"not\":[\"甲\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].rules[0].not[0]", "term in terms and not");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"ab\",\"AB\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].rules[0].terms[1]", "same term twice after folding");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}") ","
			  CAT("x", "true", "3", "{\"terms\":[\"乙\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[1].id", "duplicate category id");
	expect_error(MINI(CAT("x", "true", "3", ""), ""),
		     SG_EINVAL, "categories[0].rules", "a category without rules");
	expect_error("{\"version\":1,\"fallback\":\"x\",\"departments\":["
		     "{\"id\":\"a\",\"name_zh\":\"a\",\"kind\":\"government\"},"
		     "{\"id\":\"a\",\"name_zh\":\"b\",\"kind\":\"government\"}],\"categories\":["
		     CAT("x", "false", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":[]}",
		     SG_EINVAL, "departments[1].id", "duplicate department id");
	expect_error("{\"version\":1,\"fallback\":\"x\",\"departments\":["
		     "{\"id\":\"station\",\"name_zh\":\"a\",\"kind\":\"police\"}],\"categories\":["
		     CAT("x", "false", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":[]}",
		     SG_EINVAL, "departments[0].id", "reserved department id");
	expect_error("{\"version\":1,\"fallback\":\"x\",\"departments\":["
		     "{\"id\":\"a\",\"name_zh\":\"a\",\"kind\":\"army\"}],\"categories\":["
		     CAT("x", "false", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":[]}",
		     SG_EINVAL, "departments[0].kind", "unknown department kind");
	expect_error(MINI("{\"id\":\"x\",\"name_zh\":\"x\",\"name_en\":\"x\",\"police\":true,"
			  "\"priority\":2,\"notify\":[\"nobody\"],\"rules\":[{\"terms\":[\"a\"],\"weight\":1}]}", ""),
		     SG_EINVAL, "categories[0].notify[0]", "unknown department in notify");
	expect_error(MINI("{\"id\":\"x\",\"name_zh\":\"x\",\"name_en\":\"x\",\"police\":true,"
			  "\"priority\":2,\"priority_over\":[\"nothing\"],\"rules\":[{\"terms\":[\"a\"],\"weight\":1}]}", ""),
		     SG_EINVAL, "categories[0].priority_over[0]", "unknown category in priority_over");
	expect_error(MINI("{\"id\":\"x\",\"name_zh\":\"x\",\"name_en\":\"x\",\"police\":true,"
			  "\"priority\":2,\"priority_over\":[\"y\"],\"rules\":[{\"terms\":[\"a\"],\"weight\":1}]},"
			  "{\"id\":\"y\",\"name_zh\":\"y\",\"name_en\":\"y\",\"police\":true,"
			  "\"priority\":2,\"priority_over\":[\"x\"],\"rules\":[{\"terms\":[\"b\"],\"weight\":1}]}", ""),
		     SG_EINVAL, "categories[1].priority_over[0]", "priority_over cycle");
	expect_error("{\"version\":1,\"fallback\":\"nope\"," DEPTS ",\"categories\":["
		     CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":[]}",
		     SG_EINVAL, "fallback", "unknown fallback");
	expect_error("{\"version\":2,\"fallback\":\"x\"," DEPTS ",\"categories\":["
		     CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":[]}",
		     SG_EINVAL, "version", "unknown version");
	expect_error("{\"version\":1," DEPTS ",\"categories\":["
		     CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":[]}",
		     SG_EINVAL, "fallback", "missing fallback");
	expect_error("{\"version\":1,\"version\":1,\"fallback\":\"x\"," DEPTS ",\"categories\":["
		     CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":[]}",
		     SG_EINVAL, "", "duplicate JSON member");
	expect_error(MINI(CAT("x", "false", "3", "{\"terms\":[\"甲\"],\"weight\":1}"), ""),
		     SG_EINVAL, "routing", "non-police category without a city-wide route");
	expect_error("{\"version\":1,\"fallback\":\"x\"," DEPTS ",\"categories\":["
		     CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":["
		     "{\"category\":\"x\",\"department\":\"city\"}]}",
		     SG_EINVAL, "routing[0].department", "police category to a government department");
	expect_error("{\"version\":1,\"fallback\":\"x\"," DEPTS ",\"categories\":["
		     CAT("x", "false", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":["
		     "{\"category\":\"x\",\"department\":\"station\"}]}",
		     SG_EINVAL, "routing[0].department", "non-police category to the station");
	expect_error("{\"version\":1,\"fallback\":\"x\"," DEPTS ",\"categories\":["
		     CAT("x", "false", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":["
		     "{\"category\":\"x\",\"department\":\"cops\"}]}",
		     SG_EINVAL, "routing[0].department", "non-police category to the police");
	expect_error("{\"version\":1,\"fallback\":\"x\"," DEPTS ",\"categories\":["
		     CAT("x", "false", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":["
		     "{\"category\":\"x\",\"department\":\"nobody\"}]}",
		     SG_EINVAL, "routing[0].department", "unknown department in routing");
	expect_error("{\"version\":1,\"fallback\":\"x\"," DEPTS ",\"categories\":["
		     CAT("x", "false", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":["
		     "{\"category\":\"y\",\"department\":\"city\"}]}",
		     SG_EINVAL, "routing[0].category", "unknown category in routing");
	expect_error("{\"version\":1,\"fallback\":\"x\"," DEPTS ",\"categories\":["
		     CAT("x", "false", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":["
		     "{\"category\":\"x\",\"department\":\"city\"},"
		     "{\"category\":\"x\",\"area\":\"3205\",\"department\":\"city\"}]}",
		     SG_EINVAL, "routing[1].area", "malformed area");
	expect_error("{\"version\":1,\"fallback\":\"x\"," DEPTS ",\"categories\":["
		     CAT("x", "false", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":["
		     "{\"category\":\"x\",\"department\":\"city\"},"
		     "{\"category\":\"x\",\"area\":\"320508\",\"department\":\"city\"},"
		     "{\"category\":\"x\",\"area\":\"320508000\",\"department\":\"city\"}]}",
		     SG_EINVAL, "routing[2].area", "duplicate route (same area spelled twice)");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"),
			  "\"urgency\":[{\"terms\":[\"快\"],\"raise\":0}],"),
		     SG_EINVAL, "urgency[0].raise", "raise 0");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"),
			  "\"urgency\":[{\"terms\":[\"快\"],\"raise\":1,\"weight\":2}],"),
		     SG_EINVAL, "urgency[0].weight", "weight in an urgency rule");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"),
			  "\"negation\":{\"terms\":[\"没\",\"没\"]},"),
		     SG_EINVAL, "negation.terms[1]", "duplicate negation term");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"),
			  "\"negation\":{\"terms\":[\"没\"],\"window\":99},"),
		     SG_EINVAL, "negation.window", "negation window too wide");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"),
			  "\"min_score\":0,"),
		     SG_EINVAL, "min_score", "min_score 0");

	/* Shapes and types. */
	expect_error("{\"version\":1,\"fallback\":\"x\"," DEPTS ",\"categories\":{},\"routing\":[]}",
		     SG_EINVAL, "categories", "categories not an array");
	expect_error("{\"version\":1,\"fallback\":\"x\"," DEPTS ",\"categories\":[],\"routing\":[]}",
		     SG_EINVAL, "categories", "no categories");
	expect_error("{\"version\":1,\"fallback\":\"x\"," DEPTS ",\"categories\":[1],\"routing\":[]}",
		     SG_EINVAL, "categories[0]", "category not an object");
	expect_error("{\"version\":1,\"fallback\":\"x\",\"departments\":[\"city\"],\"categories\":["
		     CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":[]}",
		     SG_EINVAL, "departments[0]", "department not an object");
	expect_error("{\"version\":1,\"fallback\":\"x\"," DEPTS ",\"categories\":["
		     CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":[7]}",
		     SG_EINVAL, "routing[0]", "route not an object");
	expect_error(MINI(CAT("x", "true", "\"2\"", "{\"terms\":[\"甲\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].priority", "priority not an integer");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"), "\"notes\":[\"ok\",3],"),
		     SG_EINVAL, "notes[1]", "note not a string");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"), "\"negation\":[\"没\"],"),
		     SG_EINVAL, "negation", "negation not an object");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\",\"*打\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].rules[0].terms[1]", "gap at the start");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"被*\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].rules[0].terms[0]", "gap at the end");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"被*人*打\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].rules[0].terms[0]", "two gaps");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"被 *打\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].rules[0].terms[0]", "space before the gap");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"被*打\",\"被*打\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].rules[0].terms[1]", "gapped term twice in a rule");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"),
			  "\"negation\":{\"terms\":[\"没*有\"]},"),
		     SG_EINVAL, "negation.terms[0]", "gapped negation term");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"),
			  "\"learned\":{\"below\":5,\"examples\":[{\"category\":\"y\",\"text\":\"甲\"}]},"),
		     SG_EINVAL, "learned.examples[0].category", "example of an unknown category");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"),
			  "\"learned\":{\"below\":5,\"examples\":[{\"category\":\"x\",\"text\":\"\"}]},"),
		     SG_EINVAL, "learned.examples[0].text", "empty example");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"),
			  "\"learned\":{\"examples\":[]},"),
		     SG_EINVAL, "learned.below", "examples without below");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"),
			  "\"learned\":{\"below\":5,\"examples\":[{\"category\":\"x\",\"text\":\"甲\",\"why\":1}]},"),
		     SG_EINVAL, "learned.examples[0].why", "unknown member of an example");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"),
			  "\"learned\":[],"),
		     SG_EINVAL, "learned", "learned not an object");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"), "\"gap\":0,"),
		     SG_EINVAL, "gap", "gap of zero");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"), "\"gap\":33,"),
		     SG_EINVAL, "gap", "gap too wide");
	{
		/* Parts shared between gapped terms and with plain terms are no duplicates. */
		struct classify_config *ok = load_ok(MINI(
			CAT("x", "true", "3",
			    "{\"terms\":[\"被*打\",\"被*揍\",\"被\",\"打\"],\"weight\":1},"
			    "{\"terms\":[\"被*打\"],\"weight\":2}"), ""));
		classify_config_free(ok);
	}
	expect_error(MINI(CAT("x", "true", "3", "[]"), ""),
		     SG_EINVAL, "categories[0].rules[0]", "rule not an object");
	expect_error(MINI("{\"id\":\"x\",\"name_zh\":\"a\\u0001\",\"name_en\":\"x\",\"police\":true,"
			  "\"priority\":2,\"rules\":[{\"terms\":[\"a\"],\"weight\":1}]}", ""),
		     SG_EINVAL, "categories[0].name_zh", "control character in a name");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"a\\tb\"],\"weight\":1}"), ""),
		     SG_EINVAL, "categories[0].rules[0].terms[0]", "control character in a term");
	expect_error(MINI("{\"id\":\"x\",\"name_zh\":\"x\",\"name_en\":\"x\",\"police\":true,"
			  "\"priority\":2,\"priority_over\":[\"x\"],\"rules\":[{\"terms\":[\"a\"],\"weight\":1}]}", ""),
		     SG_EINVAL, "categories[0].priority_over[0]", "priority over itself");
	expect_error(MINI("{\"id\":\"x\",\"name_zh\":\"x\",\"name_en\":\"x\",\"police\":true,"
			  "\"priority\":2,\"notify\":[\"city\",\"city\"],\"rules\":[{\"terms\":[\"a\"],\"weight\":1}]}", ""),
		     SG_EINVAL, "categories[0].notify[1]", "department notified twice");
	expect_error(MINI(CAT("x", "true", "3", "{\"terms\":[\"甲\"],\"weight\":1}"),
			  "\"urgency\":[{\"terms\":[\"快\",\"快\"],\"raise\":1}],"),
		     SG_EINVAL, "urgency[0].terms[1]", "same urgency term twice");
	expect_error("{\"version\":1,\"fallback\":\"x\"," DEPTS ",\"categories\":["
		     CAT("x", "false", "3", "{\"terms\":[\"甲\"],\"weight\":1}") "],\"routing\":["
		     "{\"category\":\"x\",\"department\":\"city\"},"
		     "{\"category\":\"x\",\"area\":\"000000\",\"department\":\"city\"}]}",
		     SG_EINVAL, "routing[1].area", "area code of no division");
}

/* Builds a document with n categories, rules or terms, to cross each limit by one. */
static char *big_document(int ncats, int nrules, int nterms)
{
	size_t cap = (size_t)ncats * 200 + (size_t)nrules * 60 + (size_t)nterms * 24 + 4096, n = 0;
	char *doc = malloc(cap);

	if (!doc)
		return NULL;
	n += (size_t)snprintf(doc + n, cap - n,
			      "{\"version\":1,\"fallback\":\"c0\"," DEPTS ",\"categories\":[");
	for (int c = 0; c < ncats; c++) {
		n += (size_t)snprintf(doc + n, cap - n,
				      "%s{\"id\":\"c%d\",\"name_zh\":\"c\",\"name_en\":\"c\","
				      "\"police\":true,\"priority\":2,\"rules\":[",
				      c ? "," : "", c);
		int rules = c == 0 ? nrules : 1;
		for (int r = 0; r < rules; r++) {
			n += (size_t)snprintf(doc + n, cap - n, "%s{\"terms\":[", r ? "," : "");
			int terms = (c == 0 && r == 0) ? nterms : 1;
			for (int t = 0; t < terms; t++)
				n += (size_t)snprintf(doc + n, cap - n, "%s\"t%d_%d_%d\"", t ? "," : "",
						      c, r, t);
			n += (size_t)snprintf(doc + n, cap - n, "],\"weight\":1}");
		}
		n += (size_t)snprintf(doc + n, cap - n, "]}");
	}
	snprintf(doc + n, cap - n, "],\"routing\":[]}");
	return doc;
}

static void test_config_limits_are_enforced_one_past_each(void)
{
	char *doc;
	struct classify_config *cfg;

	doc = big_document(CLASSIFY_MAX_CATEGORIES, 1, 1);
	cfg = doc ? load_ok(doc) : NULL;
	classify_config_free(cfg);
	free(doc);
	doc = big_document(CLASSIFY_MAX_CATEGORIES + 1, 1, 1);
	if (doc)
		expect_error(doc, SG_ETOOBIG, "categories", "257 categories");
	free(doc);

	doc = big_document(1, CLASSIFY_MAX_RULES, 1);
	cfg = doc ? load_ok(doc) : NULL;
	classify_config_free(cfg);
	free(doc);
	doc = big_document(1, CLASSIFY_MAX_RULES + 1, 1);
	if (doc)
		expect_error(doc, SG_ETOOBIG, "categories[0].rules", "4097 rules");
	free(doc);

	doc = big_document(1, 1, CLASSIFY_MAX_TERMS);
	cfg = doc ? load_ok(doc) : NULL;
	if (cfg) {
		struct classify_result r;
		CHECK_EQ_INT(classify_text(cfg, "xx t0_0_19999 yy", &r), SG_OK);
		CHECK_STR(r.category, "c0");
		CHECK_EQ_INT(r.score, 1);
	}
	classify_config_free(cfg);
	free(doc);
	doc = big_document(1, 1, CLASSIFY_MAX_TERMS + 1);
	if (doc)
		expect_error(doc, SG_ETOOBIG, "categories[0].rules[0].terms", "20001 terms");
	free(doc);

	/* The document as a whole. */
	size_t n = CLASSIFY_MAX_CONFIG_TEXT + 1;
	doc = malloc(n + 1);
	if (doc) {
		memset(doc, ' ', n);
		doc[n] = '\0';
		expect_error(doc, SG_ETOOBIG, "", "text over 4 MiB");
	}
	free(doc);
	CHECK_EQ_INT(classify_config_load(NULL, 0, &cfg, NULL), SG_EINVAL);
}

/* ----------------------------------------------------------- round trip */

static void test_written_config_loads_back_to_the_same_bytes_and_results(void)
{
	struct classify_config *cfg = load_default(), *again = NULL;
	struct classify_error err;
	char *json = NULL, *json2 = NULL;
	size_t len = 0, len2 = 0;
	const char *texts[] = {"闻到很浓的煤气味", "楼上装修太吵了", "小区门口有人打架",
			       "路口红绿灯坏了", "今天天气不错"};

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	CHECK_EQ_INT(classify_config_to_json(cfg, &json, &len), SG_OK);
	CHECK(json && len == strlen(json));
	if (!json)
		return;
	CHECK_EQ_INT(classify_config_load(json, len, &again, &err), SG_OK);
	if (!again) {
		fprintf(stderr, "  reload: %s: %s\n", err.path, err.message);
		free(json);
		return;
	}
	CHECK_EQ_INT(classify_config_to_json(again, &json2, &len2), SG_OK);
	CHECK(json2 && len == len2 && memcmp(json, json2, len) == 0);
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		struct classify_result a, b;
		classify_ok(cfg, texts[i], &a);
		classify_ok(again, texts[i], &b);
		CHECK_STR(a.category, b.category);
		CHECK_EQ_INT(a.score, b.score);
		CHECK_EQ_INT(a.priority, b.priority);
		CHECK_STR(a.department, b.department);
	}
	struct table_score s1 = run_table(cfg, TABLE), s2 = run_table(again, TABLE);
	CHECK_EQ_INT(s1.category_ok, s2.category_ok);
	classify_config_free(again);
	free(json);
	free(json2);
}

/* ------------------------------------------------- threads and speed */

struct thread_arg {
	const struct classify_config *cfg;
	int agree;
};

static void *classify_many(void *p)
{
	struct thread_arg *a = p;
	const char *texts[] = {"有人冒充淘宝客服让我转账", "小区停水了", "路灯坏了"};
	const char *want[] = {"fraud", "water", "municipal_facilities"};

	for (int i = 0; i < 3000; i++) {
		struct classify_result r;
		if (classify_text(a->cfg, texts[i % 3], &r) == SG_OK && strcmp(r.category, want[i % 3]) == 0)
			a->agree++;
	}
	return NULL;
}

static void test_one_config_serves_several_threads_at_once(void)
{
	struct classify_config *cfg = load_default();
	pthread_t th[4];
	struct thread_arg arg[4];

	CHECK(cfg != NULL);
	if (!cfg)
		return;
	for (int i = 0; i < 4; i++) {
		arg[i] = (struct thread_arg){cfg, 0};
		CHECK_EQ_INT(pthread_create(&th[i], NULL, classify_many, &arg[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ_INT(arg[i].agree, 3000);
	}
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * Times classify_text over every row of the table, many rounds. The bound
 * asserted is loose (sanitizer builds run here too); the figure printed is
 * the one to read.
 */
static void test_classification_takes_microseconds_per_report(void)
{
	struct classify_config *cfg = load_default();
	char *text = read_file(TABLE, NULL), *rows[2000];
	size_t nrows = 0, bytes = 0;
	struct classify_result r;
	int rounds = 50;
	double t0, ns;

	CHECK(cfg && text);
	if (!cfg || !text) {
		free(text);
		return;
	}
	for (char *line = text, *nl; line && *line && nrows < 2000; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *t = strrchr(line, '\t');
		if (line[0] != '#' && t) {
			rows[nrows++] = t + 1;
			bytes += strlen(t + 1);
		}
	}
	t0 = now_ns();
	for (int k = 0; k < rounds; k++)
		for (size_t i = 0; i < nrows; i++)
			classify_text(cfg, rows[i], &r);
	ns = (now_ns() - t0) / ((double)rounds * (double)nrows);
	printf("speed: %.0f ns per report (%zu reports, %.0f bytes average, %d rounds)\n", ns, nrows,
	       (double)bytes / (double)(nrows ? nrows : 1), rounds);
	CHECK(ns < 200000.0);
	free(text);
}

int main(void)
{
	TEST_RUN(test_default_config_has_the_documented_taxonomy);
	TEST_RUN(test_report_table_meets_accuracy_targets);
	TEST_RUN(test_holdout_table_stays_at_its_first_run_figures);
	TEST_RUN(test_gas_leak_takes_precedence_over_gas_service);
	TEST_RUN(test_priority_over_drops_a_higher_scoring_category);
	TEST_RUN(test_ties_go_to_urgency_then_police_then_order);
	TEST_RUN(test_rule_needs_any_term_any_with_all_of_all_and_none_of_not);
	TEST_RUN(test_min_score_sends_weak_evidence_to_the_fallback);
	TEST_RUN(test_negation_word_right_before_a_term_cancels_it);
	TEST_RUN(test_gapped_terms_allow_a_few_characters_between_their_parts);
	TEST_RUN(test_examples_decide_when_the_rules_say_too_little);
	TEST_RUN(test_ascii_letters_match_without_case);
	TEST_RUN(test_urgency_words_raise_priority_and_old_news_lowers_it);
	TEST_RUN(test_matches_explain_the_choice_with_offsets);
	TEST_RUN(test_routing_takes_the_most_specific_area);
	TEST_RUN(test_route_areas_nest_by_division_code);
	TEST_RUN(test_fallback_when_nothing_matches_and_for_empty_text);
	TEST_RUN(test_long_binary_and_invalid_utf8_texts_are_scanned_safely);
	TEST_RUN(test_text_with_hundreds_of_distinct_terms_still_classifies);
	TEST_RUN(test_dense_automaton_agrees_with_naive_search);
	TEST_RUN(test_sparse_automaton_of_a_huge_config_agrees_with_naive_search);
	TEST_RUN(test_config_errors_name_the_member_at_fault);
	TEST_RUN(test_config_limits_are_enforced_one_past_each);
	TEST_RUN(test_written_config_loads_back_to_the_same_bytes_and_results);
	TEST_RUN(test_one_config_serves_several_threads_at_once);
	TEST_RUN(test_classification_takes_microseconds_per_report);
	classify_config_free(default_cfg);
	return test_summary("rules/classify");
}
