/*
 * classify_match.c — the Aho–Corasick automaton over every term of a
 * configuration, and classifying a text with it.
 *
 * Classify: one pass of the automaton over the text marks the terms seen
 * (outside negation); the rules listing a seen term among their "terms" are
 * evaluated once each; categories are scored and chosen. All the per-call
 * state lives on the stack, so a loaded configuration is read-only.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "rules/classify_internal.h"

/* ------------------------------------------------------------- automaton */

/*
 * The complete transition table over byte classes. A state's row is its
 * failure state's row with its own edges written over it; rows are filled in
 * breadth-first order (queue), so the failure state's row is always ready.
 * Too large a table is not an error: the scan then uses the sparse edges.
 */
static int build_dense(struct classify_config *cfg, const uint32_t *queue, size_t nqueue)
{
	struct cl_ac *ac = &cfg->ac;
	uint8_t rep[256] = {0};
	size_t n = 1;

	for (size_t e = 0; e < ac->edge_off[ac->nstates]; e++)
		if (!ac->cls[ac->edge_byte[e]]) {
			ac->cls[ac->edge_byte[e]] = (uint8_t)n;
			rep[n++] = ac->edge_byte[e];
		}
	/*
	 * Terms hold no control bytes and no upper-case letters, so at most 197
	 * byte values occur and a class fits in a byte.
	 */
	assert(n <= 256);
	/* Terms are folded, so an upper-case letter behaves as its lower case. */
	for (int b = 'A'; b <= 'Z'; b++)
		ac->cls[b] = ac->cls[b | 0x20];
	ac->nclasses = n;
	if (ac->nstates > CL_DFA_MAX_CELLS / n)
		return SG_OK;
	ac->delta = calloc(ac->nstates * n, sizeof *ac->delta);
	if (!ac->delta)
		return SG_ENOMEM;
	for (size_t c = 1; c < n; c++)
		ac->delta[c] = ac->root_next[rep[c]];
	for (size_t i = 0; i < nqueue; i++) {
		uint32_t v = queue[i];
		uint32_t *row = ac->delta + (size_t)v * n;
		memcpy(row, ac->delta + (size_t)ac->fail[v] * n, n * sizeof *row);
		for (uint32_t e = ac->edge_off[v]; e < ac->edge_off[v + 1]; e++)
			row[ac->cls[ac->edge_byte[e]]] = ac->edge_to[e];
	}
	/* Flag the entries leading to a state that reports something. */
	for (size_t k = 0; k < ac->nstates * n; k++) {
		uint32_t t = ac->delta[k];
		if (ac->term[t] >= 0 || ac->out[t])
			ac->delta[k] = t | CL_HIT;
	}
	return SG_OK;
}

/*
 * Builds the automaton over the distinct terms but the gapped ones. They are sorted, so a node's
 * children are created in increasing byte order and a term either continues
 * through the node's last-created child or needs a new one; the edges,
 * recorded in creation order, are then grouped by parent (stably, so they
 * stay sorted). Failure links come from a breadth-first walk.
 */
