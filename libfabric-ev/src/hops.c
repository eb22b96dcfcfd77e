/*
 * The hop ring of a topic (hops.h): create, map, write, read.
 */
#include "hops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "memfit.h"
#include "memtrap.h"
#include "names.h"
#include "segment.h"
#include "trust.h"

int fev__hops_shm_name(char *buf, size_t size, const char *instance,
		       const char *topic)
{
	char name[FEV__SHM_NAME_MAX];
	int rc;

	if (fev_queue_name_valid(topic) < 0)
		return -EINVAL;
	rc = fev__shm_name(name, sizeof(name), instance, topic);
	if (rc < 0)
		return rc;
	if ((size_t)snprintf(buf, size, "%s" FEV__HOPS_SUFFIX, name) >= size)
		return -EINVAL;
	return 0;
}

static size_t ring_bytes(uint32_t entries)
{
	return sizeof(struct fev__hops_header) +
	       (size_t)entries * sizeof(struct fev__hop);
}

static int format(int fd, const char *topic, uint32_t entries)
{
	size_t len = ring_bytes(entries);
	struct fev__hops_header *hdr;
	int rc;

	if (ftruncate(fd, (off_t)len) < 0)
		return -errno;
	/* Pages now, not a SIGBUS in a writer later (tmpfs full). */
	rc = posix_fallocate(fd, 0, (off_t)len);
	if (rc != 0)
		return -rc;
	hdr = mmap(NULL, sizeof(*hdr), PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	if (hdr == MAP_FAILED)
		return -errno;
	hdr->version = FEV__HOPS_VERSION;
	hdr->entries = entries;
	hdr->entry_size = sizeof(struct fev__hop);
	strncpy(hdr->topic, topic, sizeof(hdr->topic) - 1);
	/* H0: pairs with the acquire load in fev__hops_open(): the header
	 * is whole once the magic is seen.  The entries are zero (never
	 * written), as ftruncate made them. */
	atomic_store_explicit(&hdr->magic, FEV__HOPS_MAGIC,
			      memory_order_release);
	munmap(hdr, sizeof(*hdr));
	return 0;
}

int fev__hops_create(const char *instance, const char *topic,
		     uint32_t entries, mode_t mode, gid_t group)
{
	char name[FEV__SHM_NAME_MAX + sizeof(FEV__HOPS_SUFFIX)];
	char path[sizeof(name) + sizeof(FEV__SHM_DIR)];
	int fd, rc;

	if (entries == 0 || entries > FEV__HOPS_MAX)
		return -EINVAL;
	rc = fev__hops_shm_name(name, sizeof(name), instance, topic);
	if (rc < 0 || (rc = fev__shm_path(path, sizeof(path), name)) < 0)
		return rc;
	rc = fev__segment_fits(ring_bytes(entries));
	if (rc < 0)
		return rc;
	/* The topic's name is ours (its creation just claimed it): what is
	 * here is a leftover of an earlier topic of the name. */
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0 ||
	    (group != (gid_t)-1 && fchown(fd, (uid_t)-1, group) < 0))
		rc = -errno;
	if (rc == 0)
		rc = format(fd, topic, entries);
	close(fd);
	if (rc < 0)
		unlink(path);
	return rc;
}

int fev__hops_delete(const char *instance, const char *topic)
{
	char name[FEV__SHM_NAME_MAX + sizeof(FEV__HOPS_SUFFIX)];
	int rc = fev__hops_shm_name(name, sizeof(name), instance, topic);

	if (rc < 0)
		return rc;
	return shm_unlink(name) < 0 ? -errno : 0;
}

/* The header's fixed fields: 0, -EAGAIN (no magic yet), -EBADMSG.  Its
 * entries is checked by fev__hops_view() on the one copy it keeps. */
static int check_header(const struct fev__hops_header *hdr)
{
	/* H0': pairs with H0 in format(). */
	uint64_t magic = atomic_load_explicit(&hdr->magic,
					      memory_order_acquire);

	if (magic == 0)
		return -EAGAIN;
	if (magic != FEV__HOPS_MAGIC || hdr->version != FEV__HOPS_VERSION ||
	    hdr->entry_size != sizeof(struct fev__hop))
		return -EBADMSG;
	return 0;
}

int fev__hops_open(const char *instance, const char *topic, bool writable,
		   struct fev__hops *h)
{
	char name[FEV__SHM_NAME_MAX + sizeof(FEV__HOPS_SUFFIX)];
	struct stat st;
	void *base;
	int fd, rc;

