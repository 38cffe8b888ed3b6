/*
 * migrations.c — the schema, as numbered migrations.
 *
 * Never edit a migration that has shipped: add the next one. store_open
 * applies every migration newer than the store's version, each in its own
 * transaction, and records it in schema_migrations.
 */
#include "store/store_internal.h"

/*
 * Whether the areas of the case NEW nest as the area tree does: each level's
 * area is the parent of the level below's (or the level below is unknown).
 * The city is left out: a scope holding the city sees everything, so no list
 * ever trusts the tree up to it. store/history.c (case_nests) applies the
 * same rule in C to a bulk load, which runs without the triggers.
 */
#define CASE_PARENT(col) "(SELECT parent_id FROM areas INDEXED BY areas_parent_of WHERE id = NEW." col ")"
#define CASE_NESTS                                                                         \
	"(NEW.police_grid_id IS NULL OR NEW.station_id IS " CASE_PARENT("police_grid_id") ") AND " \
	"(NEW.station_id IS NULL OR NEW.district_id IS " CASE_PARENT("station_id") ") AND "         \
	"(NEW.gov_grid_id IS NULL OR NEW.community_id IS " CASE_PARENT("gov_grid_id") ") AND "      \
	"(NEW.community_id IS NULL OR NEW.street_id IS " CASE_PARENT("community_id") ") AND "       \
	"(NEW.street_id IS NULL OR NEW.district_id IS " CASE_PARENT("street_id") ")"

