/*
 * progress.c — the terminal progress bar of base/progress.h.
 *
 * Each drawing is one fwrite of a whole line starting with '\r' and ending by
 * clearing to the end of the line, so a shorter line never leaves debris and
 * another writer's partial line is at worst overwritten, never interleaved
 * mid-bar.
 */
#include "base/progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_BAR_WIDTH 30
#define PROGRESS_REDRAW_MS 100

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sg_progress_init_stream(struct sg_progress *p, FILE *out, bool tty, const char *label,
			     size_t total)
{
	memset(p, 0, sizeof *p);
	p->out = out;
	p->tty = tty;
	snprintf(p->label, sizeof p->label, "%s", label ? label : "");
	p->total = total;
	p->last_draw_ms = -1;
	p->start_ms = now_ms();
}

void sg_progress_init(struct sg_progress *p, const char *label, size_t total)
{
	sg_progress_init_stream(p, stderr, isatty(STDERR_FILENO) == 1, label, total);
}

/* Writes the bar for the current state over the current terminal line. */
static void draw(struct sg_progress *p)
{
	char line[256], bar[PROGRESS_BAR_WIDTH + 1];
	int n;

	if (p->total > 0) {
		size_t done = p->done < p->total ? p->done : p->total;
		/* In double: done * 100 could overflow size_t on 32-bit hosts. */
		unsigned pct = (unsigned)((double)done * 100.0 / (double)p->total);
		unsigned fill = (unsigned)((double)done * PROGRESS_BAR_WIDTH / (double)p->total);

		memset(bar, '#', fill);
		memset(bar + fill, ' ', PROGRESS_BAR_WIDTH - fill);
		bar[PROGRESS_BAR_WIDTH] = '\0';
		n = snprintf(line, sizeof line, "\r%s %3u%% [%s] %zu/%zu\033[K", p->label, pct, bar,
			     p->done, p->total);
	} else {
		n = snprintf(line, sizeof line, "\r%s %zu\033[K", p->label, p->done);
	}
	if (n > 0)
		fwrite(line, 1, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1, p->out);
	fflush(p->out);
	p->last_draw_ms = now_ms();
}

void sg_progress_update(struct sg_progress *p, size_t done, size_t total)
{
	long long t;

	if (p->finished)
		return;
	p->done = done;
	if (total)
		p->total = total;
	if (!p->tty)
		return;
	t = now_ms();
	if (p->last_draw_ms < 0 || t - p->last_draw_ms >= PROGRESS_REDRAW_MS)
		draw(p);
}

void sg_progress_finish(struct sg_progress *p)
{
	double secs;

	if (p->finished)
		return;
	p->finished = true;
	if (p->tty) {
		draw(p);
		fputc('\n', p->out);
		fflush(p->out);
		return;
	}
	secs = (double)(now_ms() - p->start_ms) / 1000.0;
	if (p->total)
		fprintf(p->out, "%s: %zu/%zu in %.1f s\n", p->label, p->done, p->total, secs);
	else
		fprintf(p->out, "%s: %zu in %.1f s\n", p->label, p->done, secs);
	fflush(p->out);
}

void sg_progress_cb(void *ctx, size_t done, size_t total)
{
	sg_progress_update(ctx, done, total);
}
