/* test_people_csv.c — the people registry CSV: header, quoting, checks, line numbers. */
#include "import/people_csv.h"

#include <stdlib.h>

#include "base/err.h"
#include "test.h"

static int resolve(void *ctx, const char *text, int64_t *id)
{
	(void)ctx;
	if (strcmp(text, "ORG") == 0 || strcmp(text, "320508") == 0 || strcmp(text, "7") == 0) {
		*id = 7;
		return SG_OK;
	}
	return SG_ENOTFOUND;
}

static int parse_all(const char *text, struct store_person *out, long *lines, size_t cap, size_t *n,
		     struct people_csv_error *e)
{
	struct people_csv c;
	size_t got;
	int rc = people_csv_open(&c, text, strlen(text), resolve, resolve, NULL, e);

	*n = 0;
	while (!rc && !(rc = people_csv_next(&c, out + *n, lines + *n, cap - *n, &got, e)) && got)
		*n += got;
	return rc;
}

static void test_rows_with_quotes_and_any_column_order(void)
{
	const char *text = "\xEF\xBB\xBFname,type,area,org,phone,id_number,grids\r\n"
			   "\"张,三\",officer,320508,ORG,13812345678,320508199001011232,320508;7\r\n"
			   "\r\n"
			   "\"李\"\"四\",volunteer,7,7,,,\n";
	struct store_person v[4];
	long lines[4];
	struct people_csv_error e;
	size_t n;

	CHECK_EQ_INT(parse_all(text, v, lines, 4, &n, &e), 0);
	CHECK_EQ_INT(n, 2);
	CHECK_STR(v[0].name, "张,三");
	CHECK(v[0].type == PERSON_OFFICER && v[0].org_id == 7 && v[0].area_id == 7);
	CHECK_STR(v[0].id_number, "320508199001011232");
	CHECK_EQ_INT(v[0].ngrids, 2);
	CHECK_STR(v[1].name, "李\"四");
	CHECK_EQ_INT(lines[0], 2);
	CHECK_EQ_INT(lines[1], 4);
	CHECK_STR(v[1].phone, "");
}

static void expect(const char *text, long line, const char *field)
{
	struct store_person v[4];
	long lines[4];
	struct people_csv_error e;
	size_t n;

	memset(&e, 0, sizeof e);
	CHECK_EQ_INT(parse_all(text, v, lines, 4, &n, &e), SG_EINVAL);
	CHECK_EQ_INT(e.line, line);
	CHECK_STR(e.field, field);
}

static void test_bad_rows_name_line_and_column(void)
{
	expect("", 1, "");
	expect("type,org,area\n", 1, "name");
	expect("type,org,area,name,name\n", 1, "name");
	expect("type,org,area,name,age\n", 1, "age");
	expect("type,org,area,name\nofficer,ORG,320508,a\nwizard,ORG,320508,b\n", 3, "type");
	expect("type,org,area,name\nofficer,NOPE,320508,a\n", 2, "org");
	expect("type,org,area,name\nofficer,ORG,999,a\n", 2, "area");
	expect("type,org,area,name\nofficer,ORG,320508,\n", 2, "name");
	expect("type,org,area,name,id_number\nofficer,ORG,320508,a,320508199001011233\n", 2, "id_number");
	expect("type,org,area,name,phone\nofficer,ORG,320508,a,phone\n", 2, "phone");
	expect("type,org,area,name,grids\nofficer,ORG,320508,a,320508;\n", 2, "grids");
	expect("type,org,area,name\nofficer,ORG,320508\n", 2, "");
	expect("type,org,area,name\nofficer,ORG,320508,\"open\n", 3, "");
	expect("type,org,area,name\nofficer,ORG,320508,a\"b\n", 2, "");
}

static void test_a_field_longer_than_the_cap_is_refused(void)
{
	size_t n = PEOPLE_CSV_FIELD_MAX + 100;
	char *text = malloc(n + 64);

	snprintf(text, 64, "type,org,area,name\nofficer,ORG,320508,");
	memset(text + strlen(text), 'x', n);
	text[19 + 21 + n] = '\0';
	expect(text, 2, "");
	free(text);
}

int main(void)
{
	TEST_RUN(test_rows_with_quotes_and_any_column_order);
	TEST_RUN(test_bad_rows_name_line_and_column);
	TEST_RUN(test_a_field_longer_than_the_cap_is_refused);
	return test_summary("import/people_csv");
}
