/*
 * err.h — the project's error codes.
 *
 * A function that can fail returns int: 0 (SG_OK) or one of the negative codes
 * below. Only the HTTP layer maps them to status codes; only the store maps
 * SQLite's codes onto them.
 */
#ifndef SAFEGRID_BASE_ERR_H
#define SAFEGRID_BASE_ERR_H

enum sg_err {
	SG_OK = 0,
	SG_EINVAL = -1,    /* bad input from outside */
	SG_ENOMEM = -2,    /* allocation failed */
	SG_EIO = -3,       /* file or database I/O failed */
	SG_ENOTFOUND = -4, /* no such object (or not in the caller's scope) */
	SG_ECONFLICT = -5, /* version or uniqueness conflict */
	SG_ETOOBIG = -6,   /* a configured limit was crossed */
	SG_EAUTH = -7,     /* not authenticated */
	SG_EFORBIDDEN = -8,/* authenticated but not allowed */
	SG_ECLOSED = -9,   /* the component is shutting down */
	SG_EINTERNAL = -10 /* a bug or an unexpected library failure */
};

/* A short stable name for a code ("invalid", "not_found", ...). Never NULL. */
const char *sg_err_name(int rc);

#endif
