/* case.c — callers' personal data: masking, and the key a number is matched by. */
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

void case_phone_key(const char *phone, char *out)
{
	size_t n = 0, skip = 0;

	for (; *phone && n < REPORT_PHONE_MAX; phone++) {
		if (*phone >= '0' && *phone <= '9')
			out[n++] = *phone;
	}
	out[n] = '\0';
	/* A mainland mobile number is 11 digits starting with 1. */
	if (n == 13 && memcmp(out, "861", 3) == 0)
		skip = 2;
	else if (n == 15 && memcmp(out, "00861", 5) == 0)
		skip = 4;
	memmove(out, out + skip, n - skip + 1);
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
