/*
 * classify_internal.h — what the parts of the classifier share (not a public
 * API: include rules/classify.h). classify_config.c loads, validates, frees
 * and writes back a configuration; classify_match.c builds the Aho–Corasick
 * automaton and classifies a text with it; classify.c answers the queries on
 * a loaded configuration (routing, categories, departments, sizes).
 */
#ifndef SAFEGRID_RULES_CLASSIFY_INTERNAL_H
#define SAFEGRID_RULES_CLASSIFY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules/classify.h"

/* The four term lists of a rule, in the order they are checked and written. */
enum cl_list { CL_ANY, CL_WITH, CL_ALL, CL_NOT, CL_NLISTS };

/* Their names in the document. */
extern const char *const cl_list_names[CL_NLISTS];

enum cl_dept_kind {
	CL_KIND_POLICE,
	CL_KIND_EMERGENCY,
	CL_KIND_GOVERNMENT,
	CL_KIND_ENTERPRISE,
	CL_KIND_HOTLINE,
	CL_KIND_COMMUNITY,
	CL_KIND_COUNT
};

/* Department kinds by name, as in the document. */
extern const char *const cl_kind_names[CL_KIND_COUNT];

/* Distinct-term roles. */
/*
 * Distinct-term roles. A gapped term ("被*打") is never in the automaton: its
 * two parts are, and the scan marks it when its second part begins close
 * enough after its first ends.
 */
enum cl_term_role {
	CL_ROLE_RULE = 1 << 0,     /* listed in a rule */
	CL_ROLE_NEGATION = 1 << 1, /* listed in negation.terms */
	CL_ROLE_GAPPED = 1 << 2,   /* holds a '*' */
	CL_ROLE_PART_A = 1 << 3,   /* the part before a gapped term's '*' */
	CL_ROLE_PART_B = 1 << 4,   /* the part after it */
};

#define CL_NO_DEPT (-1) /* the station: a police category's default */
#define CL_URGENCY (-1) /* owner of an urgency rule */
#define CL_NEGATION_RULE UINT32_MAX
#define CL_PART_RULE (UINT32_MAX - 1) /* owner of a gapped term's part */
#define CL_GAP_MARK '*'
#define CL_DEFAULT_GAP 8
#define CL_MAX_GAP 32
#define CL_MAX_NOTES 64
#define CL_MAX_NEG_WINDOW 32
#define CL_MAX_WEIGHT 1000
#define CL_MAX_MIN_SCORE 1000000
#define CL_PATH 128

struct cl_span {
	uint32_t off, n; /* into cfg->refs */
};

struct cl_rule {
	struct cl_span list[CL_NLISTS];
	int weight;        /* weight, or raise for an urgency rule */
	int owner;         /* category index, or CL_URGENCY */
	uint32_t index;    /* position within its owner's list, for error paths */
	bool police_only;  /* urgency rules only */
};

struct cl_category {
	char *id, *name_zh, *name_en, *note;
	bool police;
	bool negation;               /* negated terms do not count for this category */
	int priority;
	uint32_t rule_off, rule_n;   /* into cfg->rules */
	uint16_t *over;              /* categories whose score this one drops */
	size_t nover;
	const char **notify;         /* department ids, borrowed from cfg->depts */
	int *notify_idx;
	size_t nnotify;
	int default_dept;            /* CL_NO_DEPT: the station */
	uint32_t route_off, route_n; /* into cfg->area_routes: routes with an area */
};

struct cl_department {
	char *id, *name_zh, *name_en, *note;
	enum cl_dept_kind kind;
};

struct cl_route {
	int category;
	int department;  /* CL_NO_DEPT: the station */
	char area[13];   /* as written; "" for city-wide */
	char norm[13];   /* the area's significant prefix (see cl_area_normalise) */
	size_t norm_len;
	char *note;
};

struct cl_term {
	const char *s;     /* into cfg->pool, NUL-terminated, folded */
	uint8_t len;
	uint8_t roles;     /* enum cl_term_role */
	uint8_t chars;     /* UTF-8 characters (lead bytes) */
	uint32_t post_off, post_n; /* rules listing this term in "terms", into cfg->post */
	uint32_t part_a, part_b;   /* a gapped term's parts (distinct-term ids) */
	uint32_t gap_off, gap_n;   /* a part B: the gapped terms it closes, into cfg->gap_post */
	uint32_t a_slot;           /* a part A: its slot in the scan's positions */
};

/*
 * The automaton: states are numbered from 0 (the root); the edges of state s
 * are edge_byte/edge_to[edge_off[s] .. edge_off[s+1]), sorted by byte, and a
 * mismatch follows fail. When states × byte classes fits CL_DFA_MAX_CELLS
 * (it does for any configuration of a few thousand terms), the complete
 * transition table is also built, so that a byte costs one lookup; larger
 * configurations scan the sparse form, which is slower but bounded.
 */
