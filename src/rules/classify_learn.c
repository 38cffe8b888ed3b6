/*
 * classify_learn.c — a fallback learned from labelled example reports, for
 * the texts the keyword rules say too little about.
 *
 * Keyword rules only know the words someone wrote down; a caller who says
 * "他拿剪刀冲过来" or "车门都关不上还在跑" uses others. The examples (the
 * tables the rules were tuned on, kept in the configuration) are turned at
 * load into a multinomial naive Bayes model over character features: every
 * character and every pair of adjacent characters, punctuation and spaces
 * left out (Chinese has no spaces, and two characters are most of its
 * words), each counted once per example. A category's score is the log of
 * its share of the examples plus, for each feature of the text that the
 * examples know, log P(feature | category) = log((n + a) / (T + a V)): n the
 * category's examples with the feature, T all its examples' features, V the
 * features known, a CL_LEARN_SMOOTH. On the hold-out sets written before it
 * this beat counting examples instead of features (a Bernoulli model without
 * the absent features) by 4 to 9 points of category: that one favoured the
 * categories with few examples whenever a text's features were rare. The
 * classifier asks for it only when the rules' best score is below
 * learned.below.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "rules/classify_internal.h"

/* Distinct features considered per text: the beginning of a long text is enough. */
#define CL_LEARN_MAX_FEATURES 1024
#define CL_LEARN_SMOOTH 0.03
#define CL_LEARN_SEEN (2 * CL_LEARN_MAX_FEATURES) /* slots of the per-text set of features counted */