int cl_automaton_build(struct classify_config *cfg)
{
	struct cl_ac *ac = &cfg->ac;
	size_t maxn = 1, ns = 1, ne = 0;
	uint32_t *last = NULL, *eparent = NULL, *eto = NULL, *queue = NULL, *cnt = NULL;
	uint8_t *ebyte = NULL, *lastbyte = NULL;
	int rc = SG_OK;

	for (size_t t = 0; t < cfg->nterms; t++)
		maxn += cfg->terms[t].len;
	last = calloc(maxn, sizeof *last);
	lastbyte = calloc(maxn, 1);
	eparent = calloc(maxn, sizeof *eparent);
	eto = calloc(maxn, sizeof *eto);
	ebyte = calloc(maxn, 1);
	ac->term = malloc(maxn * sizeof *ac->term);
	if (!last || !lastbyte || !eparent || !eto || !ebyte || !ac->term) {
		rc = SG_ENOMEM;
		goto out;
	}
	ac->term[0] = -1;
	for (size_t t = 0; t < cfg->nterms; t++) {
		const struct cl_term *term = &cfg->terms[t];
		uint32_t s = 0;
		if (term->roles & CL_ROLE_GAPPED)
			continue; /* its parts are terms of their own */
		for (size_t i = 0; i < term->len; i++) {
			uint8_t b = (uint8_t)term->s[i];
			if (last[s] && lastbyte[s] == b) {
				s = last[s];
				continue;
			}
			assert(!last[s] || lastbyte[s] < b);
			eparent[ne] = s;
			ebyte[ne] = b;
			eto[ne] = (uint32_t)ns;
			ne++;
			last[s] = (uint32_t)ns;
			lastbyte[s] = b;
			ac->term[ns] = -1;
			s = (uint32_t)ns++;
		}
		assert(ac->term[s] == -1); /* distinct terms end at distinct states */
		ac->term[s] = (int32_t)t;
	}
	ac->nstates = ns;
	ac->edge_off = calloc(ns + 1, sizeof *ac->edge_off);
	ac->edge_byte = malloc(ne ? ne : 1);
	ac->edge_to = malloc((ne ? ne : 1) * sizeof *ac->edge_to);
	ac->fail = calloc(ns, sizeof *ac->fail);
	ac->out = calloc(ns, sizeof *ac->out);
	queue = malloc(ns * sizeof *queue);
	cnt = calloc(ns + 1, sizeof *cnt);
	if (!ac->edge_off || !ac->edge_byte || !ac->edge_to || !ac->fail || !ac->out || !queue ||
	    !cnt) {
		rc = SG_ENOMEM;
		goto out;
	}
	for (size_t e = 0; e < ne; e++)
		ac->edge_off[eparent[e] + 1]++;
	for (size_t s = 0; s < ns; s++)
		ac->edge_off[s + 1] += ac->edge_off[s];
	for (size_t e = 0; e < ne; e++) {
		uint32_t at = ac->edge_off[eparent[e]] + cnt[eparent[e]]++;
		ac->edge_byte[at] = ebyte[e];
		ac->edge_to[at] = eto[e];
		if (eparent[e] == 0)
			ac->root_next[ebyte[e]] = eto[e];
	}

	size_t head = 0, tail = 0;
	for (uint32_t e = ac->edge_off[0]; e < ac->edge_off[1]; e++)
		queue[tail++] = ac->edge_to[e]; /* fail = 0, out = 0 */
	while (head < tail) {
		uint32_t u = queue[head++];
		for (uint32_t e = ac->edge_off[u]; e < ac->edge_off[u + 1]; e++) {
			uint8_t b = ac->edge_byte[e];
			uint32_t v = ac->edge_to[e], f = ac->fail[u], t = 0;
			for (;;) {
				if (f == 0) {
					t = ac->root_next[b];
					break;
				}
				uint32_t k = ac->edge_off[f], end = ac->edge_off[f + 1];
				while (k < end && ac->edge_byte[k] != b)
					k++;
				if (k < end) {
					t = ac->edge_to[k];
					break;
				}
				f = ac->fail[f];
			}
			ac->fail[v] = t;
			ac->out[v] = ac->term[t] >= 0 ? t : ac->out[t];
			queue[tail++] = v;
		}
	}
	rc = build_dense(cfg, queue, tail);
out:
	free(last);
	free(lastbyte);
	free(eparent);
	free(eto);
	free(ebyte);
	free(queue);
	free(cnt);
	return rc;
}

/* ------------------------------------------------------------ classifying */

/*
 * Distinct terms seen in one text are listed (with the offset of their first
 * counted occurrence) up to this many; past it the classifier still works
 * from the bitmap but evaluates every rule and reports offsets as unknown.
 */
#define CL_SEEN_CAP 512
#define CL_NEG_RING 8

