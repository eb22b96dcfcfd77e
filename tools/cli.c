/* Argument parsing, error sentences and signal handling for every subcommand. */
#include "cli.h"

#include <bsd/libutil.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fev/fev.h"

const char *cli_instance;
volatile sig_atomic_t cli_stop;
volatile sig_atomic_t cli_resized;

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("fev: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("fev: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'fev %s%s--help' for more information.\n",
		cmd != NULL ? cmd : "", cmd != NULL ? " " : "");
	return FEV_EXIT_USAGE;
}

const char *cli_resolve_instance(const char *opt)
{
	const char *inst = opt != NULL ? opt :
			   cli_instance != NULL ? cli_instance :
						 fev_default_instance();

	if (fev_instance_name_valid(inst) < 0) {
		cli_error("bad instance name '%s': instance names are 1 to %d "
			  "characters of A-Z a-z 0-9 _ - (no dots)",
			  inst, FEV_INSTANCE_MAX);
		return NULL;
	}
	return inst;
}

int cli_bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		return cli_usage_error(cmd, "option '%s' needs a value", arg);
	if (optopt != 0 && strncmp(arg, "--", 2) != 0)
		return cli_usage_error(cmd, "unknown option '-%c'", optopt);
	return cli_usage_error(cmd, "unknown option '%s'", arg);
}

/* A decimal number with an optional fraction; the rest is left in *end. */
static bool parse_decimal(const char *s, double *v, const char **end)
{
	char *e;

	if (!isdigit((unsigned char)s[0]) && s[0] != '.')
		return false;
	errno = 0;
	*v = strtod(s, &e);
	if (errno != 0 || e == s || !isfinite(*v) || *v < 0)
		return false;
	*end = e;
	return true;
}

int64_t cli_parse_duration_ns(const char *s)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
		{ "", 1e9 },	    { "s", 1e9 },   { "ms", 1e6 },
		{ "us", 1e3 },	    { "ns", 1 },    { "m", 60e9 },
		{ "min", 60e9 },    { "h", 3600e9 },
	};
	const char *rest;
	double v;

	if (s == NULL || !parse_decimal(s, &v, &rest))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(rest, units[i].unit) == 0) {
			double ns = v * units[i].ns;

			return ns < 9e18 ? (int64_t)ns : -1;
		}
	}
	return -1;
}

bool cli_parse_size(const char *s, uint64_t *out)
{
	/* expand_number() takes K, M, G... as powers of 1024. */
	if (s == NULL || !isdigit((unsigned char)s[0]))
		return false;
	return expand_number(s, out) == 0;
}

static bool parse_scaled(const char *s, double *v, const char **end)
{
	if (!parse_decimal(s, v, end))
		return false;
	switch (**end) {
	case 'k':
	case 'K':
		*v *= 1e3;
		(*end)++;
		break;
	case 'M':
		*v *= 1e6;
		(*end)++;
		break;
	case 'G':
		*v *= 1e9;
		(*end)++;
		break;
	}
	return true;
}

bool cli_parse_count(const char *s, uint64_t *out)
{
	const char *rest;
	double v;

	if (s == NULL || !parse_scaled(s, &v, &rest) || *rest != '\0' ||
	    v != floor(v) || v > 1e18)
		return false;
	*out = (uint64_t)v;
	return true;
}

bool cli_parse_rate(const char *s, double *per_sec)
{
	const char *rest;
	double v, per = 1;

	if (s == NULL || !parse_scaled(s, &v, &rest))
		return false;
	if (*rest == '/') {
		/* "/s", "/ms", "/m" or "/10s": per that long. */
		char per_buf[32];
		int64_t ns;

		snprintf(per_buf, sizeof(per_buf), "%s%s",
			 isdigit((unsigned char)rest[1]) ? "" : "1", rest + 1);
		ns = cli_parse_duration_ns(per_buf);
		if (ns <= 0 || rest[1] == '\0')
			return false;
		per = (double)ns / 1e9;
	} else if (*rest != '\0') {
		return false;
	}
	if (v <= 0)
		return false;
	*per_sec = v / per;
	return true;
}

/*
 * The signal handlers also write a byte here, and cli_sleep_ns() sleeps
 * waiting for it: a signal that comes between its look at the flags and
 * its sleep still ends the sleep (after a plain nanosleep() a resize there
 * waited the whole interval).  A pipe rather than a signal mask swapped in
 * by pselect(): ThreadSanitizer holds back a signal that arrives while the
 * mask blocks it, past the sleep.
 */
static int wake_pipe[2] = { -1, -1 };

static void wake_sleeper(void)
{
	int saved = errno;

	if (wake_pipe[1] >= 0 && write(wake_pipe[1], "", 1) < 0) {
		/* full: a wake-up is pending anyway */
	}
	errno = saved;
}

static void open_wake_pipe(void)
{
	if (wake_pipe[0] >= 0)
		return;
	if (pipe(wake_pipe) < 0) {
		wake_pipe[0] = wake_pipe[1] = -1;
		return;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC);
		fcntl(wake_pipe[i], F_SETFL, O_NONBLOCK);
	}
}

static void on_stop(int sig)
{
	(void)sig;
	cli_stop = 1;
	wake_sleeper();
}

void cli_catch_signals(void)
{
	/* No SA_RESTART: a blocked read() returns EINTR and we look at
	 * cli_stop; the library's futex waits are bounded by our slices. */
	struct sigaction sa = { .sa_handler = on_stop };

	open_wake_pipe();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void on_resize(int sig)
{
	(void)sig;
	cli_resized = 1;
	wake_sleeper();
}

void cli_catch_resize(void)
{
	/* No SA_RESTART: the sleep between two frames ends at once. */
	struct sigaction sa = { .sa_handler = on_resize };

	open_wake_pipe();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
}

void cli_sleep_ns(int64_t ns)
{
	uint64_t until = fev__now_monotonic_ns() + (uint64_t)(ns > 0 ? ns : 0);
	char drain[64];

	while (!cli_stop && !cli_resized) {
		uint64_t now = fev__now_monotonic_ns();
		struct timespec ts;
		fd_set rd;
		int fd = wake_pipe[0];

		if (now >= until)
			break;
		ts.tv_sec = (time_t)((until - now) / 1000000000u);
		ts.tv_nsec = (long)((until - now) % 1000000000u);
		FD_ZERO(&rd);
		if (fd >= 0)
			FD_SET(fd, &rd);
		if (pselect(fd + 1, fd >= 0 ? &rd : NULL, NULL, NULL, &ts,
			    NULL) > 0)
			while (read(fd, drain, sizeof(drain)) > 0)
				;
	}
}
