/*
 * The command line the connector daemons (fev-webhooks, fev-nats,
 * fev-otel) share: [--config FILE] [--check-config] [--help], read one
 * way, with one usage and exit-code rule.
 */
#ifndef FEVCONN_ARGS_H
#define FEVCONN_ARGS_H

#include <stdbool.h>

/* What the command line asked for. */
struct fevconn_args {
	const char *config; /* the INI file; left as given when not named */
	bool check;	    /* --check-config: read it, say, and exit */
};

/* What fevconn_args_parse returns when the daemon is to go on. */
#define FEVCONN_ARGS_GO_ON (-1)

/*
 * Read argv (argv[0] is the program, or the subcommand whose options
 * these are) into a.  FEVCONN_ARGS_GO_ON to go on; else the exit code:
 * 0 after --help (usage on stdout), 2 after a bad option or a word left
 * over (usage on stderr, the word named after "name: unexpected").
 */
int fevconn_args_parse(int argc, char **argv, const char *name,
		       const char *usage, struct fevconn_args *a);

#endif /* FEVCONN_ARGS_H */