struct scan {
	uint64_t seen[(CLASSIFY_MAX_TERMS + 63) / 64];     /* occurs at all */
	uint64_t affirmed[(CLASSIFY_MAX_TERMS + 63) / 64]; /* occurs outside negation */
	uint64_t tried[(CLASSIFY_MAX_RULES + 63) / 64];
	uint64_t matched[(CLASSIFY_MAX_RULES + 63) / 64];
	uint32_t list_term[CL_SEEN_CAP];
	uint32_t list_off[CL_SEEN_CAP];
	size_t nlist;
	bool overflow;
	size_t neg_end[CL_NEG_RING];
	unsigned nneg;
	const char *text;
	/* Per first part of a gapped term: where its last occurrence starts and ends + 1 (0: none). */
	uint32_t a_start[CLASSIFY_MAX_GAPPED];
	uint32_t a_end[CLASSIFY_MAX_GAPPED];
};

static inline bool bit_get(const uint64_t *v, size_t i)
{
	return (v[i >> 6] >> (i & 63)) & 1;
}

static inline void bit_set(uint64_t *v, size_t i)
{
	v[i >> 6] |= (uint64_t)1 << (i & 63);
}

static inline uint32_t ac_edge(const struct cl_ac *ac, uint32_t s, uint8_t b)
{
	uint32_t lo = ac->edge_off[s], hi = ac->edge_off[s + 1];

	while (hi - lo > 8) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (ac->edge_byte[mid] < b)
			lo = mid + 1;
		else
			hi = mid + 1; /* mid may be the edge itself */
	}
	for (; lo < hi; lo++)
		if (ac->edge_byte[lo] == b)
			return ac->edge_to[lo];
	return 0;
}

/* True when a negation term ends within the window before start. */
static bool negated(const struct classify_config *cfg, const struct scan *sc, size_t start)
{
	unsigned n = sc->nneg < CL_NEG_RING ? sc->nneg : CL_NEG_RING;

	for (unsigned i = 0; i < n; i++) {
		size_t e = sc->neg_end[i];
		if (e <= start && start - e <= (size_t)cfg->neg_window)
			return true;
	}
	return false;
}

/* Marks rule term t as occurring from start (and affirmed unless negated there). */
static void mark_seen(const struct classify_config *cfg, struct scan *sc, uint32_t t, size_t start)
{
	if (bit_get(sc->affirmed, t))
		return;
	if (!bit_get(sc->seen, t)) {
		bit_set(sc->seen, t);
		if (sc->nlist < CL_SEEN_CAP) {
			sc->list_term[sc->nlist] = t;
			sc->list_off[sc->nlist++] = (uint32_t)start;
		} else {
			sc->overflow = true;
		}
	}
	if (!negated(cfg, sc, start))
		bit_set(sc->affirmed, t);
}

/*
 * Second part b of gapped terms begins at start: each gapped term it closes
 * occurs when its first part's last occurrence ended at most cfg->gap
 * characters before (not after: overlapping parts do not count).
 */
static void close_gaps(const struct classify_config *cfg, struct scan *sc,
		       const struct cl_term *b, size_t start)
{
	for (uint32_t k = 0; k < b->gap_n; k++) {
		uint32_t g = cfg->gap_post[b->gap_off + k];
		const struct cl_term *a = &cfg->terms[cfg->terms[g].part_a];
		size_t a_end = sc->a_end[a->a_slot], chars = 0;
		if (!a_end-- || a_end > start || start - a_end > (size_t)cfg->gap * 4)
			continue;
		for (size_t i = a_end; i < start; i++)
			chars += ((unsigned char)sc->text[i] & 0xC0) != 0x80;
		if (chars <= (size_t)cfg->gap)
			mark_seen(cfg, sc, g, sc->a_start[a->a_slot]);
	}
}

