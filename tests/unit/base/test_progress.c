/* test_progress.c — the progress bar: drawn in place on a terminal, one line elsewhere. */
#include "base/progress.h"

#include <stdlib.h>
#include <string.h>

#include "test.h"

static char *read_all(FILE *f)
{
	long n;
	char *s;

	fflush(f);
	n = ftell(f);
	s = calloc(1, (size_t)n + 1);
	rewind(f);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n)
		s[0] = '\0';
	return s;
}

static void test_not_a_terminal_writes_one_summary_line(void)
{
	FILE *f = tmpfile();
	struct sg_progress p;
	char *out;

	sg_progress_init_stream(&p, f, false, "importing areas", 200);
	for (size_t i = 1; i <= 200; i++)
		sg_progress_update(&p, i, 200);
	sg_progress_finish(&p);
	sg_progress_finish(&p); /* a second finish does nothing */
	out = read_all(f);
	CHECK(out && strncmp(out, "importing areas: 200/200 in ", 28) == 0);
	CHECK(out && strchr(out, '\n') == strrchr(out, '\n')); /* exactly one line */
	CHECK(out && strchr(out, '\r') == NULL);
	free(out);
	fclose(f);
}

static void test_terminal_draws_bar_in_place_and_ends_the_line(void)
{
	FILE *f = tmpfile();
	struct sg_progress p;
	char *out;

	sg_progress_init_stream(&p, f, true, "checking", 10);
	sg_progress_update(&p, 5, 10);
	sg_progress_update(&p, 10, 10);
	sg_progress_finish(&p); /* draws the last state even within 100 ms */
	out = read_all(f);
	CHECK(out && strstr(out, "\rchecking") != NULL);
	CHECK(out && strstr(out, "100%") != NULL);
	CHECK(out && strstr(out, "10/10") != NULL);
	CHECK(out && out[strlen(out) - 1] == '\n');
	free(out);
	fclose(f);
}

int main(void)
{
	TEST_RUN(test_not_a_terminal_writes_one_summary_line);
	TEST_RUN(test_terminal_draws_bar_in_place_and_ends_the_line);
	return test_summary("base/progress");
}
