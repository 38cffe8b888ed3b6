/*
 * audit.c — the hash-chained audit log.
 *
 * hash(n) = BLAKE2b-256(hash(n-1) || seq || ts || actor || action || subject
 * || detail), every field length-prefixed (8 bytes, little endian; a NULL
 * field has length 2^64-1) so that no two different entries hash the same
 * bytes. The first entry chains to 32 zero bytes. audit_head keeps the last
 * seq and hash, so deleting the newest entries breaks the chain as well.
 */
#include "store/store_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

#define AUDIT_HASH_LEN 32

static void put_len(crypto_generichash_state *h, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	crypto_generichash_update(h, b, 8);
}

static void put_field(crypto_generichash_state *h, const char *s)
{
	if (!s) {
		put_len(h, UINT64_MAX);
		return;
	}
	put_len(h, strlen(s));
	crypto_generichash_update(h, (const unsigned char *)s, strlen(s));
}

static void audit_hash(const unsigned char prev[AUDIT_HASH_LEN], int64_t seq, int64_t ts,
		       const char *actor, const char *action, const char *subject,
		       const char *detail, unsigned char out[AUDIT_HASH_LEN])
{
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, AUDIT_HASH_LEN);
	crypto_generichash_update(&h, prev, AUDIT_HASH_LEN);
	put_len(&h, (uint64_t)seq);
	put_len(&h, (uint64_t)ts);
	put_field(&h, actor);
	put_field(&h, action);
	put_field(&h, subject);
	put_field(&h, detail);
	crypto_generichash_final(&h, out, AUDIT_HASH_LEN);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int store__audit_append_tx(sqlite3 *db, const char *actor, const char *action,
			   const char *subject, const char *detail)
{
	unsigned char prev[AUDIT_HASH_LEN] = { 0 }, hash[AUDIT_HASH_LEN];
	sqlite3_stmt *st = NULL;
	int64_t seq = 1, ts = now_ms();
	int rc = store__prepare(db, "SELECT seq,hash FROM audit_head WHERE one=1", &st);

	if (rc)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 1) == AUDIT_HASH_LEN) {
		seq = sqlite3_column_int64(st, 0) + 1;
		memcpy(prev, sqlite3_column_blob(st, 1), AUDIT_HASH_LEN);
	}
	sqlite3_finalize(st);
	audit_hash(prev, seq, ts, actor, action, subject, detail, hash);
	if ((rc = store__prepare(db, "INSERT INTO audit VALUES(?,?,?,?,?,?,?,?)", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, ts);
	sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, detail, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, prev, AUDIT_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, hash, AUDIT_HASH_LEN, SQLITE_STATIC);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	if (rc)
		return rc;
	if ((rc = store__prepare(db, "INSERT OR REPLACE INTO audit_head VALUES(1,?,?)", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_blob(st, 2, hash, AUDIT_HASH_LEN, SQLITE_STATIC);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	return rc;
}

struct audit_ctx {
	const char *actor, *action, *subject, *detail;
};

static int audit_cmd(sqlite3 *db, void *arg)
{
	struct audit_ctx *c = arg;
	return store__audit_append_tx(db, c->actor, c->action, c->subject, c->detail);
}

int store_audit_append(struct store *s, const char *actor, const char *action,
		       const char *subject, const char *detail)
{
	struct audit_ctx c = { actor, action, subject, detail };
	return store__submit(s, audit_cmd, &c);
}

static void bad(struct store_audit_report *r, int64_t seq, const char *why)
{
	r->first_bad_seq = seq;
	snprintf(r->reason, sizeof r->reason, "%s", why);
}

int store_audit_verify(struct store *s, struct store_audit_report *out)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	struct store_audit_report r;
	unsigned char prev[AUDIT_HASH_LEN] = { 0 }, hash[AUDIT_HASH_LEN];
	int64_t expect = 1;
	int rc;

	memset(&r, 0, sizeof r);
	rc = store__prepare(db, "SELECT seq,ts,actor,action,subject,detail,prev_hash,hash "
				"FROM audit ORDER BY seq", &st);
	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0);
		r.entries++;
		if (seq != expect) {
			bad(&r, expect, "entry missing (sequence gap)");
			break;
		}
		if (sqlite3_column_bytes(st, 6) != AUDIT_HASH_LEN ||
		    memcmp(sqlite3_column_blob(st, 6), prev, AUDIT_HASH_LEN) != 0) {
			bad(&r, seq, "previous-hash link broken");
			break;
		}
		audit_hash(prev, seq, sqlite3_column_int64(st, 1),
			   (const char *)sqlite3_column_text(st, 2),
			   (const char *)sqlite3_column_text(st, 3),
			   (const char *)sqlite3_column_text(st, 4),
			   (const char *)sqlite3_column_text(st, 5), hash);
		if (sqlite3_column_bytes(st, 7) != AUDIT_HASH_LEN ||
		    memcmp(sqlite3_column_blob(st, 7), hash, AUDIT_HASH_LEN) != 0) {
			bad(&r, seq, "entry edited (hash mismatch)");
			break;
		}
		memcpy(prev, hash, AUDIT_HASH_LEN);
		expect++;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (!rc && !r.first_bad_seq) {
		/* The head must name the last entry: otherwise entries were cut off the end. */
		rc = store__prepare(db, "SELECT seq,hash FROM audit_head WHERE one=1", &st);
		if (!rc && sqlite3_step(st) == SQLITE_ROW) {
			if (sqlite3_column_int64(st, 0) != expect - 1 ||
			    sqlite3_column_bytes(st, 1) != AUDIT_HASH_LEN ||
			    memcmp(sqlite3_column_blob(st, 1), prev, AUDIT_HASH_LEN) != 0)
				bad(&r, expect, "newest entries deleted (head mismatch)");
		} else if (!rc && r.entries) {
			bad(&r, expect - 1, "chain head missing");
		}
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	if (!rc)
		*out = r;
	return rc;
}
