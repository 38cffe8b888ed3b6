/*
 * migrations.c — the schema, as numbered migrations.
 *
 * Never edit a migration that has shipped: add the next one. store_open
 * applies every migration newer than the store's version, each in its own
 * transaction, and records it in schema_migrations.
 */
#include "store/store_internal.h"

const char *const store__migrations[] = {
	/* 1: areas, fusion, users, tokens, audit */
	"CREATE TABLE areas("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  parent_id INTEGER REFERENCES areas(id),"
	"  code TEXT,"
	"  name TEXT NOT NULL,"
	"  geom BLOB NOT NULL,"            /* WKB MultiPolygon, WGS-84 */
	"  min_lon REAL NOT NULL, min_lat REAL NOT NULL,"
	"  max_lon REAL NOT NULL, max_lat REAL NOT NULL,"
	"  area_m2 REAL NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX areas_code ON areas(code) WHERE code IS NOT NULL;"
	"CREATE INDEX areas_parent ON areas(parent_id);"
	"CREATE TABLE fusion("
	"  gov_grid_id INTEGER PRIMARY KEY REFERENCES areas(id),"
	"  police_grid_id INTEGER REFERENCES areas(id),"
	"  ratio REAL NOT NULL,"
	"  second_police_grid_id INTEGER REFERENCES areas(id),"
	"  second_ratio REAL NOT NULL,"
	"  split INTEGER NOT NULL);"
	"CREATE INDEX fusion_police ON fusion(police_grid_id);"
	"CREATE TABLE users("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  role TEXT NOT NULL,"
	"  pw_hash TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE user_scopes("
	"  user_id INTEGER NOT NULL REFERENCES users(id),"
	"  area_id INTEGER NOT NULL REFERENCES areas(id),"
	"  PRIMARY KEY(user_id, area_id)) WITHOUT ROWID;"
	"CREATE TABLE tokens("
	"  hash BLOB PRIMARY KEY,"          /* BLAKE2b-256 of the bearer token */
	"  user_id INTEGER NOT NULL REFERENCES users(id),"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE audit("
	"  seq INTEGER PRIMARY KEY,"
	"  ts INTEGER NOT NULL,"            /* Unix milliseconds */
	"  actor TEXT, action TEXT NOT NULL, subject TEXT, detail TEXT,"
	"  prev_hash BLOB NOT NULL,"
	"  hash BLOB NOT NULL);"
	/* The chain's head, so that deleting the newest entries is detected too. */
	"CREATE TABLE audit_head("
	"  one INTEGER PRIMARY KEY CHECK (one = 1),"
	"  seq INTEGER NOT NULL,"
	"  hash BLOB NOT NULL);",
};

const int store__migration_count = sizeof store__migrations / sizeof store__migrations[0];
