/*
 * people_csv.c — libFuzzer target: the people registry CSV of `safegrid
 * import people` (import/people_csv.h), header and rows, with resolvers
 * that know a few codes (as the command's in-memory tables do).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "import/people_csv.h"

static int resolve(void *ctx, const char *text, int64_t *id)
{
	(void)ctx;
	if (strcmp(text, "320508") == 0 || strcmp(text, "320508-PS01") == 0) {
		*id = 5;
		return SG_OK;
	}
	return SG_ENOTFOUND;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct people_csv c;
	struct people_csv_error e;
	struct store_person *chunk = malloc(64 * sizeof *chunk);
	long lines[64];
	size_t n;

	if (!chunk)
		return 0;
	if (people_csv_open(&c, (const char *)data, size, resolve, resolve, NULL, &e) == 0) {
		while (people_csv_next(&c, chunk, lines, 64, &n, &e) == 0 && n)
			;
	}
	free(chunk);
	return 0;
}
