/*
 * The supervisor's state, shared by its parts: supervisor.c (lifecycle and
 * the epoll loop), control.c (the control socket), liveness.c (attacher
 * discovery, pidfds, repair, stalls).  Every field is owned by the
 * supervisor thread unless it says otherwise.
 */
#ifndef FEVD_INTERNAL_H
#define FEVD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "bounds.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "nameset.h"
#include "registry.h"
#include "supervisor.h"

#define FEVD_CLIENTS_MAX 64
/* Of those, slots only privileged peers (who may change the instance)
 * take: whatever other users do, root's fev queue gets in. */
#define FEVD_CLIENTS_RESERVED 16
/* Connections one unprivileged uid may hold at once. */
#define FEVD_CLIENTS_PER_UID 8
#define FEVD_PEER_GROUPS_MAX 64
/*
 * A stats_seq stuck by a retirer that died makes each stats read wait out
 * its patience: one request (or one scrape of /metrics) shares this budget
 * across all its queues, and a queue read after it is spent is listed
 * "stats=busy" (a scrape gives its best-effort sum).
 */
#define FEVD_STATS_BUDGET_NS (50ull * 1000 * 1000)

/* epoll tags: what a ready fd is, in the high half of data.u64. */
enum fevd_tag {
	FEVD_TAG_SIGNAL = 1,
	FEVD_TAG_STOP,
	FEVD_TAG_TIMER,
	FEVD_TAG_LISTEN,
	FEVD_TAG_CLIENT,
	FEVD_TAG_PIDFD,
};

struct fevd_peer {
	int fd;
	struct ucred cred;
	uint64_t last_ns; /* CLOCK_MONOTONIC of its last request */
	int ngroups; /* supplementary groups, -1 when unknown */
	gid_t groups[FEVD_PEER_GROUPS_MAX];
	bool privileged; /* may change the instance: never evicted for others */
};

/* One process we hold a pidfd for, shared by all its attacher records. */
struct fevd_watch {
	int32_t pid;	     /* as the attacher recorded it */
	uint64_t start_time;
	uint64_t pidns;	     /* the attacher's pid namespace */
	int32_t local_pid;   /* the same process as we see it; 0: unknown */
	int pidfd; /* -1 once dead, or while it cannot be had */
	uint64_t retry_ns; /* no pidfd: when to apply the rule again */
	bool reported;	   /* why it has no pidfd is logged (once) */
	bool dead;
	bool seen; /* named by a record in the current scan */
	uint64_t checked; /* scan (fevd.scans) that last asked the kernel */
};

struct fevd_reply {
	char buf[FEV__CTL_REPLY_MAX];
	size_t len;
	bool overflow;
};

struct fevd {
	struct fevd_options opts;
	char *config_path; /* owned copies of the option strings */
	char *own_instance, *own_socket, *own_pidfile;
	struct fevd_config cfg;
	char instance[FEV_INSTANCE_MAX + 1];
	char socket_path[FEVD_SOCKET_PATH_MAX];
	char pidfile_path[PATH_MAX];
	struct pidfh *pidfh;
	int epfd, sigfd, stopfd, timerfd, listenfd;
	struct fevd_registry reg;
	struct fevd_peer peers[FEVD_CLIENTS_MAX];
	size_t npeers;
	/* /dev/null held open: given up to accept-and-refuse when fevd is out
	 * of descriptors, so a pending connection never spins the loop */
	int reservefd;
	bool listen_paused; /* out of descriptors, reserve included */
	struct fevd_ratelimit log_refused, log_evicted, log_nofds;
	struct fevd_watch *watches;
	size_t nwatches, watches_cap;
	/* Open-addressing index of watches by pid: slot holds index + 1. */
	uint32_t *watch_index;
	size_t watch_index_cap; /* power of two, > 2 * nwatches */
	uint64_t scans; /* liveness scans so far: a watch asks once per scan */
	/* Records to repair, found by the scan of one queue. */
	uint32_t todo[FEV__ATTACHERS_MAX];
	uint64_t tick_ns, stall_ns;
	uint64_t next_rescan_ns;
	/* segments that could not be adopted, reported once each */
	struct fevd_nameset bad;
	struct fevd_ratelimit log_bad; /* past FEVD_NAMESET_MAX of them */
	struct fevd_ratelimit log_untrusted; /* files fev does not trust */
	/* /dev/shm as the last listing saw it: unchanged, it is not read
	 * again (the idle cost of many quiet queues) */
	struct timespec shm_mtime;
	bool relist;		   /* a segment is still being created */
	uint64_t next_relist_ns; /* a listing anyway, for what mtime misses */
	/* the single-instance lock (instance_lock.h) */
	int lockfd;
	char lock_path[PATH_MAX];
	bool stopping;
	bool scan_due; /* a watched process exited: scan after this batch */
	bool started; /* start() finished: the queues are ours to unlink */
	/* totals over the daemon's life, for the log and tests */
	uint64_t repairs, stalls;
	struct fevd_reply reply;
	uint64_t stats_give_up_ns; /* the current request's stats budget */
	/* the /metrics thread (metrics.h); NULL without metrics_listen */
	struct fevd_metrics *metrics;
};

/* supervisor.c */
void fevd_epoll_add(struct fevd *d, int fd, enum fevd_tag tag);
void fevd_epoll_del(struct fevd *d, int fd);
/* Pick up segments created or deleted behind fevd's back. */
void fevd_rescan_segments(struct fevd *d);
/* Create (or adopt) queue q->name with its settings.  0 or -errno. */
int fevd_queue_create_adopt(struct fevd *d, const struct fevd_queue_conf *c,
			    enum fevd_origin origin, bool adopt_existing);
/* Delete a queue's segment and forget it.  0 or -errno. */
int fevd_queue_destroy(struct fevd *d, struct fevd_queue *q);

/* control.c */
int fevd_control_listen(struct fevd *d);
void fevd_control_close(struct fevd *d);
void fevd_control_accept(struct fevd *d);
/* Every tick: take the reserve descriptor back, listen again if paused. */
void fevd_control_tick(struct fevd *d);
/* hangup: epoll saw the peer hang up (recv 0 is then not a message). */
void fevd_control_serve(struct fevd *d, int fd, bool hangup);
/*
 * Answer one request from peer (the whole protocol, without the socket):
 * fills d->reply.  Exposed for tests.
 */
void fevd_control_handle(struct fevd *d, const struct fevd_peer *peer,
			 const char *req, size_t len);

/* liveness.c */
/* Scan every queue's attacher table: watch, repair, report stalls. */
void fevd_liveness_scan(struct fevd *d);
/* The periodic scan: like fevd_liveness_scan(), but a queue with nobody
 * attached is looked at only every FEVD_IDLE_SCAN_NS. */
void fevd_liveness_tick(struct fevd *d);
/* A pidfd became readable: its process is gone (sets scan_due). */
void fevd_liveness_pidfd_ready(struct fevd *d, int fd);
void fevd_liveness_close(struct fevd *d);

#endif /* FEVD_INTERNAL_H */
