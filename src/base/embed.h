/*
 * embed.h — files embedded in the binary at build time.
 *
 * SG_EMBED_BLOB(sym, file) expands to assembler text for a top-level
 * __asm__: the assembler's .incbin copies file (a path relative to the
 * repository root, where the compiler runs) into .rodata as `sym`, followed
 * by a NUL, with its length (without the NUL) in `sym_len`. Declare them as
 *   extern const char sym[]; extern const size_t sym_len;
 * The Makefile must list the file as a prerequisite of the object, since
 * -MMD does not see .incbin.
 */
#ifndef SAFEGRID_BASE_EMBED_H
#define SAFEGRID_BASE_EMBED_H

#include <stddef.h>

_Static_assert(sizeof(size_t) == 8, "the blob lengths are emitted as .quad");

#define SG_EMBED_BLOB(sym, file)                                      \
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

#endif