#define CL_DFA_MAX_CELLS ((size_t)1 << 22) /* 16 MiB of uint32 */
#define CL_HIT ((uint32_t)1 << 31)         /* in delta: the next state reports a term */

struct cl_ac {
	uint32_t root_next[256]; /* 0: stay at the root */
	uint8_t cls[256];        /* byte → class: 0 for a byte in no term; A-Z as a-z */
	size_t nclasses;
	uint32_t *delta;         /* nstates × nclasses next states | CL_HIT, or NULL */
	uint32_t *edge_off;      /* nstates + 1 */
	uint8_t *edge_byte;
	uint32_t *edge_to;
	uint32_t *fail;
	int32_t *term;           /* distinct term ending at the state, or -1 */
	uint32_t *out;           /* next state on the fail chain with a term, or 0 */
	size_t nstates;
};

/* One labelled example report ("learned.examples"). */
struct cl_example {
	int category;
	char *text;
};

/* A (feature, category) count turned into its weight, see classify_learn.c. */
struct cl_feat_cat {
	uint16_t category;
	float delta;
};

/*
 * The model learned from the examples at load: an open-addressing table of
 * character features (keys, 0 for an empty slot), each with its categories.
 */
struct cl_learned {
	int below;                 /* used when the rules' best score is below this */
	struct cl_example *examples;
	size_t nexamples;
	uint64_t *key;             /* cap slots */
	uint32_t *off, *n;         /* into pairs */
	size_t cap;
	size_t nfeatures;
	struct cl_feat_cat *pairs;
	float *prior;              /* per category: log share of the examples */
	float *absent;             /* per category: log P(feature | category) of one never seen with it */
	uint32_t *count;           /* per category: examples */
};

struct classify_config {
	int version;
	char **notes;
	size_t nnotes;
	struct cl_category *cats;
	size_t ncats;
	struct cl_department *depts;
	size_t ndepts;
	struct cl_route *routes;  /* in document order */
	size_t nroutes;
	uint32_t *area_routes;    /* route indices grouped by category */
	struct cl_rule *rules;    /* categories' rules in order, then the urgency rules */
	size_t nrules;
	uint32_t urgency_off, urgency_n;
	struct cl_span negation;  /* into refs */
	int neg_window;
	int min_score;
	int gap;                  /* characters allowed between a gapped term's parts */
	uint32_t *gap_post;
	size_t ngapped;           /* distinct gapped terms */
	size_t nparts_a;          /* distinct first parts */
	int fallback;
	uint32_t *refs;           /* distinct-term ids of every list, in document order */
	size_t nrefs;
	struct cl_term *terms;    /* distinct terms, sorted bytewise */
	size_t nterms;
	char *pool;               /* the distinct terms' bytes */
	uint32_t *post;
	struct cl_ac ac;
	struct cl_learned learned;
};

/* ASCII upper case to lower case; every other byte as it is. */
static inline unsigned char cl_fold_byte(unsigned char c)
{
	return (unsigned char)(c - 'A') < 26 ? (unsigned char)(c | 0x20) : c;
}

/* Index of the category or department with this id, or -1. */
int cl_find_category(const struct classify_config *cfg, const char *id);
int cl_find_department(const struct classify_config *cfg, const char *id);

/*
 * The significant prefix of a division code (see classify_config.c); its
 * length, or -1 when code is not 6, 9 or 12 digits.
 */
int cl_area_normalise(const char *code, char norm[13]);

/* A caller's area code normalised; NULL or "" is city-wide (length 0). SG_EINVAL if malformed. */
int cl_query_area(const char *area_code, char norm[13], size_t *norm_len);

/* The department (index, or CL_NO_DEPT) for category ci at the normalised place. */
int cl_route(const struct classify_config *cfg, int ci, const char *norm, size_t norm_len);

/* A department index (or CL_NO_DEPT) as its id. */
const char *cl_dept_id(const struct classify_config *cfg, int dept);

/*
 * Builds cfg->ac over cfg->terms (distinct, sorted). SG_OK or SG_ENOMEM;
 * what was allocated is freed with the configuration.
 */
int cl_automaton_build(struct classify_config *cfg);

/* Builds cfg->learned's model from its examples: SG_OK or SG_ENOMEM. */
int cl_learn_build(struct classify_config *cfg);

/*
 * The category the examples suggest for len bytes of text, never one with
 * denied[c] set (denied may be NULL), or -1 when the text shares no feature
 * with them (or there are none).
 */
int cl_learn_predict(const struct classify_config *cfg, const char *text, size_t len,
		     const bool *denied);

/* Frees what cl_learn_build and the loader allocated. */
void cl_learn_free(struct cl_learned *l);

#endif
