/*
 * events_ndjson.c — libFuzzer target: the body of POST /api/v1/events.
 *
 * Splits the bytes into lines as the handler does (base/lines.h), parses
 * each line as JSON and checks every "kind":"report" object with
 * api_intake_check, and every other kind with its parser from
 * api_event_kinds — everything but the store.
 */
#include <stdint.h>

#include "base/lines.h"
#include "fuzz_app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_session *s;
	struct app *app = fuzz_app(&s);
	const char *p = (const char *)data, *end = p + size, *line;
	size_t len;

	while ((line = sg_next_line(&p, end, &len))) {
		struct classify_result cls;
		struct intake_error e;
		struct case_row c;
		json_error_t jerr;
		json_t *obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
		json_t *kind = json_object_get(obj, "kind");

		if (json_is_string(kind) && strcmp(json_string_value(kind), "report") == 0) {
			api_intake_check(app, s, obj, "kind", &c, &cls, &e);
		} else if (json_is_object(obj) && json_is_string(kind)) {
			/* The other kinds' parsers, up to their batch (never committed here). */
			for (size_t k = 0; k < api_nevent_kinds; k++) {
				void *batch = NULL;
				if (strcmp(api_event_kinds[k].name, json_string_value(kind)) != 0)
					continue;
				api_event_kinds[k].parse(app, s, obj, &batch, &e);
				api_event_kinds[k].release(batch);
			}
		}
		json_decref(obj);
	}
	return 0;
}
