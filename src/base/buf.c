/* buf.c — growable byte buffer with a cap. */
#include "base/buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

void sg_buf_init(struct sg_buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap ? cap : SG_BUF_DEFAULT_CAP;
	b->err = 0;
}

void sg_buf_release(struct sg_buf *b)
{
	free(b->data);
	sg_buf_init(b, b->cap);
}

void sg_buf_reset(struct sg_buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->data)
		b->data[0] = '\0';
}

static int buf_reserve(struct sg_buf *b, size_t extra)
{
	size_t need, na;
	char *p;

	if (b->err)
		return b->err;
	if (extra > b->cap - b->len)
		return b->err = SG_ETOOBIG;
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return SG_OK;
	na = b->alloc ? b->alloc : 64;
	while (na < need)
		na *= 2;
	p = realloc(b->data, na);
	if (!p)
		return b->err = SG_ENOMEM;
	b->data = p;
	b->alloc = na;
	return SG_OK;
}

int sg_buf_append(struct sg_buf *b, const void *p, size_t n)
{
	int rc = buf_reserve(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return SG_OK;
}

int sg_buf_puts(struct sg_buf *b, const char *s)
{
	return sg_buf_append(b, s, strlen(s));
}

int sg_buf_putc(struct sg_buf *b, char c)
{
	return sg_buf_append(b, &c, 1);
}

int sg_buf_vprintf(struct sg_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	size_t room = b->alloc > b->len ? b->alloc - b->len : 0;
	int n, rc;

	if (b->err)
		return b->err;
	/* Formatted straight into the free space; only what does not fit is formatted twice. */
	va_copy(ap2, ap);
	n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return b->err = SG_EINVAL; /* an encoding error: the text is not all there */
	if ((size_t)n < room && (size_t)n <= b->cap - b->len) {
		b->len += (size_t)n;
		return SG_OK;
	}
	if (room)
		b->data[b->len] = '\0'; /* the part that was written does not count */
	rc = buf_reserve(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return SG_OK;
}

int sg_buf_printf(struct sg_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = sg_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

int sg_buf_json_str(struct sg_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	int rc = sg_buf_putc(b, '"');

	while (rc == 0 && *p) {
		const unsigned char *run = p;
		/* The longest stretch that needs no escaping, copied at once. */
		while (*p >= 0x20 && *p != '"' && *p != '\\')
			p++;
		if (p > run && (rc = sg_buf_append(b, run, (size_t)(p - run))))
			break;
		if (!*p)
			break;
		switch (*p) {
		case '"': rc = sg_buf_append(b, "\\\"", 2); break;
		case '\\': rc = sg_buf_append(b, "\\\\", 2); break;
		case '\n': rc = sg_buf_append(b, "\\n", 2); break;
		case '\r': rc = sg_buf_append(b, "\\r", 2); break;
		case '\t': rc = sg_buf_append(b, "\\t", 2); break;
		default: {
			char esc[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };
			rc = sg_buf_append(b, esc, 6);
		}
		}
		p++;
	}
	return rc ? rc : sg_buf_putc(b, '"');
}

int sg_buf_put_int(struct sg_buf *b, long long v)
{
	char tmp[24], *e = tmp + sizeof tmp, *d = e;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	do {
		*--d = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--d = '-';
	return sg_buf_append(b, d, (size_t)(e - d));
}

/*
 * printf's "%.*f" is exact: it rounds the double's exact binary value. The
 * scaled product v * 10^decimals carries at most half an ulp of error, which
 * below 2^40 is under 1.3e-4; so unless its fraction lies within 1e-3 of a
 * half, rounding the product gives the digit string printf gives. The rest
 * (ties, large or non-finite values, many decimals) goes to snprintf.
 */
int sg_buf_put_fixed(struct sg_buf *b, double v, unsigned decimals)
{
	static const double pow10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };
	char tmp[48], *e = tmp + sizeof tmp, *d = e;
	double x, fl, fr;
	unsigned long long u;
	int neg = signbit(v) != 0;

	if (decimals >= sizeof pow10 / sizeof pow10[0] || !isfinite(v))
		return sg_buf_printf(b, "%.*f", (int)decimals, v);
	x = fabs(v) * pow10[decimals];
	if (!(x < 1099511627776.0)) /* 2^40 */
		return sg_buf_printf(b, "%.*f", (int)decimals, v);
	fl = floor(x);
	fr = x - fl;
	if (fabs(fr - 0.5) < 1e-3)
		return sg_buf_printf(b, "%.*f", (int)decimals, v);
	u = (unsigned long long)fl + (fr > 0.5);
	for (unsigned i = 0; i < decimals; i++) {
		*--d = (char)('0' + u % 10);
		u /= 10;
	}
	if (decimals)
		*--d = '.';
	do {
		*--d = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (neg)
		*--d = '-';
	return sg_buf_append(b, d, (size_t)(e - d));
}

char *sg_buf_steal(struct sg_buf *b, size_t *len)
{
	char *p = b->data;

	if (len)
		*len = b->len;
	if (!p)
		p = calloc(1, 1);
	sg_buf_init(b, b->cap);
	return p;
}
