/*
 * settings.c — operators' stored replacements of shipped configuration
 * (e.g. the classification rules), each change audited.
 */
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"

int store_setting_get(struct store *s, const char *key, char **value)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, "SELECT value FROM settings WHERE key=?", &st);

	if (!rc) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			char *v = strdup((const char *)sqlite3_column_text(st, 0));
			if (v)
				*value = v;
			else
				rc = SG_ENOMEM;
		} else {
			rc = SG_ENOTFOUND;
		}
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}

struct setting_ctx {
	const char *key, *value, *actor, *action;
};

static int setting_put_cmd(sqlite3 *db, void *arg)
{
	struct setting_ctx *c = arg;
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, "INSERT OR REPLACE INTO settings VALUES(?,?,unixepoch())", &st);

	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, c->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->value, -1, SQLITE_STATIC);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	if (!rc)
		rc = store__audit_append_tx(db, c->actor, c->action, c->key, NULL);
	return rc;
}

int store_setting_put(struct store *s, const char *key, const char *value, const char *actor,
		      const char *action)
{
	struct setting_ctx c = { key, value, actor, action };
	return store__submit(s, setting_put_cmd, &c);
}
