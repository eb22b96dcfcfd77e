/*
 * The recording format (record_file.h, doc/record-format.md).  Lengths
 * come from the file and are untrusted: each is checked against what is
 * left before it is used, and the CRC before any field is believed.
 */
#include "record_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "event_meta.h"
#include "meta.h"

static const uint8_t magic[8] = { 0x89, 'F', 'E', 'V', 'R', 'E', 'C', '\n' };

#define HEADER_FIXED 29u /* magic .. name_len */
#define RECORD_HDR 48u   /* the fixed part of a 1.0 record */
#define CRC_LEN 4u

/* ---- little-endian fields ---------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t crc_of(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* ---- writing ------------------------------------------------------------ */

int rec_create(struct rec_writer *w, const char *path, const char *source,
	       uint32_t partitions)
{
	uint8_t h[HEADER_FIXED + FEV_NAME_MAX + 8 + CRC_LEN];
	size_t nl = strlen(source), len;

	*w = (struct rec_writer){ 0 };
	if (nl == 0 || nl > FEV_NAME_MAX + 7)
		return -EINVAL;
	len = HEADER_FIXED + nl + CRC_LEN;
	memcpy(h, magic, sizeof(magic));
	put16(h + 8, REC_VERSION_MAJOR);
	put16(h + 10, REC_VERSION_MINOR);
	put32(h + 12, (uint32_t)len);
	put64(h + 16, fev__now_realtime_ns());
	put32(h + 24, partitions);
	h[28] = (uint8_t)nl;
	memcpy(h + HEADER_FIXED, source, nl);
	put32(h + len - CRC_LEN, crc_of(h, len - CRC_LEN));
	w->f = fopen(path, "we");
	if (w->f == NULL)
		return -errno;
	if (fwrite(h, 1, len, w->f) != len) {
		int rc = -errno;

		fclose(w->f);
		w->f = NULL;
		return rc != 0 ? rc : -EIO;
	}
	return 0;
}

static int grow(struct rec_writer *w, size_t need)
{
	uint8_t *p;

	if (need <= w->cap)
		return 0;
	p = realloc(w->buf, need);
	if (p == NULL)
		return -ENOMEM;
	w->buf = p;
	w->cap = need;
	return 0;
}

static void put_fixed(uint8_t *b, const fev_tail_event *te, uint64_t rec_ns,
		      uint32_t meta_len, size_t total)
{
	put32(b, (uint32_t)total);
	put16(b + 4, RECORD_HDR);
	put16(b + 6, te->ev.flags & FEV_REDELIVERED ? 1 : 0);
	put32(b + 8, te->partition);
	put32(b + 12, te->missed > UINT32_MAX ? UINT32_MAX :
						(uint32_t)te->missed);
	put64(b + 16, te->ev.id);
	put64(b + 24, te->ev.ts_ns);
	put64(b + 32, rec_ns);
	put32(b + 40, meta_len);
	put32(b + 44, (uint32_t)te->ev.len);
}

int rec_write(struct rec_writer *w, const fev_tail_event *te,
	      uint64_t recorded_ns)
{
	fev_send_opts o;
	fev_header *hs;
	ssize_t meta;
	size_t total;
	int rc = meta_send_opts_of(&te->ev, &o, &hs);

	if (rc < 0)
		return rc;
	meta = fev__meta_size(&o, NULL, 0);
	total = RECORD_HDR + (size_t)(meta > 0 ? meta : 0) + te->ev.len +
		CRC_LEN;
	if (meta < 0 || total > REC_RECORD_MAX)
		rc = meta < 0 ? (int)meta : -EMSGSIZE;
	else
		rc = grow(w, total);
	if (rc == 0) {
		put_fixed(w->buf, te, recorded_ns, (uint32_t)meta, total);
		if (meta > 0)
			fev__meta_encode(&o, NULL, 0, w->buf + RECORD_HDR);
		if (te->ev.len != 0)
			memcpy(w->buf + RECORD_HDR + meta, te->ev.data,
			       te->ev.len);
		put32(w->buf + total - CRC_LEN,
		      crc_of(w->buf, total - CRC_LEN));
		if (fwrite(w->buf, 1, total, w->f) != total)
			rc = errno != 0 ? -errno : -EIO;
		else
			w->records++;
	}
	free(hs);
	return rc;
}

int rec_flush(struct rec_writer *w)
{
	return fflush(w->f) == 0 ? 0 : -errno;
}

int rec_close(struct rec_writer *w)
{
	int rc = 0;

	if (w->f != NULL && fclose(w->f) != 0)
		rc = -errno;
	w->f = NULL;
	free(w->buf);
	w->buf = NULL;
	return rc;
}

/* ---- reading ------------------------------------------------------------ */

