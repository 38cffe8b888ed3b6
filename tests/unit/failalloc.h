/*
 * failalloc.h — allocation-failure injection for unit tests.
 *
 * Replaces malloc, calloc, realloc and free for the whole test program
 * (glibc lets a program supply its own; the C library and C++'s operator new
 * then allocate through them too) and forwards to glibc's. A test arms it to
 * fail the n-th allocation from now, runs the code under test, and reads
 * whether that allocation was reached and how many blocks allocated since
 * the reset are still live: an error path that leaks shows as live blocks.
 *
 * Include it in exactly one test file: it defines the allocator. Under
 * AddressSanitizer (which owns the allocator) FAILALLOC_AVAILABLE is 0 and
 * nothing is defined. Single-threaded use: the counters are not atomic.
 */
#ifndef SAFEGRID_TESTS_FAILALLOC_H
#define SAFEGRID_TESTS_FAILALLOC_H

#if defined(__SANITIZE_ADDRESS__)
#define FAILALLOC_AVAILABLE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FAILALLOC_AVAILABLE 0
#endif
#endif
#ifndef FAILALLOC_AVAILABLE
#define FAILALLOC_AVAILABLE 1
#endif

#if FAILALLOC_AVAILABLE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *p);
extern void *__libc_realloc(void *p, size_t size);

/*
 * Each block carries a 16-byte header (keeping malloc's 16-byte alignment):
 * a tag saying it is ours, the reset it was allocated after (only those
 * count as live), and its size, for realloc. A block that is not ours
 * (posix_memalign, aligned new) is handed to glibc as it is.
 */
#define FAILALLOC_TAG 0x5afe6a11U

struct failalloc_header {
	uint32_t tag;
	uint32_t epoch;
	uint64_t size;
};

static uint32_t failalloc_epoch;

static bool failalloc_trace; /* print the stack of each failed allocation (stderr) */
#define FAILALLOC_EXEMPT_MAX 8
static const void *failalloc_exempt_fns[FAILALLOC_EXEMPT_MAX];
static int failalloc_nexempt;
/* With failalloc_trace, where each live block came from, for failalloc_dump_live. */
#define FAILALLOC_WHERE_MAX 256
static struct {
	void *p;
	void *frames[12];
	int n;
} failalloc_where[FAILALLOC_WHERE_MAX];
static long failalloc_calls;  /* allocations asked for since the reset */
static long failalloc_at;     /* the one to fail (1-based); 0: none */
static long failalloc_live;   /* blocks allocated since the reset, not yet freed */
static bool failalloc_fired;  /* the armed allocation was reached */

/* Starts counting afresh: nothing armed, no block live. */
static inline void failalloc_reset(void)
{
	failalloc_epoch++;
	failalloc_calls = failalloc_at = failalloc_live = 0;
	failalloc_fired = false;
}

/* Prints the stack of every allocation failed from now (stderr): where an error path starts. */
static inline void failalloc_trace_on(void)
{
	void *frames[1];

	backtrace(frames, 1); /* loads what backtrace needs before an allocation may fail */
	failalloc_trace = true;
}

/*
 * Never fails an allocation made inside the exported function fn (found by
 * its symbol on the stack): for a library function that cannot survive one,
 * which no caller can help. The armed allocation then succeeds, unreached.
 */
static inline void failalloc_exempt(const void *fn)
{
	void *frames[1];

	backtrace(frames, 1);
	if (failalloc_nexempt < FAILALLOC_EXEMPT_MAX)
		failalloc_exempt_fns[failalloc_nexempt++] = fn;
}

static bool failalloc_in_exempt(void)
{
	void *frames[32];
	int n = failalloc_nexempt ? backtrace(frames, 32) : 0;

	for (int i = 0; i < n; i++) {
		Dl_info info;
		if (!dladdr(frames[i], &info) || !info.dli_saddr)
			continue;
		for (int k = 0; k < failalloc_nexempt; k++)
			if (info.dli_saddr == failalloc_exempt_fns[k])
				return true;
	}
	return false;
}

