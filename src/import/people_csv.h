/*
 * people_csv.h — the people registry as CSV (RFC 4180: commas, optional
 * double quotes, "" inside quotes, CRLF or LF), read as a stream so that a
 * file of millions of rows never sits in memory as structures.
 *
 * The first line names the columns, in any order: type, org, area, name
 * (required), phone, id_number, grids (optional; grids are separated by
 * ';'). org and area are codes or ids, turned into ids by the caller's
 * resolvers. Every value is checked as POST /api/v1/people checks it; the
 * first bad row stops the parse with its line and column name.
 *
 * Not thread-safe; the parser borrows the text until it is done.
 */
#ifndef SAFEGRID_IMPORT_PEOPLE_CSV_H
#define SAFEGRID_IMPORT_PEOPLE_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "store/forces.h"

#define PEOPLE_CSV_FIELD_MAX 512 /* bytes of one field */

/* Turns an organisation's or area's code (or id as text) into its id; SG_ENOTFOUND otherwise. */
typedef int (*people_csv_resolve_fn)(void *ctx, const char *text, int64_t *id);

struct people_csv_error {
	long line;         /* 1-based; 0 when not about a line */
	char field[24];    /* the column at fault, or "" */
	char message[160];
};

enum { PEOPLE_CSV_TYPE, PEOPLE_CSV_ORG, PEOPLE_CSV_AREA, PEOPLE_CSV_NAME, PEOPLE_CSV_PHONE,
       PEOPLE_CSV_ID_NUMBER, PEOPLE_CSV_GRIDS, PEOPLE_CSV_COLUMNS };

struct people_csv {
	const char *text, *p, *end;
	long line;                         /* of the row being read */
	int col[PEOPLE_CSV_COLUMNS];       /* position of each column in a row, -1 if absent */
	int ncols;
	people_csv_resolve_fn org, area;   /* may be NULL: ids only */
	void *ctx;
};

/*
 * Starts a parse of text (borrowed) and reads the header. SG_EINVAL with
 * e filled for a missing or repeated required column or an unknown one.
 */
int people_csv_open(struct people_csv *c, const char *text, size_t len, people_csv_resolve_fn org,
		    people_csv_resolve_fn area, void *ctx, struct people_csv_error *e);

/*
 * Reads up to cap rows into out, with the line of each in lines (may be
 * NULL); *n == 0 at the end. SG_EINVAL (e says where) for a bad row, which
 * stops the parse.
 */
int people_csv_next(struct people_csv *c, struct store_person *out, long *lines, size_t cap,
		    size_t *n, struct people_csv_error *e);

/* Bytes consumed so far (for a progress bar). */
size_t people_csv_offset(const struct people_csv *c);

#endif
