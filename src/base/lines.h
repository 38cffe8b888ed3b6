/*
 * lines.h — walking a buffer line by line (NDJSON and other line formats).
 *
 * Lines end at '\n'; a '\r' before it is dropped; the last line need not end
 * with '\n'. Header-only: one small inline function.
 */
#ifndef SAFEGRID_BASE_LINES_H
#define SAFEGRID_BASE_LINES_H

#include <stddef.h>
#include <string.h>

/*
 * Returns the next line starting at *p (not NUL-terminated, borrowed from the
 * buffer) with its length in *len, and advances *p past it; NULL when *p has
 * reached end.
 */
static inline const char *sg_next_line(const char **p, const char *end, size_t *len)
{
	const char *start = *p, *nl;

	if (start >= end)
		return NULL;
	nl = memchr(start, '\n', (size_t)(end - start));
	*len = (size_t)((nl ? nl : end) - start);
	*p = nl ? nl + 1 : end;
	if (*len && start[*len - 1] == '\r')
		(*len)--;
	return start;
}

#endif