/* Fails the n-th allocation from the last reset (1-based); 0 disarms. */
static inline void failalloc_arm(long n)
{
	failalloc_at = n;
}

/* With failalloc_trace on: prints where each block still live since the reset was allocated. */
static inline void failalloc_dump_live(void)
{
	for (int i = 0; i < FAILALLOC_WHERE_MAX; i++) {
		struct failalloc_header *h;
		if (!failalloc_where[i].p)
			continue;
		h = (struct failalloc_header *)failalloc_where[i].p - 1;
		if (h->epoch != failalloc_epoch)
			continue;
		fprintf(stderr, "live block of %llu bytes from:\n", (unsigned long long)h->size);
		backtrace_symbols_fd(failalloc_where[i].frames, failalloc_where[i].n, 2);
	}
}

static inline long failalloc_count(void) { return failalloc_calls; }
static inline long failalloc_live_blocks(void) { return failalloc_live; }
static inline bool failalloc_reached(void) { return failalloc_fired; }

static void *failalloc_take(size_t size)
{
	struct failalloc_header *h;

	if (++failalloc_calls == failalloc_at && !failalloc_in_exempt()) {
		failalloc_fired = true;
		if (failalloc_trace) {
			void *frames[24];
			backtrace_symbols_fd(frames, backtrace(frames, 24), 2);
		}
		errno = ENOMEM;
		return NULL;
	}
	if (size > SIZE_MAX - sizeof *h || !(h = __libc_malloc(sizeof *h + size))) {
		errno = ENOMEM;
		return NULL;
	}
	h->tag = FAILALLOC_TAG;
	h->epoch = failalloc_epoch;
	h->size = size;
	failalloc_live++;
	if (failalloc_trace) {
		for (int i = 0; i < FAILALLOC_WHERE_MAX; i++) {
			if (!failalloc_where[i].p) {
				failalloc_where[i].p = h + 1;
				failalloc_where[i].n = backtrace(failalloc_where[i].frames, 12);
				break;
			}
		}
	}
	return h + 1;
}

static struct failalloc_header *failalloc_ours(void *p)
{
	struct failalloc_header *h = (struct failalloc_header *)p - 1;

	return h->tag == FAILALLOC_TAG ? h : NULL;
}

void *malloc(size_t size)
{
	return failalloc_take(size);
}

void *calloc(size_t n, size_t size)
{
	void *p;

	if (size && n > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	if ((p = failalloc_take(n * size)))
		memset(p, 0, n * size);
	return p;
}

void free(void *p)
{
	struct failalloc_header *h;

	if (!p)
		return;
	if (!(h = failalloc_ours(p))) {
		__libc_free(p);
		return;
	}
	if (h->epoch == failalloc_epoch)
		failalloc_live--;
	for (int i = 0; failalloc_trace && i < FAILALLOC_WHERE_MAX; i++)
		if (failalloc_where[i].p == p)
			failalloc_where[i].p = NULL;
	h->tag = 0;
	__libc_free(h);
}

void *realloc(void *p, size_t size)
{
	struct failalloc_header *h;
	void *q;

	if (!p)
		return failalloc_take(size);
	if (!(h = failalloc_ours(p)))
		return __libc_realloc(p, size);
	if (!(q = failalloc_take(size)))
		return NULL; /* the old block stays valid, as realloc promises */
	memcpy(q, p, h->size < size ? h->size : size);
	if (h->epoch != failalloc_epoch) {
		/* It replaces a block from before the reset (a cache growing): not a new one. */
		((struct failalloc_header *)q - 1)->epoch = h->epoch;
		failalloc_live--;
	}
	free(p);
	return q;
}
#endif /* FAILALLOC_AVAILABLE */

#endif
