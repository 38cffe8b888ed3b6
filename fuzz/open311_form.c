/*
 * open311_form.c — libFuzzer target: the application/x-www-form-urlencoded
 * body of POST /open311/v2/requests.json, through form_parse.
 *
 * Besides crashes and sanitizer reports, it aborts when a parse that
 * succeeded breaks the parser's promises: at most FORM_MAX_FIELDS fields,
 * non-empty names, values within FORM_MAX_VALUE bytes whose recorded length
 * is their C-string length (no NUL inside), and form_get finding each
 * name's first occurrence.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form f;
	struct form_error e;

	form_init(&f);
	if (form_parse((const char *)data, size, &f, &e) != 0) {
		if (f.n != 0 || f.fields != NULL || strnlen(e.field, sizeof e.field) > FORM_MAX_NAME)
			abort();
		return 0;
	}
	if (f.n > FORM_MAX_FIELDS)
		abort();
	for (size_t i = 0; i < f.n; i++) {
		const struct form_field *fl = &f.fields[i];
		const char *first = form_get(&f, fl->name);
		if (!fl->name[0] || strlen(fl->name) > FORM_MAX_NAME || fl->value_len > FORM_MAX_VALUE ||
		    strlen(fl->value) != fl->value_len || !first || form_count(&f, fl->name) == 0)
			abort();
	}
	form_release(&f);
	return 0;
}
