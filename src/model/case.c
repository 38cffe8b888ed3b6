/* case.c — masking of callers' personal data. */
#include "model/case.h"

#include <stdio.h>
#include <string.h>

void case_mask_phone(const char *phone, char *out)
{
	size_t n = strlen(phone);

	if (n > REPORT_PHONE_MAX)
		n = REPORT_PHONE_MAX;
	if (n >= 7) {
		memcpy(out, phone, 3);
		memset(out + 3, '*', n - 7);
		memcpy(out + n - 4, phone + n - 4, 4);
		out[n] = '\0';
	} else if (n > 2) {
		memset(out, '*', n - 2);
		memcpy(out + n - 2, phone + n - 2, 2);
		out[n] = '\0';
	} else {
		memset(out, '*', n);
		out[n] = '\0';
	}
}

void case_mask_name(const char *name, char *out, size_t cap)
{
	size_t first = 0, chars = 0, n = strlen(name), w = 0;

	if (cap == 0)
		return;
	if (n == 0) {
		out[0] = '\0';
		return;
	}
	/* The first UTF-8 character, then one asterisk for each further character. */
	first = 1;
	while (first < n && ((unsigned char)name[first] & 0xC0) == 0x80)
		first++;
	for (size_t i = first; i < n; i++)
		chars += ((unsigned char)name[i] & 0xC0) != 0x80;
	if (first >= cap)
		first = 0;
	memcpy(out, name, first);
	w = first;
	for (size_t i = 0; i < (chars ? chars : 1) && w + 1 < cap; i++)
		out[w++] = '*';
	out[w] = '\0';
}
