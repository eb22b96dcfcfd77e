/*
 * Event keys and headers: encoding, checking and reading (meta.h).
 */
#include "meta.h"

#include <errno.h>
#include <string.h>

/* RFC 7230 section 3.2.6: tchar.  A table: every read of an event with
 * headers checks each name byte. */
#define T3(a, b, c) [a] = true, [b] = true, [c] = true
static const bool tchars[256] = {
	T3('!', '#', '$'), T3('%', '&', '\''), T3('*', '+', '-'),
	T3('.', '^', '_'), T3('`', '|', '~'),
	T3('0', '1', '2'), T3('3', '4', '5'), T3('6', '7', '8'), ['9'] = true,
	T3('a', 'b', 'c'), T3('d', 'e', 'f'), T3('g', 'h', 'i'),
	T3('j', 'k', 'l'), T3('m', 'n', 'o'), T3('p', 'q', 'r'),
	T3('s', 't', 'u'), T3('v', 'w', 'x'), T3('y', 'z', 'A'),
	T3('B', 'C', 'D'), T3('E', 'F', 'G'), T3('H', 'I', 'J'),
	T3('K', 'L', 'M'), T3('N', 'O', 'P'), T3('Q', 'R', 'S'),
	T3('T', 'U', 'V'), T3('W', 'X', 'Y'), ['Z'] = true,
};

static bool tchar(unsigned char c)
{
	return tchars[c];
}

bool fev__header_name_valid(const char *name, size_t len)
{
	if (name == NULL || len == 0 || len > FEV_HEADER_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!tchar((unsigned char)name[i]))
			return false;
	return true;
}

size_t fev__header_name_len(const fev_header *h)
{
	return h->name_len != 0 || h->name == NULL ? h->name_len :
						     strnlen(h->name, FEV_HEADER_NAME_MAX + 1);
}

/* Bytes the encoding may take: a slot never holds more than 16 MiB, and
 * the sums below stay far from overflow under this cap. */
#define META_SIZE_CAP (UINT32_C(1) << 30)

/* The size of one header's encoding, or -EINVAL / -EMSGSIZE. */
static ssize_t header_size(const fev_header *h)
{
	size_t nl = fev__header_name_len(h);

	if (nl > FEV_HEADER_NAME_MAX)
		return -EMSGSIZE;
	if (!fev__header_name_valid(h->name, nl) ||
	    (h->value == NULL && h->value_len != 0))
		return -EINVAL;
	if (h->value_len > META_SIZE_CAP)
		return -EMSGSIZE;
	return (ssize_t)(FEV__META_PER_HEADER + nl + h->value_len);
}

ssize_t fev__meta_size(const fev_send_opts *o, const fev_header *add,
		       size_t n_add)
{
	size_t size = FEV__META_FIXED;

	if (o == NULL)
		return 0;
	if (o->struct_size < offsetof(fev_send_opts, n_headers) +
				     sizeof(o->n_headers))
		return -EINVAL;
	if ((o->key == NULL && o->key_len != 0) ||
	    (o->headers == NULL && o->n_headers != 0))
		return -EINVAL;
	if (o->key_len > FEV_KEY_MAX ||
	    o->n_headers > FEV_HEADERS_MAX - n_add)
		return -EMSGSIZE;
	if (o->key == NULL && o->n_headers == 0 && n_add == 0)
		return 0;
	size += o->key_len;
	for (size_t i = 0; i < o->n_headers + n_add; i++) {
		ssize_t hs = header_size(i < o->n_headers ?
						 &o->headers[i] :
						 &add[i - o->n_headers]);

		if (hs < 0)
			return hs;
		size += (size_t)hs;
		if (size > META_SIZE_CAP)
			return -EMSGSIZE;
	}
	return (ssize_t)size;
}

static uint8_t *put(uint8_t *dst, const void *src, size_t n)
{
	if (n != 0)
		memcpy(dst, src, n);
	return dst + n;
}

static uint8_t *put_u16(uint8_t *dst, uint16_t v)
{
	dst[0] = (uint8_t)v;
	dst[1] = (uint8_t)(v >> 8);
	return dst + 2;
}

static uint8_t *put_u32(uint8_t *dst, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		dst[i] = (uint8_t)(v >> (8 * i));
	return dst + 4;
}

