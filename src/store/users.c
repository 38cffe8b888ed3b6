/* users.c — the store's users, their scopes and their login tokens. */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

void store_user_release(struct store_user *u)
{
	free(u->scope);
	u->scope = NULL;
	u->nscope = 0;
}

struct user_add_ctx {
	const struct store_user *u;
	int64_t id;
};

static int user_add_cmd(sqlite3 *db, void *arg)
{
	struct user_add_ctx *c = arg;
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db,
				"INSERT INTO users(name,role,pw_hash,created_at) VALUES(?,?,?,?)", &st);

	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, c->u->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->u->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->u->pw_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	if (rc)
		return rc;
	c->id = sqlite3_last_insert_rowid(db);
	if ((rc = store__prepare(db, "INSERT OR IGNORE INTO user_scopes VALUES(?,?)", &st)))
		return rc;
	for (size_t i = 0; !rc && i < c->u->nscope; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, c->id);
		sqlite3_bind_int64(st, 2, c->u->scope[i]);
		rc = store__rc(sqlite3_step(st));
	}
	sqlite3_finalize(st);
	return rc;
}

int store_user_add(struct store *s, const struct store_user *u, int64_t *id)
{
	struct user_add_ctx c = { u, 0 };
	int rc = store__submit(s, user_add_cmd, &c);
	if (!rc && id)
		*id = c.id;
	return rc;
}

int store_user_get(struct store *s, const char *name, int64_t id, struct store_user *out)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	struct store_user u;
	size_t alloc = 0;
	int rc;

	memset(&u, 0, sizeof u);
	rc = store__prepare(db,
			    id ? "SELECT id,name,role,pw_hash FROM users WHERE id=?"
			       : "SELECT id,name,role,pw_hash FROM users WHERE name=?",
			    &st);
	if (rc)
		goto out;
	if (id)
		sqlite3_bind_int64(st, 1, id);
	else
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rc = SG_ENOTFOUND;
		goto out;
	}
	u.id = sqlite3_column_int64(st, 0);
	snprintf(u.name, sizeof u.name, "%s", (const char *)sqlite3_column_text(st, 1));
	snprintf(u.role, sizeof u.role, "%s", (const char *)sqlite3_column_text(st, 2));
	snprintf(u.pw_hash, sizeof u.pw_hash, "%s", (const char *)sqlite3_column_text(st, 3));
	sqlite3_finalize(st);
	st = NULL;
	if ((rc = store__prepare(db, "SELECT area_id FROM user_scopes WHERE user_id=?", &st)))
		goto out;
	sqlite3_bind_int64(st, 1, u.id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (u.nscope == alloc) {
			size_t na = alloc ? alloc * 2 : 4;
			int64_t *v = realloc(u.scope, na * sizeof *v);
			if (!v) {
				rc = SG_ENOMEM;
				goto out;
			}
			u.scope = v;
			alloc = na;
		}
		u.scope[u.nscope++] = sqlite3_column_int64(st, 0);
	}
	*out = u;
	u.scope = NULL;
out:
	sqlite3_finalize(st);
	store__read_end(s, db);
	store_user_release(&u);
	return rc;
}

int store_users_count(struct store *s, size_t *out)
{
	return store__count(s, "SELECT count(*) FROM users", out);
}

struct login_ctx {
	const unsigned char *hash;
	int64_t user_id, created_at, expires_at;
	const char *actor, *detail;
};

static int login_cmd(sqlite3 *db, void *arg)
{
	struct login_ctx *c = arg;
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, "INSERT INTO tokens VALUES(?,?,?,?)", &st);

	if (rc)
		return rc;
	sqlite3_bind_blob(st, 1, c->hash, STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, c->user_id);
	sqlite3_bind_int64(st, 3, c->created_at);
	sqlite3_bind_int64(st, 4, c->expires_at);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	if (!rc) {
		/* Expired tokens are of no use to anyone: drop them as we go. */
		sqlite3_exec(db, "DELETE FROM tokens WHERE expires_at < unixepoch() - 86400",
			     NULL, NULL, NULL);
		rc = store__audit_append_tx(db, c->actor, "login", c->actor, c->detail);
	}
	return rc;
}

int store_login_record(struct store *s, const unsigned char hash[STORE_TOKEN_HASH_LEN],
		       int64_t user_id, int64_t created_at, int64_t expires_at, const char *actor,
		       const char *detail)
{
	struct login_ctx c = { hash, user_id, created_at, expires_at, actor, detail };
	return store__submit(s, login_cmd, &c);
}

int store_token_get(struct store *s, const unsigned char hash[STORE_TOKEN_HASH_LEN],
		    int64_t *user_id, int64_t *expires_at)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, "SELECT user_id,expires_at FROM tokens WHERE hash=?", &st);

	if (!rc) {
		sqlite3_bind_blob(st, 1, hash, STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*user_id = sqlite3_column_int64(st, 0);
			*expires_at = sqlite3_column_int64(st, 1);
		} else {
			rc = SG_ENOTFOUND;
		}
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}

static int token_delete_cmd(sqlite3 *db, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, "DELETE FROM tokens WHERE hash=?", &st);

	if (!rc) {
		sqlite3_bind_blob(st, 1, arg, STORE_TOKEN_HASH_LEN, SQLITE_STATIC);
		rc = store__rc(sqlite3_step(st));
	}
	sqlite3_finalize(st);
	return rc;
}

int store_token_delete(struct store *s, const unsigned char hash[STORE_TOKEN_HASH_LEN])
{
	return store__submit(s, token_delete_cmd, (void *)hash);
}
