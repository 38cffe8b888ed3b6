/*
 * progress.h — a one-line progress bar for long command-line jobs.
 *
 *   importing areas  42% [##########              ] 6543/15234
 *
 * Drawn on a terminal only, redrawn in place at most ten times a second.
 * When the stream is not a terminal (a pipe, a log file, a CI run) nothing is
 * drawn while the job runs and one plain line is written when it finishes,
 * so logs stay readable. Caller-owned and not thread-safe: one job, one
 * thread (use sg_progress_cb as a callback from that thread only).
 */
#ifndef SAFEGRID_BASE_PROGRESS_H
#define SAFEGRID_BASE_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SG_PROGRESS_LABEL_MAX 40

struct sg_progress {
	FILE *out;                          /* borrowed; stderr normally */
	bool tty;                           /* draw in place (else one final line) */
	bool finished;
	char label[SG_PROGRESS_LABEL_MAX];  /* copied, truncated */
	size_t done, total;                 /* total 0: unknown */
	long long last_draw_ms;             /* monotonic; -1 before the first draw */
	long long start_ms;
};

/*
 * Starts a bar on stderr, drawn if stderr is a terminal. label is copied
 * (truncated to SG_PROGRESS_LABEL_MAX - 1 bytes); total 0 means not yet known.
 */
void sg_progress_init(struct sg_progress *p, const char *label, size_t total);
/* The same on any stream; tty says whether to draw in place (tests, tools). */
void sg_progress_init_stream(struct sg_progress *p, FILE *out, bool tty, const char *label,
			     size_t total);
/* Records progress; redraws if 100 ms have passed since the last drawing. */
void sg_progress_update(struct sg_progress *p, size_t done, size_t total);
/*
 * Draws the final state and ends the line (on a terminal), or writes the one
 * summary line "label: done/total in 1.2 s" (elsewhere). Later calls do nothing.
 */
void sg_progress_finish(struct sg_progress *p);
/* sg_progress_update as a (void *ctx, done, total) callback; ctx is the struct sg_progress. */
void sg_progress_cb(void *ctx, size_t done, size_t total);

#endif
