/*
 * [in NAME]: a JetStream durable pull consumer into a fev topic.  One
 * thread fetches batches, writes each message into the topic (keyed:
 * partition by murmur2, as fev_topic_send_ex() routes), and acks it only
 * after the commit, so a crash between the two has JetStream deliver it
 * again (NumDelivered > 1: FEV_REDELIVERED on the fev event).  A message
 * that can never be written (over the topic's max_event) is terminated
 * (Term) and counted; while the topic is full and blocks, the message is
 * kept alive with InProgress.
 */
#ifndef FNB_IN_H
#define FNB_IN_H

#include "config.h"
#include "conn.h"
#include "counters.h"

struct fnb_in;

int fnb_in_start(const struct fnb_in_conf *cfg, const char *instance,
		 struct fnb_conn *conn, struct fnb_in **out);
void fnb_in_stop(struct fnb_in *in);
/* After fnb_in_stop(): its counters are final; free it. */
void fnb_in_free(struct fnb_in *in);
struct fnb_in_counters *fnb_in_counters(struct fnb_in *in);

#endif /* FNB_IN_H */