static uint8_t *put_header(uint8_t *dst, const fev_header *h)
{
	size_t nl = fev__header_name_len(h);

	*dst++ = (uint8_t)nl;
	dst = put(dst, h->name, nl);
	dst = put_u32(dst, (uint32_t)h->value_len);
	return put(dst, h->value, h->value_len);
}

void fev__meta_encode(const fev_send_opts *o, const fev_header *add,
		      size_t n_add, uint8_t *dst)
{
	*dst++ = (uint8_t)o->key_len;
	dst = put(dst, o->key, o->key_len);
	dst = put_u16(dst, (uint16_t)(o->n_headers + n_add));
	for (size_t i = 0; i < o->n_headers; i++)
		dst = put_header(dst, &o->headers[i]);
	for (size_t i = 0; i < n_add; i++)
		dst = put_header(dst, &add[i]);
}

/*
 * Reading.  Every byte is loaded once into a local before it is used: the
 * slot may change under us, and a length must be the one we checked.
 */
static uint8_t get_u8(const uint8_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static uint16_t get_u16(const uint8_t *p)
{
	return (uint16_t)(get_u8(p) | get_u8(p + 1) << 8);
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)get_u8(p) | (uint32_t)get_u8(p + 1) << 8 |
	       (uint32_t)get_u8(p + 2) << 16 | (uint32_t)get_u8(p + 3) << 24;
}

/*
 * The header at offset *off of the len bytes at p: fills h and moves *off
 * past it; false when it does not fit or its name is not a token.
 */
static bool header_at(const uint8_t *p, uint32_t len, uint32_t *off,
		      fev_header *h)
{
	uint32_t o = *off, nl, vl;

	if (len - o < FEV__META_PER_HEADER)
		return false;
	nl = get_u8(p + o);
	o += 1;
	if (nl == 0 || len - o < nl + 4u)
		return false;
	h->name = (const char *)(p + o);
	h->name_len = nl;
	o += nl;
	vl = get_u32(p + o);
	o += 4;
	if (vl > len - o)
		return false;
	h->value = p + o;
	h->value_len = vl;
	*off = o + vl;
	return fev__header_name_valid(h->name, nl);
}

int fev__meta_parse(const uint8_t *p, uint32_t meta_len, fev_event *ev)
{
	uint32_t key_len, n, off, ho = 0;
	fev_header h;

	if (meta_len < FEV__META_FIXED)
		return -EBADMSG;
	key_len = get_u8(p);
	if (key_len > meta_len - FEV__META_FIXED)
		return -EBADMSG;
	n = get_u16(p + 1 + key_len);
	off = 1 + key_len + 2;
	ev->priv_hdr = p + off;
	ev->priv_hdr_len = meta_len - off;
	/* Walk them once now, so a well-formed event never fails later. */
	for (uint32_t i = 0; i < n; i++)
		if (!header_at(ev->priv_hdr, ev->priv_hdr_len, &ho, &h))
			return -EBADMSG;
	if (ho != ev->priv_hdr_len)
		return -EBADMSG; /* bytes after the last header */
	ev->key = key_len != 0 ? p + 1 : NULL;
	ev->key_len = key_len;
	ev->n_headers = n;
	return 0;
}

int fev_header_next(const fev_event *ev, fev_header_iter *it, fev_header *h)
{
	if (ev == NULL || it == NULL || h == NULL)
		return -EINVAL;
	if (it->priv_index >= ev->n_headers)
		return 0;
	if (ev->priv_hdr == NULL || it->priv_off > ev->priv_hdr_len ||
	    !header_at(ev->priv_hdr, ev->priv_hdr_len, &it->priv_off, h))
		return -EBADMSG;
	it->priv_index++;
	return 1;
}

static bool name_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

int fev_header_get(const fev_event *ev, const char *name, const void **value,
		   size_t *value_len)
{
	fev_header_iter it = { 0, 0 };
	fev_header h;
	size_t nl;
	int rc;

	if (ev == NULL || name == NULL || value == NULL || value_len == NULL)
		return -EINVAL;
	nl = strnlen(name, FEV_HEADER_NAME_MAX + 1);
	if (!fev__header_name_valid(name, nl))
		return -EINVAL;
	while ((rc = fev_header_next(ev, &it, &h)) == 1) {
		if (name_equal(h.name, h.name_len, name, nl)) {
			*value = h.value;
			*value_len = h.value_len;
			return 0;
		}
	}
	return rc < 0 ? rc : -ENOENT;
}
