/*
 * test_store.c — the store: migrations, group commit, a failing command in a
 * batch, users and tokens, the audit chain, close draining the queue, and a
 * repeat caller's reports found by the key SQL computes as C does.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "store/store_internal.h"
#include "test.h"

static char dir[] = P_tmpdir "/safegrid-store-XXXXXX";

static void db_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void test_migrations_apply_once_and_record_version(void)
{
	char path[256];
	struct store *s = NULL;

	db_path(path, sizeof path, "mig.db");
	CHECK_EQ_INT(store_open(path, &s), 0);
	CHECK_EQ_INT(store_schema_version(s), store__migration_count);
	store_close(s);
	s = NULL;
	CHECK_EQ_INT(store_open(path, &s), 0); /* reopening applies nothing again */
	CHECK_EQ_INT(store_schema_version(s), store__migration_count);
	store_close(s);
}

struct appender {
	struct store *s;
	int n, ok, closed;
};

static void *append_many(void *arg)
{
	struct appender *a = arg;
	for (int i = 0; i < __atomic_load_n(&a->n, __ATOMIC_RELAXED); i++) {
		char detail[32];
		snprintf(detail, sizeof detail, "%d", i);
		int rc = store_audit_append(a->s, "tester", "test.append", "x", detail);
		if (rc == 0)
			a->ok++;
		else if (rc == SG_ECLOSED)
			a->closed++;
	}
	return NULL;
}

