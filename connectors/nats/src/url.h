/*
 * A server URL as fev-nats says it (log, last error, status): without
 * its user information; and its host, for TLS.  nats://USER:PASSWORD@HOST and nats://TOKEN@HOST
 * are how every NATS client takes credentials in a URL; what the bridge
 * writes anywhere keeps only the scheme, host and port.
 */
#ifndef FNB_URL_H
#define FNB_URL_H

#include <stddef.h>

/* url without "USERINFO@" (replaced by "***@", so the reader sees that
 * credentials were there), into buf of len bytes; returns buf. */
const char *fnb_url_shown(const char *url, char *buf, size_t len);

/* The host of url (no user information, port or IPv6 brackets) into buf
 * of len bytes: the name a TLS server's certificate must hold. */
const char *fnb_url_host(const char *url, char *buf, size_t len);

#endif /* FNB_URL_H */
