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
/* How soon a process attached to a quiet queue is seen (liveness.c), and
 * the timer's period while nothing is attached (supervisor.c). */
#define FEVD_GEN_CHECK_NS (100ull * 1000 * 1000)
/* Checks of each queue that nothing calls for, guarding against what
 * should not happen: its attacher table read (liveness.c), its file
 * fstat-ed and its name lstat-ed (supervisor.c). */
#define FEVD_TABLE_READ_NS (300ull * 1000 * 1000 * 1000)
#define FEVD_DEEP_CHECK_NS (300ull * 1000 * 1000 * 1000)
/* A time between period/2 and period from now: work done every period
 * for each queue is spread over the period, not done for all at once. */
uint64_t fevd_spread(uint64_t now, uint64_t period);
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
	/* The admin socket (control_admin.c): only privileged callers reach
	 * it, so others' connections never fill its backlog.  -1: none. */
	int adminfd;
	char admin_path[FEVD_SOCKET_PATH_MAX];
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
	/* Queues each tick scans (fevd_queue.active): those in use. */
	struct cds_list_head active;
	uint64_t next_gen_check_ns;
	/* The assignor's work space (assign.c), and what it did: partitions
	 * it asked an owner to hand over, and partitions it gave. */
	struct fevd_assign_plan *assign_plan;
	uint64_t assign_moves, assign_gives;
	/* Records to repair, found by the scan of one queue. */
	uint32_t todo[FEV__ATTACHERS_MAX];
	uint64_t tick_ns, stall_ns;
	uint64_t timer_ns; /* the timer's period now: tick_ns, or idle's */
	uint64_t next_rescan_ns;
	/* next re-creation of configured queues others broke (timer only) */
	uint64_t next_apply_ns;
	/* segments that could not be adopted, reported once each */
	struct fevd_nameset bad;
	struct fevd_ratelimit log_bad; /* past FEVD_NAMESET_MAX of them */
	struct fevd_ratelimit log_untrusted; /* files fev does not trust */
	int shmwatchfd; /* inotify on /dev/shm; -1: not watched */
	/* /dev/shm as the last listing saw it: unchanged, it is not read
	 * again (the idle cost of many quiet queues; without inotify) */
	struct timespec shm_mtime;
	bool relist;		   /* a segment is still being created */
	uint64_t next_relist_ns; /* a listing anyway, for what mtime misses */
	/* the single-instance lock (instance_lock.h) */
	int lockfd;
	char lock_path[PATH_MAX];
	bool stopping;
	bool scan_due; /* a watched process exited: scan after this batch */
	bool started; /* start() finished: the queues are ours to unlink */
	/* totals over the daemon's life, for the log and tests; listings of
	 * /dev/shm and attacher tables read are the idle cost ping reports */
	uint64_t repairs, stalls;
	uint64_t listings, table_reads;
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
/* Something happened to queue name's file in /dev/shm (shm_watch.c):
 * let go of what fevd maps there if it is gone, adopt what is there. */
void fevd_segment_changed(struct fevd *d, const char *name);
/*
 * Before a control request: the fabric as it is now.  about_queues (list,
 * stats, delete, reload): also every queue's state and attach generation,
 * O(queues) loads; else (create) only what inotify said since, O(1).
 */
void fevd_refresh(struct fevd *d, bool about_queues);
/* Create (or adopt) queue q->name with its settings.  0 or -errno. */
int fevd_queue_create_adopt(struct fevd *d, const struct fevd_queue_conf *c,
			    enum fevd_origin origin, bool adopt_existing);
/* Delete a queue's segment and forget it.  0 or -errno. */
int fevd_queue_destroy(struct fevd *d, struct fevd_queue *q);

/* control.c */
int fevd_control_listen(struct fevd *d);
/* A listening control socket at path, mode 0666.  The fd or -errno. */
int fevd_control_bind(const char *path);
void fevd_control_close(struct fevd *d);
/* Accept what waits on listenfd (the public or the admin socket). */
void fevd_control_accept(struct fevd *d, int listenfd);

/* control_admin.c */
/* Listen on the admin socket too; without it (logged) fevd serves on. */
void fevd_control_listen_admin(struct fevd *d);
void fevd_control_close_admin(struct fevd *d);
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

/* trust_publish.c */
/* Trust the config's trusted_uids in this process (before adopting). */
void fevd_trust_apply(struct fevd *d);
/* Publish them for clients, next to the control socket (logged on
 * failure); none listed removes the file. */
void fevd_trust_publish(struct fevd *d);
void fevd_trust_unpublish(struct fevd *d);

/* liveness.c */
/* Scan every queue's attacher table: watch, repair, report stalls. */
void fevd_liveness_scan(struct fevd *d);
/* The same, reading only the tables of queues in use or attached to since
 * the last read (their attach generation moved): O(queues) loads. */
void fevd_liveness_refresh(struct fevd *d);
/* The periodic scan: the queues in use each tick, every other queue's
 * attach generation every FEVD_GEN_CHECK_NS. */
void fevd_liveness_tick(struct fevd *d);
/* A pidfd became readable: its process is gone (sets scan_due). */
void fevd_liveness_pidfd_ready(struct fevd *d, int fd);
void fevd_liveness_close(struct fevd *d);
/* After a liveness scan: assign the partitions of ordered groups
 * (assign.c); fevd_assign_close() frees its work space. */
void fevd_assign(struct fevd *d);
void fevd_assign_close(struct fevd *d);

#endif /* FEVD_INTERNAL_H */
