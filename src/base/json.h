/*
 * json.h — parsing JSON text with jansson, telling bad text from no memory.
 *
 * jansson reports an allocation that failed mid-parse as a syntax error
 * ("invalid token near ...") or with no message at all (2.14), never with its
 * out-of-memory code. A caller that answered "bad JSON" would blame a valid
 * document, and an HTTP client would not retry what it should. jansson's
 * allocations go through a hook (installed at the first parse, for every
 * thread) that notes a failure for the parsing thread. jansson may even
 * complete a document without a string it failed to copy: a parse during
 * which any allocation failed gives no document.
 */
#ifndef SAFEGRID_BASE_JSON_H
#define SAFEGRID_BASE_JSON_H

#include <jansson.h>
#include <stddef.h>

/*
 * json_loadb, and why it failed: *rc is SG_OK with a document (the caller's
 * to json_decref), SG_ENOMEM when an allocation failed (err may then say
 * anything), or SG_EINVAL when the text is at fault (err says where).
 */
json_t *sg_json_loadb(const char *text, size_t len, size_t flags, json_error_t *err, int *rc);

#endif
