/*
 * nearest.c — benchmark of "the nearest available units of a type" while
 * positions stream in: the unit index in process, against Redis GEOSEARCH and
 * PostGIS KNN in the same run.
 *
 * The world: the demo city (seed 1); 10,000 units placed in its ~100 station
 * areas, five types (patrol car, foot patrol, grid worker, security guard,
 * volunteer), about 40% available. One thread moves units (a step along a
 * wandering heading, at the type's speed) at 5,000 updates/s, one in twenty
 * updates also changing a status; query threads ask for the 5 nearest
 * available units of a random type at a random point of a random station
 * area, as fast as they can. Each phase runs one system under that load:
 *
 *   in-process  unit_index_nearest (scope: the whole city)
 *   over HTTP   the real server (with --demo DEMO.db: started on a copy of
 *               that demo store, built on first use as the other HTTP
 *               benches do), the world's units added through
 *               POST /api/v1/units, GET /api/v1/units/nearest as the
 *               commander on keep-alive connections, positions streamed as
 *               unit_position lines of POST /api/v1/events, 20 ms a batch
 *               (status changes are not sent: a new unit is available or
 *               off duty, the other statuses come from dispatching)
 *   redis       a redis-server started here on loopback with a temp dir.
 *               GEOSEARCH cannot filter, so two shapes run, each its own phase:
 *               "filtered": one GEO set, type and status in the member name
 *               ("id:type:status"), a server-side script asking for more
 *               (growing the radius or the count) until k match;
 *               "key/status": one set per type and status, so nothing needs
 *               filtering and a status change moves the member between sets
 *   postgis     a PostgreSQL started here (initdb in a temp dir, as the
 *               postgres user when run as root), geography points, a GiST
 *               index on (type, geog) partial on status = available,
 *               ORDER BY geog <-> point LIMIT k
 *
 * Every update goes to the system under test and to the in-process index, so
 * after each peer's phase (updates stopped) the same queries are put to both
 * and their answers compared; differences within the peers' rounding (Redis
 * stores 52-bit geohashes and uses another Earth radius) count as near ties.
 * Updates reach the peers in 1 ms batches (a pipelined GEOADD, one UPDATE
 * from arrays), as an ingest would send them. Prints queries/s, p50/p99
 * latency, the client threads' CPU per query, the update rate reached, the
 * ratios and which peer was faster. Redis and PostgreSQL run on the same
 * cores as their clients; the in-process figure has no client to pay for.
 *
 *   sh tools/bench-deps.sh && make && build/bench/nearest --demo DEMO.db
 *   options: --seconds 5 --threads 2 --units 10000 --rate 5000 --k 5
 *            --bin build/safegrid --http-clients 4 --skip http,ceiling,redis,postgis
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "bench_http.h"
#include "demo/city.h"
#include "dispatch/unit_index.h"
#include "geo/coord.h"
#include "geo/polygon.h"
#include "model/area.h"

#define NTYPES	       5
#define NCHECK	       1000
#define SHOW_DISAGREE  5
#define MAX_LAT_SAMPLES (1u << 22)

/* The server's names for the five types the world uses. */
static const char *const type_names[NTYPES] = { "patrol_car", "foot_patrol", "grid_team",
						"guard_patrol", "volunteer_team" };
static const double type_share[NTYPES] = { 0.2, 0.2, 0.3, 0.2, 0.1 };
static const double type_speed_mps[NTYPES] = { 8.0, 1.4, 1.2, 1.0, 1.2 };

enum backend { BK_INPROC, BK_HTTP, BK_REDIS, BK_REDIS_KEYS, BK_PG, BK_COUNT };
static const char *const backend_names[BK_COUNT] = { "in-process", "over HTTP", "redis filtered",
						     "redis key/status",
						     "postgis KNN" };

/* ---- the world ---- */

struct bunit {
	int64_t id; /* index + 1 */
	int type, status;
	int peer_status; /* the status the system under test holds (Redis: in the member name) */
	uint32_t station;
	double lon, lat, heading;
	int64_t at;
};

struct station {
	const struct area *a;
};

struct qpoint {
	double lon, lat;
	int type;
};

struct world {
	struct area_set city;
	struct station *st;
	size_t nst;
	struct bunit *u;
	size_t n;
	struct qpoint *qs;
	size_t nq;
	struct unit_index *ix;
	struct catalog_scope all;
	unsigned k;
};