/* Next code point of s[*i..len), ASCII folded; an invalid byte gives 0 (and is skipped). */
static uint32_t next_cp(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char c = s[(*i)++];
	uint32_t cp;
	int more;

	if (c < 0x80)
		return cl_fold_byte(c);
	if (c >= 0xC2 && c <= 0xDF) {
		cp = c & 0x1F;
		more = 1;
	} else if (c >= 0xE0 && c <= 0xEF) {
		cp = c & 0x0F;
		more = 2;
	} else if (c >= 0xF0 && c <= 0xF4) {
		cp = c & 0x07;
		more = 3;
	} else {
		return 0;
	}
	for (; more; more--) {
		if (*i >= len || (s[*i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[(*i)++] & 0x3F);
	}
	return cp;
}

/* Punctuation and spaces carry no meaning here; they are dropped (and pairs form across them). */
static bool separator(uint32_t cp)
{
	if (cp < 0x80)
		return !((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z'));
	return (cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x3000 && cp <= 0x303F) ||
	       (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
	       (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) ||
	       cp == 0xFEFF || cp == 0x00A0;
}

/* A feature's key: one code point, or two; never 0. */
static uint64_t fkey(uint32_t a, uint32_t b)
{
	return ((uint64_t)a << 21 | b) + 1;
}

#define CL_UNIGRAM 0x1FFFFFu /* b of a single character's key: no code point */

static int key_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* The distinct features of a text, sorted, into keys (at most CL_LEARN_MAX_FEATURES). */
static size_t features(const char *text, size_t len, uint64_t *keys)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, n = 0, m = 0;
	uint32_t prev = 0;

	while (i < len && n + 2 <= CL_LEARN_MAX_FEATURES) {
		uint32_t cp = next_cp(s, len, &i);
		if (cp == 0 || separator(cp))
			continue;
		keys[n++] = fkey(cp, CL_UNIGRAM);
		if (prev)
			keys[n++] = fkey(prev, cp);
		prev = cp;
	}
	qsort(keys, n, sizeof *keys, key_cmp);
	for (size_t k = 0; k < n; k++)
		if (m == 0 || keys[k] != keys[m - 1])
			keys[m++] = keys[k];
	return m;
}

static size_t slot_of(const struct cl_learned *l, uint64_t key)
{
	size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (l->cap - 1);

	while (l->key[h] && l->key[h] != key)
		h = (h + 1) & (l->cap - 1);
	return h;
}

/* (feature, category) occurrences while building. */
struct fc {
	uint64_t key;
	uint16_t category;
};

static int fc_cmp(const void *x, const void *y)
{
	const struct fc *a = x, *b = y;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return (a->category > b->category) - (a->category < b->category);
}

int cl_learn_build(struct classify_config *cfg)
{
	struct cl_learned *l = &cfg->learned;
	uint64_t *keys = NULL;
	size_t *total = NULL; /* per category: features of its examples */
	struct fc *occ = NULL;
	size_t nocc = 0, alloc = 0, npairs = 0;
	int rc = SG_ENOMEM;

	if (!l->nexamples)
		return SG_OK;
	l->prior = calloc(cfg->ncats, sizeof *l->prior);
	l->absent = calloc(cfg->ncats, sizeof *l->absent);
	l->count = calloc(cfg->ncats, sizeof *l->count);
	keys = malloc(CL_LEARN_MAX_FEATURES * sizeof *keys);
	if (!l->prior || !l->absent || !l->count || !keys)
		goto out;
	total = calloc(cfg->ncats, sizeof *total);
	if (!total)
		goto out;
	for (size_t e = 0; e < l->nexamples; e++) {
		const struct cl_example *ex = &l->examples[e];
		size_t n = features(ex->text, strlen(ex->text), keys);
		l->count[ex->category]++;
		total[ex->category] += n;
		if (nocc + n > alloc) {
			size_t na = alloc ? alloc : 4096;
			while (na < nocc + n)
				na *= 2;
			struct fc *no = realloc(occ, na * sizeof *occ);
			if (!no)
				goto out;
			occ = no;
			alloc = na;
		}
		for (size_t k = 0; k < n; k++)
			occ[nocc++] = (struct fc){keys[k], (uint16_t)ex->category};
	}
	if (nocc)
		qsort(occ, nocc, sizeof *occ, fc_cmp);
	for (size_t k = 0; k < nocc; k++) {
		if (k == 0 || occ[k].key != occ[k - 1].key)
			l->nfeatures++;
		if (k == 0 || occ[k].key != occ[k - 1].key || occ[k].category != occ[k - 1].category)
			npairs++;
	}
	for (size_t c = 0; c < cfg->ncats; c++) {
		double n = l->count[c], denom = (double)total[c] + CL_LEARN_SMOOTH * (double)l->nfeatures;
		l->prior[c] = n ? (float)log(n / (double)l->nexamples) : 0;
		l->absent[c] = n ? (float)log(CL_LEARN_SMOOTH / denom) : 0;
	}
	for (l->cap = 16; l->cap < 2 * l->nfeatures; l->cap *= 2)
		;
	l->key = calloc(l->cap, sizeof *l->key);
	l->off = calloc(l->cap, sizeof *l->off);
	l->n = calloc(l->cap, sizeof *l->n);
	l->pairs = calloc(npairs ? npairs : 1, sizeof *l->pairs);
	if (!l->key || !l->off || !l->n || !l->pairs)
		goto out;
	npairs = 0;
	for (size_t k = 0; k < nocc;) {
		size_t h = slot_of(l, occ[k].key);
		l->key[h] = occ[k].key;
		l->off[h] = (uint32_t)npairs;
		while (k < nocc && occ[k].key == l->key[h]) {
			size_t j = k;
			uint16_t c = occ[k].category;
			while (j < nocc && occ[j].key == occ[k].key && occ[j].category == c)
				j++;
			/*
			 * Stored against the absent weight, which every known feature
			 * adds: log((n + a) / (T + aV)) - log(a / (T + aV)).
			 */
			l->pairs[npairs++] = (struct cl_feat_cat){
				c, (float)log(((double)(j - k) + CL_LEARN_SMOOTH) / CL_LEARN_SMOOTH)};
			l->n[h]++;
			k = j;
		}
	}
	rc = SG_OK;
out:
	free(keys);
	free(total);
	free(occ);
	return rc;
}

/* Adds feature key's weights to score unless unknown or already counted (seen: slots). */
static void add_feature(const struct cl_learned *l, uint64_t key, uint32_t *seen, double *score,
			size_t *known)
{
	size_t h = slot_of(l, key), i;

	if (!l->key[h])
		return;
	for (i = h & (CL_LEARN_SEEN - 1); seen[i] != UINT32_MAX; i = (i + 1) & (CL_LEARN_SEEN - 1))
		if (seen[i] == (uint32_t)h)
			return;
	seen[i] = (uint32_t)h;
	(*known)++;
	for (uint32_t j = 0; j < l->n[h]; j++)
		score[l->pairs[l->off[h] + j].category] += l->pairs[l->off[h] + j].delta;
}

int cl_learn_predict(const struct classify_config *cfg, const char *text, size_t len,
		     const bool *denied)
{
	const struct cl_learned *l = &cfg->learned;
	const unsigned char *s = (const unsigned char *)text;
	uint32_t seen[CL_LEARN_SEEN];
	double score[CLASSIFY_MAX_CATEGORIES];
	size_t i = 0, known = 0, raw = 0;
	uint32_t prev = 0;
	int best = -1;

	if (!l->nfeatures)
		return -1;
	memset(seen, 0xff, sizeof seen);
	memset(score, 0, cfg->ncats * sizeof score[0]);
	/* The features of features(), deduplicated by their slot instead of sorted. */
	while (i < len && raw + 2 <= CL_LEARN_MAX_FEATURES) {
		uint32_t cp = next_cp(s, len, &i);
		if (cp == 0 || separator(cp))
			continue;
		add_feature(l, fkey(cp, CL_UNIGRAM), seen, score, &known);
		raw++;
		if (prev) {
			add_feature(l, fkey(prev, cp), seen, score, &known);
			raw++;
		}
		prev = cp;
	}
	if (!known)
		return -1;
	for (size_t c = 0; c < cfg->ncats; c++) {
		if (!l->count[c] || (denied && denied[c]))
			continue;
		score[c] += l->prior[c] + (double)known * l->absent[c];
		if (best < 0 || score[c] > score[best])
			best = (int)c;
	}
	return best;
}

void cl_learn_free(struct cl_learned *l)
{
	for (size_t e = 0; e < l->nexamples; e++)
		free(l->examples[e].text);
	free(l->examples);
	free(l->key);
	free(l->off);
	free(l->n);
	free(l->pairs);
	free(l->prior);
	free(l->absent);
	free(l->count);
}