static void on_match(const struct classify_config *cfg, struct scan *sc, uint32_t t, size_t end)
{
	const struct cl_term *term = &cfg->terms[t];
	size_t start = end - term->len;

	if (term->roles & CL_ROLE_RULE)
		mark_seen(cfg, sc, t, start);
	/* Closed before recording, so that "打*打" needs two occurrences. */
	if (term->roles & CL_ROLE_PART_B)
		close_gaps(cfg, sc, term, start);
	if (term->roles & CL_ROLE_PART_A) {
		sc->a_start[term->a_slot] = (uint32_t)start;
		sc->a_end[term->a_slot] = (uint32_t)end + 1;
	}
	/* Recorded after the check so that a term is never its own negation. */
	if (term->roles & CL_ROLE_NEGATION)
		sc->neg_end[sc->nneg++ % CL_NEG_RING] = end;
}

static void scan_text(const struct classify_config *cfg, struct scan *sc, const char *text,
		      size_t len)
{
	const struct cl_ac *ac = &cfg->ac;
	uint32_t s = 0;

	if (ac->delta) {
		const size_t n = ac->nclasses;
		for (size_t i = 0; i < len; i++) {
			s = ac->delta[(size_t)s * n + ac->cls[(unsigned char)text[i]]];
			if (!(s & CL_HIT))
				continue;
			s &= ~CL_HIT;
			for (uint32_t m = ac->term[s] >= 0 ? s : ac->out[s]; m; m = ac->out[m])
				on_match(cfg, sc, (uint32_t)ac->term[m], i + 1);
		}
		return;
	}
	for (size_t i = 0; i < len; i++) {
		uint8_t b = cl_fold_byte((unsigned char)text[i]);
		for (;;) {
			if (s == 0) {
				s = ac->root_next[b];
				break;
			}
			uint32_t t = ac_edge(ac, s, b);
			if (t) {
				s = t;
				break;
			}
			s = ac->fail[s];
		}
		for (uint32_t m = ac->term[s] >= 0 ? s : ac->out[s]; m; m = ac->out[m])
			on_match(cfg, sc, (uint32_t)ac->term[m], i + 1);
	}
}

static bool span_any(const struct classify_config *cfg, const uint64_t *bits, struct cl_span s)
{
	for (uint32_t k = 0; k < s.n; k++)
		if (bit_get(bits, cfg->refs[s.off + k]))
			return true;
	return false;
}

static bool span_all(const struct classify_config *cfg, const uint64_t *bits, struct cl_span s)
{
	for (uint32_t k = 0; k < s.n; k++)
		if (!bit_get(bits, cfg->refs[s.off + k]))
			return false;
	return true;
}

/* Which terms count for a rule: un-negated ones where negation applies. */
static const uint64_t *rule_bits(const struct classify_config *cfg, const struct scan *sc,
				 const struct cl_rule *r)
{
	if (r->owner == CL_URGENCY || cfg->cats[r->owner].negation)
		return sc->affirmed;
	return sc->seen;
}

static bool rule_matches(const struct classify_config *cfg, const struct scan *sc,
			 const struct cl_rule *r)
{
	const uint64_t *bits = rule_bits(cfg, sc, r);

	return span_any(cfg, bits, r->list[CL_ANY]) &&
	       (r->list[CL_WITH].n == 0 || span_any(cfg, bits, r->list[CL_WITH])) &&
	       span_all(cfg, bits, r->list[CL_ALL]) && !span_any(cfg, bits, r->list[CL_NOT]);
}

static void try_rule(const struct classify_config *cfg, struct scan *sc, uint32_t ri, int *score)
{
	const struct cl_rule *r = &cfg->rules[ri];

	if (bit_get(sc->tried, ri))
		return;
	bit_set(sc->tried, ri);
	if (!rule_matches(cfg, sc, r))
		return;
	bit_set(sc->matched, ri);
	if (r->owner >= 0)
		score[r->owner] += r->weight;
}

