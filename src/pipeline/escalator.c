/* escalator.c — the deadline timer (see escalator.h). */
#include "pipeline/escalator.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"

#define ESCALATE_BATCH 256

struct escalator {
	struct escalator_config cfg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stopping;
};

int escalator_run_once(struct escalator *e)
{
	const struct casefsm *fsm = e->cfg.fsm;
	const char *initial[CASEFSM_MAX_TYPES];
	size_t ninitial = 0, n = 0;
	int64_t ids[ESCALATE_BATCH], now = e->cfg.now(e->cfg.ctx);
	int top = casefsm_escalation_levels(fsm) - 1, done = 0;

	for (int t = 0; t < CASEFSM_MAX_TYPES; t++) {
		char id[CASEFSM_MAX_ID];
		if (casefsm_type_id(fsm, t, id, sizeof id) != 0)
			break;
		initial[ninitial++] = casefsm_initial(fsm, t);
	}
	if (store_cases_overdue(e->cfg.store, now, initial, ninitial, top, ids, ESCALATE_BATCH, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		struct store_case_change ch;
		struct case_row c, after;
		char note[96];
		int type, level;

		if (store_case_get(e->cfg.store, ids[i], &c) != 0)
			continue;
		type = casefsm_type(fsm, c.type);
		if (type < 0)
			continue;
		level = c.escalation_level + 1;
		snprintf(note, sizeof note, "deadline passed: escalated to %s",
			 area_kind_name(casefsm_escalation_kind(fsm, level)));
		memset(&ch, 0, sizeof ch);
		ch.id = c.id;
		ch.expected_version = c.version;
		ch.set_police = -1;
		ch.set_escalation_level = level;
		ch.set_deadline = now + casefsm_deadline(fsm, type, c.priority);
		ch.at = now;
		ch.actor = "system";
		ch.note = note;
		ch.out = &after;
		if (store_case_change(e->cfg.store, &ch) != 0)
			continue; /* changed meanwhile (the operator wins) or failed: next pass */
		done++;
		SG_LOG(SG_LOG_INFO, "msg=escalated case=%lld level=%d", (long long)c.id, level);
		if (e->cfg.escalated)
			e->cfg.escalated(e->cfg.ctx, &after);
	}
	if (e->cfg.tick)
		e->cfg.tick(e->cfg.ctx, now);
	return done;
}

static void *escalator_main(void *arg)
{
	struct escalator *e = arg;

	pthread_mutex_lock(&e->lock);
	while (!e->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += e->cfg.period_ms / 1000;
		until.tv_nsec += (long)(e->cfg.period_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&e->wake, &e->lock, &until);
		if (e->stopping)
			break;
		pthread_mutex_unlock(&e->lock);
		escalator_run_once(e);
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

int escalator_start(const struct escalator_config *cfg, struct escalator **out)
{
	struct escalator *e;

	if (!cfg->store || !cfg->fsm || !cfg->now || cfg->period_ms < 10)
		return SG_EINVAL;
	if (!(e = calloc(1, sizeof *e)))
		return SG_ENOMEM;
	e->cfg = *cfg;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->wake, NULL);
	if (pthread_create(&e->thread, NULL, escalator_main, e) != 0) {
		pthread_mutex_destroy(&e->lock);
		pthread_cond_destroy(&e->wake);
		free(e);
		return SG_EINTERNAL;
	}
	*out = e;
	return SG_OK;
}

void escalator_stop(struct escalator *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->stopping = 1;
	pthread_cond_signal(&e->wake);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->wake);
	free(e);
}
