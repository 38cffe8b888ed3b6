/*
 * defaults.h — the shipped rule configurations, embedded in the binary.
 *
 * data/rules/classify.json (categories, keywords, departments, routing),
 * data/rules/cases.json (case types and their state machine) and
 * data/rules/dispatch.json (the dispatch policy) are built in,
 * so the server runs with no files beside it; an operator replaces them with
 * `serve --classify FILE --cases FILE --dispatch FILE`.
 */
#ifndef SAFEGRID_RULES_DEFAULTS_H
#define SAFEGRID_RULES_DEFAULTS_H

#include <stddef.h>

extern const char rules__classify_json[];
extern const size_t rules__classify_json_len;
extern const char rules__cases_json[];
extern const size_t rules__cases_json_len;
extern const char rules__dispatch_json[];
extern const size_t rules__dispatch_json_len;

#endif
