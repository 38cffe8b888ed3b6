/*
 * form.h — an application/x-www-form-urlencoded body parser (HTML forms,
 * Open311 GeoReport v2 POST bodies).
 *
 * A body is name=value pairs joined by '&'; '+' is a space and %XX a byte,
 * in names and values alike. Repeated names are kept, in order; "name" and
 * "name=" both give an empty value; empty pairs ("a=1&&b=2") are skipped.
 * Decoded names and values must be valid UTF-8 without NUL bytes, so they
 * can be used as C strings. Not handled here: multipart/form-data, charsets
 * other than UTF-8, ';' as a separator.
 */
#ifndef SAFEGRID_HTTP_FORM_H
#define SAFEGRID_HTTP_FORM_H

#include <stddef.h>

#define FORM_MAX_FIELDS 64          /* pairs per body */
#define FORM_MAX_NAME 128           /* bytes of a decoded name */
#define FORM_MAX_VALUE (8 * 1024)   /* bytes of a decoded value */

struct form_field {
	char *name;  /* owned, NUL-terminated, decoded */
	char *value; /* owned, NUL-terminated, decoded; "" when empty */
	size_t value_len;
};

/* A parsed body. Caller-owned: form_init / form_release. */
struct form {
	struct form_field *fields; /* in body order */
	size_t n;
};

/* Why a parse failed. */
struct form_error {
	/*
	 * The field at fault: its decoded name when that could be decoded,
	 * else its raw name (cut to fit), or "body" for faults of the whole
	 * body (too many fields, an empty name).
	 */
	char field[FORM_MAX_NAME + 1];
	char message[160];
};

void form_init(struct form *f);
/* Frees every field; f is empty afterwards. */
void form_release(struct form *f);

/*
 * Parses len bytes of body (no NUL needed; borrowed for the call) into an
 * initialised, empty form. Returns 0, or on failure leaves f empty, fills
 * err (when not NULL) and returns SG_EINVAL (a bad %-escape, invalid UTF-8,
 * a NUL byte, an empty name), SG_ETOOBIG (more than FORM_MAX_FIELDS pairs, a
 * name or value over its limit) or SG_ENOMEM.
 */
int form_parse(const char *body, size_t len, struct form *f, struct form_error *err);

/* The first value of name, or NULL when absent. Borrowed from f. */
const char *form_get(const struct form *f, const char *name);
/* How many times name occurs. */
size_t form_count(const struct form *f, const char *name);

#endif