/* True when category a beats category b (b < 0: nothing yet) at scores sa, sb. */
static bool beats(const struct classify_config *cfg, int a, int sa, int b, int sb)
{
	if (b < 0)
		return true;
	if (sa != sb)
		return sa > sb;
	if (cfg->cats[a].priority != cfg->cats[b].priority)
		return cfg->cats[a].priority < cfg->cats[b].priority;
	if (cfg->cats[a].police != cfg->cats[b].police)
		return cfg->cats[a].police;
	return a < b;
}

static size_t seen_offset(const struct scan *sc, uint32_t t)
{
	for (size_t i = 0; i < sc->nlist; i++)
		if (sc->list_term[i] == t)
			return sc->list_off[i];
	return CLASSIFY_OFFSET_UNKNOWN;
}

/* Adds the seen terms of a matched rule's positive lists to the explanation. */
static void explain_rule(const struct classify_config *cfg, const struct scan *sc,
			 const struct cl_rule *r, enum classify_match_kind kind,
			 struct classify_result *res)
{
	const uint64_t *bits = rule_bits(cfg, sc, r);

	for (int l = CL_ANY; l <= CL_ALL; l++) {
		const struct cl_span s = r->list[l];
		for (uint32_t k = 0; k < s.n; k++) {
			uint32_t t = cfg->refs[s.off + k];
			bool dup = false;
			if (!bit_get(bits, t))
				continue;
			for (size_t i = 0; i < res->nmatches; i++)
				if (res->matches[i].term == cfg->terms[t].s)
					dup = true;
			if (dup)
				continue;
			if (res->nmatches == CLASSIFY_MAX_MATCHES) {
				res->matches_truncated = true;
				continue;
			}
			res->matches[res->nmatches++] = (struct classify_match){
				.term = cfg->terms[t].s,
				.offset = cfg->terms[t].roles & CL_ROLE_GAPPED
						  ? CLASSIFY_OFFSET_UNKNOWN
						  : seen_offset(sc, t),
				.len = cfg->terms[t].len,
				.kind = kind,
			};
		}
	}
}

