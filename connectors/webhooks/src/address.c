#include "address.h"

#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

static bool v4_private(uint32_t a) /* host order */
{
	return (a >> 24) == 0 ||              /* 0/8 this network */
	       (a >> 24) == 10 ||             /* 10/8 */
	       (a >> 24) == 127 ||            /* loopback */
	       (a >> 22) == (100u << 2 | 1) || /* 100.64/10 shared */
	       (a >> 16) == (169u << 8 | 254) || /* link-local, metadata */
	       (a >> 20) == (172u << 4 | 1) || /* 172.16/12 */
	       (a >> 16) == (192u << 8 | 168) || /* 192.168/16 */
	       (a >> 8) == (192u << 16 | 0 << 8 | 0) || /* 192.0.0/24 */
	       (a >> 17) == (198u << 7 | 9) || /* 198.18/15 benchmarking */
	       (a >> 28) >= 14;                /* multicast, reserved */
}

static bool v6_private(const uint8_t *b)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0,
					    0, 0, 0xff, 0xff };
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b };
	static const uint8_t zero[12];

	/* ::, ::1 and IPv4-compatible ::a.b.c.d fall in 0/8 as IPv4. */
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0 ||
	    memcmp(b, zero, 12) == 0)
		return v4_private((uint32_t)b[12] << 24 |
				  (uint32_t)b[13] << 16 |
				  (uint32_t)b[14] << 8 | b[15]);
	if (b[0] == 0x20 && b[1] == 0x02) /* 6to4: 2002:V4ADDR::/48 */
		return v4_private((uint32_t)b[2] << 24 | (uint32_t)b[3] << 16 |
				  (uint32_t)b[4] << 8 | b[5]);
	return (b[0] & 0xfe) == 0xfc ||               /* fc00::/7 ULA */
	       (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) || /* fe80::/10 */
	       (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) || /* fec0::/10 */
	       b[0] == 0xff;                           /* multicast */
}

bool fwh_address_private(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)addr;

		return v4_private(ntohl(in->sin_addr.s_addr));
	}
	if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)addr;

		return v6_private(in6->sin6_addr.s6_addr);
	}
	return true; /* a unix socket or anything else: never */
}
