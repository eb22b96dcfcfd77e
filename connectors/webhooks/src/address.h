/*
 * Server-side request forgery: an endpoint URL is user input, and a webhook
 * sender that follows it to 127.0.0.1, 169.254.169.254 (cloud metadata) or
 * a private network hands the network to whoever configures endpoints.
 * The check is made on the address libcurl is about to connect to (its
 * open-socket callback), after name resolution, so DNS rebinding cannot
 * get around it; redirects are never followed.
 */
#ifndef FWH_ADDRESS_H
#define FWH_ADDRESS_H

#include <stdbool.h>
#include <sys/socket.h>

/*
 * Is addr loopback, link-local, private (RFC 1918, unique local fc00::/7,
 * shared 100.64/10), unspecified, multicast or an IPv4 address hidden in
 * IPv6 (mapped, compatible, NAT64 well-known prefix, 6to4 of those)?
 */
bool fwh_address_private(const struct sockaddr *addr);

#endif /* FWH_ADDRESS_H */