/* A stored caller's number with its separators taken out: its digits. */
#define CALLER_DIGITS "replace(replace(replace(caller_phone, ' ', ''), '-', ''), '+', '')"

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
	 * Forces and dispatch: organisations with their scope areas, people
	 * (millions: every list walks an index by area then id, see
	 * store/forces.c), units with their latest position and status, position
	 * tracks (purged past their retention) and dispatches, one row per case ×
	 * unit with the time of each step.
	 */
	"CREATE TABLE orgs("
	"  id INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  parent_id INTEGER REFERENCES orgs(id),"
	"  code TEXT,"
	"  name TEXT NOT NULL,"
	"  phone TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  version INTEGER NOT NULL);"
	"CREATE UNIQUE INDEX orgs_code ON orgs(code) WHERE code IS NOT NULL;"
	"CREATE INDEX orgs_parent ON orgs(parent_id);"
	"CREATE TABLE org_areas("
	"  org_id INTEGER NOT NULL REFERENCES orgs(id),"
	"  area_id INTEGER NOT NULL REFERENCES areas(id),"
	"  PRIMARY KEY(org_id, area_id)) WITHOUT ROWID;"
	"CREATE INDEX org_areas_area ON org_areas(area_id);"
	"CREATE TABLE people("
	"  id INTEGER PRIMARY KEY,"
	"  type TEXT NOT NULL,"
	"  org_id INTEGER NOT NULL REFERENCES orgs(id),"
	"  area_id INTEGER NOT NULL REFERENCES areas(id),"   /* the area they serve: their scope */
	"  name TEXT NOT NULL,"
	"  phone TEXT,"
	"  id_number TEXT,"
	"  unit_id INTEGER,"
	"  created_at INTEGER NOT NULL);"
	"CREATE INDEX people_area ON people(area_id, id);"
	"CREATE INDEX people_type_area ON people(type, area_id, id);"
	"CREATE INDEX people_org ON people(org_id, id);"
	"CREATE UNIQUE INDEX people_id_number ON people(id_number) WHERE id_number IS NOT NULL;"
	"CREATE TABLE person_grids("
	"  person_id INTEGER NOT NULL REFERENCES people(id),"
	"  area_id INTEGER NOT NULL REFERENCES areas(id),"
	"  PRIMARY KEY(person_id, area_id)) WITHOUT ROWID;"
	"CREATE INDEX person_grids_area ON person_grids(area_id);"
	"CREATE TABLE units("
	"  id INTEGER PRIMARY KEY,"
	"  type TEXT NOT NULL,"
	"  callsign TEXT NOT NULL,"
	"  org_id INTEGER NOT NULL REFERENCES orgs(id),"
	"  area_id INTEGER NOT NULL REFERENCES areas(id),"   /* home area: its scope */
	"  status TEXT NOT NULL,"
	"  lon REAL, lat REAL, pos_at INTEGER,"               /* latest position, Unix ms */
	"  case_id INTEGER,"                                  /* the case it is dispatched to */
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  version INTEGER NOT NULL);"
	"CREATE INDEX units_area ON units(area_id, id);"
	"CREATE TABLE unit_positions("
	"  unit_id INTEGER NOT NULL,"
	"  at INTEGER NOT NULL,"                              /* Unix ms */
	"  lon REAL NOT NULL, lat REAL NOT NULL,"
	"  PRIMARY KEY(unit_id, at)) WITHOUT ROWID;"
	"CREATE INDEX unit_positions_at ON unit_positions(at);"
	"CREATE TABLE dispatches("
	"  id INTEGER PRIMARY KEY,"
	"  case_id INTEGER NOT NULL REFERENCES cases(id),"
	"  unit_id INTEGER NOT NULL REFERENCES units(id),"
	"  status TEXT NOT NULL,"            /* assigned, acknowledged, on_scene, cleared, cancelled */
	"  first INTEGER NOT NULL,"          /* the case's first dispatch (response statistics) */
	"  priority INTEGER NOT NULL,"
	"  station_id INTEGER, district_id INTEGER,"
	"  case_created_at INTEGER NOT NULL,"
	"  dispatched_at INTEGER NOT NULL,"
	"  acknowledged_at INTEGER, arrived_at INTEGER, cleared_at INTEGER, cancelled_at INTEGER,"
	"  escalated INTEGER NOT NULL DEFAULT 0,"
	"  actor TEXT NOT NULL,"
	"  reason TEXT);"
	"CREATE INDEX dispatches_case ON dispatches(case_id, id);"
	"CREATE INDEX dispatches_unit ON dispatches(unit_id, id);"
	"CREATE INDEX dispatches_waiting ON dispatches(dispatched_at) WHERE status = 'assigned';"
	"CREATE INDEX dispatches_station ON dispatches(station_id, dispatched_at);"
	"CREATE INDEX dispatches_district ON dispatches(district_id, dispatched_at);",

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

	/*
	 * Scoped case lists (store/cases.c, store_case_list): an index per fine
	 * area level, each ordered by case id within its area (SQLite appends the
	 * rowid), so that a station's or a grid's newest cases are one index
	 * range read backwards. Districts and streets hold a tenth and a hundredth
	 * of the cases: the primary key read backwards finds theirs soon enough,
	 * and every index costs each report. A list for a scope reads the range of
	 * each scope area and trusts the area tree for what lies below it: a
	 * case whose grid is in a station has that station too. case_strays
	 * holds the cases for which that is not so (their areas, located one
	 * layer at a time, do not nest as the tree does: a point on a boundary
	 * that two layers draw a rounding apart), kept by triggers in the same
	 * statement as the case's areas, so that a list reads them as one more
	 * range and stays exact. areas_parent_of keeps the triggers' parent
	 * lookups off the areas' large rows.
	 */
	"CREATE INDEX cases_station ON cases(station_id);"
	"CREATE INDEX cases_police_grid ON cases(police_grid_id);"
	"CREATE INDEX cases_community ON cases(community_id);"
	"CREATE INDEX cases_gov_grid ON cases(gov_grid_id);"
	"CREATE INDEX areas_parent_of ON areas(id, parent_id);"
	"CREATE TABLE case_strays(case_id INTEGER PRIMARY KEY);"
	"CREATE TRIGGER cases_stray_insert AFTER INSERT ON cases WHEN NOT (" CASE_NESTS ") BEGIN"
	"  INSERT OR IGNORE INTO case_strays VALUES(NEW.id);"
	" END;"
	"CREATE TRIGGER cases_stray_move AFTER UPDATE OF city_id, district_id, station_id,"
	" police_grid_id, street_id, community_id, gov_grid_id ON cases BEGIN"
	"  DELETE FROM case_strays WHERE case_id = OLD.id;"
	"  INSERT OR IGNORE INTO case_strays SELECT NEW.id WHERE NOT (" CASE_NESTS ");"
	" END;"
	"INSERT INTO case_strays SELECT NEW.id FROM cases AS NEW WHERE NOT (" CASE_NESTS ");",

	/*
	 * Open cases (store_case_filter.open): a partial index of the cases
	 * still to be handled, a few thousand among millions, newest first, so
	 * that listing them never reads the closed history. It carries their
	 * areas, so that a scoped list picks its cases from the index alone.
	 * One index, not one per area level: each costs every report a check
	 * (1.2 µs a row on the demo load) and an entry while its case is open,
	 * and a scoped list of open cases reads all of their entries at worst.
	 */
	"CREATE INDEX cases_open ON cases(id, city_id, district_id, station_id, police_grid_id,"
	" street_id, community_id, gov_grid_id) WHERE " STORE__CASE_OPEN_SQL ";",

	/*
	 * Repeat callers (store_caller_reports): the key of a report's number
	 * (case_phone_key in model/case.c: the digits, without the +86 or 0086
	 * of a mobile number; a stored number holds only digits, '+', '-' and
	 * spaces), computed when read and kept only in an index of the reports
	 * that have a number, so that a caller's reports, newest first, are one
	 * index range however the number was typed.
	 */
	"ALTER TABLE reports ADD COLUMN caller_key TEXT GENERATED ALWAYS AS (CASE"
	" WHEN length(" CALLER_DIGITS ") = 13 AND substr(" CALLER_DIGITS ", 1, 3) = '861'"
	"  THEN substr(" CALLER_DIGITS ", 3)"
	" WHEN length(" CALLER_DIGITS ") = 15 AND substr(" CALLER_DIGITS ", 1, 5) = '00861'"
	"  THEN substr(" CALLER_DIGITS ", 5)"
	" ELSE " CALLER_DIGITS " END) VIRTUAL;"
	"CREATE INDEX reports_caller ON reports(caller_key, received_at)"
	" WHERE caller_key IS NOT NULL;",

	/*
	 * For a units poll's since (store_force_filter). moved_at: when a unit's
	 * latest position arrived (Unix s, the server's clock); pos_at is the
	 * device's time, and a position sent late (a radio out of coverage) is
	 * newer than the unit's latest yet older than the poll before, which then
	 * never saw it. Known positions count as arrived when their device said.
	 * prev_lon, prev_lat: where the unit was before its latest move, so that
	 * a poll of a box learns of a unit that has just left it.
	 */
	"ALTER TABLE units ADD COLUMN moved_at INTEGER;"
	"ALTER TABLE units ADD COLUMN prev_lon REAL;"
	"ALTER TABLE units ADD COLUMN prev_lat REAL;"
	"UPDATE units SET moved_at = pos_at / 1000 WHERE pos_at IS NOT NULL;",
};

const int store__migration_count = sizeof store__migrations / sizeof store__migrations[0];
