/*
 * report_json.c — libFuzzer target: the body of POST /api/v1/reports.
 *
 * Bytes are parsed as JSON exactly as the handler does (duplicate keys
 * refused) and, when they form an object, validated, located, classified
 * and routed by api_intake_check — everything but the store.
 */
#include <stdint.h>

#include "fuzz_app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_session *s;
	struct app *app = fuzz_app(&s);
	struct classify_result cls;
	struct intake_error e;
	struct case_row c;
	json_error_t jerr;
	json_t *obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);

	if (obj && json_is_object(obj))
		api_intake_check(app, s, obj, NULL, &c, &cls, &e);
	json_decref(obj);
	return 0;
}
