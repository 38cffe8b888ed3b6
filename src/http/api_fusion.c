/*
 * api_fusion.c — 双网融合: which governance grids lie in a police grid, and
 * how well the two layers align.
 */
#include "http/api.h"

#include "base/err.h"

static void write_row(struct app *app, struct sg_buf *b, uint32_t g)
{
	const struct catalog_area *a = &app->catalog->areas[g];

	sg_buf_puts(b, "{\"gov_grid\":");
	api_write_area_ref(app, b, g);
	sg_buf_printf(b, ",\"ratio\":%.4f,\"split\":%s", a->fused_ratio, a->split ? "true" : "false");
	if (a->second_police != CATALOG_NONE)
		sg_buf_printf(b, ",\"second_police_grid\":%lld,\"second_ratio\":%.4f",
			      (long long)app->catalog->areas[a->second_police].id, a->second_ratio);
	sg_buf_putc(b, '}');
}

int api_fusion_list(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	struct catalog *cat = app->catalog;
	const char *v = http_query(req, "police_grid");
	int64_t id;
	uint32_t pg;
	int first = 1;

	if (!v || api_parse_id(v, &id))
		return http_error(resp, 400, "invalid", "police_grid must be an area id",
				  "police_grid");
	pg = catalog_find(cat, id);
	if (pg == CATALOG_NONE || cat->areas[pg].kind != AREA_POLICE_GRID ||
	    !catalog_visible(&s->scope, pg))
		return http_error(resp, 404, "not_found", "no such police grid", "police_grid");
	sg_buf_puts(&resp->body, "{\"police_grid\":");
	api_write_area_ref(app, &resp->body, pg);
	sg_buf_puts(&resp->body, ",\"gov_grids\":[");
	for (uint32_t i = 0; i < cat->n; i++) {
		if (cat->areas[i].kind != AREA_GOV_GRID || cat->areas[i].fused_police != pg ||
		    !catalog_visible(&s->scope, i))
			continue;
		if (!first)
			sg_buf_putc(&resp->body, ',');
		first = 0;
		write_row(app, &resp->body, i);
	}
	sg_buf_puts(&resp->body, "]}");
	http_json(resp, 200);
	return SG_OK;
}

int api_fusion_summary(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	struct catalog *cat = app->catalog;
	uint32_t police = 0, gov = 0, mapped = 0, split = 0;
	double ratio_sum = 0;
	int first = 1;

	for (uint32_t i = 0; i < cat->n; i++) {
		if (!catalog_visible(&s->scope, i))
			continue;
		if (cat->areas[i].kind == AREA_POLICE_GRID)
			police++;
		if (cat->areas[i].kind != AREA_GOV_GRID)
			continue;
		gov++;
		if (cat->areas[i].fused_police != CATALOG_NONE) {
			mapped++;
			ratio_sum += cat->areas[i].fused_ratio;
		}
		split += cat->areas[i].split;
	}
	sg_buf_printf(&resp->body,
		      "{\"police_grids\":%u,\"gov_grids\":%u,\"mapped\":%u,\"split\":%u,"
		      "\"split_threshold\":%.2f,\"mean_ratio\":%.4f,\"poorly_aligned\":[",
		      police, gov, mapped, split, FUSION_SPLIT_RATIO,
		      mapped ? ratio_sum / mapped : 0.0);
	for (uint32_t i = 0; i < cat->n; i++) {
		const struct catalog_area *a = &cat->areas[i];
		if (a->kind != AREA_GOV_GRID || !a->split || !catalog_visible(&s->scope, i))
			continue;
		if (!first)
			sg_buf_putc(&resp->body, ',');
		first = 0;
		write_row(app, &resp->body, i);
		resp->body.len--;
		resp->body.data[resp->body.len] = '\0';
		sg_buf_puts(&resp->body, ",\"police_grid\":");
		api_write_area_ref(app, &resp->body, a->fused_police);
		sg_buf_putc(&resp->body, '}');
	}
	sg_buf_puts(&resp->body, "]}");
	http_json(resp, 200);
	return SG_OK;
}
