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

	/* 2: cases, the reports that open or join them, and their history */
	"CREATE TABLE cases("
	"  id INTEGER PRIMARY KEY,"
	"  type TEXT NOT NULL,"
	"  category TEXT NOT NULL,"
	"  police INTEGER NOT NULL,"
	"  department TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  priority INTEGER NOT NULL,"
	"  lon REAL NOT NULL, lat REAL NOT NULL,"
	"  city_id INTEGER, district_id INTEGER, station_id INTEGER, police_grid_id INTEGER,"
	"  street_id INTEGER, community_id INTEGER, gov_grid_id INTEGER,"
	"  source TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  deadline_at INTEGER NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  reports INTEGER NOT NULL DEFAULT 1,"
	"  escalation_level INTEGER NOT NULL DEFAULT 0);"   /* index into the escalation chain */
	"CREATE INDEX cases_deadline ON cases(deadline_at);"
	/* Covers the join lookup (store/cases.c find_joinable): no table reads. */
	"CREATE INDEX cases_join ON cases(category, created_at, lon, lat, status, type);"
	"CREATE INDEX cases_status ON cases(status);"
	"CREATE TABLE reports("
	"  id INTEGER PRIMARY KEY,"
	"  case_id INTEGER NOT NULL REFERENCES cases(id),"
	"  source TEXT NOT NULL,"
	"  text TEXT NOT NULL,"
	"  lon REAL NOT NULL, lat REAL NOT NULL,"
	"  reported_at INTEGER NOT NULL,"
	"  received_at INTEGER NOT NULL,"
	"  caller_name TEXT, caller_phone TEXT,"
	"  category TEXT NOT NULL);"
	"CREATE INDEX reports_case ON reports(case_id);"
	"CREATE TABLE case_history("
	"  id INTEGER PRIMARY KEY,"
	"  case_id INTEGER NOT NULL REFERENCES cases(id),"
	"  at INTEGER NOT NULL,"
	"  actor TEXT,"
	"  from_status TEXT, to_status TEXT NOT NULL,"
	"  note TEXT);"
	"CREATE INDEX case_history_case ON case_history(case_id, id);"
	/*
	 * Statistics kept in the same transaction as the change that moves them:
	 * cases opened per local day (UTC+8) × area (its grid, station, district
	 * and city) × category × source × police flag; resolutions with their
	 * total time to resolve.
	 */
	"CREATE TABLE stats_cases("
	"  area_id INTEGER NOT NULL, day INTEGER NOT NULL, category TEXT NOT NULL,"
	"  source TEXT NOT NULL, police INTEGER NOT NULL, n INTEGER NOT NULL,"
	"  PRIMARY KEY(area_id, day, category, source, police)) WITHOUT ROWID;"
	"CREATE TABLE settings("              /* operators' replacements of shipped configuration */
	"  key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE TABLE stats_resolved("
	"  area_id INTEGER NOT NULL, day INTEGER NOT NULL, category TEXT NOT NULL,"
	"  n INTEGER NOT NULL, seconds INTEGER NOT NULL,"
	"  PRIMARY KEY(area_id, day, category)) WITHOUT ROWID;",

	/*
	 * Monthly roll-ups of both counter tables (month = year * 12 + month - 1
	 * of the local day) for every counted level but the governance grid,
	 * kept in the same statements as the daily rows: a statistic over a year
	 * reads 12 months and the days at either end.
	 */
	"CREATE TABLE stats_cases_month("
	"  area_id INTEGER NOT NULL, month INTEGER NOT NULL, category TEXT NOT NULL,"
	"  source TEXT NOT NULL, police INTEGER NOT NULL, n INTEGER NOT NULL,"
	"  PRIMARY KEY(area_id, month, category, source, police)) WITHOUT ROWID;"
	"CREATE TABLE stats_resolved_month("
	"  area_id INTEGER NOT NULL, month INTEGER NOT NULL, category TEXT NOT NULL,"
	"  n INTEGER NOT NULL, seconds INTEGER NOT NULL,"
	"  PRIMARY KEY(area_id, month, category)) WITHOUT ROWID;"
	"INSERT INTO stats_cases_month SELECT area_id,"
	"  CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12 +"
	"  CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1,"
	"  category, source, police, sum(n) FROM stats_cases"
	"  WHERE area_id NOT IN (SELECT id FROM areas WHERE kind = 'gov_grid')"
	"  GROUP BY 1, 2, 3, 4, 5;"
	"INSERT INTO stats_resolved_month SELECT area_id,"
	"  CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12 +"
	"  CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1,"
	"  category, sum(n), sum(seconds) FROM stats_resolved"
	"  WHERE area_id NOT IN (SELECT id FROM areas WHERE kind = 'gov_grid')"
	"  GROUP BY 1, 2, 3;",
};

const int store__migration_count = sizeof store__migrations / sizeof store__migrations[0];
