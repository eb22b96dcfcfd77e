#include "conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nlog.h"
#include "url.h"

void fnb_sleep_ms(unsigned ms)
{
	struct timespec t = { .tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

const char *fnb_nats_text(natsStatus s, char *buf, size_t len)
{
	natsStatus last = NATS_OK;
	const char *why = nats_GetLastError(&last);
	char stack[512] = "";

	/* The thread's last error says why (an OpenSSL reason such as
	 * "certificate verify failed", a server's -ERR), when it is the
	 * error at hand: a callback's thread may hold an older one. */
	/* libnats starts some with its source position: "(conn.c:733): ". */
	if (why != NULL && why[0] == '(' && strstr(why, "): ") != NULL)
		why = strstr(why, "): ") + 3;
	if (last == s && why != NULL && why[0] != '\0' &&
	    strcmp(why, natsStatus_GetText(s)) != 0) {
		snprintf(buf, len, "%s: %s", natsStatus_GetText(s), why);
		return buf;
	}
	nats_GetLastErrorStack(stack, sizeof(stack));
	stack[strcspn(stack, "\n")] = '\0';
	if (stack[0] != '\0' && strstr(stack, natsStatus_GetText(s)) == NULL)
		snprintf(buf, len, "%s (%s)", natsStatus_GetText(s), stack);
	else
		snprintf(buf, len, "%s", natsStatus_GetText(s));
	return buf;
}

void fnb_conn_error(struct fnb_conn *c, const char *fmt, ...)
{
	va_list ap;
	char msg[FNB_LAST_ERROR_MAX];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fnb_log_err("%s", msg);
	pthread_mutex_lock(&c->lock);
	memcpy(c->last_error, msg, sizeof(msg));
	pthread_mutex_unlock(&c->lock);
}

void fnb_conn_last_error(struct fnb_conn *c, char *buf, size_t len)
{
	pthread_mutex_lock(&c->lock);
	snprintf(buf, len, "%s", c->last_error);
	pthread_mutex_unlock(&c->lock);
}

static void on_disconnected(natsConnection *nc, void *arg)
{
	struct fnb_conn *c = arg;

	(void)nc;
	atomic_store_explicit(&c->counters.connected, 0,
			      memory_order_relaxed); /* N1 */
	if (atomic_load_explicit(&c->closing, memory_order_relaxed)) /* N1 */
		return;
	fnb_conn_error(c, "NATS connection lost: publishing and fetching "
			  "wait, the events stay in fev; reconnecting");
}

static void on_reconnected(natsConnection *nc, void *arg)
{
	struct fnb_conn *c = arg;
	char url[FNB_URL_MAX] = "", shown[FNB_URL_MAX];

	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	fnb_url_shown(url, shown, sizeof(shown));
	atomic_store_explicit(&c->counters.connected, 1,
			      memory_order_relaxed); /* N1 */
	fnb_add(&c->counters.reconnects, 1);
	fnb_log_notice("NATS connection back (%s)", shown);
}

static void on_async_error(natsConnection *nc, natsSubscription *sub,
			   natsStatus err, void *arg)
{
	char t[256];

	(void)nc;
	(void)sub;
	fnb_conn_error(arg, "NATS: %s", fnb_nats_text(err, t, sizeof(t)));
}

/* Doubling from reconnect_wait to reconnect_wait_max, 20% jitter. */
static int64_t reconnect_delay(natsConnection *nc, int attempts, void *arg)
{
	const struct fnb_nats_conf *cfg = arg;
	uint64_t ms = cfg->reconnect_ms;

	(void)nc;
	for (int i = 1; i < attempts && ms < cfg->reconnect_max_ms; i++)
		ms *= 2;
	if (ms > cfg->reconnect_max_ms)
		ms = cfg->reconnect_max_ms;
	return (int64_t)(ms - ms / 10 + (uint64_t)nats_Now() % (ms / 5 + 1));
}

static natsStatus set_auth(natsOptions *o, const struct fnb_nats_conf *cfg)
{
	natsStatus s = NATS_OK;

	if (cfg->user[0] != '\0')
		s = natsOptions_SetUserInfo(o, cfg->user, cfg->password);
	else if (cfg->token[0] != '\0')
		s = natsOptions_SetToken(o, cfg->token);
	else if (cfg->creds[0] != '\0')
		s = natsOptions_SetUserCredentialsFromFiles(o, cfg->creds,
							    NULL);
	else if (cfg->nkey_seed[0] != '\0')
		s = natsOptions_SetNKeyFromSeed(o, cfg->nkey, cfg->nkey_seed);
	return s;
}

static natsStatus set_tls(natsOptions *o, const struct fnb_nats_conf *cfg)
{
	natsStatus s = NATS_OK;

	if (cfg->tls)
		s = natsOptions_SetSecure(o, true);
	if (s == NATS_OK && cfg->tls && cfg->tls_hostname[0] != '\0')
		s = natsOptions_SetExpectedHostname(o, cfg->tls_hostname);
	if (s == NATS_OK && cfg->tls_ca[0] != '\0')
		s = natsOptions_LoadCATrustedCertificates(o, cfg->tls_ca);
	if (s == NATS_OK && cfg->tls_cert[0] != '\0')
		s = natsOptions_LoadCertificatesChain(o, cfg->tls_cert,
						      cfg->tls_key);
	return s;
}

static natsStatus make_options(natsOptions **out, struct fnb_conn *c,
			       const struct fnb_nats_conf *cfg)
{
	const char *urls[FNB_SERVERS_MAX];
	natsOptions *o;
	natsStatus s = natsOptions_Create(&o);

	for (size_t i = 0; i < cfg->nservers; i++)
		urls[i] = cfg->servers[i];
	if (s == NATS_OK)
		s = natsOptions_SetServers(o, urls, (int)cfg->nservers);
	if (s == NATS_OK)
		s = natsOptions_SetName(o, "fev-nats");
	/* Never give up: the bridge waits for NATS as long as it runs. */
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(o, -1);
	if (s == NATS_OK)
		s = natsOptions_SetCustomReconnectDelay(
			o, reconnect_delay, (void *)cfg);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(o, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetDisconnectedCB(o, on_disconnected, c);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectedCB(o, on_reconnected, c);
	if (s == NATS_OK)
		s = natsOptions_SetErrorHandler(o, on_async_error, c);
	if (s == NATS_OK)
		s = set_auth(o, cfg);
	if (s == NATS_OK)
		s = set_tls(o, cfg);
	if (s != NATS_OK) {
		natsOptions_Destroy(o);
		return s;
	}
	*out = o;
	return NATS_OK;
}

/* What to do about a failed connect, in words. */
static const char *connect_hint(natsStatus s, const struct fnb_nats_conf *cfg)
{
	switch (s) {
	case NATS_NO_SERVER:
		return "check [nats] servers and that nats-server runs there";
	case NATS_CONNECTION_AUTH_FAILED:
	case NATS_NOT_PERMITTED:
		return "check the credentials in [nats] (user/password, "
		       "token, creds or nkey and nkey_seed)";
	case NATS_SECURE_CONNECTION_WANTED:
		return "check the TLS settings in [nats]: the server offers "
		       "no TLS; nothing is sent in plain text (turn on TLS in "
		       "nats-server, or use nats:// without tls)";
	case NATS_SECURE_CONNECTION_REQUIRED:
	case NATS_SSL_ERROR:
		return "check the TLS settings in [nats] (tls_ca: the CA that "
		       "signed the server's certificate; tls_hostname: a name "
		       "the certificate holds)";
	case NATS_PROTOCOL_ERROR:
		/* A server that verifies clients closes a TLS connection
		 * without a client certificate before its first reply. */
		if (cfg->tls && cfg->tls_cert[0] == '\0')
			return "check the TLS settings in [nats]: a server "
			       "that verifies clients needs tls_cert and "
			       "tls_key";
		return "check [nats]";
	default:
		return "check [nats]";
	}
}

int fnb_conn_open(struct fnb_conn *c, const struct fnb_nats_conf *cfg)
{
	natsOptions *o = NULL;
	natsStatus s;
	char t[256], url[FNB_URL_MAX];

	c->nc = NULL;
	atomic_store_explicit(&c->closing, 0, memory_order_relaxed); /* N1 */
	s = make_options(&o, c, cfg);
	if (s != NATS_OK) {
		fnb_conn_error(c, "NATS options refused: %s: %s",
			       fnb_nats_text(s, t, sizeof(t)),
			       connect_hint(s, cfg));
		return -ECONNREFUSED;
	}
	s = natsConnection_Connect(&c->nc, o);
	natsOptions_Destroy(o);
	if (s != NATS_OK) {
		c->nc = NULL;
		fnb_conn_error(c, "cannot connect to NATS (%s): %s: %s",
			       fnb_url_shown(cfg->servers[0], url, sizeof(url)),
			       fnb_nats_text(s, t, sizeof(t)), connect_hint(s, cfg));
		return -ECONNREFUSED;
	}
	atomic_store_explicit(&c->counters.connected, 1,
			      memory_order_relaxed); /* N1 */
	natsConnection_GetConnectedUrl(c->nc, t, sizeof(t));
	fnb_log_notice("connected to NATS at %s",
		       fnb_url_shown(t, url, sizeof(url)));
	return 0;
}

bool fnb_conn_up(struct fnb_conn *c)
{
	return c->nc != NULL && natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED;
}

void fnb_conn_close(struct fnb_conn *c)
{
	if (c->nc != NULL) {
		atomic_store_explicit(&c->closing, 1,
				      memory_order_relaxed); /* N1 */
		natsConnection_Close(c->nc);
		natsConnection_Destroy(c->nc);
	}
	c->nc = NULL;
}
