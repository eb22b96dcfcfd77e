#include "run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "clock.h"
#include "export.h"
#include "names.h"
#include "olog.h"
#include "follow.h"
#include "sink.h"
#include "state.h"
#include "status.h"

struct run {
	const struct fot_config *cfg;
	const char *inst;
	struct fot_ring *rings[FOT_RINGS_MAX];
	size_t nrings;
	struct fot_saved *saved;
	size_t nsaved;
	struct fot_sink sink;
	struct fot_export ex;
	uint64_t missed_said;
	int state_err; /* the last save's, said once */
	bool first_scan;
};

static struct fot_ring *find(struct run *r, const char *topic)
{
	for (size_t i = 0; i < r->nrings; i++)
		if (strcmp(r->rings[i]->topic, topic) == 0)
			return r->rings[i];
	return NULL;
}

/* Follow topic's ring if it is there and not followed yet. */
static int want(const char *topic, void *arg)
{
	struct run *r = arg;
	const struct fot_saved *sv;
	struct fot_ring *ring = find(r, topic);
	int rc;

	if (ring != NULL) {
		ring->seen = true;
		return 0;
	}
	if (r->nrings == FOT_RINGS_MAX)
		return 0;
	ring = malloc(sizeof(*ring));
	if (ring == NULL)
		return 0;
	sv = fot_state_find(r->saved, r->nsaved, topic);
	rc = fot_ring_open(ring, r->inst, topic, sv != NULL, sv ? sv->ino : 0,
			   sv ? sv->next : 0,
			   r->cfg->start == FEV_GROUP_EARLIEST,
			   fev__now_monotonic_ns());
	if (rc < 0) {
		/* Not there (yet), or being created: quietly, next time. */
		if (rc != -ENOENT && rc != -EAGAIN)
			fevd_log(r->first_scan ? FEVD_LOG_WARNING :
						 FEVD_LOG_DEBUG,
				 "cannot follow the hop ring of '%s': %s",
				 topic, fev_strerror(rc));
		free(ring);
		return 0;
	}
	fot_log_info("following the hop ring of '%s' from hop %" PRIu64,
		     topic, ring->next);
	r->rings[r->nrings++] = ring;
	return 0;
}

/* Is ring still the file under its name?  A topic deleted (and perhaps
 * created again) leaves our mapping on the old one. */
static bool current(const struct run *r, const struct fot_ring *ring)
{
	char name[FEV__SHM_NAME_MAX + sizeof(FEV__HOPS_SUFFIX)];
	char path[sizeof(FEV__SHM_DIR) + sizeof(name)];
	struct stat st;

	if (fev__hops_shm_name(name, sizeof(name), r->inst, ring->topic) < 0)
		return false;
	snprintf(path, sizeof(path), "%s%s", FEV__SHM_DIR, name);
	return stat(path, &st) == 0 && st.st_ino == ring->hops.ino;
}

/* true the first time */
static bool rescan(struct run *r)
{
	bool first = r->first_scan;
	size_t kept = 0;

	for (size_t i = 0; i < r->nrings; i++)
		r->rings[i]->seen = current(r, r->rings[i]);
	if (r->cfg->ntopics == 0)
		fev__hops_each(r->inst, want, r);
	else
		for (size_t i = 0; i < r->cfg->ntopics; i++)
			want(r->cfg->topics[i], r);
	for (size_t i = 0; i < r->nrings; i++) {
		if (r->rings[i]->seen) {
			r->rings[kept++] = r->rings[i];
			continue;
		}
		fot_log_info("the hop ring of '%s' is gone (topic deleted)",
			     r->rings[i]->topic);
		fot_ring_close(r->rings[i]);
		free(r->rings[i]);
	}
	r->nrings = kept;
	r->first_scan = false;
	return first;
}

static void save(struct run *r)
{
	int rc = fot_state_save(r->cfg->state_file, r->rings, r->nrings,
				&r->sink);

	/* Said once per cause, not once per batch. */
	if (rc < 0 && rc != r->state_err)
		fot_log_err("cannot write the state file %s: %s (a restart "
			    "will read each ring from its start setting "
			    "again)",
			    r->cfg->state_file, strerror(-rc));
	r->state_err = rc;
}