/* splitmix64, one state per thread. */
static double rnd01(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A uniform point inside a station area (rejection in its box). */
static struct geo_point point_in(const struct area *a, uint64_t *s)
{
	struct geo_point p = { 0.5 * (a->bbox.min_lon + a->bbox.max_lon),
			       0.5 * (a->bbox.min_lat + a->bbox.max_lat) };
	for (int i = 0; i < 200; i++) {
		struct geo_point c = { a->bbox.min_lon + rnd01(s) * (a->bbox.max_lon - a->bbox.min_lon),
				       a->bbox.min_lat + rnd01(s) * (a->bbox.max_lat - a->bbox.min_lat) };
		if (geo_mpoly_contains(&a->geom, c))
			return c;
	}
	return p;
}

static int random_status(uint64_t *s)
{
	static const int busy[4] = { UNIT_OFF_DUTY, UNIT_DISPATCHED, UNIT_ON_SCENE, UNIT_BUSY };
	return rnd01(s) < 0.4 ? UNIT_AVAILABLE : busy[(int)(rnd01(s) * 4) & 3];
}

static int world_build(struct world *w, size_t nunits, unsigned k)
{
	uint64_t s = 20261128;
	double t0 = bench_now();
	int rc;

	memset(w, 0, sizeof *w);
	w->k = k;
	w->all.all = true;
	area_set_init(&w->city);
	if ((rc = demo_city_build(1, &w->city, NULL, NULL)))
		return rc;
	w->st = calloc(w->city.n, sizeof *w->st);
	if (!w->st)
		return SG_ENOMEM;
	for (size_t i = 0; i < w->city.n; i++)
		if (w->city.v[i].kind == AREA_STATION)
			w->st[w->nst++].a = &w->city.v[i];
	w->n = nunits;
	w->u = calloc(nunits, sizeof *w->u);
	w->nq = 200000;
	w->qs = calloc(w->nq, sizeof *w->qs);
	if (!w->u || !w->qs || !w->nst)
		return SG_ENOMEM;
	for (size_t i = 0; i < nunits; i++) {
		struct bunit *u = &w->u[i];
		double r = rnd01(&s), acc = 0;
		struct geo_point p;
		u->id = (int64_t)i + 1;
		u->type = NTYPES - 1;
		for (int t = 0; t < NTYPES; t++) {
			acc += type_share[t];
			if (r < acc) {
				u->type = t;
				break;
			}
		}
		u->status = random_status(&s);
		u->station = (uint32_t)(i % w->nst);
		p = point_in(w->st[u->station].a, &s);
		u->lon = p.lon;
		u->lat = p.lat;
		u->heading = rnd01(&s) * 2 * M_PI;
		u->at = wall_ms();
	}
	for (size_t i = 0; i < w->nq; i++) {
		struct geo_point p = point_in(w->st[(size_t)(rnd01(&s) * (double)w->nst)].a, &s);
		w->qs[i].lon = p.lon;
		w->qs[i].lat = p.lat;
		w->qs[i].type = (int)(rnd01(&s) * NTYPES) % NTYPES;
	}
	if ((rc = unit_index_new(&w->ix)))
		return rc;
	for (size_t i = 0; i < nunits; i++) {
		const struct bunit *u = &w->u[i];
		struct unit_rec r = { u->id, (uint16_t)u->type, (uint8_t)u->status, u->station,
				      true, u->lon, u->lat, u->at, 0, "" };
		if ((rc = unit_index_put(w->ix, &r)))
			return rc;
	}
	fprintf(stderr, "world: demo city with %zu stations, %zu units, %.1f s\n", w->nst, w->n,
		bench_now() - t0);
	return 0;
}

/* ---- temp dirs and child processes ---- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/*
 * Runs argv in a child with stdout and stderr to log; as user (when not
 * NULL and we are root). Returns the pid, or -1.
 */
static pid_t spawn(char *const argv[], const char *log, const struct passwd *user)
{
	pid_t pid;

	fflush(NULL); /* or the child's freopen would write our buffered output again */
	pid = fork();

	if (pid != 0)
		return pid;
	if (user && getuid() == 0 && (setgid(user->pw_gid) != 0 || setuid(user->pw_uid) != 0))
		_exit(126);
	if (!freopen(log, "a", stdout) || dup2(fileno(stdout), 2) < 0)
		_exit(126);
	execv(argv[0], argv);
	_exit(127);
}

static int run_wait(char *const argv[], const char *log, const struct passwd *user)
{
	int status;
	pid_t pid = spawn(argv, log, user);

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void stop_child(pid_t pid, int sig)
{
	if (pid > 0) {
		kill(pid, sig);
		waitpid(pid, NULL, 0);
	}
}

/* ---- Redis ---- */

struct redis_server {
	char dir[64];
	int port;
	pid_t pid;
};

/* Whether Redis keeps one GEO set per type and status (else one set, filtered). */
static bool redis_per_key;

/* The member a unit is in Redis: "id:type:status" in the one set, "id" in per-key sets. */
static void member_name(const struct bunit *u, int status, char *buf, size_t cap)
{
	if (redis_per_key)
		snprintf(buf, cap, "%lld", (long long)u->id);
	else
		snprintf(buf, cap, "%lld:%d:%d", (long long)u->id, u->type, status);
}

/* The set a unit is in: "units", or "units:type:status". */
static void set_name(const struct bunit *u, int status, char *buf, size_t cap)
{
	if (redis_per_key)
		snprintf(buf, cap, "units:%d:%d", u->type, status);
	else
		snprintf(buf, cap, "units");
}

static redisContext *redis_connect(int port)
{
	redisContext *c = redisConnect("127.0.0.1", port);
	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	return c;
}

static int redis_start(struct redis_server *r)
{
	char port[16], log[128];
	char *argv[] = { "/usr/bin/redis-server", "--port", port, "--bind", "127.0.0.1",
			 "--dir", r->dir, "--save", "", "--appendonly", "no",
			 "--protected-mode", "no", "--loglevel", "warning", NULL };

	snprintf(r->dir, sizeof r->dir, "%s/nearest-redis-XXXXXX", P_tmpdir);
	if (!mkdtemp(r->dir))
		return -1;
	r->port = free_port();
	snprintf(port, sizeof port, "%d", r->port);
	snprintf(log, sizeof log, "%s/redis.log", r->dir);
	if (access(argv[0], X_OK) != 0)
		argv[0] = "/usr/local/bin/redis-server";
	r->pid = spawn(argv, log, NULL);
	if (r->pid < 0)
		return -1;
	for (int i = 0; i < 100; i++) {
		redisContext *c = redis_connect(r->port);
		if (c) {
			redisReply *rep = redisCommand(c, "PING");
			int ok = rep && rep->type == REDIS_REPLY_STATUS;
			freeReplyObject(rep);
			redisFree(c);
			if (ok)
				return 0;
		}
		usleep(50000);
	}
	return -1;
}

static void redis_stop(struct redis_server *r)
{
	stop_child(r->pid, SIGTERM);
	rm_tree(r->dir);
}

/*
 * The k nearest available units of a type through GEOSEARCH. GEOSEARCH
 * cannot filter, so a script asks it for more and filters on the server,
 * in one round trip: from a 3 km radius and 200 candidates it grows the
 * count when the answer was cut by it and the radius otherwise, until k
 * members end in ":type:1" (available) or the radius covers the city.
 * (Filtering in the client instead costs a round trip per growth and the
 * parsing of every candidate: several times slower here.)
 */
static const char redis_script[] =
	"local k, suffix = tonumber(ARGV[3]), ARGV[4]\n"
	"local radius, count = 3000, 200\n"
	"while true do\n"
	"  local r = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2],\n"
	"                       'BYRADIUS', radius, 'm', 'ASC', 'COUNT', count, 'WITHDIST')\n"
	"  local out = {}\n"
	"  for i = 1, #r do\n"
	"    local m = r[i][1]\n"
	"    if string.sub(m, -#suffix) == suffix then\n"
	"      out[#out + 1] = m\n"
	"      out[#out + 1] = r[i][2]\n"
	"      if #out >= 2 * k then return out end\n"
	"    end\n"
	"  end\n"
	"  if #r < count and radius >= 300000 then return out end\n"
	"  if #r == count then count = count * 4 else radius = radius * 4 end\n"
	"end\n";

/*
 * With a set per type and status nothing needs filtering: the script only
 * grows the radius until k are found. Redis's best shape for this question,
 * at the price of moving members between sets on every status change.
 */
static const char redis_script_keys[] =
	"local k = tonumber(ARGV[3])\n"
	"local radius = 3000\n"
	"while true do\n"
	"  local r = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2],\n"
	"                       'BYRADIUS', radius, 'm', 'ASC', 'COUNT', k, 'WITHDIST')\n"
	"  if #r >= k or radius >= 300000 then\n"
	"    local out = {}\n"
	"    for i = 1, #r do out[#out + 1] = r[i][1]; out[#out + 1] = r[i][2] end\n"
	"    return out\n"
	"  end\n"
	"  radius = radius * 4\n"
	"end\n";

static char redis_sha[64];

/* Replaces the GEO set with every unit as the world holds it (pipelined). */
static int redis_load(redisContext *c, struct world *w)
{
	redisReply *rep = redisCommand(c, "SCRIPT LOAD %s",
				       redis_per_key ? redis_script_keys : redis_script);
	int rc = rep && rep->type == REDIS_REPLY_STRING && rep->len < sizeof redis_sha ? 0 : -1;

	if (!rc)
		memcpy(redis_sha, rep->str, rep->len + 1);
	freeReplyObject(rep);
	rep = rc ? NULL : redisCommand(c, "FLUSHALL");
	rc = rep ? 0 : -1;
	freeReplyObject(rep);
	for (size_t i = 0; i < w->n && !rc; i++) {
		char m[64], key[32], lon[32], lat[32];
		w->u[i].peer_status = w->u[i].status;
		member_name(&w->u[i], w->u[i].status, m, sizeof m);
		set_name(&w->u[i], w->u[i].status, key, sizeof key);
		snprintf(lon, sizeof lon, "%.9f", w->u[i].lon);
		snprintf(lat, sizeof lat, "%.9f", w->u[i].lat);
		rc = redisAppendCommand(c, "GEOADD %s %s %s %s", key, lon, lat, m) == REDIS_OK ? 0 : -1;
	}
	for (size_t i = 0; i < w->n && !rc; i++) {
		void *r = NULL;
		rc = redisGetReply(c, &r) == REDIS_OK ? 0 : -1;
		freeReplyObject(r);
	}
	return rc;
}


static int redis_nearest(redisContext *c, const struct qpoint *q, unsigned k, int64_t *ids,
			 double *dist, unsigned *n)
{
	char lon[32], lat[32], kk[8], suffix[16], key[32];
	redisReply *rep;

	snprintf(lon, sizeof lon, "%.9f", q->lon);
	snprintf(lat, sizeof lat, "%.9f", q->lat);
	snprintf(kk, sizeof kk, "%u", k);
	snprintf(suffix, sizeof suffix, ":%d:%d", q->type, UNIT_AVAILABLE);
	snprintf(key, sizeof key, redis_per_key ? "units:%d:%d" : "units", q->type, UNIT_AVAILABLE);
	rep = redisCommand(c, "EVALSHA %s 1 %s %s %s %s %s", redis_sha, key, lon, lat, kk, suffix);
	if (!rep || rep->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(rep);
		return -1;
	}
	*n = 0;
	for (size_t i = 0; i + 1 < rep->elements && *n < k; i += 2) {
		ids[*n] = strtoll(rep->element[i]->str, NULL, 10);
		dist[*n] = strtod(rep->element[i + 1]->str, NULL);
		(*n)++;
	}
	freeReplyObject(rep);
	return 0;
}

/* ---- PostgreSQL + PostGIS ---- */

struct pg_server {
	char dir[64];
	char conninfo[128];
	int port;
	pid_t pid;
};

static const char *pg_bindir(void)
{
	static char dir[256];
	FILE *p = popen("pg_config --bindir 2>/dev/null", "r");
	struct stat st;

	dir[0] = '\0';
	if (p) {
		if (!fgets(dir, sizeof dir, p))
			dir[0] = '\0';
		pclose(p);
		dir[strcspn(dir, "\n")] = '\0';
	}
	if (dir[0]) {
		char initdb[300];
		snprintf(initdb, sizeof initdb, "%s/initdb", dir);
		if (stat(initdb, &st) == 0)
			return dir;
	}
	/* libpq's pg_config may come without the server: look where Debian puts it. */
	for (int v = 20; v >= 12; v--) {
		snprintf(dir, sizeof dir, "/usr/lib/postgresql/%d/bin/initdb", v);
		if (stat(dir, &st) == 0) {
			dir[strlen(dir) - strlen("/initdb")] = '\0';
			return dir;
		}
	}
	return NULL;
}

static PGresult *pg_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType s = PQresultStatus(r);

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
		fprintf(stderr, "postgres: %s: %s", sql, PQerrorMessage(c));
		PQclear(r);
		return NULL;
	}
	return r;
}

