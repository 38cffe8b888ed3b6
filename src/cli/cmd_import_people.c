/*
 * cmd_import_people.c — `safegrid import people FILE.csv --db FILE`: the
 * people registry from CSV (import/people_csv.h), all or nothing, with a
 * progress bar. Organisations and areas are named by code or id; both are
 * looked up in memory, so millions of rows cost no query each.
 */
#include "cli/cli.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/auth.h"
#include "base/err.h"
#include "base/progress.h"
#include "import/people_csv.h"
#include "store/forces.h"

#define CHUNK_LINES 4096

struct code_id {
	char code[AREA_CODE_MAX];
	int64_t id;
};

struct names {
	struct code_id *v;
	size_t n, alloc;
	int64_t *ids; /* sorted */
};

static int names_add(struct names *t, const char *code, int64_t id)
{
	if (t->n == t->alloc) {
		size_t na = t->alloc ? t->alloc * 2 : 1024;
		struct code_id *nv = realloc(t->v, na * sizeof *nv);
		if (!nv)
			return SG_ENOMEM;
		t->v = nv;
		t->alloc = na;
	}
	snprintf(t->v[t->n].code, sizeof t->v[t->n].code, "%s", code);
	t->v[t->n++].id = id;
	return SG_OK;
}

static int cmp_code(const void *a, const void *b)
{
	return strcmp(((const struct code_id *)a)->code, ((const struct code_id *)b)->code);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static int names_seal(struct names *t)
{
	if (!(t->ids = malloc((t->n + 1) * sizeof *t->ids)))
		return SG_ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		t->ids[i] = t->v[i].id;
	qsort(t->ids, t->n, sizeof *t->ids, cmp_id);
	qsort(t->v, t->n, sizeof *t->v, cmp_code);
	return SG_OK;
}

static void names_release(struct names *t)
{
	free(t->v);
	free(t->ids);
}

/* A code first; else an id that exists. */
static int names_resolve(void *ctx, const char *text, int64_t *id)
{
	struct names *t = ctx;
	struct code_id key, *hit;
	char *end;
	long long v;

	snprintf(key.code, sizeof key.code, "%s", text);
	if (strlen(text) < sizeof key.code &&
	    (hit = bsearch(&key, t->v, t->n, sizeof *t->v, cmp_code))) {
		*id = hit->id;
		return SG_OK;
	}
	v = strtoll(text, &end, 10);
	if (*text && !*end && v > 0 && bsearch(&(int64_t){ v }, t->ids, t->n, sizeof *t->ids, cmp_id)) {
		*id = v;
		return SG_OK;
	}
	return SG_ENOTFOUND;
}

struct people_import {
	struct names orgs, areas;
	struct people_csv csv;
	struct people_csv_error err;
	struct sg_progress bar;
	long lines[CHUNK_LINES];
	size_t base, last;   /* people before the last chunk, and its size */
	int parse_rc;
};

static int org_name(void *ctx, const struct store_org *o)
{
	struct people_import *im = ctx;
	char id[24];

	snprintf(id, sizeof id, "#%lld", (long long)o->id);
	return names_add(&im->orgs, o->code[0] ? o->code : id, o->id);
}

static int org_resolve(void *ctx, const char *text, int64_t *id)
{
	return names_resolve(&((struct people_import *)ctx)->orgs, text, id);
}

static int area_resolve(void *ctx, const char *text, int64_t *id)
{
	return names_resolve(&((struct people_import *)ctx)->areas, text, id);
}

/* Runs on the store's core thread, inside the load's transaction (one thread at a time). */
static int next_chunk(void *ctx, struct store_person *out, size_t cap, size_t *n)
{
	struct people_import *im = ctx;
	int rc;

	if (cap > CHUNK_LINES)
		cap = CHUNK_LINES;
	im->base += im->last;
	rc = people_csv_next(&im->csv, out, im->lines, cap, n, &im->err);
	im->last = *n;
	im->parse_rc = rc;
	sg_progress_update(&im->bar, people_csv_offset(&im->csv), 0);
	return rc;
}

int cli_import_people(int argc, char **argv)
{
	static const char *const with_value[] = { "--db", NULL };
	struct people_import *im = calloc(1, sizeof *im);
	struct store_people_load load;
	struct area_set set;
	struct store *s = NULL;
	struct stat stt;
	const char *db;
	char *text = MAP_FAILED;
	int fd = -1, rc, code = 1;

	area_set_init(&set);
	if (!im)
		return 1;
	if (argc < 2 || strcmp(argv[0], "people") != 0 ||
	    cli_check_opts(argc - 2, argv + 2, with_value, NULL)) {
		fprintf(stderr, "usage: safegrid import people FILE.csv --db FILE\n");
		code = 2;
		goto out;
	}
	if (!(db = cli_opt(argc, argv, "--db"))) {
		fprintf(stderr, "safegrid: --db FILE is required\n");
		code = 2;
		goto out;
	}
	if ((fd = open(argv[1], O_RDONLY)) < 0 || fstat(fd, &stt) != 0) {
		fprintf(stderr, "safegrid: cannot read %s\n", argv[1]);
		goto out;
	}
	if (stt.st_size > 0 &&
	    (text = mmap(NULL, (size_t)stt.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) {
		fprintf(stderr, "safegrid: cannot map %s\n", argv[1]);
		goto out;
	}
	if (auth_init() || store_open(db, &s)) {
		fprintf(stderr, "safegrid: cannot open the store %s\n", db);
		goto out;
	}
	/* Every organisation and area, by code and id, for the resolvers. */
	if ((rc = store_orgs_list(s, org_name, im)) || (rc = store_areas_load(s, &set))) {
		fprintf(stderr, "safegrid: reading the store failed: %s\n", sg_err_name(rc));
		goto out;
	}
	for (size_t i = 0; i < set.n; i++) {
		char id[24];
		snprintf(id, sizeof id, "#%lld", (long long)set.v[i].id);
		if ((rc = names_add(&im->areas, set.v[i].code[0] ? set.v[i].code : id, set.v[i].id)))
			goto out;
	}
	area_set_release(&set);
	if (names_seal(&im->orgs) || names_seal(&im->areas))
		goto out;
	if (people_csv_open(&im->csv, text == MAP_FAILED ? "" : text,
			    text == MAP_FAILED ? 0 : (size_t)stt.st_size, org_resolve, area_resolve, im,
			    &im->err)) {
		fprintf(stderr, "safegrid: line %ld: %s%s%s\nsafegrid: nothing was imported\n",
			im->err.line, im->err.field, im->err.field[0] ? ": " : "", im->err.message);
		goto out;
	}
	sg_progress_init(&im->bar, "importing people", (size_t)stt.st_size);
	memset(&load, 0, sizeof load);
	load.next = next_chunk;
	load.ctx = im;
	load.actor = "cli";
	rc = store_people_load(s, &load);
	sg_progress_finish(&im->bar);
	if (rc && im->parse_rc) {
		fprintf(stderr, "safegrid: line %ld: %s%s%s\n", im->err.line, im->err.field,
			im->err.field[0] ? ": " : "", im->err.message);
	} else if (rc && load.failed_at != SIZE_MAX && load.failed_at >= im->base &&
		   load.failed_at - im->base < im->last) {
		fprintf(stderr, "safegrid: line %ld: %s\n", im->lines[load.failed_at - im->base],
			rc == SG_ECONFLICT ? "id_number: already registered (or twice in the file)"
			: rc == SG_ENOTFOUND ? "org or area: not found"
					     : sg_err_name(rc));
	} else if (rc) {
		fprintf(stderr, "safegrid: storing failed: %s\n", sg_err_name(rc));
	}
	if (rc) {
		fprintf(stderr, "safegrid: nothing was imported\n");
		goto out;
	}
	printf("imported %zu people\n", load.added);
	code = 0;
out:
	area_set_release(&set);
	store_close(s);
	if (text != MAP_FAILED)
		munmap(text, (size_t)stt.st_size);
	if (fd >= 0)
		close(fd);
	names_release(&im->orgs);
	names_release(&im->areas);
	free(im);
	return code;
}
