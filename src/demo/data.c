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

#include "base/embed.h"

__asm__(SG_EMBED_BLOB("demo__districts_geojson", "data/suzhou-districts.wgs84.geojson")
	SG_EMBED_BLOB("demo__divisions_csv", "data/suzhou-divisions.csv"));