static int pg_exec(PGconn *c, const char *sql)
{
	PGresult *r = pg_ok(c, sql);
	PQclear(r);
	return r ? 0 : -1;
}

static int pg_start(struct pg_server *p)
{
	const char *bin = pg_bindir();
	const struct passwd *pw = getuid() == 0 ? getpwnam("postgres") : NULL;
	char initdb[300], postgres[300], data[128], log[128], port[16];

	if (!bin) {
		fprintf(stderr, "postgres: no initdb found (sh tools/bench-deps.sh)\n");
		return -1;
	}
	if (getuid() == 0 && !pw) {
		fprintf(stderr, "postgres: running as root needs a 'postgres' user\n");
		return -1;
	}
	snprintf(p->dir, sizeof p->dir, "%s/nearest-pg-XXXXXX", P_tmpdir);
	if (!mkdtemp(p->dir))
		return -1;
	if (pw && chown(p->dir, pw->pw_uid, pw->pw_gid) != 0)
		return -1;
	snprintf(initdb, sizeof initdb, "%s/initdb", bin);
	snprintf(postgres, sizeof postgres, "%s/postgres", bin);
	snprintf(data, sizeof data, "%s/data", p->dir);
	snprintf(log, sizeof log, "%s/pg.log", p->dir);
	p->port = free_port();
	snprintf(port, sizeof port, "%d", p->port);
	{
		char *argv[] = { initdb, "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
				 "--no-sync", NULL };
		if (run_wait(argv, log, pw)) {
			fprintf(stderr, "postgres: initdb failed, see %s\n", log);
			return -1;
		}
	}
	{
		/* Not durable, like the other two: the comparison is about queries. */
		char *argv[] = { postgres, "-D", data, "-p", port, "-k", p->dir,
				 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
				 "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
				 "-c", "shared_buffers=128MB", "-c", "max_connections=40",
				 "-c", "jit=off", NULL };
		p->pid = spawn(argv, log, pw);
	}
	snprintf(p->conninfo, sizeof p->conninfo,
		 "host=127.0.0.1 port=%d user=postgres dbname=postgres", p->port);
	for (int i = 0; i < 200; i++) {
		if (PQping(p->conninfo) == PQPING_OK)
			return 0;
		usleep(50000);
	}
	fprintf(stderr, "postgres: did not start, see %s\n", log);
	return -1;
}

static void pg_stop(struct pg_server *p)
{
	stop_child(p->pid, SIGINT); /* fast shutdown */
	rm_tree(p->dir);
}

static PGconn *pg_connect(const struct pg_server *p)
{
	PGconn *c = PQconnectdb(p->conninfo);
	PGresult *r;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "postgres: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	r = PQprepare(c, "near",
		      "SELECT id, ST_Distance(geog, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, "
		      "false) FROM units WHERE status = 1 AND type = $3::smallint "
		      "ORDER BY geog <-> ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography LIMIT $4",
		      4, NULL);
	PQclear(r);
	r = PQprepare(c, "apply",
		      "UPDATE units u SET geog = ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326)::geography, "
		      "status = v.st FROM unnest($1::bigint[], $2::float8[], $3::float8[], "
		      "$4::smallint[]) AS v(id, lon, lat, st) WHERE u.id = v.id",
		      4, NULL);
	PQclear(r);
	return c;
}

/* Creates the table and its index once. */
static int pg_setup(PGconn *c)
{
	return pg_exec(c, "CREATE EXTENSION IF NOT EXISTS postgis") ||
	       pg_exec(c, "CREATE EXTENSION IF NOT EXISTS btree_gist") ||
	       pg_exec(c, "CREATE TABLE units (id bigint PRIMARY KEY, type smallint NOT NULL, "
			  "status smallint NOT NULL, geog geography(Point, 4326) NOT NULL) "
			  "WITH (fillfactor = 50)") ||
	       /* The best index for this question: KNN within one type, available units only. */
	       pg_exec(c, "CREATE INDEX units_available_knn ON units USING gist (type, geog) "
			  "WHERE status = 1");
}

