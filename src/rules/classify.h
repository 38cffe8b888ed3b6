/*
 * classify.h — classifying citizens' reports (110 and 12345) by keyword rules
 * and, where they say too little, by labelled examples.
 *
 * The taxonomy, the keyword rules, the labelled examples, the departments and
 * the routing of each category to a department are configuration
 * (data/rules/classify.json), not code. This module loads and validates that
 * JSON, builds one Aho–Corasick automaton over every term and a naive Bayes
 * model over the examples, and then classifies a report's text in
 * microseconds: a category, whether it is a police matter, a priority, the
 * department it goes to, a score and the terms that decided it (shown to the
 * operator). It does no I/O: the caller reads the file and hands over text.
 * Splitting text into sentences, segmenting words, and learning from
 * operators' corrections while running are not done here (a correction
 * becomes an example in the next configuration).
 *
 * The configuration document (every member is checked; unknown members are
 * refused):
 *
 *   version      1
 *   notes        optional array of strings (kept, for people)
 *   fallback     id of the category given when nothing scores min_score
 *   min_score    optional integer 1..1000000 (default 1)
 *   gap          optional integer 1..32 (default 8): the characters a
 *                gapped term (below) allows between its two parts
 *   negation     optional {"terms": [...], "window": 0..32}: a term whose
 *                first byte comes within window bytes after the end of a
 *                negation term ("没有", "不是") does not count for the
 *                categories that honour negation (below) nor for urgency
 *   urgency      optional array of rules (below) whose "raise" (-3..3, not 0)
 *                moves the priority: the largest positive raise among the
 *                matching ones wins; without one, the most negative applies.
 *                "police_only": true limits a rule to police categories
 *   departments  array of {"id", "name_zh", "name_en"?, "kind", "note"?};
 *                kind is police | emergency | government | enterprise |
 *                hotline | community; the id "station" is reserved
 *   categories   array of {"id", "name_zh", "name_en", "police", "negation"?,
 *                "priority" (1 most urgent .. 4), "priority_over"?, "notify"?,
 *                "note"?, "rules"}; "negation" (default: the value of
 *                "police") says whether negated terms are ignored for the
 *                category: "没有人受伤" is no assault, but "没有路灯" is
 *                exactly the street-light complaint
 *   routing      array of {"category", "area"?, "department", "note"?}
 *   learned      optional {"below": 1..1000000, "examples": [{"category",
 *                "text"}, ...]}: labelled example reports (text 1..1024
 *                bytes, at most CLASSIFY_MAX_EXAMPLES). When the rules' best
 *                score is below "below" (nothing scoring included), the
 *                category is the one a naive Bayes model over the examples'
 *                characters and character pairs gives the text, if the text
 *                shares any with them (classify_learn.c), except a
 *                category whose terms the text negates; the result then
 *                has learned set and score 0
 *
 * A rule is {"terms": [...], "with"?: [...], "all"?: [...], "not"?: [...],
 * "weight": 1..1000}. It matches when the text contains any of terms, any of
 * with (when given), all of all and none of not; a matching rule adds its
 * weight once to its category. The category with the highest total wins,
 * after priority_over: when category A lists B and both score, B's score is
 * dropped (a cycle of priority_over is refused at load). A best total below
 * min_score gives the fallback, with the best as runner-up. Ties go to the lower (more urgent) priority, then to the police
 * category, then to the category listed first. Terms are UTF-8 substrings
 * (1..64 bytes) matched byte for byte, except that ASCII letters are folded
 * to lower case on both sides; text that is not valid UTF-8 is scanned all
 * the same (a stray byte simply matches nothing). A term may hold one '*'
 * between two non-empty parts: "被*打" occurs where 打 begins at most gap
 * characters after the end of a 被 (the nearest one before it), so that
 * "被几个人围着打" needs no list of every filler. Chinese puts the actor and
 * the object between such pairs (被…打, 把…偷, 往…扔), which plain substrings
 * cannot cover. A gapped term is negated when its first part is; negation
 * terms cannot have a '*'. Its match is reported with the offset
 * CLASSIFY_OFFSET_UNKNOWN (it spans text that is not the term).
 *
 * Routing: a police category goes to CLASSIFY_STATION (the station owning
 * the place) unless routed to a police or emergency department; every
 * non-police category must have one city-wide route (no "area") to a
 * non-police department. "area" is a GB/T 2260 code of 6 digits, or a
 * township (9) or village (12) code; a route applies to the area and
 * everything inside it, and the most specific applying route wins (a
 * village's route beats its township's, which beats its district's, which
 * beats the city-wide one).
 *
 * Limits (each crossing fails the load with SG_ETOOBIG naming the member):
 * below. Ownership: classify_config_load returns a heap object the caller
 * frees with classify_config_free; once loaded it is never modified, so any
 * number of threads may classify with it at once without locking. Strings
 * in a classify_result borrow from the configuration and live until it is
 * freed.
 */
