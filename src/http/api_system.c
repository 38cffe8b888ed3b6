/* api_system.c — /healthz and /metrics (Prometheus text format). */
#include "http/api.h"

#include "base/err.h"

int api_healthz(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;

	sg_buf_printf(&resp->body, "{\"status\":\"ok\",\"schema_version\":%d,\"areas\":%u}",
		      store_schema_version(app->store), app->catalog->n);
	http_json(resp, 200);
	return SG_OK;
}

int api_metrics(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct store_metrics m;
	struct sg_buf *b = &resp->body;
	uint64_t cum = 0;

	store_metrics_read(app->store, &m);
	http_server_metrics(app->server, b);
	sg_buf_printf(b,
		      "# HELP safegrid_store_commits_total Write transactions committed (one per batch).\n"
		      "# TYPE safegrid_store_commits_total counter\n"
		      "safegrid_store_commits_total %llu\n"
		      "# HELP safegrid_store_commit_failures_total Batches that failed to commit.\n"
		      "# TYPE safegrid_store_commit_failures_total counter\n"
		      "safegrid_store_commit_failures_total %llu\n"
		      "# HELP safegrid_store_syncs_total Rounds of the WAL fsync that made committed "
		      "batches durable (one may cover several).\n"
		      "# TYPE safegrid_store_syncs_total counter\n"
		      "safegrid_store_syncs_total %llu\n"
		      "# HELP safegrid_store_commit_batch_size Commands per committed batch.\n"
		      "# TYPE safegrid_store_commit_batch_size histogram\n",
		      (unsigned long long)m.commits, (unsigned long long)m.failed_commits,
		      (unsigned long long)m.syncs);
	for (unsigned i = 0; i < STORE_BATCH_BUCKETS; i++) {
		cum += m.batch_hist[i];
		sg_buf_printf(b, "safegrid_store_commit_batch_size_bucket{le=\"%llu\"} %llu\n",
			      1ULL << i, (unsigned long long)cum);
	}
	sg_buf_printf(b,
		      "safegrid_store_commit_batch_size_bucket{le=\"+Inf\"} %llu\n"
		      "safegrid_store_commit_batch_size_sum %llu\n"
		      "safegrid_store_commit_batch_size_count %llu\n"
		      "# HELP safegrid_store_bytes Size of the store on disk (database and WAL).\n"
		      "# TYPE safegrid_store_bytes gauge\n"
		      "safegrid_store_bytes %lld\n"
		      "# HELP safegrid_area_index_bytes Memory held by the area index.\n"
		      "# TYPE safegrid_area_index_bytes gauge\n"
		      "safegrid_area_index_bytes %zu\n"
		      "# HELP safegrid_areas Areas loaded, by kind.\n"
		      "# TYPE safegrid_areas gauge\n",
		      (unsigned long long)m.commits, (unsigned long long)m.commands,
		      (unsigned long long)m.commits, (long long)m.file_bytes,
		      geo_index_memory(app->catalog->index));
	for (unsigned k = 0; k < AREA_KIND_COUNT; k++)
		sg_buf_printf(b, "safegrid_areas{kind=\"%s\"} %u\n", area_kind_name((enum area_kind)k),
			      app->catalog->counts[k]);
	sg_buf_puts(b, "# HELP safegrid_store_commit_seconds Time in COMMIT (WAL write and fsync).\n"
		       "# TYPE safegrid_store_commit_seconds histogram\n");
	cum = 0;
	for (unsigned i = 0; i + 1 < STORE_COMMIT_BUCKETS; i++) {
		cum += m.commit_hist[i];
		sg_buf_printf(b, "safegrid_store_commit_seconds_bucket{le=\"%g\"} %llu\n",
			      (double)(1u << i) / 4000.0, (unsigned long long)cum);
	}
	cum += m.commit_hist[STORE_COMMIT_BUCKETS - 1];
	sg_buf_printf(b,
		      "safegrid_store_commit_seconds_bucket{le=\"+Inf\"} %llu\n"
		      "safegrid_store_commit_seconds_sum %.6f\n"
		      "safegrid_store_commit_seconds_count %llu\n",
		      (unsigned long long)cum, m.commit_seconds, (unsigned long long)cum);
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	return SG_OK;
}