/* Replaces every row with the world's units (COPY). */
static int pg_load(PGconn *c, const struct world *w)
{
	PGresult *r;
	char line[160];
	int rc = 0;

	if (pg_exec(c, "TRUNCATE units"))
		return -1;
	r = PQexec(c, "COPY units (id, type, status, geog) FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		fprintf(stderr, "postgres: COPY: %s", PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	for (size_t i = 0; i < w->n && !rc; i++) {
		const struct bunit *u = &w->u[i];
		int len = snprintf(line, sizeof line, "%lld\t%d\t%d\tSRID=4326;POINT(%.9f %.9f)\n",
				   (long long)u->id, u->type, u->status, u->lon, u->lat);
		rc = PQputCopyData(c, line, len) == 1 ? 0 : -1;
	}
	if (PQputCopyEnd(c, rc ? "failed" : NULL) != 1)
		rc = -1;
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "postgres: COPY: %s", PQerrorMessage(c));
		rc = -1;
	}
	PQclear(r);
	while ((r = PQgetResult(c)))
		PQclear(r);
	return rc || pg_exec(c, "VACUUM ANALYZE units");
}

static int pg_nearest(PGconn *c, const struct qpoint *q, unsigned k, int64_t *ids, double *dist,
		      unsigned *n)
{
	char lon[32], lat[32], type[8], kk[8];
	const char *params[4] = { lon, lat, type, kk };
	PGresult *r;

	snprintf(lon, sizeof lon, "%.9f", q->lon);
	snprintf(lat, sizeof lat, "%.9f", q->lat);
	snprintf(type, sizeof type, "%d", q->type);
	snprintf(kk, sizeof kk, "%u", k);
	r = PQexecPrepared(c, "near", 4, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		PQclear(r);
		return -1;
	}
	*n = 0;
	for (int i = 0; i < PQntuples(r) && *n < k; i++) {
		ids[*n] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		dist[*n] = strtod(PQgetvalue(r, i, 1), NULL);
		(*n)++;
	}
	PQclear(r);
	return 0;
}

static int pg_cmd(PGconn *c, const char *stmt, int nparams, const char *const *params)
{
	PGresult *r = PQexecPrepared(c, stmt, nparams, params, NULL, NULL, 0);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	PQclear(r);
	return rc;
}

/* ---- the real server over HTTP ---- */

/* The real server, started on a copy of the demo store, with the world's units added. */
struct http_server {
	char dir[64], db[128], log[128];
	int port;
	pid_t pid;
	char token[256];
	int64_t org_id;
	int64_t *ids; /* the server's id of each world unit */
};


struct create_job {
	struct world *w;
	struct http_server *hs;
	size_t from, to;
	int failed;
};

/* Adds world units [from, to) through POST /api/v1/units on one keep-alive connection. */
static void *create_units(void *arg)
{
	struct create_job *j = arg;
	struct bench_conn c;
	char body[512];

	if (bench_connect(&c, j->hs->port)) {
		j->failed = 1;
		return NULL;
	}
	for (size_t i = j->from; i < j->to && !j->failed; i++) {
		const struct bunit *u = &j->w->u[i];
		const char *id;
		int n = snprintf(body, sizeof body,
				 "{\"type\":\"%s\",\"callsign\":\"bench-%lld\",\"org_id\":%lld,"
				 "\"area\":\"%s\",\"status\":\"%s\",\"lon\":%.9f,\"lat\":%.9f}",
				 type_names[u->type], (long long)u->id, (long long)j->hs->org_id,
				 j->w->st[u->station].a->code,
				 u->status == UNIT_AVAILABLE ? "available" : "off_duty", u->lon, u->lat);
		if (bench_request(&c, "POST", "/api/v1/units", j->hs->token, "application/json", body,
				  (size_t)n) ||
		    c.status != 201 || !(id = strstr(c.body, "\"id\":"))) {
			fprintf(stderr, "http: adding unit %zu: %d %.*s\n", i, c.status,
				(int)(c.body_len < 300 ? c.body_len : 300), c.body ? c.body : "");
			j->failed = 1;
			break;
		}
		j->hs->ids[i] = strtoll(id + 5, NULL, 10);
	}
	bench_close(&c);
	return NULL;
}

/*
 * Starts the server on a copy of the demo store (built on first use), logs
 * in as the commander (the whole city) and adds the world's units, each in
 * its station's area, available or off duty (the two states a new unit may
 * have: the other statuses come from dispatching).
 */
static int http_start(struct http_server *hs, struct world *w, const char *demo, const char *bin)
{
	struct bench_conn c;
	struct create_job jobs[8];
	pthread_t th[8];
	const char *id;
	double t0;
	int failed = 0;

	if (bench_prepare_demo(demo)) {
		fprintf(stderr, "http: cannot prepare the demo store %s\n", demo);
		return -1;
	}
	snprintf(hs->dir, sizeof hs->dir, "%s/nearest-http-XXXXXX", P_tmpdir);
	if (!mkdtemp(hs->dir))
		return -1;
	snprintf(hs->db, sizeof hs->db, "%s/demo.db", hs->dir);
	snprintf(hs->log, sizeof hs->log, "%s/server.log", hs->dir);
	if (bench_copy(demo, hs->db))
		return -1;
	hs->port = free_port();
	fflush(NULL);
	hs->pid = bench_start_server(bin, hs->db, hs->port, hs->log, NULL);
	if (hs->pid < 0) {
		fprintf(stderr, "http: the server did not start (%s)\n", bin);
		return -1;
	}
	if (bench_login(hs->port, "commander", "safegrid-demo", hs->token, sizeof hs->token) ||
	    bench_connect(&c, hs->port)) {
		fprintf(stderr, "http: login failed\n");
		return -1;
	}
	if (bench_request(&c, "GET", "/api/v1/orgs", hs->token, NULL, NULL, 0) || c.status != 200 ||
	    !(id = strstr(c.body, "\"id\":"))) {
		fprintf(stderr, "http: no organisation to add units to\n");
		bench_close(&c);
		return -1;
	}
	hs->org_id = strtoll(id + 5, NULL, 10);
	bench_close(&c);
	hs->ids = calloc(w->n, sizeof *hs->ids);
	if (!hs->ids)
		return -1;
	t0 = bench_now();
	for (size_t t = 0; t < 8; t++) {
		jobs[t] = (struct create_job){ w, hs, w->n * t / 8, w->n * (t + 1) / 8, 0 };
		pthread_create(&th[t], NULL, create_units, &jobs[t]);
	}
	for (size_t t = 0; t < 8; t++) {
		pthread_join(th[t], NULL);
		failed |= jobs[t].failed;
	}
	if (!failed)
		fprintf(stderr, "http: %zu units added in %.1f s\n", w->n, bench_now() - t0);
	return failed ? -1 : 0;
}

static void http_stop(struct http_server *hs)
{
	bench_stop_server(hs->pid);
	bench_remove_db(hs->db);
	rm_tree(hs->dir);
	free(hs->ids);
}

/* ---- one connection to whichever system a phase runs ---- */

struct peers {
	struct http_server http;
	struct redis_server redis;
	struct pg_server pg;
};

struct conn {
	enum backend bk;
	redisContext *redis;
	PGconn *pg;
	struct bench_conn http;
	bool http_open;
	const struct http_server *hs;
	char *body; /* NDJSON for a batch of positions */
	size_t body_cap;
};

/*
 * GET /api/v1/units/nearest for the k nearest available units of the
 * query's type; the answer's unit ids and distances are read from the JSON
 * (the server ranks its candidates by ETA, so its order can differ from
 * the index's by distance).
 */
/*
 * When set, the HTTP clients ask GET /healthz instead (no authentication, no
 * work) under the same position stream: the ceiling of the HTTP layer on
 * this machine, measured in the same run.
 */
