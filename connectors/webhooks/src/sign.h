/*
 * The Standard Webhooks signature (standardwebhooks.com, spec 1.0): the
 * signed content is "ID.TIMESTAMP.BODY", HMAC-SHA256 under the decoded
 * secret, sent as "v1,<base64>"; several secrets give several entries
 * separated by one space.  HMAC and base64 come from OpenSSL.
 */
#ifndef FWH_SIGN_H
#define FWH_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "secret.h"

/* "v1," + base64 of 32 bytes (44) + NUL */
#define FWH_SIGNATURE_LEN (3 + 44 + 1)
#define FWH_SIGNATURES_MAX (FWH_SECRETS_MAX * FWH_SIGNATURE_LEN)

/*
 * Sign id.timestamp.body with one secret into out ("v1,..."), 0 or -ENOMEM
 * (OpenSSL could not allocate), -EINVAL (id too long to sign).
 */
int fwh_sign(const struct fwh_secret *s, const char *id, int64_t timestamp,
	     const void *body, size_t len, char out[FWH_SIGNATURE_LEN]);

/* Every secret's entry, space separated, into out. */
int fwh_sign_all(const struct fwh_secret *s, size_t n, const char *id,
		 int64_t timestamp, const void *body, size_t len,
		 char out[FWH_SIGNATURES_MAX]);

#endif /* FWH_SIGN_H */
