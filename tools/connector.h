/* fev's side of the connector daemons (fev-webhooks, fev-nats): finding
 * their program and reading what it says, so `fev webhooks`, `fev nats`
 * and `fev stat` show what the connector itself reports. */
#ifndef FEV_TOOLS_CONNECTOR_H
#define FEV_TOOLS_CONNECTOR_H

#include <stddef.h>

#include "cli.h"

/* $ENV (env, e.g. "FEV_NATS"), the program `name` installed beside fev,
 * or $PATH's. */
const char *connector_program(const char *env, const char *name, char *buf,
			      size_t len);

/*
 * Run argv (argv[0] from connector_program()) and append its standard
 * output to b.  0, or -errno: the program could not run (said here, with
 * env as the variable to set) or exited non-zero (-EIO; it said why on
 * stderr); b then has nothing of it.
 */
int connector_output(char *const argv[], const char *env,
		     struct out_buf *b);

/* Exec argv[0] with argv (setting FEV_INSTANCE from -I first); returns
 * only when it could not run, with the sentence said. */
int connector_exec(char *const argv[], const char *env);

#endif /* FEV_TOOLS_CONNECTOR_H */
