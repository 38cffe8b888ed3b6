/*
 * fuzz_replay.c — runs a libFuzzer target over its corpus without libFuzzer.
 *
 * Linked with a fuzz/<target>.c, it feeds every file named on the command
 * line (directories are walked one level) to LLVMFuzzerTestOneInput, so that
 * make test (and the sanitizer run) replays every corpus with gcc alone.
 * Prints "<target>: N passed, 0 failed"; a crash fails the suite.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	long n;
	uint8_t *buf;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int ran = 0, bad = 0;
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			bad++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *e;
			while (d && (e = readdir(d))) {
				char p[4096];
				if (e->d_name[0] == '.')
					continue;
				snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
				if (replay_file(p) == 0)
					ran++;
				else
					bad++;
			}
			if (d)
				closedir(d);
		} else if (replay_file(argv[i]) == 0) {
			ran++;
		} else {
			bad++;
		}
	}
	printf("fuzz-replay %s: %d passed, %d failed\n", name, ran, bad);
	return bad ? 1 : 0;
}