static bool http_ceiling_mode;

static int http_nearest(struct conn *c, const struct qpoint *q, unsigned k, int64_t *ids,
			double *dist, unsigned *n)
{
	if (http_ceiling_mode) {
		*n = 0;
		return bench_request(&c->http, "GET", "/healthz", NULL, NULL, NULL, 0) ||
				       c->http.status != 200
			       ? -1
			       : 0;
	}
	char path[256];
	const char *p;

	snprintf(path, sizeof path, "/api/v1/units/nearest?lon=%.7f&lat=%.7f&type=%s&k=%u", q->lon,
		 q->lat, type_names[q->type], k);
	if (bench_request(&c->http, "GET", path, c->hs->token, NULL, NULL, 0) ||
	    c->http.status != 200)
		return -1;
	*n = 0;
	for (p = c->http.body; *n < k && (p = strstr(p, "{\"unit\":{\"id\":"));) {
		const char *d = strstr(p, "\"distance_m\":");
		ids[*n] = strtoll(p + 14, NULL, 10);
		dist[*n] = d ? strtod(d + 13, NULL) : NAN;
		(*n)++;
		p += 14;
	}
	return *n == k ? 0 : -1;
}

/* Sends the batch's latest positions as unit_position lines of one POST /api/v1/events. */
static int http_apply(struct conn *c, struct world *w, const size_t *batch, size_t n)
{
	size_t len = 0;

	if (c->body_cap < n * 160 + 1) {
		char *nb = realloc(c->body, n * 160 + 1);
		if (!nb)
			return -1;
		c->body = nb;
		c->body_cap = n * 160 + 1;
	}
	for (size_t j = 0; j < n; j++) {
		const struct bunit *u = &w->u[batch[j]];
		len += (size_t)snprintf(c->body + len, c->body_cap - len,
					"{\"kind\":\"unit_position\",\"unit_id\":%lld,\"lon\":%.7f,"
					"\"lat\":%.7f,\"at\":%lld}\n",
					(long long)c->hs->ids[batch[j]], u->lon, u->lat,
					(long long)u->at);
	}
	if (bench_request(&c->http, "POST", "/api/v1/events", c->hs->token, "application/x-ndjson",
			  c->body, len) ||
	    c->http.status != 200 || strstr(c->http.body, "\"rejected\":[{"))
		return -1;
	return 0;
}

static int conn_open(struct conn *c, enum backend bk, const struct peers *p)
{
	memset(c, 0, sizeof *c);
	c->bk = bk;
	if (bk == BK_REDIS || bk == BK_REDIS_KEYS)
		return (c->redis = redis_connect(p->redis.port)) ? 0 : -1;
	if (bk == BK_PG)
		return (c->pg = pg_connect(&p->pg)) ? 0 : -1;
	if (bk == BK_HTTP) {
		c->hs = &p->http;
		if (bench_connect(&c->http, p->http.port))
			return -1;
		c->http_open = true;
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->redis)
		redisFree(c->redis);
	if (c->pg)
		PQfinish(c->pg);
	if (c->http_open)
		bench_close(&c->http);
	free(c->body);
	memset(c, 0, sizeof *c);
}

static int conn_nearest(struct conn *c, struct world *w, const struct qpoint *q, int64_t *ids,
			double *dist, unsigned *n)
{
	if (c->redis)
		return redis_nearest(c->redis, q, w->k, ids, dist, n);
	if (c->bk == BK_PG)
		return pg_nearest(c->pg, q, w->k, ids, dist, n);
	if (c->bk == BK_HTTP)
		return http_nearest(c, q, w->k, ids, dist, n);
	{
		struct unit_hit hits[UNIT_QUERY_MAX_K];
		struct unit_query uq = { q->lon, q->lat, w->k, 0, 1u << q->type,
					 1u << UNIT_AVAILABLE, 0, &w->all };
		int rc = unit_index_nearest(w->ix, &uq, hits, n, NULL);
		for (unsigned i = 0; !rc && i < *n; i++) {
			ids[i] = hits[i].unit.id;
			dist[i] = hits[i].distance_m;
		}
		return rc;
	}
}

/* ---- a phase: one updater, several query threads ---- */

struct phase {
	struct world *w;
	const struct peers *peers;
	enum backend bk;
	double rate;
	atomic_bool measuring, stop;
	atomic_long updates, update_errors, query_errors;
	double t_measure;
};

struct qthread {
	struct phase *ph;
	pthread_t th;
	unsigned idx;
	float *lat_us;
	size_t nlat;
	long queries;
	double cpu_s; /* this thread's CPU time while measuring */
	int open_failed;
};

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * One step of one unit, applied to the world and the index; returns the
 * unit's index for the system under test to be told in the tick's batch.
 */
static size_t update_one(struct phase *ph, uint64_t *s, int *rc)
{
	struct world *w = ph->w;
	size_t i = (size_t)(rnd01(s) * (double)w->n) % w->n;
	struct bunit *u = &w->u[i];
	const struct area *st = w->st[u->station].a;
	double step = type_speed_mps[u->type] * 2.0; /* each unit reports every ~2 s */
	double nlon, nlat;

	u->heading += (rnd01(s) - 0.5) * 0.8;
	nlon = u->lon + step * sin(u->heading) / (111320.0 * cos(u->lat * M_PI / 180.0));
	nlat = u->lat + step * cos(u->heading) / 110540.0;
	if (nlon < st->bbox.min_lon || nlon > st->bbox.max_lon || nlat < st->bbox.min_lat ||
	    nlat > st->bbox.max_lat) {
		u->heading += M_PI; /* turn back at the edge of the beat */
	} else {
		u->lon = nlon;
		u->lat = nlat;
	}
	u->at = wall_ms() > u->at ? wall_ms() : u->at + 1;
	*rc |= unit_index_move(w->ix, u->id, u->lon, u->lat, u->at);
	if (rnd01(s) < 0.05) {
		int old = u->status;
		u->status = random_status(s);
		if (u->status != old)
			*rc |= unit_index_set_status(w->ix, u->id, (enum unit_status)u->status, 0);
	}
	return i;
}

/*
 * Tells Redis the latest state of the batch's units, pipelined: one GEOADD
 * for those that only moved (one per unit with per-key sets), and
 * MULTI/ZREM/GEOADD/EXEC for a member that changes name or set.
 */