static void test_concurrent_writes_group_into_batches_and_chain_verifies(void)
{
	char path[256];
	struct store *s = NULL;
	struct appender ap[8];
	pthread_t th[8];
	struct store_metrics m;
	struct store_audit_report r;
	int ok = 0;

	db_path(path, sizeof path, "group.db");
	CHECK_EQ_INT(store_open(path, &s), 0);
	for (int i = 0; i < 8; i++) {
		ap[i] = (struct appender){ s, 50, 0, 0 };
		pthread_create(&th[i], NULL, append_many, &ap[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		ok += ap[i].ok;
	}
	CHECK_EQ_INT(ok, 400);
	store_metrics_read(s, &m);
	CHECK_EQ_INT(m.commands, 400);
	CHECK(m.commits <= m.commands);
	CHECK(m.file_bytes > 0);
	CHECK_EQ_INT(store_audit_verify(s, &r), 0);
	CHECK_EQ_INT(r.entries, 400);
	CHECK_EQ_INT(r.first_bad_seq, 0);
	store_close(s);
}

static int fail_cmd(sqlite3 *db, void *ctx)
{
	/* Writes something, then fails: the write must roll back alone. */
	sqlite3_exec(db, "INSERT INTO audit_head VALUES(1, 999, x'00')", NULL, NULL, NULL);
	return SG_EINVAL;
}

static void test_failing_command_rolls_back_alone(void)
{
	char path[256];
	struct store *s = NULL;
	struct store_audit_report r;

	db_path(path, sizeof path, "fail.db");
	CHECK_EQ_INT(store_open(path, &s), 0);
	CHECK_EQ_INT(store_audit_append(s, "a", "one", NULL, NULL), 0);
	CHECK_EQ_INT(store__submit(s, fail_cmd, NULL), SG_EINVAL);
	CHECK_EQ_INT(store_audit_append(s, "a", "two", NULL, NULL), 0);
	CHECK_EQ_INT(store_audit_verify(s, &r), 0);
	CHECK_EQ_INT(r.entries, 2);
	CHECK_EQ_INT(r.first_bad_seq, 0);
	store_close(s);
}

static void test_users_tokens_round_trip(void)
{
	char path[256];
	struct store *s = NULL;
	struct store_user u, got;
	unsigned char hash[STORE_TOKEN_HASH_LEN];
	int64_t id = 0, uid = 0, exp = 0;
	size_t n = 0;

	db_path(path, sizeof path, "users.db");
	CHECK_EQ_INT(store_open(path, &s), 0);
	memset(&u, 0, sizeof u);
	snprintf(u.name, sizeof u.name, "zhang");
	snprintf(u.role, sizeof u.role, "analyst");
	snprintf(u.pw_hash, sizeof u.pw_hash, "$argon2id$fake");
	CHECK_EQ_INT(store_user_add(s, &u, &id), 0);
	CHECK(id > 0);
	CHECK_EQ_INT(store_user_add(s, &u, NULL), SG_ECONFLICT);
	CHECK_EQ_INT(store_users_count(s, &n), 0);
	CHECK_EQ_INT(n, 1);
	memset(&got, 0, sizeof got);
	CHECK_EQ_INT(store_user_get(s, "zhang", 0, &got), 0);
	CHECK_STR(got.role, "analyst");
	CHECK_EQ_INT(got.id, id);
	store_user_release(&got);
	CHECK_EQ_INT(store_user_get(s, "li", 0, &got), SG_ENOTFOUND);
	memset(hash, 7, sizeof hash);
	long long now = (long long)time(NULL);
	CHECK_EQ_INT(store_login_record(s, hash, id, now, now + 3600, "zhang", NULL), 0);
	CHECK_EQ_INT(store_token_get(s, hash, &uid, &exp), 0);
	CHECK_EQ_INT(uid, id);
	CHECK_EQ_INT(exp, now + 3600);
	CHECK_EQ_INT(store_token_delete(s, hash), 0);
	CHECK_EQ_INT(store_token_get(s, hash, &uid, &exp), SG_ENOTFOUND);
	store_close(s);
}

static void test_reopen_sees_every_acknowledged_write(void)
{
	char path[256];
	struct store *s = NULL;
	struct appender ap[4];
	pthread_t th[4];
	struct store_audit_report r;
	int ok = 0;

	db_path(path, sizeof path, "close.db");
	CHECK_EQ_INT(store_open(path, &s), 0);
	for (int i = 0; i < 4; i++) {
		ap[i] = (struct appender){ s, 100000, 0, 0 };
		pthread_create(&th[i], NULL, append_many, &ap[i]);
	}
	usleep(100 * 1000);
	/* Stop the writers mid-stream; every call that returned 0 must be on disk. */
	for (int i = 0; i < 4; i++)
		__atomic_store_n(&ap[i].n, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ok += ap[i].ok;
	}
	store_close(s);
	s = NULL;
	CHECK_EQ_INT(store_open(path, &s), 0);
	CHECK_EQ_INT(store_audit_verify(s, &r), 0);
	CHECK_EQ_INT((long long)r.entries, ok);
	store_close(s);
}

/*
 * Asynchronous commands through the pipelined commit: each writes a row;
 * the core numbers them as it runs them, the callbacks (after the batch's
 * fsync, on the syncer) must come in exactly that order, each with its row
 * committed, and closing the store must answer every queued one first.
 */
struct pipe_state {
	pthread_mutex_t lock;
	int executed;  /* commands run so far (core thread) */
	int answered;  /* callbacks so far */
	int in_order;  /* callbacks whose command ran as the answered-th */
	int failed;
};

struct pipe_cmd {
	struct pipe_state *ps;
	int seq; /* when the core ran it */
	char key[32];
};

static int pipe_cmd_fn(sqlite3 *db, void *ctx)
{
	struct pipe_cmd *c = ctx;
	sqlite3_stmt *st = NULL;
	int rc;

	c->seq = c->ps->executed++;
	if (sqlite3_prepare_v2(db, "INSERT INTO settings VALUES(?, 'v', 0)", -1, &st, NULL))
		return SG_EIO;
	sqlite3_bind_text(st, 1, c->key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? SG_OK : SG_EIO;
	sqlite3_finalize(st);
	return rc;
}

static void pipe_done(void *arg, int rc)
{
	struct pipe_cmd *c = arg;
	struct pipe_state *ps = c->ps;

	pthread_mutex_lock(&ps->lock);
	if (c->seq == ps->answered)
		ps->in_order++;
	if (rc)
		ps->failed++;
	ps->answered++;
	pthread_mutex_unlock(&ps->lock);
}

struct pipe_submitter {
	struct store *s;
	struct pipe_cmd *cmds;
	int n;
};

static void *pipe_submit_many(void *arg)
{
	struct pipe_submitter *p = arg;

	for (int i = 0; i < p->n; i++) {
		store__submit_async(p->s, pipe_cmd_fn, &p->cmds[i], pipe_done, &p->cmds[i]);
		if (i % 50 == 0)
			usleep(200); /* let several batches form */
	}
	return NULL;
}

static void test_async_answers_follow_commit_order_and_close_drains(void)
{
	enum { THREADS = 4, PER = 500 };
	static struct pipe_cmd cmds[THREADS * PER];
	struct pipe_state ps = { PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0 };
	struct pipe_submitter sub[THREADS];
	pthread_t th[THREADS];
	struct store_metrics m;
	struct store *s = NULL;
	char path[256];
	size_t rows = 0;

	db_path(path, sizeof path, "pipe.db");
	CHECK_EQ_INT(store_open(path, &s), 0);
	for (int i = 0; i < THREADS * PER; i++) {
		cmds[i].ps = &ps;
		snprintf(cmds[i].key, sizeof cmds[i].key, "pipe-%d", i);
	}
	/*
	 * Two rounds, the second submitted once the first is answered, so that
	 * the answers' order is checked across batches however the scheduler
	 * lets them form (a loaded machine may fold a whole round into one).
	 */
	for (int round = 0; round < 2; round++) {
		int half = PER / 2;
		for (int t = 0; t < THREADS; t++) {
			sub[t] = (struct pipe_submitter){ s, cmds + t * PER + round * half, half };
			pthread_create(&th[t], NULL, pipe_submit_many, &sub[t]);
		}
		for (int t = 0; t < THREADS; t++)
			pthread_join(th[t], NULL);
		/* A waiting writer queued behind them is durable after all of them. */
		CHECK_EQ_INT(store_audit_append(s, "a", "after", NULL, NULL), 0);
		for (int i = 0; i < 1000; i++) {
			int done;
			pthread_mutex_lock(&ps.lock);
			done = ps.answered;
			pthread_mutex_unlock(&ps.lock);
			if (done == THREADS * half * (round + 1))
				break;
			usleep(10 * 1000);
		}
		pthread_mutex_lock(&ps.lock);
		CHECK_EQ_INT(ps.answered, THREADS * half * (round + 1));
		pthread_mutex_unlock(&ps.lock);
	}
	store_metrics_read(s, &m);
	CHECK(m.commits > 1);
	CHECK_EQ_INT(m.failed_commits, 0);

	/* Queued and not yet answered when the store closes: close answers them. */
	for (int i = 0; i < 200; i++) {
		snprintf(cmds[i].key, sizeof cmds[i].key, "late-%d", i);
		store__submit_async(s, pipe_cmd_fn, &cmds[i], pipe_done, &cmds[i]);
	}
	store_close(s);
	CHECK_EQ_INT(ps.answered, THREADS * PER + 200);
	CHECK_EQ_INT(ps.in_order, THREADS * PER + 200);
	CHECK_EQ_INT(ps.failed, 0);
	s = NULL;
	CHECK_EQ_INT(store_open(path, &s), 0);
	CHECK_EQ_INT(store__count(s, "SELECT count(*) FROM settings", &rows), 0);
	CHECK_EQ_INT((long long)rows, THREADS * PER + 200);
	store_close(s);
}

/* store_caller_fn: records the report ids; stops (returns 7) at the stop-th. */
struct caller_seen {
	int64_t ids[16];
	int n, stop;
};

static int caller_seen_fn(void *ctx, const struct report_row *r, const struct case_row *c)
{
	struct caller_seen *cs = ctx;

	if (c->id != r->case_id || strcmp(r->text, "report") != 0)
		return SG_EINTERNAL;
	cs->ids[cs->n++] = r->id;
	return cs->n == cs->stop ? 7 : SG_OK;
}

static void test_caller_reports_match_by_key_newest_first(void)
{
	/* The same mobile number typed five ways, another number, a landline, none. */
	static const char *const phones[] = { "13812345678",      "+86 138-1234-5678", "13900001111",
					      "008613812345678",  "0512-6500 1234",    "",
					      "138 1234 5678",    "+8613812345678",    "+86 512 6500 1234" };
	enum { N = sizeof phones / sizeof phones[0] };
	char path[256], key[REPORT_PHONE_MAX + 1];
	struct store *s = NULL;
	int64_t report_ids[N];
	struct caller_seen cs = { .n = 0 };
	sqlite3 *db = NULL;

	db_path(path, sizeof path, "callers.db");
	CHECK_EQ_INT(store_open(path, &s), 0);
	for (int i = 0; i < N; i++) {
		struct case_row c = { .priority = 2, .lon = 120.6, .lat = 31.3 };
		struct report_row r = { .lon = 120.6, .lat = 31.3 };
		struct store_case_open op = { .c = &c, .r = &r, .actor = "tester" };
		snprintf(c.category, sizeof c.category, "noise");
		snprintf(c.type, sizeof c.type, "incident");
		snprintf(c.status, sizeof c.status, "new");
		snprintf(c.department, sizeof c.department, "station");
		snprintf(c.source, sizeof c.source, "110");
		c.created_at = 1000000 + i * 60;
		r.text = (char *)"report";
		snprintf(r.source, sizeof r.source, "110");
		snprintf(r.category, sizeof r.category, "noise");
		snprintf(r.caller_phone, sizeof r.caller_phone, "%s", phones[i]);
		r.reported_at = r.received_at = c.created_at;
		CHECK_EQ_INT(store_case_open(s, &op), 0);
		report_ids[i] = r.id;
	}
	/* The generated column agrees with case_phone_key for every number. */
	CHECK_EQ_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (int i = 0; i < N; i++) {
		sqlite3_stmt *st = NULL;
		CHECK_EQ_INT(sqlite3_prepare_v2(db, "SELECT caller_key FROM reports WHERE id=?", -1, &st, NULL),
			     SQLITE_OK);
		sqlite3_bind_int64(st, 1, report_ids[i]);
		CHECK_EQ_INT(sqlite3_step(st), SQLITE_ROW);
		case_phone_key(phones[i], key);
		if (phones[i][0])
			CHECK_STR((const char *)sqlite3_column_text(st, 0), key);
		else
			CHECK(sqlite3_column_type(st, 0) == SQLITE_NULL);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	/* Newest first, from since on: reports 7, 6, 3 and 1 (0 is older than since). */
	CHECK_EQ_INT(store_caller_reports(s, "13812345678", 1000000 + 60, 100, caller_seen_fn, &cs), 0);
	CHECK_EQ_INT(cs.n, 4);
	CHECK(cs.ids[0] == report_ids[7] && cs.ids[1] == report_ids[6] && cs.ids[2] == report_ids[3] &&
	      cs.ids[3] == report_ids[1]);
	/* max bounds the reports read; fn's non-zero answer stops and is returned. */
	cs = (struct caller_seen){ .n = 0 };
	CHECK_EQ_INT(store_caller_reports(s, "13812345678", 0, 2, caller_seen_fn, &cs), 0);
	CHECK_EQ_INT(cs.n, 2);
	cs = (struct caller_seen){ .n = 0, .stop = 3 };
	CHECK_EQ_INT(store_caller_reports(s, "13812345678", 0, 100, caller_seen_fn, &cs), 7);
	CHECK_EQ_INT(cs.n, 3);
	cs = (struct caller_seen){ .n = 0 };
	CHECK_EQ_INT(store_caller_reports(s, "051265001234", 0, 100, caller_seen_fn, &cs), 0);
	CHECK(cs.n == 1 && cs.ids[0] == report_ids[4]);
	cs = (struct caller_seen){ .n = 0 };
	CHECK_EQ_INT(store_caller_reports(s, "10000000000", 0, 100, caller_seen_fn, &cs), 0);
	CHECK_EQ_INT(cs.n, 0);
	store_close(s);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	TEST_RUN(test_migrations_apply_once_and_record_version);
	TEST_RUN(test_concurrent_writes_group_into_batches_and_chain_verifies);
	TEST_RUN(test_failing_command_rolls_back_alone);
	TEST_RUN(test_users_tokens_round_trip);
	TEST_RUN(test_reopen_sees_every_acknowledged_write);
	TEST_RUN(test_async_answers_follow_commit_order_and_close_drains);
	TEST_RUN(test_caller_reports_match_by_key_newest_first);
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return test_summary("store/store");
}