#ifndef SAFEGRID_RULES_CLASSIFY_H
#define SAFEGRID_RULES_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#define CLASSIFY_MAX_CONFIG_TEXT ((size_t)4 << 20) /* bytes of JSON */
#define CLASSIFY_MAX_CATEGORIES 256
#define CLASSIFY_MAX_DEPARTMENTS 1024
#define CLASSIFY_MAX_RULES 4096                    /* category rules + urgency rules */
#define CLASSIFY_MAX_ROUTES 4096
#define CLASSIFY_MAX_TERMS 20000                   /* every term string, in every list */
#define CLASSIFY_MAX_TERM_BYTES 64
#define CLASSIFY_MAX_ID_BYTES 47                   /* [a-z][a-z0-9_]* */
#define CLASSIFY_MAX_NAME_BYTES 128
#define CLASSIFY_MAX_NOTE_BYTES 1024
#define CLASSIFY_MAX_TEXT ((size_t)1 << 20)        /* bytes of one report */
#define CLASSIFY_MAX_MATCHES 16                    /* terms reported per result */
#define CLASSIFY_MAX_GAPPED 1024                   /* distinct terms with a '*' */
#define CLASSIFY_MAX_EXAMPLES 20000                /* learned.examples */
#define CLASSIFY_MAX_EXAMPLE_BYTES 1024

/* The department id given for police categories: the station owning the place. */
#define CLASSIFY_STATION "station"

/* A match whose position was not recorded (only in texts with hundreds of terms). */
#define CLASSIFY_OFFSET_UNKNOWN ((size_t)-1)

struct classify_config;

/* Why a load failed. */
struct classify_error {
	char path[128];    /* the member at fault, e.g. "categories[3].rules[0].terms[2]";
			      "" for the text itself */
	int line, column;  /* 1-based position of a JSON syntax error; 0 otherwise */
	char message[256]; /* English, for the administrator */
};

enum classify_match_kind {
	CLASSIFY_MATCH_CATEGORY, /* a term of a rule that scored for the chosen category */
	CLASSIFY_MATCH_URGENCY,  /* a term of an urgency rule that moved the priority */
};

/* One term found in the text. */
struct classify_match {
	const char *term;  /* borrowed from the configuration (ASCII folded to lower case) */
	size_t offset;     /* byte offset of its first counted occurrence, or CLASSIFY_OFFSET_UNKNOWN
			      (always for a gapped term) */
	size_t len;        /* bytes */
	enum classify_match_kind kind;
};

struct classify_result {
	const char *category;     /* id; the fallback when nothing scored */
	const char *category_zh;  /* Chinese name, for the console */
	int category_index;       /* position in "categories" */
	bool police;
	int priority;             /* 1 (most urgent) .. 4, after urgency */
	int base_priority;        /* the category's default */
	const char *department;   /* department id, or CLASSIFY_STATION */
	int score;                /* 0 for the fallback */
	const char *runner_up;    /* the next best category's id, or NULL */
	int runner_up_score;
	size_t nmatches;
	bool matches_truncated;   /* more terms matched than CLASSIFY_MAX_MATCHES */
	bool learned;             /* chosen by the examples, not the rules (score is then 0) */
	struct classify_match matches[CLASSIFY_MAX_MATCHES]; /* past nmatches: not written */
};

