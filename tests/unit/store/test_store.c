/*
 * test_store.c — the store: migrations, group commit, a failing command in a
 * batch, users and tokens, the audit chain, and close draining the queue.
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
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return test_summary("store/store");
}
