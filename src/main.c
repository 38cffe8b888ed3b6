/*
 * main.c — the safegrid command line: dispatches to src/cli/.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: safegrid COMMAND [options]\n"
		"  serve --db FILE [--listen HOST:PORT] [--demo [--no-history] [--simulate RATE]]\n"
		"  demo --db FILE [--seed N] [--no-history]         build the demo city\n"
		"  import areas FILE.geojson --db FILE [--make-valid]\n"
		"  import people FILE.csv --db FILE                 people registry (all or nothing)\n"
		"  user add --db FILE --name N --role R --scope CODE[,CODE] --password-stdin\n"
		"  audit verify --db FILE\n"
		"  coord --from wgs84|gcj02|bd09 --to wgs84|gcj02|bd09  < lon,lat lines\n");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "serve", cli_serve }, { "demo", cli_demo },   { "import", cli_import },
		{ "user", cli_user },   { "audit", cli_audit }, { "coord", cli_coord },
	};

	if (argc < 2) {
		usage();
		return 2;
	}
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 2, argv + 2);
	}
	usage();
	return 2;
}
