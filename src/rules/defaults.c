/* defaults.c — the shipped rule configurations, embedded (see defaults.h). No code. */
#include "rules/defaults.h"

#include "base/embed.h"

__asm__(SG_EMBED_BLOB("rules__classify_json", "data/rules/classify.json")
	SG_EMBED_BLOB("rules__cases_json", "data/rules/cases.json")
	SG_EMBED_BLOB("rules__dispatch_json", "data/rules/dispatch.json"));
