/* people_csv.c — the people registry CSV parser (see people_csv.h). */
#include "import/people_csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

static const char *const column_names[PEOPLE_CSV_COLUMNS] = {
	"type", "org", "area", "name", "phone", "id_number", "grids",
};

/* A positive decimal id (what the resolvers get when there are none). */
static int parse_id(const char *s, int64_t *out)
{
	int64_t v = 0;

	if (!*s || strlen(s) > 18)
		return SG_ENOTFOUND;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return SG_ENOTFOUND;
		v = v * 10 + (*s - '0');
	}
	if (v <= 0)
		return SG_ENOTFOUND;
	*out = v;
	return SG_OK;
}

static int fail(struct people_csv_error *e, long line, const char *field, const char *msg)
{
	size_t n = field ? strnlen(field, sizeof e->field - 1) : 0;

	e->line = line;
	memcpy(e->field, field ? field : "", n);
	e->field[n] = '\0';
	snprintf(e->message, sizeof e->message, "%s", msg);
	return SG_EINVAL;
}

/*
 * Reads one field at c->p into buf (NUL-terminated) and tells whether it
 * ended the row. Quoted fields may hold commas, newlines and "".
 */
static int read_field(struct people_csv *c, char *buf, size_t cap, int *end_of_row,
		      struct people_csv_error *e)
{
	size_t n = 0;

	if (c->p < c->end && *c->p == '"') {
		c->p++;
		for (;;) {
			if (c->p >= c->end)
				return fail(e, c->line, NULL, "a quoted field is not closed");
			if (*c->p == '"') {
				if (c->p + 1 < c->end && c->p[1] == '"') {
					c->p++;
				} else {
					c->p++;
					break;
				}
			} else if (*c->p == '\n') {
				c->line++;
			}
			if (n + 1 >= cap)
				return fail(e, c->line, NULL, "a field is longer than 512 bytes");
			buf[n++] = *c->p++;
		}
		if (c->p < c->end && *c->p == '\r')
			c->p++;
		if (c->p < c->end && *c->p != ',' && *c->p != '\n')
			return fail(e, c->line, NULL, "text after a closing quote");
	} else {
		while (c->p < c->end && *c->p != ',' && *c->p != '\n') {
			if (*c->p == '"')
				return fail(e, c->line, NULL, "a quote inside an unquoted field");
			if (n + 1 >= cap)
				return fail(e, c->line, NULL, "a field is longer than 512 bytes");
			buf[n++] = *c->p++;
		}
		if (n && buf[n - 1] == '\r' && (c->p >= c->end || *c->p == '\n'))
			n--;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', n))
		return fail(e, c->line, NULL, "a field holds a NUL byte");
	*end_of_row = c->p >= c->end || *c->p == '\n';
	if (c->p < c->end)
		c->p++;
	return SG_OK;
}

int people_csv_open(struct people_csv *c, const char *text, size_t len, people_csv_resolve_fn org,
		    people_csv_resolve_fn area, void *ctx, struct people_csv_error *e)
{
	char buf[PEOPLE_CSV_FIELD_MAX];
	int eor = 0, rc;

	memset(c, 0, sizeof *c);
	memset(e, 0, sizeof *e);
	c->text = c->p = text;
	c->end = text + len;
	c->line = 1;
	c->org = org;
	c->area = area;
	c->ctx = ctx;
	for (int i = 0; i < PEOPLE_CSV_COLUMNS; i++)
		c->col[i] = -1;
	/* A UTF-8 byte order mark is tolerated. */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		c->p += 3;
	if (c->p >= c->end)
		return fail(e, 1, NULL, "the file is empty: the first line must name the columns");
	while (!eor) {
		int k;
		if ((rc = read_field(c, buf, sizeof buf, &eor, e)))
			return rc;
		for (k = 0; k < PEOPLE_CSV_COLUMNS && strcmp(buf, column_names[k]) != 0; k++)
			;
		if (k == PEOPLE_CSV_COLUMNS)
			return fail(e, 1, buf[0] ? buf : "(empty)", "unknown column");
		if (c->col[k] >= 0)
			return fail(e, 1, buf, "a column is named twice");
		if (c->ncols == 64)
			return fail(e, 1, NULL, "too many columns");
		c->col[k] = c->ncols++;
	}
	for (int k = 0; k <= PEOPLE_CSV_NAME; k++) {
		if (c->col[k] < 0)
			return fail(e, 1, column_names[k], "required column missing");
	}
	c->line = 2;
	return SG_OK;
}

/* Checks one row's fields (by column) into p. */
static int row_to_person(struct people_csv *c, long line, char (*f)[PEOPLE_CSV_FIELD_MAX],
			 struct store_person *p, struct people_csv_error *e)
{
	const char *v;
	int64_t id;