	rc = fev__hops_shm_name(name, sizeof(name), instance, topic);
	if (rc < 0)
		return rc;
	fd = fev__shm_open_trusted(name, instance,
				   writable ? O_RDWR : O_RDONLY, &st);
	if (fd < 0)
		return fd;
	if ((size_t)st.st_size < sizeof(struct fev__hops_header)) {
		close(fd);
		return st.st_size == 0 ? -EAGAIN : -EBADMSG;
	}
	base = mmap(NULL, (size_t)st.st_size,
		    writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED,
		    fd, 0);
	rc = base == MAP_FAILED ? -errno : 0;
	close(fd);
	if (rc < 0)
		return rc;
	rc = fev__hops_view(base, (size_t)st.st_size, h);
	h->ino = st.st_ino;
	/* fevd and the tools survive a ring truncated under them: the rest
	 * reads as zeros, entries never written (memtrap.h). */
	if (rc == 0 && fev__memtrap_installed())
		rc = fev__memtrap_add(base, (size_t)st.st_size);
	if (rc < 0)
		munmap(base, (size_t)st.st_size);
	return rc;
}

int fev__hops_view(void *base, size_t len, struct fev__hops *h)
{
	struct fev__hops_header *hdr = base;
	int rc;

	if (len < sizeof(*hdr))
		return -EBADMSG;
	rc = check_header(hdr);
	if (rc < 0)
		return rc;
	h->hdr = hdr;
	h->len = len;
	/* Read once: a writer may change the header after our check. */
	h->entries = hdr->entries;
	if (h->entries == 0 || h->entries > FEV__HOPS_MAX ||
	    ring_bytes(h->entries) > len)
		return -EBADMSG;
	h->hop = (struct fev__hop *)((char *)base + sizeof(*hdr));
	return 0;
}

void fev__hops_close(struct fev__hops *h)
{
	if (h->hdr != NULL && fev__memtrap_installed())
		fev__memtrap_remove(h->hdr);
	if (h->hdr != NULL)
		munmap(h->hdr, h->len);
	h->hdr = NULL;
}

/* Every 8-byte word between seq and check, mixed (a Murmur3-style
 * multiply and shift per word). */
uint64_t fev__hop_check(const struct fev__hop *e, uint64_t seq)
{
	const unsigned char *p = (const unsigned char *)e;
	uint64_t h = seq ^ 0x9e3779b97f4a7c15u;

	for (size_t o = offsetof(struct fev__hop, time_ns);
	     o < offsetof(struct fev__hop, check); o += sizeof(uint64_t)) {
		uint64_t w;

		memcpy(&w, p + o, sizeof(w));
		h = (h ^ w) * 0xff51afd7ed558ccdu;
		h ^= h >> 33;
	}
	return h;
}

void fev__hops_write(struct fev__hops *h, const struct fev__hop *e)
{
	/* T2: relaxed; the ticket only chooses the entry, the entry's seq
	 * orders what is in it. */
	uint64_t t = atomic_fetch_add_explicit(&h->hdr->ticket, 1,
					       memory_order_relaxed);
	struct fev__hop *d = &h->hop[t % h->entries];
	uint64_t busy = 2 * (t + 1) - 1, cur;

	/* Relaxed: a hint for the CAS below, which decides. */
	cur = atomic_load_explicit(&d->seq, memory_order_relaxed);
	do {
		if ((cur + 1) / 2 >= t + 1)
			return; /* a newer ticket holds it: ours is older */
		/* H1: acquire, so our field stores come after we own the
		 * entry (the older writer's are before its seq store). */
	} while (!atomic_compare_exchange_weak_explicit(
		&d->seq, &cur, busy, memory_order_acquire,
		memory_order_relaxed));
	/* Our field stores after the odd seq: pairs with H4 in read_one(),
	 * so a reader whose copy saw any of them sees seq changed. */
	atomic_thread_fence(memory_order_release);
	d->time_ns = e->time_ns;
	d->position = e->position;
	memcpy(d->trace_id, e->trace_id, sizeof(d->trace_id));
	memcpy(d->span_id, e->span_id, sizeof(d->span_id));
	memcpy(d->parent_span, e->parent_span, sizeof(d->parent_span));
	d->pid = e->pid;
	d->partition = e->partition;
	d->kind = e->kind;
	d->flags = e->flags;
	memcpy(d->comm, e->comm, sizeof(d->comm));
	memcpy(d->group, e->group, sizeof(d->group));
	d->check = fev__hop_check(e, busy + 1);
	/* H2: release, pairs with H3 in fev__hops_read(): the fields are
	 * written.  A CAS: a newer writer may have taken the entry over. */
	atomic_compare_exchange_strong_explicit(&d->seq, &busy, busy + 1,
						memory_order_release,
						memory_order_relaxed);
}

/* One entry, whole and plausible, into out: true; false to skip it. */
static bool read_one(const struct fev__hop *src, struct fev__hop *out)
{
	/* H3: acquire, pairs with H2: the fields of a finished entry. */
	uint64_t s1 = atomic_load_explicit(&src->seq, memory_order_acquire);
	uint64_t s2;

	if (s1 == 0 || (s1 & 1) != 0)
		return false; /* never written, or being written */
	memcpy(out, src, sizeof(*out));
	/* H4: the copy's loads before the second look at seq; pairs with
	 * the writer's release fence after H1 (fev__hops_write()). */
	atomic_thread_fence(memory_order_acquire);
	s2 = atomic_load_explicit(&src->seq, memory_order_relaxed);
	if (s1 != s2 || out->check != fev__hop_check(out, s1))
		return false; /* torn: rewritten while we copied, or by an
			       * overtaken writer still storing (check) */
	atomic_store_explicit(&out->seq, s1, memory_order_relaxed);
	out->comm[sizeof(out->comm) - 1] = '\0';
	out->group[sizeof(out->group) - 1] = '\0';
	return out->kind >= FEV__HOP_PUBLISHED &&
	       out->kind <= FEV__HOP_RELEASED &&
	       out->partition < FEV_PARTITIONS_MAX;
}

