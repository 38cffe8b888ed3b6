/*
 * escalator.h — the core's deadline timer: cases left unanswered past their
 * deadline climb the escalation chain by themselves.
 *
 * A thread wakes every period, asks the store for cases whose deadline has
 * passed while they still wait in their type's initial state, and moves each
 * one level up the chain (grid → station → district → city): a new deadline,
 * a line on the case's history, and a notification through a callback (the
 * live stream). Each step is a versioned change, so an operator acting on
 * the case at the same moment wins and the escalation is simply skipped.
 * Not a cron job: the timer lives in the server and stops with it.
 */
#ifndef SAFEGRID_PIPELINE_ESCALATOR_H
#define SAFEGRID_PIPELINE_ESCALATOR_H

#include <stdint.h>

#include "model/case.h"
#include "rules/casefsm.h"
#include "store/store.h"

struct escalator;

struct escalator_config {
	struct store *store;        /* borrowed */
	const struct casefsm *fsm;  /* borrowed */
	unsigned period_ms;         /* how often to look; >= 10 */
	/* The current time in Unix seconds (the server's clock, controllable in tests). */
	int64_t (*now)(void *ctx);
	/* Called after each escalation with the case as changed; may be NULL. */
	void (*escalated)(void *ctx, const struct case_row *c);
	/* Called at the end of every pass with the same now, for other timed duties; may be NULL. */
	void (*tick)(void *ctx, int64_t now);
	void *ctx;
};

/* Starts the timer thread. *out set on success; stop with escalator_stop. */
int escalator_start(const struct escalator_config *cfg, struct escalator **out);
/* Runs one pass now (also what the thread does each period). Returns the number escalated. */
int escalator_run_once(struct escalator *e);
/* Stops the thread (waiting for a pass in progress) and frees. NULL does nothing. */
void escalator_stop(struct escalator *e);

#endif
