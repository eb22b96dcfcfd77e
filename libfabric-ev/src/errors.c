#include <errno.h>
#include <string.h>

#include "fev/fev.h"

const char *fev_strerror(int err)
{
	switch (-err) {
	case 0:
		return "success";
	case EINVAL:
		return "invalid argument: queue names are [A-Za-z0-9._-]{1,63}, "
		       "instance names [A-Za-z0-9_-]{1,31}, header names "
		       "HTTP tokens";
	case ENOENT:
		return "no such queue: create it with 'fev queue create NAME' "
		       "or list it in fevd's config";
	case EEXIST:
		return "a queue of that name already exists";
	case EACCES:
		return "permission denied by the queue's mode or group";
	case EPERM:
		return "operation not allowed for this handle's role or "
		       "caller (an ordered group is read through "
		       "fev_member_join(), not fev_open())";
	case EBADMSG:
		return "corrupt or truncated queue segment";
	case EUCLEAN:
		return "not a queue fev trusts: the name holds a FIFO, a link or "
		       "a file owned by a user other than root or fevd's; have "
		       "its owner or root remove it, then create the queue "
		       "through fevd";
	case EPROTO:
		return "queue segment of an incompatible ABI version";
	case EIDRM:
		return "the queue was deleted";
	case EBUSY:
		return "busy: the queue is single-producer or single-consumer "
		       "and another handle has that side (fev stat names its "
		       "pid; a dead one's side is freed once fevd repairs it), "
		       "or a consumer group still has members";
	case ENOTSUP:
		return "not supported: a topic's partitions are multi-producer "
		       "and multi-consumer (consumer groups read through "
		       "cursors of their own); create a queue for --sp/--sc";
	case EUSERS:
		return "too many processes attached to the queue";
	case EMSGSIZE:
		return "event larger than the queue's max_event (payload, key "
		       "and headers together), key or header name over 255 "
		       "bytes, or buffer too small";
	case EAGAIN:
		return "would block: queue full or empty";
	case ETIMEDOUT:
		return "timed out";
	case ENOMEM:
		return "out of memory (a new queue must fit in available memory "
		       "and the creator's memory cgroup limit: choose a smaller "
		       "capacity or max_event)";
	case ENOSPC:
		return "no space left for the segment in /dev/shm";
	case ECHILD:
		return "this handle belongs to the parent process: open the "
		       "queue again in the child";
	case EINTR:
		return "interrupted";
	case ESTALE:
		return "repaired as if this process had died: the "
		       "reservation or event was not published (or released) "
		       "by this call; send it again, through a new handle "
		       "(fev_open) if this one keeps answering this";
	case EKEYREVOKED:
		return "the partition of this event was handed to another "
		       "member of its ordered group (its generation moved on): "
		       "the new owner gets the event again, flagged "
		       "redelivered; drop it and acquire the next (or, when "
		       "acquire says this too, the member made no call for "
		       "its group's session timeout: leave and join again)";
	default:
		return err < 0 ? strerror(-err) : "unknown error";
	}
}
