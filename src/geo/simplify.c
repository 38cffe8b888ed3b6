/*
 * simplify.c — Douglas–Peucker over each closed ring (see simplify.h).
 *
 * A closed ring has no natural end points, so it is cut at its first point
 * and at the point farthest from it, and each half is thinned on its own;
 * both cut points are always kept. The recursion runs on an explicit stack
 * so a ring of any length cannot exhaust the call stack.
 */
#include "geo/simplify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

#define M_PER_DEG_LAT 110574.0
#define M_PER_DEG_LON_EQ 111320.0

struct span {
	uint32_t a, b;
};

/* Squared distance in m² from p to segment a-b, with kx metres per degree of longitude. */
static double seg_dist2(struct geo_point p, struct geo_point a, struct geo_point b, double kx)
{
	double ax = a.lon * kx, ay = a.lat * M_PER_DEG_LAT;
	double bx = b.lon * kx - ax, by = b.lat * M_PER_DEG_LAT - ay;
	double px = p.lon * kx - ax, py = p.lat * M_PER_DEG_LAT - ay;
	double len2 = bx * bx + by * by, t = 0;

	if (len2 > 0) {
		t = (px * bx + py * by) / len2;
		t = t < 0 ? 0 : t > 1 ? 1 : t;
	}
	px -= t * bx;
	py -= t * by;
	return px * px + py * py;
}

/* Marks in keep[] the points of pts[a..b] the tolerance needs (a and b included). */
static void thin(const struct geo_point *pts, uint32_t a, uint32_t b, double tol2, double kx,
		unsigned char *keep, struct span *stack)
{
	size_t top = 0;

	keep[a] = keep[b] = 1;
	stack[top++] = (struct span){ a, b };
	while (top) {
		struct span s = stack[--top];
		double best = -1;
		uint32_t at = s.a;
		for (uint32_t i = s.a + 1; i < s.b; i++) {
			double d = seg_dist2(pts[i], pts[s.a], pts[s.b], kx);
			if (d > best) {
				best = d;
				at = i;
			}
		}
		if (best <= tol2)
			continue;
		keep[at] = 1;
		/* Each span splits into two strictly shorter ones: the stack stays below n. */
		stack[top++] = (struct span){ s.a, at };
		stack[top++] = (struct span){ at, s.b };
	}
}

int geo_mpoly_simplify(const struct geo_mpoly *src, double tolerance_m, struct geo_mpoly *dst)
{
	unsigned char *keep = NULL;
	struct span *stack = NULL;
	double tol2 = tolerance_m * tolerance_m;
	int rc = SG_OK;

	if (!isfinite(tolerance_m) || tolerance_m < 0)
		return SG_EINVAL;
	geo_mpoly_release(dst);
	geo_mpoly_init(dst);
	if (src->npts) {
		keep = malloc(src->npts);
		stack = malloc(sizeof *stack * (src->npts + 2));
		if (!keep || !stack) {
			rc = SG_ENOMEM;
			goto out;
		}
	}
	for (uint32_t p = 0; p < src->npolys; p++) {
		if ((rc = geo_mpoly_begin_polygon(dst)))
			goto out;
		for (uint32_t r = src->poly_off[p]; r < src->poly_off[p + 1]; r++) {
			const struct geo_point *pts = src->pts + src->ring_off[r];
			uint32_t n = geo_mpoly_ring_len(src, r), far = 0, kept = 0;
			double kx = M_PER_DEG_LON_EQ * cos(pts[0].lat * M_PI / 180.0), best = -1;

			memset(keep, 0, n);
			for (uint32_t i = 1; i + 1 < n; i++) {
				double d = seg_dist2(pts[i], pts[0], pts[0], kx);
				if (d > best) {
					best = d;
					far = i;
				}
			}
			if (tolerance_m > 0 && n > 4 && far > 0) {
				thin(pts, 0, far, tol2, kx, keep, stack);
				thin(pts, far, n - 1, tol2, kx, keep, stack);
				for (uint32_t i = 0; i < n; i++)
					kept += keep[i];
			}
			if (kept < 4) /* too few left for a ring: draw it whole */
				memset(keep, 1, n);
			if ((rc = geo_mpoly_begin_ring(dst)))
				goto out;
			for (uint32_t i = 0; i < n; i++) {
				if (keep[i] && (rc = geo_mpoly_add_point(dst, pts[i].lon, pts[i].lat)))
					goto out;
			}
		}
	}
	rc = geo_mpoly_finish(dst);
out:
	free(keep);
	free(stack);
	if (rc) {
		geo_mpoly_release(dst);
		geo_mpoly_init(dst);
	}
	return rc;
}
