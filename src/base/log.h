/*
 * log.h — one logging macro with levels, key=value lines on stderr.
 *
 * Never log a request body, an unmasked phone number or an ID number.
 * The level test happens before the arguments are evaluated, so a disabled
 * level costs one comparison.
 */
#ifndef SAFEGRID_BASE_LOG_H
#define SAFEGRID_BASE_LOG_H

enum sg_log_level { SG_LOG_DEBUG, SG_LOG_INFO, SG_LOG_WARN, SG_LOG_ERROR, SG_LOG_OFF };

extern enum sg_log_level sg_log_threshold;

/* Writes "ts=... level=... <fmt>" as one line. Thread-safe (one write(2)). */
void sg_log_write(enum sg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define SG_LOG(level, ...)                                  \
	do {                                                \
		if ((level) >= sg_log_threshold)            \
			sg_log_write((level), __VA_ARGS__); \
	} while (0)

#endif
