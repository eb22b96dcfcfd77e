/*
 * Nats-Msg-Id of an event bridged out:
 * "INSTANCE:TOPIC:CREATED:PARTITION:ID", where ID is fev_event.id, the
 * event's position in its partition, and CREATED the partition's creation
 * time (fev_queue_created_ns(): positions start again at 0 in a topic
 * deleted and created again).  A consumer group redelivers an event in
 * place (same partition, same id: doc/design.md, "Consumer groups"), so
 * whatever the bridge sends again after a crash, a reconnect or a lost
 * PubAck carries the same id and JetStream drops it inside the stream's
 * duplicate window.  ':' is in neither name alphabet, so an id names one
 * event of one fabric.
 */
#ifndef FNB_MSGID_H
#define FNB_MSGID_H

#include <stddef.h>
#include <stdint.h>

/* Room for the longest id (two names, three numbers, four colons). */
#define FNB_MSGID_MAX 128

void fnb_msgid(char *buf, size_t len, const char *instance,
	       const char *topic, uint64_t created_ns, uint32_t partition,
	       uint64_t id);

/* The event id at the end of a msg id; -EINVAL when it has none. */
int fnb_msgid_event(const char *msgid, uint64_t *id);

#endif /* FNB_MSGID_H */
