/* test_casefsm.c — the case state machine configuration: the shipped file and every refusal. */
#include "rules/casefsm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "test.h"

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static void test_shipped_configuration_loads_and_answers(void)
{
	size_t len = 0;
	char *text = read_text("data/rules/cases.json", &len);
	struct casefsm *f = NULL;
	struct casefsm_error err;
	char next[256];
	int inc, ref;

	CHECK(text != NULL);
	if (!text)
		return;
	CHECK_EQ_INT(casefsm_load(text, len, &f, &err), 0);
	free(text);
	if (!f)
		return;
	inc = casefsm_type(f, "incident");
	ref = casefsm_type(f, "referral");
	CHECK(inc >= 0 && ref >= 0);
	CHECK_EQ_INT(casefsm_type(f, "parade"), -1);
	CHECK_STR(casefsm_initial(f, inc), "new");
	CHECK_STR(casefsm_initial(f, ref), "sent");
	CHECK(casefsm_allowed(f, inc, "new", "dispatched"));
	CHECK(!casefsm_allowed(f, inc, "new", "closed"));
	CHECK(!casefsm_allowed(f, inc, "closed", "new"));
	CHECK(!casefsm_allowed(f, inc, "new", "flying"));
	CHECK(casefsm_allowed(f, ref, "sent", "failed"));
	CHECK(casefsm_allowed(f, ref, "failed", "sent"));
	CHECK(casefsm_terminal(f, inc, "closed"));
	CHECK(!casefsm_terminal(f, inc, "resolved"));
	CHECK(casefsm_has_state(f, ref, "acknowledged"));
	CHECK(!casefsm_has_state(f, inc, "acknowledged"));
	CHECK_EQ_INT(casefsm_deadline(f, inc, 1), 300);
	CHECK_EQ_INT(casefsm_deadline(f, inc, 9), casefsm_deadline(f, inc, 4));
	casefsm_next_json(f, inc, "resolved", next, sizeof next);
	CHECK_STR(next, "[\"on_scene\",\"closed\"]");
	casefsm_next_json(f, inc, "closed", next, sizeof next);
	CHECK_STR(next, "[]");
	casefsm_free(f);
}

/* Loads text and expects a refusal naming path. */
static void refused(const char *text, const char *path)
{
	struct casefsm *f = NULL;
	struct casefsm_error err;
	int rc = casefsm_load(text, strlen(text), &f, &err);

	CHECK(rc != 0);
	CHECK(f == NULL);
	if (rc != 0 && strcmp(err.path, path) != 0)
		fprintf(stderr, "  expected path %s, got %s (%s)\n", path, err.path, err.message);
	CHECK(rc != 0 && strcmp(err.path, path) == 0);
}

#define TYPE(body) "{\"version\":1,\"escalation\":[\"station\",\"city\"],\"types\":[" body "]}"
#define GOOD_T(extra)                                                                        \
	"{\"id\":\"t\",\"name_zh\":\"测试\",\"initial\":\"a\",\"states\":[\"a\",\"b\"],"     \
	"\"terminal\":[\"b\"],\"transitions\":[[\"a\",\"b\"]],"                              \
	"\"deadlines\":{\"1\":1,\"2\":2,\"3\":3,\"4\":4}" extra "}"

static void test_bad_configurations_are_refused_naming_the_member(void)
{
	struct casefsm *f = NULL;
	struct casefsm_error err;
	const char *good = TYPE(GOOD_T(""));

	CHECK_EQ_INT(casefsm_load(good, strlen(good), &f, &err), 0);
	casefsm_free(f);
	refused("[1]", "");
	refused("{\"version\":1,", "");
	refused("{\"version\":2,\"escalation\":[\"city\"],\"types\":[]}", "version");
	refused("{\"version\":1,\"bogus\":1}", "bogus");
	refused("{\"version\":1,\"escalation\":[\"planet\"],\"types\":[]}", "escalation[0]");
	refused(TYPE(""), "types");
	refused(TYPE(GOOD_T(",\"colour\":1")), "types[0].colour");
	refused(TYPE(GOOD_T("") "," GOOD_T("")), "types[1].id");
	refused(TYPE("{\"id\":\"T!\"}"), "types[0].id");
	refused(TYPE("{\"id\":\"t\",\"name_zh\":\"x\",\"initial\":\"z\",\"states\":[\"a\"],"
		     "\"terminal\":[],\"transitions\":[],\"deadlines\":{}}"),
		"types[0].initial");
	refused(TYPE("{\"id\":\"t\",\"name_zh\":\"x\",\"initial\":\"a\",\"states\":[\"a\",\"a\"]}"),
		"types[0].states[1]");
	refused(TYPE("{\"id\":\"t\",\"name_zh\":\"x\",\"initial\":\"a\",\"states\":[\"a\",\"b\"],"
		     "\"terminal\":[\"b\"],\"transitions\":[[\"b\",\"a\"]],\"deadlines\":{}}"),
		"types[0].transitions[0]");
	refused(TYPE("{\"id\":\"t\",\"name_zh\":\"x\",\"initial\":\"a\",\"states\":[\"a\",\"b\"],"
		     "\"terminal\":[\"b\"],\"transitions\":[[\"a\",\"c\"]],\"deadlines\":{}}"),
		"types[0].transitions[0]");
	refused(TYPE("{\"id\":\"t\",\"name_zh\":\"x\",\"initial\":\"a\",\"states\":[\"a\",\"b\"],"
		     "\"terminal\":[\"b\"],\"transitions\":[[\"a\",\"b\"]],"
		     "\"deadlines\":{\"1\":1,\"2\":2,\"3\":3,\"4\":0}}"),
		"types[0].deadlines.4");
}

int main(void)
{
	TEST_RUN(test_shipped_configuration_loads_and_answers);
	TEST_RUN(test_bad_configurations_are_refused_naming_the_member);
	return test_summary("rules/casefsm");
}
