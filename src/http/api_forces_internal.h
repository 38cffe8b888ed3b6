/*
 * api_forces_internal.h — what the forces' handler files (api_forces.c,
 * api_orgs.c, api_people.c, api_units.c, api_nearest.c) share, and nothing
 * else includes. Their handlers are declared in api.h.
 */
#ifndef SAFEGRID_HTTP_API_FORCES_INTERNAL_H
#define SAFEGRID_HTTP_API_FORCES_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "http/api.h"

/* Who may change the registry: admins everywhere, commanders and station officers in scope. */
bool api_forces__role_manages(enum auth_role r);
/* The server clock in milliseconds (the test clock's offset included). */
int64_t api_forces__now_ms(struct app *app);
/* The catalog index of an area id; CATALOG_NONE for 0 or an unknown id. */
uint32_t api_forces__area_idx(struct app *app, int64_t id);
/* Whether the caller sees the area with this id. */
bool api_forces__area_visible(struct app *app, const struct api_session *s, int64_t id);
/* An area named by id or code, visible to the caller; CATALOG_NONE otherwise. */
uint32_t api_forces__visible_area_named(struct app *app, const struct api_session *s,
					const char *v);
/* An area given in a JSON body as an id or a code, visible to the caller; else CATALOG_NONE. */
uint32_t api_forces__visible_area_json(struct app *app, const struct api_session *s,
				       const json_t *v);
/* The {id} of the path into *id; 1 after answering 400 when it is not an id. */
int api_forces__id_param(struct http_req *req, struct http_resp *resp, int64_t *id);
/*
 * A text member of body into out (cap bytes): a string of 1 to max bytes
 * without NUL; absent is fine unless required. 1 after answering 400 naming it.
 */
int api_forces__text(const json_t *body, const char *name, size_t max, bool required, char *out,
		     size_t cap, struct http_resp *resp);
/*
 * Reads the filters shared by the people and units lists (units: type,
 * status, org, area, bbox, since; people: no status, bbox or since), the
 * cursor and the limit, scoped to the caller. *areas is what f->areas
 * points to when allocated (caller frees). Non-zero: resp holds the error.
 */
int api_forces__list_filter(struct app *app, struct http_req *req, struct http_resp *resp,
			    bool units, struct store_force_filter *f, int64_t **areas,
			    size_t *limit);
/*
 * Ends the array of a people or units page of n rows out of limit and adds
 * its "next_cursor" (the last row's area and id when the page is full,
 * else null); the caller closes the object.
 */
void api_forces__page_end(struct sg_buf *b, size_t n, size_t limit, int64_t last_area,
			  int64_t last_id);
/* Whether the caller sees the organisation: one of its scope areas is visible (api_orgs.c). */
bool api_forces__org_visible(struct app *app, const struct api_session *s,
			     const struct store_org *o);

#endif
