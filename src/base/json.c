/* json.c — jansson parsing that tells bad text from no memory (see json.h). */
#include "base/json.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/err.h"

static _Thread_local bool json_alloc_failed;
static pthread_once_t json_hook_once = PTHREAD_ONCE_INIT;

static void *json_alloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		json_alloc_failed = true;
	return p;
}

/* Both hooks are malloc and free underneath, so blocks from before the switch free alike. */
static void json_install_hook(void)
{
	json_set_alloc_funcs(json_alloc, free);
}

json_t *sg_json_loadb(const char *text, size_t len, size_t flags, json_error_t *err, int *rc)
{
	json_t *j;

	pthread_once(&json_hook_once, json_install_hook);
	json_alloc_failed = false;
	j = json_loadb(text, len, flags, err);
	if (json_alloc_failed) {
		/* Even a document jansson completed may lack a value it could not copy. */
		json_decref(j);
		*rc = SG_ENOMEM;
		return NULL;
	}
	*rc = j ? SG_OK : SG_EINVAL;
	return j;
}