static int redis_apply(redisContext *c, struct world *w, const size_t *batch, size_t n)
{
	const char **argv = malloc((2 + 3 * n) * sizeof *argv);
	size_t *lens = malloc((2 + 3 * n) * sizeof *lens);
	char (*txt)[3][40] = malloc(n * sizeof *txt);
	size_t argc = 2, replies = 0;
	int rc = 0;

	if (!argv || !lens || !txt) {
		rc = -1;
		goto out;
	}
	argv[0] = "GEOADD";
	argv[1] = "units";
	for (size_t j = 0; j < n; j++) {
		struct bunit *u = &w->u[batch[j]];
		snprintf(txt[j][0], sizeof txt[j][0], "%.9f", u->lon);
		snprintf(txt[j][1], sizeof txt[j][1], "%.9f", u->lat);
		member_name(u, u->status, txt[j][2], sizeof txt[j][2]);
		if (u->peer_status != u->status) {
			char old[40], okey[32], nkey[32];
			member_name(u, u->peer_status, old, sizeof old);
			set_name(u, u->peer_status, okey, sizeof okey);
			set_name(u, u->status, nkey, sizeof nkey);
			redisAppendCommand(c, "MULTI");
			redisAppendCommand(c, "ZREM %s %s", okey, old);
			redisAppendCommand(c, "GEOADD %s %s %s %s", nkey, txt[j][0], txt[j][1],
					   txt[j][2]);
			redisAppendCommand(c, "EXEC");
			replies += 4;
			u->peer_status = u->status;
			continue;
		}
		if (redis_per_key) {
			char key[32];
			set_name(u, u->status, key, sizeof key);
			redisAppendCommand(c, "GEOADD %s %s %s %s", key, txt[j][0], txt[j][1], txt[j][2]);
			replies++;
			continue;
		}
		for (int f = 0; f < 3; f++)
			argv[argc++] = txt[j][f];
	}
	if (argc > 2) {
		for (size_t a = 0; a < argc; a++)
			lens[a] = strlen(argv[a]);
		redisAppendCommandArgv(c, (int)argc, argv, lens);
		replies++;
	}
	for (size_t r = 0; r < replies; r++) {
		void *rep = NULL;
		if (redisGetReply(c, &rep) != REDIS_OK)
			rc = -1;
		freeReplyObject(rep);
	}
out:
	free(argv);
	free(lens);
	free(txt);
	return rc;
}

/* Tells PostgreSQL the latest state of the batch's units: one UPDATE ... FROM unnest(arrays). */
static int pg_apply(PGconn *c, struct world *w, const size_t *batch, size_t n)
{
	struct text {
		char *p;
		size_t len, cap;
	} a[4] = { { 0 } };
	const char *params[4];
	int rc = 0;

	for (int f = 0; f < 4; f++) {
		a[f].cap = 32 * n + 8;
		a[f].p = malloc(a[f].cap);
		if (!a[f].p)
			rc = -1;
		else
			a[f].len = (size_t)snprintf(a[f].p, a[f].cap, "{");
	}
	for (size_t j = 0; j < n && !rc; j++) {
		const struct bunit *u = &w->u[batch[j]];
		const char *sep = j ? "," : "";
		a[0].len += (size_t)snprintf(a[0].p + a[0].len, a[0].cap - a[0].len, "%s%lld", sep,
					     (long long)u->id);
		a[1].len += (size_t)snprintf(a[1].p + a[1].len, a[1].cap - a[1].len, "%s%.9f", sep,
					     u->lon);
		a[2].len += (size_t)snprintf(a[2].p + a[2].len, a[2].cap - a[2].len, "%s%.9f", sep,
					     u->lat);
		a[3].len += (size_t)snprintf(a[3].p + a[3].len, a[3].cap - a[3].len, "%s%d", sep,
					     u->status);
	}
	for (int f = 0; f < 4 && !rc; f++) {
		snprintf(a[f].p + a[f].len, a[f].cap - a[f].len, "}");
		params[f] = a[f].p;
	}
	if (!rc)
		rc = pg_cmd(c, "apply", 4, params);
	for (int f = 0; f < 4; f++)
		free(a[f].p);
	return rc;
}

/*
 * Paces updates at ph->rate per second in 1 ms ticks until told to stop.
 * Each tick's updates reach the index one by one and the system under test
 * as one batch (a pipelined GEOADD, one UPDATE), the way an ingest would
 * write them; a unit moved twice in a tick is sent once, as it ends up.
 */
static void *updater(void *arg)
{
	struct phase *ph = arg;
	struct conn c;
	uint64_t s = 777 + (uint64_t)ph->bk;
	double t0 = bench_now();
	long done = 0;
	size_t *batch = malloc(1024 * sizeof *batch), nb;

	if (!batch || conn_open(&c, ph->bk, ph->peers)) {
		atomic_fetch_add(&ph->update_errors, 1);
		free(batch);
		return NULL;
	}
	/* The server takes positions in POSTs of 20 ms worth (100 lines at 5,000/s), as a gateway would. */
	long tick = ph->bk == BK_HTTP ? (long)(ph->rate * 0.020) : 1;

	while (!atomic_load(&ph->stop)) {
		long due = (long)((bench_now() - t0) * ph->rate);
		int rc = 0;
		if (done + tick > due) {
			struct timespec ts = { 0, 500000 };
			nanosleep(&ts, NULL);
			continue;
		}
		for (nb = 0; done < due && nb < 1024; done++) {
			size_t i = update_one(ph, &s, &rc), j;
			for (j = 0; j < nb && batch[j] != i; j++)
				;
			if (j == nb)
				batch[nb++] = i;
			if (atomic_load_explicit(&ph->measuring, memory_order_relaxed))
				atomic_fetch_add_explicit(&ph->updates, 1, memory_order_relaxed);
		}
		if (c.http_open)
			rc |= http_apply(&c, ph->w, batch, nb);
		else if (c.redis)
			rc |= redis_apply(c.redis, ph->w, batch, nb);
		else if (ph->bk == BK_PG)
			rc |= pg_apply(c.pg, ph->w, batch, nb);
		if (rc)
			atomic_fetch_add(&ph->update_errors, 1);
	}
	conn_close(&c);
	free(batch);
	return NULL;
}