/* A category as configured, for listing in the console. Strings borrowed. */
struct classify_category_info {
	const char *id, *name_zh, *name_en, *note; /* note may be NULL */
	bool police;
	int priority;
	size_t nrules;
	size_t nnotify;
	const char *const *notify;                /* department ids to inform as well */
};

/*
 * Parses and validates a configuration document of len bytes (no NUL needed)
 * and builds its automaton. On success *out is a new configuration the
 * caller frees with classify_config_free. On failure *out is untouched, err
 * (if not NULL) says where and why, and the return is SG_EINVAL (bad JSON,
 * bad member, unknown reference, duplicate id), SG_ETOOBIG (a limit above)
 * or SG_ENOMEM. text is borrowed for the call.
 */
int classify_config_load(const char *text, size_t len, struct classify_config **out,
			 struct classify_error *err);

/* Frees a configuration; NULL does nothing. No result borrowing from it may be used after. */
void classify_config_free(struct classify_config *cfg);

/*
 * Classifies NUL-terminated text with city-wide routing. Fills *out and
 * returns 0, or SG_EINVAL (a NULL argument) or SG_ETOOBIG (text longer than
 * CLASSIFY_MAX_TEXT), leaving *out untouched. Empty text gives the fallback.
 * Allocates nothing and writes nothing shared (about 32 KB of stack): safe
 * from any thread. A microsecond or two for a report of a few dozen
 * characters by the rules; some 10–40 more when the examples are asked (for
 * one report in four with the default configuration).
 */
int classify_text(const struct classify_config *cfg, const char *text,
		  struct classify_result *out);

/*
 * The same for len bytes of text (NULs included, matching nothing), routed
 * for the place area_code (NULL or "" for city-wide; else 6, 9 or 12 digits,
 * SG_EINVAL otherwise).
 */
int classify_text_in(const struct classify_config *cfg, const char *text, size_t len,
		     const char *area_code, struct classify_result *out);

/*
 * The department for a category at a place: the most specific route whose
 * area contains area_code (NULL or "" for city-wide). *department is a
 * department id or CLASSIFY_STATION, borrowed from cfg. Returns SG_ENOTFOUND
 * for an unknown category, SG_EINVAL for a malformed area code.
 */
int classify_route(const struct classify_config *cfg, const char *category_id,
		   const char *area_code, const char **department);

/* Number of categories; their info by position (SG_ENOTFOUND past the end). */
size_t classify_category_count(const struct classify_config *cfg);
int classify_category_get(const struct classify_config *cfg, size_t index,
			  struct classify_category_info *out);

/*
 * A department's Chinese name by id (CLASSIFY_STATION has one too), or NULL
 * when there is no such department. Borrowed from cfg.
 */
const char *classify_department_name(const struct classify_config *cfg, const char *id);

struct classify_department_info {
	const char *id, *name_zh, *name_en, *kind; /* name_en may be NULL */
};

/* The departments in document order (borrowed from cfg); SG_ENOTFOUND past the end. */
size_t classify_department_count(const struct classify_config *cfg);
int classify_department_get(const struct classify_config *cfg, size_t index,
			    struct classify_department_info *out);

/*
 * Writes the configuration back as a JSON document (two-space indent, members
 * in the order documented above, terms as folded; min_score, gap, negation.window,
 * each category's negation and each urgency rule's police_only written out;
 * empty optional lists and absent notes left out; learned written only when
 * it has examples). Loading the output gives an equivalent configuration, and writing
 * that again gives the same bytes. On success *json is a NUL-terminated
 * string the caller frees with free() and *len (if not NULL) its length;
 * SG_ENOMEM otherwise.
 */
int classify_config_to_json(const struct classify_config *cfg, char **json, size_t *len);

/* Sizes of a loaded configuration, for the admin page. */
struct classify_stats {
	size_t categories, departments, rules, routes;
	size_t terms;          /* term strings as written, every list */
	size_t distinct_terms; /* after folding */
	size_t states;         /* automaton states */
	size_t byte_classes;   /* distinct bytes in terms, + 1 */
	bool dense;            /* the full transition table was built (see classify.c) */
	size_t automaton_bytes;
};

void classify_config_stats(const struct classify_config *cfg, struct classify_stats *out);

#endif
