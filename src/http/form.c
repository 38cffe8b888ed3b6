/*
 * form.c — application/x-www-form-urlencoded bodies: split on '&', then on
 * the first '=', then percent-decode and check each part (see form.h).
 *
 * Not a query-string parser for the server (libmicrohttpd does that), only
 * for bodies, which libmicrohttpd hands over raw.
 */
#include "http/form.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

void form_init(struct form *f)
{
	f->fields = NULL;
	f->n = 0;
}

void form_release(struct form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->fields[i].name);
		free(f->fields[i].value);
	}
	free(f->fields);
	form_init(f);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Whether s[0..n) is well-formed UTF-8: no overlong forms, no surrogates,
 * nothing above U+10FFFF (RFC 3629).
 */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/* Outcome of decoding one part, so the caller can word the error. */
enum decode_status { DECODE_OK, DECODE_NOMEM, DECODE_ESCAPE, DECODE_NUL, DECODE_LONG, DECODE_UTF8 };

/*
 * Decodes raw[0..n) ('+' → space, %XX → byte) into a new string of at most
 * max bytes. On DECODE_OK *out (caller frees) and *out_len are set.
 */
static enum decode_status decode(const char *raw, size_t n, size_t max, char **out,
				 size_t *out_len)
{
	char *d;
	size_t len = 0;
	enum decode_status st = DECODE_OK;

	/* Decoding never lengthens, so the raw size (capped) bounds the copy. */
	d = malloc((n < max ? n : max) + 1);
	if (!d)
		return DECODE_NOMEM;
	for (size_t i = 0; i < n; i++) {
		char c = raw[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = n - i >= 3 ? hexval(raw[i + 1]) : -1;
			int lo = n - i >= 3 ? hexval(raw[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				st = DECODE_ESCAPE;
				goto out;
			}
			hi = hi * 16 + lo;
			c = (char)hi;
			i += 2;
		}
		if (c == '\0') {
			st = DECODE_NUL;
			goto out;
		}
		if (len == max) {
			st = DECODE_LONG;
			goto out;
		}
		d[len++] = c;
	}
	d[len] = '\0';
	if (!utf8_valid((const unsigned char *)d, len))
		st = DECODE_UTF8;
out:
	if (st != DECODE_OK) {
		free(d);
		return st;
	}
	*out = d;
	*out_len = len;
	return DECODE_OK;
}

static int fail(struct form_error *err, int rc, const char *field, size_t field_len,
		const char *message)
{
	if (err) {
		size_t n = field_len < FORM_MAX_NAME ? field_len : FORM_MAX_NAME;
		memcpy(err->field, field, n);
		err->field[n] = '\0';
		snprintf(err->message, sizeof err->message, "%s", message);
	}
	return rc;
}

/* Words a decoding failure of a name (is_name) or of the value of field. */
static int decode_fail(struct form_error *err, enum decode_status st, bool is_name,
		       const char *field, size_t field_len)
{
	char msg[160];
	int rc = SG_EINVAL;
	const char *what = is_name ? "the field name" : "the value";

	switch (st) {
	case DECODE_NOMEM:
		return fail(err, SG_ENOMEM, field, field_len, "out of memory");
	case DECODE_ESCAPE:
		snprintf(msg, sizeof msg, "%s has an invalid %%-escape (need %%XX, two hex digits)",
			 what);
		break;
	case DECODE_NUL:
		snprintf(msg, sizeof msg, "%s contains a NUL byte", what);
		break;
	case DECODE_LONG:
		rc = SG_ETOOBIG;
		snprintf(msg, sizeof msg, "%s is longer than %d bytes", what,
			 is_name ? FORM_MAX_NAME : FORM_MAX_VALUE);
		break;
	case DECODE_UTF8:
		snprintf(msg, sizeof msg, "%s is not valid UTF-8", what);
		break;
	case DECODE_OK:
		break;
	}
	return fail(err, rc, field, field_len, msg);
}

int form_parse(const char *body, size_t len, struct form *f, struct form_error *err)
{
	struct form_field *fields = NULL;
	size_t n = 0, i = 0;
	int rc = SG_OK;

	/* At most FORM_MAX_FIELDS are kept, so the array is sized once. */
	while (i < len) {
		const char *pair = body + i, *amp = memchr(pair, '&', len - i), *eq;
		size_t plen = amp ? (size_t)(amp - pair) : len - i;
		size_t nlen, vlen;
		struct form_field fld;
		enum decode_status st;

		i += plen + 1;
		if (plen == 0)
			continue;
		eq = memchr(pair, '=', plen);
		nlen = eq ? (size_t)(eq - pair) : plen;
		if (nlen == 0) {
			rc = fail(err, SG_EINVAL, "body", 4, "a field has an empty name");
			goto out;
		}
		if (n == FORM_MAX_FIELDS) {
			char msg[80];
			snprintf(msg, sizeof msg, "more than %d fields", FORM_MAX_FIELDS);
			rc = fail(err, SG_ETOOBIG, "body", 4, msg);
			goto out;
		}
		if (!fields && !(fields = calloc(FORM_MAX_FIELDS, sizeof *fields))) {
			rc = fail(err, SG_ENOMEM, "body", 4, "out of memory");
			goto out;
		}
		st = decode(pair, nlen, FORM_MAX_NAME, &fld.name, &vlen);
		if (st != DECODE_OK) {
			rc = decode_fail(err, st, true, pair, nlen);
			goto out;
		}
		if (eq)
			st = decode(eq + 1, plen - nlen - 1, FORM_MAX_VALUE, &fld.value, &fld.value_len);
		else
			st = decode("", 0, FORM_MAX_VALUE, &fld.value, &fld.value_len);
		if (st != DECODE_OK) {
			rc = decode_fail(err, st, false, fld.name, strlen(fld.name));
			free(fld.name);
			goto out;
		}
		fields[n++] = fld;
	}
	f->fields = fields;
	f->n = n;
	fields = NULL;
	n = 0;
out:
	for (size_t k = 0; k < n; k++) {
		free(fields[k].name);
		free(fields[k].value);
	}
	free(fields);
	return rc;
}

const char *form_get(const struct form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->fields[i].name, name) == 0)
			return f->fields[i].value;
	}
	return NULL;
}

size_t form_count(const struct form *f, const char *name)
{
	size_t c = 0;

	for (size_t i = 0; i < f->n; i++)
		c += strcmp(f->fields[i].name, name) == 0;
	return c;
}
