/*
 * fev, the command-line tool: what the subcommands share.
 *
 * Every subcommand is a function taking (argc, argv) from its own name on
 * and returning an exit code: FEV_EXIT_OK, FEV_EXIT_ERROR (the command was
 * understood but failed) or FEV_EXIT_USAGE (the command line was wrong).
 * Errors are printed as one sentence on stderr, prefixed "fev: ".
 */
#ifndef FEV_TOOLS_CLI_H
#define FEV_TOOLS_CLI_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum {
	FEV_EXIT_OK = 0,
	FEV_EXIT_ERROR = 1,
	FEV_EXIT_USAGE = 2,
};

/* Options every subcommand accepts, with their getopt_long entries. */
#define CLI_OPT_INSTANCE 0x1000
#define CLI_COMMON_LONGOPTS                                                   \
	{ "instance", required_argument, NULL, CLI_OPT_INSTANCE },            \
		{ "help", no_argument, NULL, 'h' }

/* Set by main from --instance given before the subcommand, or NULL. */
extern const char *cli_instance;
/* Set by SIGINT/SIGTERM once cli_catch_signals() has run. */
extern volatile sig_atomic_t cli_stop;
/* Set by SIGWINCH once cli_catch_resize() has run; cleared by the reader. */
extern volatile sig_atomic_t cli_resized;

int cmd_stat(int argc, char **argv);
int cmd_pub(int argc, char **argv);
int cmd_sub(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_webhooks(int argc, char **argv);
int cmd_nats(int argc, char **argv);
int cmd_group(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_tail(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_replay(int argc, char **argv);

/* ---- cli.c: errors, argument parsing, signals ----------------------- */

void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the sentence and a pointer to --help; returns FEV_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The instance to use (--instance, else $FEV_INSTANCE, else default);
 * NULL after printing a sentence when the name is not valid. */
const char *cli_resolve_instance(const char *opt);
/* For getopt_long's '?' and ':' (optstring starting with ':'). */
int cli_bad_option(const char *cmd, int c, char **argv);

/* "250ms", "2s", "1.5m", "1h", bare seconds; -1 on error. */
int64_t cli_parse_duration_ns(const char *s);
/* Bytes with binary units (64K, 1M); false on error. */
bool cli_parse_size(const char *s, uint64_t *out);
/* Whole counts, optionally with decimal units (10k, 2M); false on error. */
bool cli_parse_count(const char *s, uint64_t *out);
/* "1000", "1000/s", "10k/s", "60/m"; events per second; false on error. */
bool cli_parse_rate(const char *s, double *per_sec);

/* SIGINT/SIGTERM set cli_stop instead of killing us, so that no event is
 * left half-claimed; SIGPIPE is ignored (writes fail with EPIPE). */
void cli_catch_signals(void);
void cli_catch_resize(void);
/* Returns early when cli_stop or cli_resized is set. */
void cli_sleep_ns(int64_t ns);

/* ---- output.c: formatting helpers ----------------------------------- */

/* Human sizes: 1024-based ("1.5KB"); counts: 1000-based ("1.2M", "50k"). */
void out_size(char *buf, size_t len, uint64_t bytes);
void out_count(char *buf, size_t len, uint64_t n);
void out_capacity(char *buf, size_t len, uint64_t n); /* 1024-based: 64K */
void out_rate(char *buf, size_t len, double per_sec);
void out_age(char *buf, size_t len, double seconds);
/* "2026-11-26T06:31:31.123456789Z" */
void out_iso_time(char *buf, size_t len, uint64_t realtime_ns);

bool out_utf8_valid(const uint8_t *p, size_t n);
/*
 * Make s, text someone else chose (a process name), safe to print and to
 * put in JSON: in place, each control character (C0, DEL, C1: the start of
 * a terminal escape) and each byte of invalid UTF-8 becomes '?'.
 */
void out_sanitize_text(char *s);
void out_json_string(FILE *f, const char *s, size_t n);
void out_base64(FILE *f, const uint8_t *p, size_t n);
void out_hexdump(FILE *f, const uint8_t *p, size_t n);
/* The value of one hex digit, or -1. */
int out_hex_digit(char c);
/* Decode hex digits (spaces allowed between bytes); -1 on a bad digit. */
ssize_t out_hex_decode(const char *s, size_t n, uint8_t *dst, size_t cap);

/* A growable text buffer, so a screen is written with a single write(). */
struct out_buf {
	char *p;
	size_t len, cap;
	bool oom;
};
void ob_printf(struct out_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ob_putc(struct out_buf *b, char c);
void ob_write(struct out_buf *b, const char *s, size_t n);
void ob_json_string(struct out_buf *b, const char *s);
int ob_flush(struct out_buf *b, int fd); /* 0 or -errno; empties b */
void ob_free(struct out_buf *b);

#endif /* FEV_TOOLS_CLI_H */
