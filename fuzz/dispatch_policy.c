/*
 * dispatch_policy.c — libFuzzer target: the dispatch policy document
 * (data/rules/dispatch.json, `serve --dispatch FILE`), loaded and, when
 * valid, matched and used for an ETA as dispatching does.
 */
#include <stdint.h>
#include <stdlib.h>

#include "dispatch/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dispatch_policy *p = NULL;
	struct policy_error e;

	if (dispatch_policy_load((const char *)data, size, &p, &e) == 0) {
		const struct policy_rule *r = dispatch_policy_match(p, "violence", 1);
		if (r && r->nneeds)
			(void)dispatch_policy_eta_s(p, r->needs[0].type, 1000);
		free(p);
	}
	return 0;
}
