/*
 * cmd_admin.c — commands that work on a store directly: demo, import areas,
 * user add, audit verify.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/err.h"
#include "base/progress.h"
#include "import/areas_import.h"

static int open_store(const char *db, struct store **s)
{
	if (!db) {
		fprintf(stderr, "safegrid: --db FILE is required\n");
		return 2;
	}
	if (auth_init() || store_open(db, s)) {
		fprintf(stderr, "safegrid: cannot open the store %s\n", db);
		return 1;
	}
	return 0;
}

int cli_demo(int argc, char **argv)
{
	static const char *const with_value[] = { "--db", "--seed", NULL };
	static const char *const flags[] = { "--no-history", NULL };
	struct store *s = NULL;
	const char *seed_s = cli_opt(argc, argv, "--seed");
	int rc;

	if ((rc = cli_check_opts(argc, argv, with_value, flags)) ||
	    (rc = open_store(cli_opt(argc, argv, "--db"), &s)))
		return rc;
	rc = cli_demo_fill(s, seed_s ? strtoull(seed_s, NULL, 10) : 1,
			   !cli_flag(argc, argv, "--no-history"));
	store_close(s);
	if (rc == SG_ECONFLICT) {
		fprintf(stderr, "safegrid: the store already holds areas; use a new file\n");
		return 1;
	}
	if (rc) {
		fprintf(stderr, "safegrid: building the demo city failed: %s\n", sg_err_name(rc));
		return 1;
	}
	printf("demo city stored\n");
	cli_demo_print_accounts();
	return 0;
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, alloc = 0;

	if (!f)
		return SG_EIO;
	for (;;) {
		size_t got;
		if (n == alloc) {
			char *nb;
			alloc = alloc ? alloc * 2 : 65536;
			if (alloc > AREAS_IMPORT_MAX_TEXT + 1) {
				free(buf);
				fclose(f);
				return SG_ETOOBIG;
			}
			nb = realloc(buf, alloc);
			if (!nb) {
				free(buf);
				fclose(f);
				return SG_ENOMEM;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, alloc - n, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	*out = buf;
	*len = n;
	return SG_OK;
}

static int resolve_in_store(void *ctx, const char *code, int64_t id, int64_t *out_id,
			    enum area_kind *out_kind)
{
	struct store *s = ctx;
	if (code)
		return store_area_find_code(s, code, out_id, out_kind);
	*out_id = id;
	return store_area_find_id(s, id, out_kind);
}

int cli_import(int argc, char **argv)
{
	static const char *const with_value[] = { "--db", NULL };
	static const char *const flags[] = { "--make-valid", NULL };
	struct store *s = NULL;
	struct area_set set;
	struct areas_import_report report;
	struct areas_import_error err;
	struct areas_import_opts opts;
	struct sg_progress bar;
	char *text = NULL;
	size_t len = 0;
	uint64_t nsplit = 0;
	int rc, code = 1;

	if (argc >= 1 && strcmp(argv[0], "people") == 0)
		return cli_import_people(argc, argv);
	if (argc < 2 || strcmp(argv[0], "areas") != 0) {
		fprintf(stderr, "usage: safegrid import areas FILE.geojson --db FILE [--make-valid]\n"
				"       safegrid import people FILE.csv --db FILE\n");
		return 2;
	}
	if ((rc = cli_check_opts(argc - 2, argv + 2, with_value, flags)) ||
	    (rc = open_store(cli_opt(argc, argv, "--db"), &s)))
		return rc;
	area_set_init(&set);
	areas_import_report_init(&report);
	if ((rc = read_file(argv[1], &text, &len))) {
		fprintf(stderr, "safegrid: cannot read %s: %s\n", argv[1], sg_err_name(rc));
		goto out;
	}
	memset(&opts, 0, sizeof opts);
	opts.flags = cli_flag(argc, argv, "--make-valid") ? AREAS_IMPORT_MAKE_VALID : 0;
	opts.resolve = resolve_in_store;
	opts.resolve_ctx = s;
	sg_progress_init(&bar, "checking areas", 0);
	opts.progress = sg_progress_cb;
	opts.progress_ctx = &bar;
	rc = areas_import_parse(text, len, &opts, &set, &report, &err);
	sg_progress_finish(&bar);
	if (rc) {
		if (err.feature >= 0)
			fprintf(stderr, "safegrid: feature %ld: %s: %s\n", err.feature, err.field,
				err.message);
		else if (err.line)
			fprintf(stderr, "safegrid: line %d column %d: %s\n", err.line, err.column,
				err.message);
		else
			fprintf(stderr, "safegrid: %s%s%s\n", err.field, err.field[0] ? ": " : "",
				err.message);
		fprintf(stderr, "safegrid: nothing was imported\n");
		goto out;
	}
	for (size_t i = 0; i < report.repaired; i++)
		fprintf(stderr, "repaired feature %ld: %s\n", report.repairs[i].feature,
			report.repairs[i].reason);
	if ((rc = store_areas_insert(s, &set))) {
		fprintf(stderr, "safegrid: storing failed (%s): nothing was imported%s\n",
			sg_err_name(rc),
			rc == SG_ECONFLICT ? "; a code is already used by a stored area" : "");
		goto out;
	}
	if ((rc = cli_fusion_refresh(s, &nsplit))) {
		fprintf(stderr, "safegrid: areas imported but the grid fusion failed: %s\n",
			sg_err_name(rc));
		goto out;
	}
	printf("imported %zu areas (%zu repaired); fusion: %llu split governance grids\n", set.n,
	       report.repaired, (unsigned long long)nsplit);
	code = 0;
out:
	free(text);
	areas_import_report_release(&report);
	area_set_release(&set);
	store_close(s);
	return code;
}

static int read_password_stdin(char *buf, size_t len)
{
	size_t n;

	if (!fgets(buf, (int)len, stdin))
		return SG_EINVAL;
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return SG_OK;
}

int cli_user(int argc, char **argv)
{
	static const char *const with_value[] = { "--db", "--name", "--role", "--scope", NULL };
	static const char *const flags[] = { "--password-stdin", NULL };
	const char *name, *role, *scope;
	struct store *s = NULL;
	struct store_user u;
	enum auth_role r;
	char pw[AUTH_PASSWORD_MAX + 2];
	int64_t ids[64], id;
	size_t nids = 0;
	int rc, code = 1;

	if (argc < 1 || strcmp(argv[0], "add") != 0) {
		fprintf(stderr, "usage: safegrid user add --db FILE --name N --role R "
				"--scope CODE[,CODE] --password-stdin\n");
		return 2;
	}
	if ((rc = cli_check_opts(argc - 1, argv + 1, with_value, flags)))
		return rc;
	name = cli_opt(argc, argv, "--name");
	role = cli_opt(argc, argv, "--role");
	scope = cli_opt(argc, argv, "--scope");
	if (!name || !role || !scope || !cli_flag(argc, argv, "--password-stdin")) {
		fprintf(stderr, "safegrid: --name, --role, --scope and --password-stdin are required\n");
		return 2;
	}
	if (strlen(name) == 0 || strlen(name) >= STORE_NAME_MAX) {
		fprintf(stderr, "safegrid: --name must be 1..63 bytes\n");
		return 2;
	}
	if (auth_role_parse(role, &r)) {
		fprintf(stderr, "safegrid: --role must be admin, commander, station_officer, "
				"grid_worker or analyst\n");
		return 2;
	}
	if (read_password_stdin(pw, sizeof pw) || strlen(pw) < AUTH_PASSWORD_MIN ||
	    strlen(pw) > AUTH_PASSWORD_MAX) {
		fprintf(stderr, "safegrid: the password (one line on stdin) must be 8..256 bytes\n");
		return 2;
	}
	if ((rc = open_store(cli_opt(argc, argv, "--db"), &s)))
		return rc;
	memset(&u, 0, sizeof u);
	/* Each scope entry is a division code, or an area id where the area has no code. */
	for (const char *p = scope; *p && nids < 64;) {
		char item[AREA_CODE_MAX];
		size_t n = strcspn(p, ",");
		if (n == 0 || n >= sizeof item) {
			fprintf(stderr, "safegrid: bad --scope entry\n");
			goto out;
		}
		memcpy(item, p, n);
		item[n] = '\0';
		if (store_area_find_code(s, item, &id, NULL) != 0) {
			char *end;
			errno = 0;
			id = strtoll(item, &end, 10);
			if (*end || errno || id <= 0 || store_area_find_id(s, id, NULL) != 0) {
				fprintf(stderr, "safegrid: no area with code or id \"%s\"\n", item);
				goto out;
			}
		}
		ids[nids++] = id;
		p += n;
		if (*p == ',')
			p++;
	}
	snprintf(u.name, sizeof u.name, "%s", name);
	snprintf(u.role, sizeof u.role, "%s", auth_role_name(r));
	if (auth_password_hash(pw, u.pw_hash)) {
		fprintf(stderr, "safegrid: hashing the password failed\n");
		goto out;
	}
	u.scope = ids;
	u.nscope = nids;
	rc = store_user_add(s, &u, &id);
	if (rc == SG_ECONFLICT) {
		fprintf(stderr, "safegrid: a user named %s already exists\n", name);
		goto out;
	}
	if (rc) {
		fprintf(stderr, "safegrid: adding the user failed: %s\n", sg_err_name(rc));
		goto out;
	}
	store_audit_append(s, "cli", "user.add", name, role);
	printf("user %s added (id %lld, role %s, %zu scope areas)\n", name, (long long)id, role,
	       nids);
	code = 0;
out:
	memset(pw, 0, sizeof pw);
	store_close(s);
	return code;
}

int cli_audit(int argc, char **argv)
{
	static const char *const with_value[] = { "--db", NULL };
	struct store_audit_report r;
	struct store *s = NULL;
	int rc;

	if (argc < 1 || strcmp(argv[0], "verify") != 0) {
		fprintf(stderr, "usage: safegrid audit verify --db FILE\n");
		return 2;
	}
	if ((rc = cli_check_opts(argc - 1, argv + 1, with_value, NULL)) ||
	    (rc = open_store(cli_opt(argc, argv, "--db"), &s)))
		return rc;
	rc = store_audit_verify(s, &r);
	store_close(s);
	if (rc) {
		fprintf(stderr, "safegrid: reading the audit log failed: %s\n", sg_err_name(rc));
		return 1;
	}
	if (r.first_bad_seq) {
		printf("audit log BROKEN at entry %lld: %s (%llu entries read)\n",
		       (long long)r.first_bad_seq, r.reason, (unsigned long long)r.entries);
		return 1;
	}
	printf("audit log intact: %llu entries\n", (unsigned long long)r.entries);
	return 0;
}
