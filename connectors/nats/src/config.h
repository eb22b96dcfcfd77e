/*
 * fev-nats' configuration, read with fevini (the INI dialect of fevd and
 * the connectors): [bridge] (fev side), [nats] (connection), [out NAME]
 * (fev topic -> JetStream subject), [in NAME] (JetStream durable pull
 * consumer -> fev topic) and [stream NAME] (a stream to create when
 * absent).  All or nothing: any bad line refuses the whole file with
 * "FILE:LINE: reason" (a SIGHUP reload with a bad file keeps the running
 * config).  Every key is documented in connectors/nats/README.md.
 */
#ifndef FNB_CONFIG_H
#define FNB_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fev/fev.h"

#define FNB_ERR_MAX 512
#define FNB_SERVERS_MAX 16
#define FNB_URL_MAX 256
#define FNB_SUBJECT_MAX 256  /* a subject or subject template */
#define FNB_SECRET_MAX 256   /* user, password, token */
#define FNB_JS_NAME_MAX 64   /* stream and consumer names */
#define FNB_SUBJECTS_MAX 8   /* subjects of a [stream] */

/* Defaults; the README says why each is what it is. */
#define FNB_DEFAULT_GROUP_PREFIX "nats-"
#define FNB_DEFAULT_CONSUMER_PREFIX "fev-"
#define FNB_DEFAULT_KEY_HEADER "fev-key"
#define FNB_DEFAULT_MAX_IN_FLIGHT 512u
#define FNB_MAX_IN_FLIGHT_MAX 65536u
#define FNB_DEFAULT_ACK_TIMEOUT_MS 5000u
#define FNB_DEFAULT_BATCH 256u
#define FNB_DEFAULT_ACK_WAIT_MS 30000u /* JetStream's */
#define FNB_BATCH_MAX 4096u
#define FNB_DEFAULT_RECONNECT_MS 250u
#define FNB_DEFAULT_RECONNECT_MAX_MS 5000u
#define FNB_DEFAULT_DUPLICATE_WINDOW_MS (2u * 60 * 1000) /* JetStream's */

struct fnb_nats_conf {
	char servers[FNB_SERVERS_MAX][FNB_URL_MAX];
	size_t nservers;
	char user[FNB_SECRET_MAX], password[FNB_SECRET_MAX];
	char token[FNB_SECRET_MAX];
	char creds[PATH_MAX];     /* a .creds file (JWT and seed) */
	char nkey[FNB_SECRET_MAX];  /* an NKey public key (U...) ... */
	char nkey_seed[PATH_MAX]; /* ... and the file holding its seed */
	bool tls;
	char tls_ca[PATH_MAX], tls_cert[PATH_MAX], tls_key[PATH_MAX];
	/* The name the server's certificate must hold: tls_hostname, else
	 * the one host the servers name; "" when they name several (then
	 * libnats' own rule: Debian's checks each URL's host). */
	char tls_hostname[FNB_URL_MAX];
	uint32_t reconnect_ms, reconnect_max_ms; /* backoff, doubling */
};

/* fev topic -> JetStream. */
struct fnb_out_conf {
	char name[FEV_NAME_MAX + 1];
	char topic[FEV_NAME_MAX + 1];
	char group[FEV_GROUP_NAME_MAX + 1];
	int start; /* FEV_GROUP_* */
	char subject[FNB_SUBJECT_MAX]; /* template: {key} {partition} {topic} */
	uint32_t max_in_flight;        /* per partition */
	uint32_t ack_timeout_ms;
	unsigned line;
};

/* JetStream -> fev topic. */
struct fnb_in_conf {
	char name[FEV_NAME_MAX + 1];
	char stream[FNB_JS_NAME_MAX];
	char consumer[FNB_JS_NAME_MAX]; /* durable name */
	char filter[FNB_SUBJECT_MAX];   /* "": the stream's subjects */
	char topic[FEV_NAME_MAX + 1];
	char key_header[FEV_HEADER_NAME_MAX + 1];
	uint32_t key_token; /* 1-based subject token for the key; 0: header */
	uint32_t batch;
	uint32_t ack_wait_ms; /* of a consumer the bridge creates */
	unsigned line;
};

/* A stream to create when absent. */
struct fnb_stream_conf {
	char name[FNB_JS_NAME_MAX];
	char subjects[FNB_SUBJECTS_MAX][FNB_SUBJECT_MAX];
	size_t nsubjects;
	bool memory; /* storage = memory (default file) */
	uint64_t duplicate_window_ms;
	unsigned line;
};

struct fnb_config {
	char instance[FEV_INSTANCE_MAX + 1]; /* "": fev_default_instance() */
	char status_file[PATH_MAX];
	int log_level; /* FEVD_LOG_* */
	struct fnb_nats_conf nats;
	struct fnb_out_conf *outs;
	size_t nouts;
	struct fnb_in_conf *ins;
	size_t nins;
	struct fnb_stream_conf *streams;
	size_t nstreams;
};

/* Read and check the file; 0, or -errno with "FILE:LINE: reason" in err.
 * cfg is untouched on failure. */
int fnb_config_load(const char *path, struct fnb_config *cfg, char *err,
		    size_t errlen);
void fnb_config_free(struct fnb_config *cfg);

#endif /* FNB_CONFIG_H */
