/*
 * report_json.c — libFuzzer target: the body of POST /api/v1/reports.
 *
 * Bytes are parsed as JSON exactly as the handler does (duplicate keys
 * refused) and, when they form an object, validated, located, classified
 * and routed by api_intake_check — everything but the store. A caller's
 * number, whatever its length, is also keyed and masked as a repeat-caller
 * lookup and a masked read would.
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

	if (obj && json_is_object(obj)) {
		const char *phone = json_string_value(json_object_get(json_object_get(obj, "caller"), "phone"));
		api_intake_check(app, s, obj, NULL, &c, &cls, &e);
		if (phone) {
			char key[REPORT_PHONE_MAX + 1], masked[REPORT_PHONE_MAX + 1];
			case_phone_key(phone, key);
			case_mask_phone(key, masked);
		}
	}
	json_decref(obj);
	return 0;
}