	memset(p, 0, sizeof *p);
	v = f[c->col[PEOPLE_CSV_TYPE]];
	if (person_type_parse(v, &p->type))
		return fail(e, line, "type", "not a person type (officer, auxiliary, grid_worker, ...)");
	v = f[c->col[PEOPLE_CSV_ORG]];
	if (!c->org ? parse_id(v, &id) : c->org(c->ctx, v, &id))
		return fail(e, line, "org", "no organisation with this code or id");
	p->org_id = id;
	v = f[c->col[PEOPLE_CSV_AREA]];
	if (!c->area ? parse_id(v, &id) : c->area(c->ctx, v, &id))
		return fail(e, line, "area", "no area with this code or id");
	p->area_id = id;
	v = f[c->col[PEOPLE_CSV_NAME]];
	if (!v[0] || strlen(v) > STORE_FORCE_NAME_MAX)
		return fail(e, line, "name", "must be 1 to 128 bytes");
	snprintf(p->name, sizeof p->name, "%s", v);
	if (c->col[PEOPLE_CSV_PHONE] >= 0 && (v = f[c->col[PEOPLE_CSV_PHONE]])[0]) {
		if (!force_phone_valid(v))
			return fail(e, line, "phone", "not a telephone number");
		snprintf(p->phone, sizeof p->phone, "%s", v);
	}
	if (c->col[PEOPLE_CSV_ID_NUMBER] >= 0 && (v = f[c->col[PEOPLE_CSV_ID_NUMBER]])[0]) {
		if (!force_id_number_valid(v))
			return fail(e, line, "id_number",
				    "not an 18-character citizen ID number with a valid check character");
		snprintf(p->id_number, sizeof p->id_number, "%s", v);
	}
	if (c->col[PEOPLE_CSV_GRIDS] >= 0 && (v = f[c->col[PEOPLE_CSV_GRIDS]])[0]) {
		while (*v) {
			char item[64];
			size_t n = strcspn(v, ";");
			if (n == 0 || n >= sizeof item || p->ngrids == STORE_PERSON_GRIDS_MAX)
				return fail(e, line, "grids", "at most 8 grid codes or ids, separated by ';'");
			memcpy(item, v, n);
			item[n] = '\0';
			if (!c->area ? parse_id(item, &id) : c->area(c->ctx, item, &id))
				return fail(e, line, "grids", "no area with this code or id");
			p->grids[p->ngrids++] = id;
			v += n;
			if (*v == ';' && !*++v)
				return fail(e, line, "grids", "a trailing ';'");
		}
	}
	return SG_OK;
}

int people_csv_next(struct people_csv *c, struct store_person *out, long *lines, size_t cap,
		    size_t *n, struct people_csv_error *e)
{
	char (*f)[PEOPLE_CSV_FIELD_MAX] = malloc((size_t)c->ncols * sizeof *f);
	int rc = f ? SG_OK : SG_ENOMEM;

	*n = 0;
	while (!rc && *n < cap && c->p < c->end) {
		long line = c->line;
		int col = 0, eor = 0;
		/* An empty line (or a last line break) is no row. */
		if (*c->p == '\n' || (*c->p == '\r' && c->p + 1 < c->end && c->p[1] == '\n')) {
			c->p += *c->p == '\r' ? 2 : 1;
			c->line++;
			continue;
		}
		while (!eor) {
			char tmp[PEOPLE_CSV_FIELD_MAX];
			if ((rc = read_field(c, col < c->ncols ? f[col] : tmp, PEOPLE_CSV_FIELD_MAX, &eor, e)))
				break;
			col++;
		}
		if (rc)
			break;
		c->line++;
		if (col != c->ncols) {
			rc = fail(e, line, NULL, "the row does not have as many fields as the header");
			break;
		}
		if ((rc = row_to_person(c, line, f, &out[*n], e)))
			break;
		if (lines)
			lines[*n] = line;
		(*n)++;
	}
	free(f);
	if (rc)
		*n = 0;
	return rc;
}

size_t people_csv_offset(const struct people_csv *c)
{
	return (size_t)(c->p - c->text);
}