static int by_ticket(const void *a, const void *b)
{
	uint64_t x = atomic_load_explicit(&((const struct fev__hop *)a)->seq,
					  memory_order_relaxed);
	uint64_t y = atomic_load_explicit(&((const struct fev__hop *)b)->seq,
					  memory_order_relaxed);

	return x < y ? -1 : x > y;
}

uint64_t fev__hops_tickets(const struct fev__hops *h)
{
	/* T2's counter, relaxed: how far writers got; it orders nothing,
	 * each entry is checked through its own seq (read_one()). */
	return atomic_load_explicit(&h->hdr->ticket, memory_order_relaxed);
}

bool fev__hops_read_at(const struct fev__hops *h, uint64_t t,
		       struct fev__hop *out)
{
	return read_one(&h->hop[t % h->entries], out) &&
	       atomic_load_explicit(&out->seq, memory_order_relaxed) ==
		       2 * (t + 1);
}

size_t fev__hops_read(const struct fev__hops *h, struct fev__hop *out)
{
	size_t n = 0;

	for (uint32_t i = 0; i < h->entries; i++)
		n += read_one(&h->hop[i], &out[n]);
	qsort(out, n, sizeof(*out), by_ticket);
	return n;
}

/* ---- recording for a handle -------------------------------------------- */

/* Instance and topic of a mapped segment "/fev.I.T[@k]". */
static int names_of(const struct fev__map *m, char *inst, size_t isize,
		    char *topic, size_t tsize)
{
	const char *p = m->shm_name + sizeof("/fev.") - 1;
	const char *dot = strchr(p, '.'), *at;
	size_t tl;

	if (strncmp(m->shm_name, "/fev.", 5) != 0 || dot == NULL ||
	    (size_t)(dot - p) >= isize)
		return -EINVAL;
	memcpy(inst, p, (size_t)(dot - p));
	inst[dot - p] = '\0';
	at = strchr(dot + 1, '@');
	tl = at != NULL ? (size_t)(at - dot - 1) : strlen(dot + 1);
	if (tl >= tsize)
		return -EINVAL;
	memcpy(topic, dot + 1, tl);
	topic[tl] = '\0';
	return 0;
}

#define HOPS_RETRY_NS 1000000000u

static bool site_ready(struct fev__hop_site *s, const struct fev__map *m)
{
	char inst[FEV_INSTANCE_MAX + 1], topic[FEV_NAME_MAX + 1];
	struct timespec ts;
	uint64_t now;

	if (s->state > 0)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (s->state < 0 && now < s->retry_ns)
		return false;
	if (names_of(m, inst, sizeof(inst), topic, sizeof(topic)) == 0 &&
	    fev__hops_open(inst, topic, true, &s->hops) == 0) {
		/* The thread's name, as ps and top show it. */
		if (prctl(PR_GET_NAME, s->comm) < 0)
			s->comm[0] = '\0';
		s->comm[sizeof(s->comm) - 1] = '\0';
		/* Once: a forked child gets -ECHILD from the handle (fork.h),
		 * so no hop is ever written under another pid. */
		s->pid = (int32_t)getpid();
		s->state = 1;
		return true;
	}
	s->state = -1;
	s->retry_ns = now + HOPS_RETRY_NS;
	return false;
}

void fev__hop_record(struct fev__hop_site *s, const struct fev__map *m,
		     const char *group, uint8_t kind, uint8_t flags,
		     uint64_t pos, const fev_trace_context *ctx,
		     const uint8_t *parent_span, uint64_t now_ns)
{
	struct fev__hop e;

	if (!site_ready(s, m))
		return;
	memset(&e, 0, sizeof(e));
	e.time_ns = now_ns;
	e.position = pos;
	memcpy(e.trace_id, ctx->trace_id, sizeof(e.trace_id));
	memcpy(e.span_id, ctx->span_id, sizeof(e.span_id));
	if (parent_span != NULL)
		memcpy(e.parent_span, parent_span, sizeof(e.parent_span));
	e.pid = s->pid;
	e.partition = (uint16_t)m->geo.partition;
	e.kind = kind;
	e.flags = flags;
	memcpy(e.comm, s->comm, sizeof(e.comm));
	if (group != NULL)
		strncpy(e.group, group, sizeof(e.group) - 1);
	fev__hops_write(&s->hops, &e);
}

void fev__hop_site_close(struct fev__hop_site *s)
{
	if (s->state > 0)
		fev__hops_close(&s->hops);
	s->state = 0;
}
