/* err.c — names of the project's error codes. */
#include "base/err.h"

const char *sg_err_name(int rc)
{
	switch (rc) {
	case SG_OK: return "ok";
	case SG_EINVAL: return "invalid";
	case SG_ENOMEM: return "out_of_memory";
	case SG_EIO: return "io_error";
	case SG_ENOTFOUND: return "not_found";
	case SG_ECONFLICT: return "conflict";
	case SG_ETOOBIG: return "too_large";
	case SG_EAUTH: return "unauthorized";
	case SG_EFORBIDDEN: return "forbidden";
	case SG_ECLOSED: return "closed";
	default: return "internal";
	}
}