static void *querier(void *arg)
{
	struct qthread *t = arg;
	struct phase *ph = t->ph;
	struct world *w = ph->w;
	struct conn c;
	int64_t ids[UNIT_QUERY_MAX_K];
	double dist[UNIT_QUERY_MAX_K];
	size_t i = (size_t)t->idx * 7919;
	double cpu0 = 0;
	bool was_measuring = false;

	if (conn_open(&c, ph->bk, ph->peers)) {
		t->open_failed = 1;
		return NULL;
	}
	while (!atomic_load_explicit(&ph->stop, memory_order_relaxed)) {
		const struct qpoint *q = &w->qs[i++ % w->nq];
		unsigned n = 0;
		double a = bench_now(), b;
		int rc = conn_nearest(&c, w, q, ids, dist, &n);
		b = bench_now();
		if (rc)
			atomic_fetch_add(&ph->query_errors, 1);
		if (atomic_load_explicit(&ph->measuring, memory_order_relaxed)) {
			if (!was_measuring) {
				was_measuring = true;
				cpu0 = thread_cpu_s();
				continue; /* count from here */
			}
			t->queries++;
			if (t->nlat < MAX_LAT_SAMPLES)
				t->lat_us[t->nlat++] = (float)((b - a) * 1e6);
		} else if (was_measuring && !t->cpu_s) {
			t->cpu_s = thread_cpu_s() - cpu0;
		}
	}
	conn_close(&c);
	return NULL;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

struct result {
	bool ran;
	double qps, p50_us, p99_us, cpu_us, updates_per_s;
	long update_errors, query_errors;
	unsigned same, near_ties, disagree;
};

/*
 * Compares the peer's answer with the index's for the first NCHECK queries,
 * updates stopped. A different unit at the same rank counts as a near tie
 * when its distance (measured our way) is within a metre and 0.1% of ours.
 */
static void check_agreement(struct world *w, const struct peers *peers, enum backend bk,
			    struct result *res)
{
	struct conn pc, ic;
	int shown = 0;

	if (conn_open(&pc, bk, peers) || conn_open(&ic, BK_INPROC, peers))
		return;
	for (size_t i = 0; i < NCHECK && i < w->nq; i++) {
		const struct qpoint *q = &w->qs[i];
		int64_t pid[UNIT_QUERY_MAX_K], iid[UNIT_QUERY_MAX_K];
		double pd[UNIT_QUERY_MAX_K], id_[UNIT_QUERY_MAX_K];
		unsigned pn = 0, in = 0;
		bool same, tie = true;

		if (conn_nearest(&pc, w, q, pid, pd, &pn) || conn_nearest(&ic, w, q, iid, id_, &in)) {
			res->disagree++;
			continue;
		}
		same = pn == in;
		for (unsigned j = 0; same && j < in; j++)
			same = pid[j] == iid[j];
		if (same) {
			res->same++;
			continue;
		}
		tie = pn == in;
		for (unsigned j = 0; tie && j < in; j++) {
			const struct bunit *u = pid[j] >= 1 && (size_t)pid[j] <= w->n
							? &w->u[pid[j] - 1] : NULL;
			double ours = u ? geo_distance_m((struct geo_point){ q->lon, q->lat },
							 (struct geo_point){ u->lon, u->lat })
					: INFINITY;
			tie = u && u->type == q->type && u->status == UNIT_AVAILABLE &&
			      fabs(ours - id_[j]) <= 1.0 + 1e-3 * id_[j];
		}
		if (tie) {
			res->near_ties++;
			continue;
		}
		res->disagree++;
		if (shown++ < SHOW_DISAGREE) {
			fprintf(stderr, "  %s disagrees at (%.6f, %.6f) type %s:\n", backend_names[bk],
				q->lon, q->lat, type_names[q->type]);
			for (unsigned j = 0; j < pn || j < in; j++)
				fprintf(stderr, "    #%u  index %lld %.1f m   %s %lld %.1f m\n", j + 1,
					j < in ? (long long)iid[j] : 0LL, j < in ? id_[j] : 0.0,
					backend_names[bk], j < pn ? (long long)pid[j] : 0LL,
					j < pn ? pd[j] : 0.0);
		}
	}
	conn_close(&pc);
	conn_close(&ic);
}

static int run_phase(struct world *w, const struct peers *peers, enum backend bk, double seconds,
		     unsigned nthreads, double rate, struct result *res)
{
	struct phase ph;
	struct qthread *t = calloc(nthreads, sizeof *t);
	pthread_t up;
	size_t nlat = 0, at = 0;
	float *all;
	long queries = 0;
	double cpu = 0;
	struct timespec warm = { 0, 500000000 };
	struct timespec run = { (time_t)seconds, (long)((seconds - floor(seconds)) * 1e9) };
	double t_end;
	int rc = 0;

	memset(res, 0, sizeof *res);
	memset(&ph, 0, sizeof ph);
	ph.w = w;
	ph.peers = peers;
	ph.bk = bk;
	ph.rate = rate;
	if (!t)
		return SG_ENOMEM;
	pthread_create(&up, NULL, updater, &ph);
	for (unsigned i = 0; i < nthreads; i++) {
		t[i].ph = &ph;
		t[i].idx = i;
		t[i].lat_us = malloc(MAX_LAT_SAMPLES * sizeof(float));
		pthread_create(&t[i].th, NULL, querier, &t[i]);
	}
	nanosleep(&warm, NULL);
	ph.t_measure = bench_now();
	atomic_store(&ph.measuring, true);
	nanosleep(&run, NULL);
	atomic_store(&ph.measuring, false);
	t_end = bench_now();
	atomic_store(&ph.stop, true);
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(t[i].th, NULL);
		nlat += t[i].nlat;
		queries += t[i].queries;
		cpu += t[i].cpu_s;
		if (t[i].open_failed)
			rc = -1;
	}
	pthread_join(up, NULL);
	all = malloc((nlat + 1) * sizeof *all);
	for (unsigned i = 0; i < nthreads; i++) {
		if (all)
			memcpy(all + at, t[i].lat_us, t[i].nlat * sizeof *all);
		at += t[i].nlat;
		free(t[i].lat_us);
	}
	free(t);
	if (!all || !nlat) {
		free(all);
		return rc ? rc : -1;
	}
	qsort(all, nlat, sizeof *all, cmp_float);
	res->ran = true;
	res->qps = (double)queries / (t_end - ph.t_measure);
	res->p50_us = all[nlat / 2];
	res->p99_us = all[(size_t)((double)nlat * 0.99)];
	res->cpu_us = queries ? cpu * 1e6 / (double)queries : 0;
	res->updates_per_s = (double)atomic_load(&ph.updates) / (t_end - ph.t_measure);
	res->update_errors = atomic_load(&ph.update_errors);
	res->query_errors = atomic_load(&ph.query_errors);
	free(all);
	if (bk != BK_INPROC && bk != BK_HTTP)
		check_agreement(w, peers, bk, res);
	return rc;
}

static void print_result(enum backend bk, const struct result *r)
{
	if (!r->ran) {
		printf("%-17s  not run\n", backend_names[bk]);
		return;
	}
	printf("%-17s %9.0f queries/s  p50 %7.1f us  p99 %7.1f us  client CPU %6.1f us/query  "
	       "updates %5.0f/s",
	       backend_names[bk], r->qps, r->p50_us, r->p99_us, r->cpu_us, r->updates_per_s);
	if (r->update_errors || r->query_errors)
		printf("   errors: %ld updates, %ld queries", r->update_errors, r->query_errors);
	printf("\n");
}