static void status(struct run *r)
{
	int rc = fot_status_write(r->cfg->status_file, &r->ex, &r->sink,
				  r->rings, r->nrings);

	if (rc < 0)
		fevd_log(FEVD_LOG_DEBUG, "cannot write the status file %s: %s",
			 r->cfg->status_file, strerror(-rc));
	if (r->ex.n.missed > r->missed_said) {
		fot_log_warn("%" PRIu64 " hops were overwritten before they "
			     "could be exported (%" PRIu64 " in all): the "
			     "rings are too small for the time the exporter "
			     "was away or behind (trace_hops)",
			     r->ex.n.missed - r->missed_said, r->ex.n.missed);
		r->missed_said = r->ex.n.missed;
	}
}

static void step(struct run *r, uint64_t now)
{
	for (size_t i = 0; i < r->nrings; i++)
		r->ex.n.missed += fot_ring_poll(r->rings[i], &r->sink, now);
	fot_sink_expire(&r->sink, now);
	if (fot_export_due(&r->ex, &r->sink, now, false) &&
	    fot_export_flush(&r->ex, &r->sink, now))
		save(r);
}

static int start(struct run *r, const struct fot_config *cfg)
{
	int rc;

	r->cfg = cfg;
	r->inst = cfg->instance[0] ? cfg->instance : fev_default_instance();
	r->first_scan = true;
	rc = fot_state_load(cfg->state_file, &r->saved, &r->nsaved);
	if (rc == -EBADMSG)
		fot_log_warn("%s is not a fev-otel state file: every ring is "
			     "read from its start setting",
			     cfg->state_file);
	else if (rc < 0)
		fot_log_warn("cannot read the state file %s: %s",
			     cfg->state_file, strerror(-rc));
	if (fot_sink_init(&r->sink, cfg->batch_size,
			  cfg->open_span_ms * 1000 * 1000) < 0 ||
	    fot_export_init(&r->ex, cfg) < 0) {
		fot_log_err("out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void finish(struct run *r)
{
	uint64_t now = fev__now_monotonic_ns();

	/* One last try for what was read: taken, the cursors move on.  Not
	 * while the collector is failing: that try would only hold the stop
	 * for another timeout; the saved cursors bring those hops back. */
	r->ex.retry_at_ns = 0;
	if (r->ex.failing == 0 &&
	    fot_export_due(&r->ex, &r->sink, now, true) &&
	    fot_export_flush(&r->ex, &r->sink, now))
		save(r);
	status(r);
	for (size_t i = 0; i < r->nrings; i++) {
		fot_ring_close(r->rings[i]);
		free(r->rings[i]);
	}
	fot_export_free(&r->ex);
	fot_sink_free(&r->sink);
	free(r->saved);
}

int fot_run(const struct fot_config *cfg, atomic_int *stop,
	    atomic_int *reload)
{
	static struct run r; /* the open-span table is large */
	struct timespec nap = { 0, (long)FOT_POLL_NS };
	uint64_t rescan_at = 0;

	memset(&r, 0, sizeof(r));
	if (start(&r, cfg) < 0) {
		finish(&r);
		return 1;
	}
	fot_log_notice("exporting the spans of %s to %s",
		       cfg->ntopics ? "the configured topics" :
				      "every topic of the instance",
		       cfg->endpoint);
	sd_notify(0, "READY=1\nSTATUS=exporting");
	while (!*stop && !*reload) {
		uint64_t now = fev__now_monotonic_ns();

		if (now >= rescan_at) {
			/* The first save says at once when the state file
			 * cannot be written. */
			if (rescan(&r))
				save(&r);
			status(&r);
			rescan_at = now + FOT_RESCAN_NS;
		}
		step(&r, now);
		nanosleep(&nap, NULL);
	}
	sd_notify(0, *stop ? "STOPPING=1" : "RELOADING=1");
	finish(&r);
	return 0;
}
