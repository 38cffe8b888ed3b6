/*
 * data.c — the demo city's source files, embedded in the binary so that
 * `safegrid demo` reads nothing at run time.
 *
 * The assembler's .incbin copies each file in at build time; its path is
 * relative to the directory the compiler runs in, the repository root (the
 * Makefile lists the files as prerequisites of this object, since -MMD does
 * not see them). Each blob gets a NUL after it and a length beside it; see
 * demo/city_internal.h. No code here, only data.
 */
#include "demo/city_internal.h"

#define DEMO_BLOB(sym, file)                                      \
	"	.section .rodata\n"                                 \
	"	.balign 16\n"                                       \
	"	.global " sym "\n"                                  \
	"	.type " sym ", @object\n"                           \
	sym ":\n"                                                   \
	"	.incbin \"" file "\"\n"                             \
	sym "_stop:\n"                                              \
	"	.byte 0\n"                                          \
	"	.size " sym ", . - " sym "\n"                       \
	"	.balign 8\n"                                        \
	"	.global " sym "_len\n"                              \
	"	.type " sym "_len, @object\n"                       \
	sym "_len:\n"                                               \
	"	.quad " sym "_stop - " sym "\n"                     \
	"	.size " sym "_len, 8\n"                             \
	"	.previous\n"

_Static_assert(sizeof(size_t) == 8, "the blob lengths are emitted as .quad");

__asm__(DEMO_BLOB("demo__districts_geojson", "data/suzhou-districts.wgs84.geojson")
	DEMO_BLOB("demo__divisions_csv", "data/suzhou-divisions.csv"));
