/*
 * fevd's log: levels, stderr (with journald priority prefixes when stderr is
 * the journal) or syslog.  One process-wide sink: fevd is one supervisor per
 * process, and tests that run one in-process share stderr with it.
 */
#ifndef FEVD_LOG_H
#define FEVD_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum fevd_log_level {
	FEVD_LOG_ERROR = 3, /* syslog priorities, so they pass straight on */
	FEVD_LOG_WARNING = 4,
	FEVD_LOG_NOTICE = 5,
	FEVD_LOG_INFO = 6,
	FEVD_LOG_DEBUG = 7,
};

/* "debug", "info", ...: the level, or -EINVAL. */
int fevd_log_level_parse(const char *name);
const char *fevd_log_level_name(int level);

void fevd_log_set_level(int level);
int fevd_log_get_level(void);
/* The program name lines start with ("fevd"; the connectors share this
 * log); a string that lives as long as the process. */
void fevd_log_set_ident(const char *ident);
/* Switch to syslog (openlog IDENT, LOG_DAEMON) or back to stderr. */
void fevd_log_use_syslog(bool on);

__attribute__((format(printf, 2, 3))) void fevd_log(int level,
						     const char *fmt, ...);

/*
 * A log line that an outsider can trigger at will (a refused connection, a
 * bad segment) is written at most once per interval; the lines held back
 * are counted and the next one written says how many.
 */
struct fevd_ratelimit {
	uint64_t next_ns;	 /* CLOCK_MONOTONIC: the next line may go */
	uint64_t suppressed; /* lines held back since the last one */
};

#define FEVD_RATELIMIT_NS (10ull * 1000 * 1000 * 1000)

/*
 * May a line go now?  true: write it, mentioning *held_back lines that
 * did not (0 when none).  false: counted, say nothing.
 */
bool fevd_ratelimit_pass(struct fevd_ratelimit *rl, uint64_t *held_back);

#define fevd_err(...) fevd_log(FEVD_LOG_ERROR, __VA_ARGS__)
#define fevd_warn(...) fevd_log(FEVD_LOG_WARNING, __VA_ARGS__)
#define fevd_notice(...) fevd_log(FEVD_LOG_NOTICE, __VA_ARGS__)
#define fevd_info(...) fevd_log(FEVD_LOG_INFO, __VA_ARGS__)
#define fevd_debug(...) fevd_log(FEVD_LOG_DEBUG, __VA_ARGS__)

#endif /* FEVD_LOG_H */
