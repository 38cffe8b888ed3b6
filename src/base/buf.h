/*
 * buf.h — a growable byte buffer with a hard cap.
 *
 * The buffer always keeps a NUL after its contents so it can be used as a C
 * string. Appending past the cap fails with SG_ETOOBIG and leaves the buffer as
 * it was. A failed append is remembered (err): every later one fails alike,
 * until a reset, so that a writer that checks only at the end (an HTTP answer
 * built by many appends) cannot hand out a document with a piece missing.
 * Caller-owned: sg_buf_init / sg_buf_release.
 */
#ifndef SAFEGRID_BASE_BUF_H
#define SAFEGRID_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct sg_buf {
	char *data;   /* NUL-terminated; NULL until the first append */
	size_t len;
	size_t alloc;
	size_t cap;   /* maximum len; 0 means SG_BUF_DEFAULT_CAP */
	int err;      /* the first failed append's error (SG_ENOMEM, SG_ETOOBIG); 0 if none */
};

#define SG_BUF_DEFAULT_CAP ((size_t)1 << 30)

void sg_buf_init(struct sg_buf *b, size_t cap);
void sg_buf_release(struct sg_buf *b);
/* Empties the buffer, keeping its memory, and forgets a failed append. */
void sg_buf_reset(struct sg_buf *b);
int sg_buf_append(struct sg_buf *b, const void *p, size_t n);
int sg_buf_puts(struct sg_buf *b, const char *s);
int sg_buf_putc(struct sg_buf *b, char c);
int sg_buf_printf(struct sg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sg_buf_vprintf(struct sg_buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal, quotes included. */
int sg_buf_json_str(struct sg_buf *b, const char *s);
/* Appends v in decimal. */
int sg_buf_put_int(struct sg_buf *b, long long v);
/* Appends v exactly as printf("%.*f", decimals, v) would, several times faster. */
int sg_buf_put_fixed(struct sg_buf *b, double v, unsigned decimals);
/* Hands the contents to the caller (who frees them) and re-initialises b. */
char *sg_buf_steal(struct sg_buf *b, size_t *len);

#endif