int main(int argc, char **argv)
{
	double seconds = atof(bench_opt(argc, argv, "--seconds", "5"));
	unsigned nthreads = (unsigned)strtoul(bench_opt(argc, argv, "--threads", "2"), NULL, 10);
	size_t nunits = (size_t)strtoul(bench_opt(argc, argv, "--units", "10000"), NULL, 10);
	double rate = atof(bench_opt(argc, argv, "--rate", "5000"));
	unsigned k = (unsigned)strtoul(bench_opt(argc, argv, "--k", "5"), NULL, 10);
	const char *skip = bench_opt(argc, argv, "--skip", "");
	const char *demo = bench_opt(argc, argv, "--demo", NULL);
	const char *bin = bench_opt(argc, argv, "--bin", "build/safegrid");
	unsigned http_clients = (unsigned)strtoul(bench_opt(argc, argv, "--http-clients", "4"),
						  NULL, 10);
	struct world w;
	struct peers peers;
	struct result res[BK_COUNT];
	bool want[BK_COUNT] = { true, demo && !strstr(skip, "http"), !strstr(skip, "redis"),
				!strstr(skip, "redis"), !strstr(skip, "postgis") };
	size_t navail = 0;

	if (seconds <= 0 || !nthreads || nthreads > 64 || !nunits || rate < 0 || !k ||
	    k > UNIT_QUERY_MAX_K || !http_clients || http_clients > 64) {
		fprintf(stderr, "usage: nearest [--seconds S] [--threads T] [--units N] [--rate R] "
				"[--k K] [--demo DEMO.db [--bin build/safegrid] [--http-clients C]] "
				"[--skip http,ceiling,redis,postgis]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&peers, 0, sizeof peers);
	memset(res, 0, sizeof res);
	if (world_build(&w, nunits, k)) {
		fprintf(stderr, "could not build the world\n");
		return 1;
	}
	for (size_t i = 0; i < w.n; i++)
		navail += w.u[i].status == UNIT_AVAILABLE;

	if (!demo)
		fprintf(stderr, "over HTTP: not run (give --demo DEMO.db)\n");
	if (want[BK_HTTP] && http_start(&peers.http, &w, demo, bin)) {
		fprintf(stderr, "over HTTP: could not start the server or add the units\n");
		want[BK_HTTP] = false;
	}
	if (want[BK_REDIS]) {
		redisContext *c = NULL;
		if (redis_start(&peers.redis) || !(c = redis_connect(peers.redis.port)) ||
		    redis_load(c, &w)) {
			fprintf(stderr, "redis: could not start or load (sh tools/bench-deps.sh)\n");
			want[BK_REDIS] = want[BK_REDIS_KEYS] = false;
		}
		if (c && want[BK_REDIS]) {
			redisReply *r = redisCommand(c, "INFO server");
			const char *v = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, "redis_version:")
									 : NULL;
			if (v)
				printf("redis %.*s\n", (int)strcspn(v + 14, "\r\n"), v + 14);
			freeReplyObject(r);
		}
		if (c)
			redisFree(c);
	}
	if (want[BK_PG]) {
		PGconn *c = NULL;
		if (pg_start(&peers.pg) || !(c = PQconnectdb(peers.pg.conninfo)) ||
		    PQstatus(c) != CONNECTION_OK || pg_setup(c)) {
			fprintf(stderr, "postgis: could not start or set up (sh tools/bench-deps.sh)\n");
			want[BK_PG] = false;
		}
		if (want[BK_PG]) {
			PGresult *r = pg_ok(c, "SELECT split_part(version(), ' on ', 1), "
					       "postgis_lib_version()");
			if (r && PQntuples(r) == 1)
				printf("%s, PostGIS %s\n", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
			PQclear(r);
		}
		PQfinish(c);
	}

	printf("nearest-%u available units of one type among %zu moving units (%zu available, "
	       "%d types) in %zu station areas;\n%.0f position updates/s on one thread, %u query "
	       "threads (%u keep-alive clients over HTTP), %.1f s measured per system (after 0.5 s "
	       "warm-up)\n",
	       k, w.n, navail, NTYPES, w.nst, rate, nthreads, http_clients, seconds);
	{
		/* The index alone: one thread, no updates, CPU time, best of three. */
		struct conn c;
		double best = INFINITY;
		int64_t ids[UNIT_QUERY_MAX_K];
		double dist[UNIT_QUERY_MAX_K];
		conn_open(&c, BK_INPROC, &peers);
		for (int run = 0; run < 3; run++) {
			double t0 = thread_cpu_s();
			for (size_t i = 0; i < w.nq; i++) {
				unsigned n;
				conn_nearest(&c, &w, &w.qs[i], ids, dist, &n);
			}
			best = fmin(best, (thread_cpu_s() - t0) / (double)w.nq);
		}
		printf("in-process, one thread, no updates: %.2f us CPU per query (best of 3 x %zu)\n",
		       best * 1e6, w.nq);
	}
	for (int b = 0; b < BK_COUNT; b++) {
		if (!want[b])
			continue;
		if (b == BK_REDIS || b == BK_REDIS_KEYS) {
			/* The world moved during earlier phases: start the peer from it. */
			redisContext *c = redis_connect(peers.redis.port);
			redis_per_key = b == BK_REDIS_KEYS;
			if (!c || redis_load(c, &w)) {
				if (c)
					redisFree(c);
				continue;
			}
			redisFree(c);
		} else if (b == BK_PG) {
			PGconn *c = PQconnectdb(peers.pg.conninfo);
			int bad = PQstatus(c) != CONNECTION_OK || pg_load(c, &w);
			if (!bad) {
				PGresult *r = pg_ok(c, "EXPLAIN SELECT id FROM units WHERE status = 1 AND "
						       "type = 2::smallint ORDER BY geog <-> "
						       "ST_SetSRID(ST_MakePoint(120.6, 31.3), 4326)"
						       "::geography LIMIT 5");
				printf("postgis plan:");
				for (int i = 0; r && i < PQntuples(r); i++)
					printf(" %s%s", i ? "| " : "", PQgetvalue(r, i, 0));
				printf("\n");
				PQclear(r);
			}
			PQfinish(c);
			if (bad)
				continue;
		}
		if (run_phase(&w, &peers, (enum backend)b, seconds,
			      b == BK_HTTP ? http_clients : nthreads, rate, &res[b]))
			fprintf(stderr, "%s: the phase failed\n", backend_names[b]);
		print_result((enum backend)b, &res[b]);
		fflush(stdout);
		if (b == BK_HTTP && res[b].ran && !strstr(skip, "ceiling")) {
			struct result ceil_res;
			memset(&ceil_res, 0, sizeof ceil_res);
			http_ceiling_mode = true;
			if (run_phase(&w, &peers, BK_HTTP, seconds, http_clients, rate, &ceil_res))
				fprintf(stderr, "HTTP ceiling: the phase failed\n");
			http_ceiling_mode = false;
			if (ceil_res.ran)
				printf("%-17s %9.0f requests/s  p50 %7.1f us  p99 %7.1f us  (GET /healthz, "
				       "same clients and position stream: the HTTP layer's ceiling)\n",
				       "HTTP ceiling", ceil_res.qps, ceil_res.p50_us, ceil_res.p99_us);
			if (ceil_res.ran && ceil_res.qps > 0)
				printf("over HTTP reaches %.0f %% of the ceiling\n",
				       100.0 * res[b].qps / ceil_res.qps);
			fflush(stdout);
		}
	}
	for (int b = BK_REDIS; b < BK_COUNT; b++) {
		if (!res[b].ran || !res[BK_INPROC].ran)
			continue;
		if (res[BK_HTTP].ran)
			printf("over HTTP / %-18s %7.1fx queries/s\n", backend_names[b],
			       res[BK_HTTP].qps / res[b].qps);
		printf("in-process / %-17s %7.1fx queries/s, p99 %.1fx lower;  answers: %u same, %u "
		       "near ties, %u disagree (of %u)\n",
		       backend_names[b], res[BK_INPROC].qps / res[b].qps,
		       res[b].p99_us / res[BK_INPROC].p99_us, res[b].same, res[b].near_ties,
		       res[b].disagree, res[b].same + res[b].near_ties + res[b].disagree);
	}
	{
		int best = -1;
		for (int b = BK_REDIS; b < BK_COUNT; b++)
			if (res[b].ran && (best < 0 || res[b].qps > res[best].qps))
				best = b;
		if (best >= 0 && res[BK_INPROC].ran)
			printf("faster peer: %s; in-process is %.1fx its queries/s", backend_names[best],
			       res[BK_INPROC].qps / res[best].qps);
		if (best >= 0 && res[BK_HTTP].ran)
			printf(", over HTTP %.1fx", res[BK_HTTP].qps / res[best].qps);
		if (best >= 0)
			printf("\n");
	}
	if (peers.http.dir[0])
		http_stop(&peers.http);
	if (peers.redis.dir[0])
		redis_stop(&peers.redis);
	if (peers.pg.dir[0])
		pg_stop(&peers.pg);
	unit_index_free(w.ix);
	free(w.u);
	free(w.qs);
	free(w.st);
	area_set_release(&w.city);
	return 0;
}