static int say(char err[REC_ERR_MAX], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int say(char err[REC_ERR_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, REC_ERR_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

static int check_header(struct rec_reader *r, char err[REC_ERR_MAX])
{
	uint32_t hl, nl;

	if (r->len < HEADER_FIXED + CRC_LEN ||
	    memcmp(r->p, magic, sizeof(magic)) != 0)
		return say(err, "not a fev recording (no \\x89FEVREC header)");
	if (get16(r->p + 8) != REC_VERSION_MAJOR)
		return say(err, "a recording of format %u.%u: this fev reads "
				"%d.x",
			   get16(r->p + 8), get16(r->p + 10),
			   REC_VERSION_MAJOR);
	hl = get32(r->p + 12);
	nl = r->p[28];
	if (hl > r->len)
		return say(err, "truncated header: it needs %u bytes, the file "
				"has %zu",
			   hl, r->len);
	if (hl < HEADER_FIXED + nl + CRC_LEN || nl == 0 ||
	    nl > sizeof(r->source) - 1 ||
	    get32(r->p + hl - CRC_LEN) != crc_of(r->p, hl - CRC_LEN))
		return say(err, "corrupt header at offset 0 (lengths or "
				"CRC-32 do not match)");
	memcpy(r->source, r->p + HEADER_FIXED, nl);
	r->source[nl] = '\0';
	r->created_ns = get64(r->p + 16);
	r->partitions = get32(r->p + 24);
	r->off = hl;
	return 0;
}

int rec_open(struct rec_reader *r, const char *path, char err[REC_ERR_MAX])
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*r = (struct rec_reader){ 0 };
	if (fd < 0)
		return say(err, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return say(err, "%s is not a regular file: a recording is "
				"read twice (checked, then replayed)",
			   path);
	}
	r->len = (size_t)st.st_size;
	r->p = r->len == 0 ? NULL :
			     mmap(NULL, r->len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (r->p == MAP_FAILED) {
		r->p = NULL;
		return say(err, "cannot read %s: %s", path, strerror(errno));
	}
	if (check_header(r, err) < 0) {
		rec_close_reader(r);
		return -1;
	}
	return 0;
}

/* The record at r->off has `left` bytes after it starts: is it whole? */
static int record_bounds(const struct rec_reader *r, size_t left,
			 uint32_t *len, char err[REC_ERR_MAX])
{
	*len = left < 4 ? 0 : get32(r->p + r->off);
	if (left < 4 || *len > left)
		return say(err, "truncated: record %llu at offset %zu needs "
				"%u bytes, the file has %zu left",
			   (unsigned long long)r->index + 1, r->off,
			   left < 4 ? 4u : *len, left);
	if (*len < RECORD_HDR + CRC_LEN || *len > REC_RECORD_MAX)
		return say(err, "corrupt record %llu at offset %zu: a length "
				"of %u bytes",
			   (unsigned long long)r->index + 1, r->off, *len);
	if (get32(r->p + r->off + *len - CRC_LEN) !=
	    crc_of(r->p + r->off, *len - CRC_LEN))
		return say(err, "corrupt record %llu at offset %zu: its "
				"CRC-32 does not match",
			   (unsigned long long)r->index + 1, r->off);
	return 0;
}

/* Fill rec from the checked record b of len bytes. */
static int record_fields(const uint8_t *b, uint32_t len,
			 struct rec_record *rec)
{
	uint32_t hl = get16(b + 4), ml = get32(b + 40), pl = get32(b + 44);
	fev_event *ev = &rec->te.ev;

	/* Each below len, so the sum cannot wrap. */
	if (hl < RECORD_HDR || hl > len || ml > len || pl > len ||
	    (uint64_t)hl + ml + pl + CRC_LEN != len)
		return -1;
	memset(ev, 0, sizeof(*ev));
	if (ml != 0 && fev__meta_parse(b + hl, ml, ev) < 0)
		return -1;
	ev->data = b + hl + ml;
	ev->len = pl;
	ev->flags = get16(b + 6) & 1 ? FEV_REDELIVERED : 0;
	ev->id = get64(b + 16);
	ev->ts_ns = get64(b + 24);
	rec->te.partition = get32(b + 8);
	rec->te.missed = get32(b + 12);
	rec->recorded_ns = get64(b + 32);
	return 0;
}

int rec_next(struct rec_reader *r, struct rec_record *rec,
	     char err[REC_ERR_MAX])
{
	size_t left = r->len - r->off;
	uint32_t len = 0;

	if (left == 0)
		return 0;
	if (record_bounds(r, left, &len, err) < 0)
		return -1;
	if (record_fields(r->p + r->off, len, rec) < 0)
		return say(err, "corrupt record %llu at offset %zu: its "
				"lengths or key and headers do not add up",
			   (unsigned long long)r->index + 1, r->off);
	rec->offset = r->off;
	r->off += len;
	r->index++;
	return 1;
}

void rec_rewind(struct rec_reader *r)
{
	r->off = get32(r->p + 12); /* header_len, checked by rec_open() */
	r->index = 0;
}

void rec_close_reader(struct rec_reader *r)
{
	if (r->p != NULL)
		munmap((void *)r->p, r->len);
	r->p = NULL;
}
