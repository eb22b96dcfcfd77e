/*
 * Endpoint secrets in the Standard Webhooks form: "whsec_" followed by the
 * base64 of the key bytes (what Svix and the Standard Webhooks libraries
 * hand out).  An endpoint has one or more (rotation: every active secret
 * signs, the receiver accepts any).  Secrets are never logged: messages
 * name the endpoint and the position of the secret, not its value.
 */
#ifndef FWH_SECRET_H
#define FWH_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define FWH_SECRET_PREFIX "whsec_"
#define FWH_SECRET_MIN 24   /* key bytes: Standard Webhooks asks 24..64 */
#define FWH_SECRET_MAX 64
#define FWH_SECRETS_MAX 4   /* active at once, for rotation */

struct fwh_secret {
	uint8_t key[FWH_SECRET_MAX];
	size_t len;
};

/*
 * Decode one "whsec_<base64>" into s.  0, or -EINVAL with the reason in why
 * (the value itself is never copied into why).
 */
int fwh_secret_parse(const char *text, struct fwh_secret *s, char *why,
		     size_t whylen);

/*
 * Several secrets separated by spaces (the rotation list), appended to
 * out[*n]; same contract.  -E2BIG past FWH_SECRETS_MAX.
 */
int fwh_secrets_parse(const char *text, struct fwh_secret *out, size_t *n,
		      char *why, size_t whylen);

/*
 * Read the secrets from a file (one line, the same list).  The file must
 * not be readable or writable by others (-EPERM with a sentence), must be a
 * regular file, and at most 4 KiB.
 */
int fwh_secrets_load(const char *path, struct fwh_secret *out, size_t *n,
		     char *why, size_t whylen);

#endif /* FWH_SECRET_H */
