/*
 * [out NAME]: a fev topic (or queue) into JetStream.  Each partition has a
 * thread of its own that reads it as the out's consumer group, publishes
 * every event with js_PublishMsgAsync (Nats-Msg-Id from msgid.h, headers
 * 1:1, the key in fev-key) and releases events only after their PubAck, in
 * the order it took them: a window of at most max_in_flight events whose
 * release cursor moves only over contiguously acknowledged ones.  A failed
 * or timed-out publish is sent again, same id, with a doubling backoff;
 * while NATS is away or the window is full, nothing more is read (the
 * events wait in fev under the group's policy).
 */
#ifndef FNB_OUT_H
#define FNB_OUT_H

#include <signal.h>

#include "config.h"
#include "conn.h"
#include "counters.h"

struct fnb_out;

/*
 * Create the out's consumer group on its topic when absent, before NATS is
 * reached: from then on the topic keeps every event for the bridge, even
 * while NATS is away (a topic with no group would free them unread).
 * 0, or the error of fev_group_create() (-EINVAL: a queue, no groups).
 */
int fnb_out_group_create(const struct fnb_out_conf *cfg, const char *instance);

int fnb_out_start(const struct fnb_out_conf *cfg, const char *instance,
		  struct fnb_conn *conn, struct fnb_out **out);
/* Stop reading, wait briefly for the PubAcks in flight, release what they
 * acknowledged, close (the rest is redelivered to the group). */
void fnb_out_stop(struct fnb_out *o);
/* After fnb_out_stop(): its counters are final; free it. */
void fnb_out_free(struct fnb_out *o);
struct fnb_out_counters *fnb_out_counters(struct fnb_out *o);

#endif /* FNB_OUT_H */
