#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "clock.h"

static const char *const level_names[] = {
	[FEVD_LOG_ERROR] = "error",   [FEVD_LOG_WARNING] = "warning",
	[FEVD_LOG_NOTICE] = "notice", [FEVD_LOG_INFO] = "info",
	[FEVD_LOG_DEBUG] = "debug",
};

/*
 * The sink is configured by the supervisor thread and read by whoever logs;
 * a mutex keeps lines whole and the settings consistent (logging is never
 * on a hot path).
 */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_level = FEVD_LOG_INFO;
static bool log_syslog;
static const char *log_ident = "fevd";

int fevd_log_level_parse(const char *name)
{
	for (int l = FEVD_LOG_ERROR; l <= FEVD_LOG_DEBUG; l++)
		if (strcmp(name, level_names[l]) == 0)
			return l;
	return -EINVAL;
}

const char *fevd_log_level_name(int level)
{
	if (level < FEVD_LOG_ERROR || level > FEVD_LOG_DEBUG)
		return "?";
	return level_names[level];
}

void fevd_log_set_level(int level)
{
	pthread_mutex_lock(&log_lock);
	log_level = level;
	pthread_mutex_unlock(&log_lock);
}

int fevd_log_get_level(void)
{
	int l;

	pthread_mutex_lock(&log_lock);
	l = log_level;
	pthread_mutex_unlock(&log_lock);
	return l;
}

void fevd_log_set_ident(const char *ident)
{
	pthread_mutex_lock(&log_lock);
	log_ident = ident;
	pthread_mutex_unlock(&log_lock);
}

void fevd_log_use_syslog(bool on)
{
	pthread_mutex_lock(&log_lock);
	if (on && !log_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!on && log_syslog)
		closelog();
	log_syslog = on;
	pthread_mutex_unlock(&log_lock);
}

/* journald reads "<N>" at the start of a line as its priority. */
static bool stderr_is_journal(void)
{
	static int cached = -1;

	if (cached < 0)
		cached = getenv("JOURNAL_STREAM") != NULL;
	return cached;
}

void fevd_log(int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_lock);
	if (level > log_level) {
		pthread_mutex_unlock(&log_lock);
		return;
	}
	if (log_syslog)
		syslog(level, "%s", line);
	else if (stderr_is_journal())
		fprintf(stderr, "<%d>%s\n", level, line);
	else if (level == FEVD_LOG_ERROR)
		fprintf(stderr, "%s: %s\n", log_ident, line);
	else
		fprintf(stderr, "%s: %s: %s\n", log_ident, level_names[level],
			line);
	pthread_mutex_unlock(&log_lock);
}

bool fevd_ratelimit_pass(struct fevd_ratelimit *rl, uint64_t *held_back)
{
	uint64_t now = fev__now_monotonic_ns();

	if (now < rl->next_ns) {
		rl->suppressed++;
		return false;
	}
	*held_back = rl->suppressed;
	rl->suppressed = 0;
	rl->next_ns = now + FEVD_RATELIMIT_NS;
	return true;
}
