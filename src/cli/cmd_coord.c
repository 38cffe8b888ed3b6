/*
 * cmd_coord.c — `safegrid coord --from CRS --to CRS`: converts "lon,lat"
 * lines from stdin to stdout at full double precision.
 */
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geo/coord.h"

static int parse_pair(char *line, struct geo_point *p)
{
	char *end;

	errno = 0;
	p->lon = strtod(line, &end);
	if (end == line || errno)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end != ',')
		return -1;
	line = end + 1;
	p->lat = strtod(line, &end);
	if (end == line || errno)
		return -1;
	while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
		end++;
	if (*end || !isfinite(p->lon) || !isfinite(p->lat) || fabs(p->lon) > 180 ||
	    fabs(p->lat) > 90)
		return -1;
	return 0;
}

int cli_coord(int argc, char **argv)
{
	static const char *const with_value[] = { "--from", "--to", NULL };
	const char *from_s = cli_opt(argc, argv, "--from"), *to_s = cli_opt(argc, argv, "--to");
	enum geo_crs from, to;
	char line[512];
	long lineno = 0, bad = 0;
	int rc;

	if ((rc = cli_check_opts(argc, argv, with_value, NULL)))
		return rc;
	if (!from_s || !to_s || geo_crs_parse(from_s, &from) || geo_crs_parse(to_s, &to)) {
		fprintf(stderr, "usage: safegrid coord --from wgs84|gcj02|bd09 --to wgs84|gcj02|bd09"
				" < lon,lat lines\n");
		return 2;
	}
	while (fgets(line, sizeof line, stdin)) {
		struct geo_point p;
		lineno++;
		if (line[0] == '\n' || line[0] == '#')
			continue;
		if (parse_pair(line, &p)) {
			fprintf(stderr, "safegrid: line %ld: expected lon,lat in degrees\n", lineno);
			bad++;
			continue;
		}
		p = geo_crs_convert(from, to, p);
		printf("%.17g,%.17g\n", p.lon, p.lat);
	}
	return bad ? 1 : 0;
}
