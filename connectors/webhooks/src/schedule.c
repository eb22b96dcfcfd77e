#include "schedule.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define RETRY_AFTER_MAX_MS (24ll * 3600 * 1000)

enum fwh_outcome fwh_outcome_of(int status)
{
	if (status >= 200 && status <= 299)
		return FWH_OUT_DELIVERED;
	if (status == 410)
		return FWH_OUT_GONE;
	if (status == 429 || status == 502 || status == 503 || status == 504)
		return FWH_OUT_THROTTLE;
	return FWH_OUT_RETRY;
}

int64_t fwh_retry_after_ms(const char *v, int64_t now_ms)
{
	int64_t ms;

	while (*v == ' ' || *v == '\t')
		v++;
	if (isdigit((unsigned char)*v)) {
		char *end;
		long long s = strtoll(v, &end, 10);

		while (*end == ' ' || *end == '\t' || *end == '\r' ||
		       *end == '\n')
			end++;
		if (*end != '\0' || s < 0)
			return -1;
		ms = s > RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS :
						     (int64_t)s * 1000;
	} else {
		/* An HTTP date: libcurl parses the three RFC 7231 forms. */
		time_t t = curl_getdate(v, NULL);

		if (t < 0)
			return -1;
		ms = (int64_t)t * 1000 - now_ms;
		if (ms < 0)
			ms = 0;
	}
	return ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : ms;
}

static uint64_t random_u64(void)
{
	uint64_t r = 0;

	/* Jitter needs no secrecy; getrandom without GRND_RANDOM does not
	 * block after boot and a short read just gives less spread. */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) < 0)
		r = (uint64_t)rand();
	return r;
}

int64_t fwh_next_delay_ms(const uint64_t *schedule, size_t n, int attempts,
			  uint32_t jitter_pct)
{
	uint64_t base, spread;

	if (attempts < 1 || (size_t)attempts > n)
		return -1;
	base = schedule[attempts - 1];
	spread = base * jitter_pct / 100;
	if (spread == 0)
		return (int64_t)base;
	return (int64_t)(base - spread + random_u64() % (2 * spread + 1));
}
