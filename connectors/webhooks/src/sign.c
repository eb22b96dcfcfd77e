#include "sign.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define SHA256_LEN 32

/* Fetching the HMAC implementation costs a provider lookup: once. */
static EVP_MAC *hmac_impl;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
	hmac_impl = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static int hmac_sha256(const struct fwh_secret *s, const char *prefix,
		       size_t plen, const void *body, size_t len,
		       unsigned char mac[SHA256_LEN])
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx;
	size_t out = 0;
	int ok;

	pthread_once(&hmac_once, hmac_fetch);
	if (hmac_impl == NULL || (ctx = EVP_MAC_CTX_new(hmac_impl)) == NULL)
		return -ENOMEM;
	ok = EVP_MAC_init(ctx, s->key, s->len, params) &&
	     EVP_MAC_update(ctx, (const unsigned char *)prefix, plen) &&
	     (len == 0 || EVP_MAC_update(ctx, body, len)) &&
	     EVP_MAC_final(ctx, mac, &out, SHA256_LEN) && out == SHA256_LEN;
	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : -ENOMEM;
}

int fwh_sign(const struct fwh_secret *s, const char *id, int64_t timestamp,
	     const void *body, size_t len, char out[FWH_SIGNATURE_LEN])
{
	unsigned char mac[SHA256_LEN];
	char prefix[256];
	int plen, rc;

	plen = snprintf(prefix, sizeof(prefix), "%s.%" PRId64 ".", id,
			timestamp);
	if (plen < 0 || (size_t)plen >= sizeof(prefix))
		return -EINVAL;
	rc = hmac_sha256(s, prefix, (size_t)plen, body, len, mac);
	if (rc < 0)
		return rc;
	memcpy(out, "v1,", 3);
	/* EVP_EncodeBlock writes 4 * ceil(32 / 3) = 44 bytes and a NUL. */
	EVP_EncodeBlock((unsigned char *)out + 3, mac, SHA256_LEN);
	return 0;
}

int fwh_sign_all(const struct fwh_secret *s, size_t n, const char *id,
		 int64_t timestamp, const void *body, size_t len,
		 char out[FWH_SIGNATURES_MAX])
{
	size_t at = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && i < FWH_SECRETS_MAX; i++) {
		int rc;

		if (i > 0)
			out[at++] = ' ';
		rc = fwh_sign(&s[i], id, timestamp, body, len, out + at);
		if (rc < 0)
			return rc;
		at += FWH_SIGNATURE_LEN - 1;
	}
	return 0;
}