int classify_text_in(const struct classify_config *cfg, const char *text, size_t len,
		     const char *area_code, struct classify_result *out)
{
	struct scan sc;
	struct classify_result res;
	int score[CLASSIFY_MAX_CATEGORIES];
	bool dropped[CLASSIFY_MAX_CATEGORIES];
	char norm[13];
	size_t norm_len;
	int best = -1, second = -1, raise_up = 0, raise_down = 0;

	if (!cfg || (!text && len) || !out)
		return SG_EINVAL;
	if (len > CLASSIFY_MAX_TEXT)
		return SG_ETOOBIG;
	if (cl_query_area(area_code, norm, &norm_len) != SG_OK)
		return SG_EINVAL;

	memset(score, 0, cfg->ncats * sizeof score[0]);
	memset(dropped, 0, cfg->ncats * sizeof dropped[0]);
	memset(sc.seen, 0, ((cfg->nterms + 63) / 64) * sizeof sc.seen[0]);
	memset(sc.affirmed, 0, ((cfg->nterms + 63) / 64) * sizeof sc.affirmed[0]);
	memset(sc.tried, 0, ((cfg->nrules + 63) / 64) * sizeof sc.tried[0]);
	memset(sc.matched, 0, ((cfg->nrules + 63) / 64) * sizeof sc.matched[0]);
	sc.nlist = 0;
	sc.overflow = false;
	sc.nneg = 0;
	sc.text = text;
	memset(sc.a_end, 0, cfg->nparts_a * sizeof sc.a_end[0]);
	if (len)
		scan_text(cfg, &sc, text, len);

	if (sc.overflow) {
		for (uint32_t r = 0; r < cfg->nrules; r++)
			try_rule(cfg, &sc, r, score);
	} else {
		for (size_t i = 0; i < sc.nlist; i++) {
			const struct cl_term *t = &cfg->terms[sc.list_term[i]];
			for (uint32_t k = 0; k < t->post_n; k++)
				try_rule(cfg, &sc, cfg->post[t->post_off + k], score);
		}
	}

	for (size_t c = 0; c < cfg->ncats; c++)
		if (score[c] > 0)
			for (size_t k = 0; k < cfg->cats[c].nover; k++)
				dropped[cfg->cats[c].over[k]] = true;
	for (size_t c = 0; c < cfg->ncats; c++) {
		if (score[c] <= 0 || dropped[c])
			continue;
		if (beats(cfg, (int)c, score[c], best, best >= 0 ? score[best] : 0)) {
			second = best;
			best = (int)c;
		} else if (beats(cfg, (int)c, score[c], second, second >= 0 ? score[second] : 0)) {
			second = (int)c;
		}
	}
	if (best >= 0 && score[best] < cfg->min_score) {
		second = best;
		best = -1;
	}
	/* Weak or no evidence from the rules: ask the examples (classify_learn.c). */
	bool learned = false;
	if (cfg->learned.nfeatures && (best < 0 || score[best] < cfg->learned.below)) {
		/*
		 * The model knows no negation: a category whose own terms the text
		 * negates ("没着火") is not its to give.
		 */
		bool denied[CLASSIFY_MAX_CATEGORIES];
		memset(denied, 0, cfg->ncats * sizeof denied[0]);
		for (size_t i = 0; i < sc.nlist; i++) {
			uint32_t t = sc.list_term[i];
			if (bit_get(sc.affirmed, t))
				continue;
			for (uint32_t k = 0; k < cfg->terms[t].post_n; k++) {
				const struct cl_rule *r = &cfg->rules[cfg->post[cfg->terms[t].post_off + k]];
				if (r->owner >= 0 && cfg->cats[r->owner].negation)
					denied[r->owner] = true;
			}
		}
		int lc = cl_learn_predict(cfg, text, len, denied);
		if (lc >= 0 && lc != best) {
			if (best >= 0)
				second = best;
			best = lc;
			learned = true;
		}
	}

	/* Only the used part of the match array is cleared (and copied below). */
	memset(&res, 0, offsetof(struct classify_result, matches));
	res.category_index = best >= 0 ? best : cfg->fallback;
	res.score = best >= 0 && !learned ? score[best] : 0;
	res.learned = learned;
	if (second >= 0 && second != res.category_index) {
		res.runner_up = cfg->cats[second].id;
		res.runner_up_score = score[second];
	}
	const struct cl_category *cat = &cfg->cats[res.category_index];
	res.category = cat->id;
	res.category_zh = cat->name_zh;
	res.police = cat->police;
	res.base_priority = cat->priority;
	if (best >= 0)
		for (uint32_t k = 0; k < cat->rule_n; k++)
			if (bit_get(sc.matched, cat->rule_off + k))
				explain_rule(cfg, &sc, &cfg->rules[cat->rule_off + k],
					     CLASSIFY_MATCH_CATEGORY, &res);

	for (uint32_t k = 0; k < cfg->urgency_n; k++) {
		uint32_t ri = cfg->urgency_off + k;
		const struct cl_rule *r = &cfg->rules[ri];
		if (!bit_get(sc.matched, ri) || (r->police_only && !cat->police))
			continue;
		if (r->weight > raise_up)
			raise_up = r->weight;
		if (r->weight < raise_down)
			raise_down = r->weight;
		explain_rule(cfg, &sc, r, CLASSIFY_MATCH_URGENCY, &res);
	}
	res.priority = cat->priority - (raise_up > 0 ? raise_up : raise_down);
	if (res.priority < 1)
		res.priority = 1;
	if (res.priority > 4)
		res.priority = 4;
	res.department = cl_dept_id(cfg, cl_route(cfg, res.category_index, norm, norm_len));
	memcpy(out, &res, offsetof(struct classify_result, matches) +
				  res.nmatches * sizeof res.matches[0]);
	return SG_OK;
}

