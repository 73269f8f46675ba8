/* A compact inflate: stored, fixed-Huffman and dynamic-Huffman deflate blocks, decoded
 * with canonical Huffman codes one bit at a time (slow next to zlib, ample for user data),
 * plus the gzip wrapper around it. Every read and write is bounds-checked. */
#include <errno.h>
#include <string.h>

#include "config_int.h"
#include "inflate.h"

#define MAXBITS 15

struct huff {
	uint16_t count[MAXBITS + 1];	/* codes of each length */
	uint16_t sym[288];		/* symbols in canonical order */
};

struct inf {
	const uint8_t *in;
	size_t inlen, inpos;
	uint32_t bitbuf;
	int bitcnt;
	int eof;			/* a read went past the input */
	uint8_t *out;
	size_t outcap, outpos;
	const char *why;
};

static unsigned getbits(struct inf *s, int need)
{
	uint32_t v = s->bitbuf;
	while (s->bitcnt < need) {
		if (s->inpos >= s->inlen) {
			s->eof = 1;
			return 0;
		}
		v |= (uint32_t)s->in[s->inpos++] << s->bitcnt;
		s->bitcnt += 8;
	}
	s->bitbuf = v >> need;
	s->bitcnt -= need;
	return v & ((1u << need) - 1);
}

/* Builds the canonical code for lengths len[0..n). Returns 0 when complete, > 0 when
 * incomplete (codes left unused), < 0 when over-subscribed. */
static int huff_build(struct huff *h, const uint8_t *len, int n)
{
	uint16_t offs[MAXBITS + 1];
	memset(h->count, 0, sizeof(h->count));
	for (int i = 0; i < n; i++)
		h->count[len[i]]++;
	if (h->count[0] == n)
		return 0;	/* no codes: complete, and decoding any symbol fails */
	int left = 1;
	for (int l = 1; l <= MAXBITS; l++) {
		left = (left << 1) - h->count[l];
		if (left < 0)
			return left;
	}
	offs[1] = 0;
	for (int l = 1; l < MAXBITS; l++)
		offs[l + 1] = (uint16_t)(offs[l] + h->count[l]);
	for (int i = 0; i < n; i++)
		if (len[i])
			h->sym[offs[len[i]]++] = (uint16_t)i;
	return left;
}

/* Reads bits until they form a code; returns its symbol or -1. */
static int huff_decode(struct inf *s, const struct huff *h)
{
	int code = 0, first = 0, index = 0;
	for (int l = 1; l <= MAXBITS; l++) {
		code |= (int)getbits(s, 1);
		if (s->eof)
			return -1;
		int count = h->count[l];
		if (code - first < count)
			return h->sym[index + code - first];
		index += count;
		first = (first + count) << 1;
		code <<= 1;
	}
	s->why = "invalid Huffman code";
	return -1;
}

static const uint16_t len_base[29] = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27,
	31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const uint8_t len_extra[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3,
	3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const uint16_t dist_base[30] = { 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129,
	193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385,
	24577 };
static const uint8_t dist_extra[30] = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7,
	8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

static int fail(struct inf *s, const char *why)
{
	if (!s->why)
		s->why = why;
	return -EBADMSG;
}

static int codes(struct inf *s, const struct huff *lit, const struct huff *dist)
{
	for (;;) {
		int sym = huff_decode(s, lit);
		if (sym < 0)
			return fail(s, "truncated");
		if (sym < 256) {
			if (s->outpos >= s->outcap)
				return -ENOSPC;
			s->out[s->outpos++] = (uint8_t)sym;
			continue;
		}
		if (sym == 256)
			return 0;
		sym -= 257;
		if (sym >= 29)
			return fail(s, "invalid length symbol");
		size_t len = len_base[sym] + getbits(s, len_extra[sym]);
		int ds = huff_decode(s, dist);
		if (ds < 0)
			return fail(s, "truncated");
		if (ds >= 30)
			return fail(s, "invalid distance symbol");
		size_t d = dist_base[ds] + getbits(s, dist_extra[ds]);
		if (s->eof)
			return fail(s, "truncated");
		if (d > s->outpos)
			return fail(s, "distance too far back");
		if (len > s->outcap - s->outpos)
			return -ENOSPC;
		for (size_t i = 0; i < len; i++, s->outpos++)
			s->out[s->outpos] = s->out[s->outpos - d];
	}
}

static int stored(struct inf *s)
{
	s->bitbuf = 0;
	s->bitcnt = 0;	/* to a byte boundary */
	if (s->inlen - s->inpos < 4)
		return fail(s, "truncated");
	const uint8_t *p = s->in + s->inpos;
	unsigned len = p[0] | p[1] << 8, nlen = p[2] | p[3] << 8;
	s->inpos += 4;
	if (len != (~nlen & 0xffff))
		return fail(s, "stored block length check failed");
	if (s->inlen - s->inpos < len)
		return fail(s, "truncated");
	if (s->outcap - s->outpos < len)
		return -ENOSPC;
	memcpy(s->out + s->outpos, s->in + s->inpos, len);
	s->inpos += len;
	s->outpos += len;
	return 0;
}

static int fixed(struct inf *s)
{
	struct huff lit, dist;
	uint8_t len[288];
	int i = 0;
	for (; i < 144; i++)
		len[i] = 8;
	for (; i < 256; i++)
		len[i] = 9;
	for (; i < 280; i++)
		len[i] = 7;
	for (; i < 288; i++)
		len[i] = 8;
	huff_build(&lit, len, 288);
	memset(len, 5, 32);	/* 30 and 31 complete the code but are invalid */
	huff_build(&dist, len, 32);
	return codes(s, &lit, &dist);
}

static const uint8_t clen_order[19] = { 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13,
	2, 14, 1, 15 };

/* Reads the literal/length and distance code lengths of a dynamic block. */
static int read_lengths(struct inf *s, uint8_t *len, int nlen, int ndist)
{
	struct huff clh;
	uint8_t clen[19] = { 0 };
	int ncode = (int)getbits(s, 4) + 4;
	for (int i = 0; i < ncode; i++)
		clen[clen_order[i]] = (uint8_t)getbits(s, 3);
	if (s->eof)
		return fail(s, "truncated");
	if (huff_build(&clh, clen, 19) != 0)
		return fail(s, "bad code length code");
	for (int i = 0; i < nlen + ndist;) {
		int sym = huff_decode(s, &clh);
		if (sym < 0)
			return fail(s, "truncated");
		if (sym < 16) {
			len[i++] = (uint8_t)sym;
			continue;
		}
		uint8_t v = 0;
		int rep;
		if (sym == 16) {
			if (i == 0)
				return fail(s, "repeat with no previous length");
			v = len[i - 1];
			rep = 3 + (int)getbits(s, 2);
		} else {
			rep = sym == 17 ? 3 + (int)getbits(s, 3) : 11 + (int)getbits(s, 7);
		}
		if (s->eof)
			return fail(s, "truncated");
		if (i + rep > nlen + ndist)
			return fail(s, "too many code lengths");
		while (rep--)
			len[i++] = v;
	}
	return 0;
}

/* A code may be incomplete only when it has a single code of one bit (as zlib allows). */
static int code_ok(int left, const struct huff *h, int n)
{
	return left == 0 || (left > 0 && n - h->count[0] == 1 && h->count[1] == 1);
}

static int dynamic(struct inf *s)
{
	struct huff lit, dist;
	uint8_t len[286 + 30];
	int nlen = (int)getbits(s, 5) + 257;
	int ndist = (int)getbits(s, 5) + 1;
	if (s->eof)
		return fail(s, "truncated");
	if (nlen > 286 || ndist > 30)
		return fail(s, "too many length or distance symbols");
	int rc = read_lengths(s, len, nlen, ndist);
	if (rc)
		return rc;
	if (len[256] == 0)
		return fail(s, "no end-of-block code");
	int left = huff_build(&lit, len, nlen);
	if (!code_ok(left, &lit, nlen))
		return fail(s, "bad literal/length code");
	left = huff_build(&dist, len + nlen, ndist);
	if (!code_ok(left, &dist, ndist))
		return fail(s, "bad distance code");
	return codes(s, &lit, &dist);
}

int inflate_raw(const uint8_t *in, size_t inlen, uint8_t *out, size_t outcap,
		size_t *outlen, size_t *consumed, const char **why)
{
	struct inf s = { .in = in, .inlen = inlen, .out = out, .outcap = outcap };
	int last, rc;
	do {
		last = (int)getbits(&s, 1);
		int type = (int)getbits(&s, 2);
		if (s.eof)
			rc = fail(&s, "truncated");
		else if (type == 0)
			rc = stored(&s);
		else if (type == 1)
			rc = fixed(&s);
		else if (type == 2)
			rc = dynamic(&s);
		else
			rc = fail(&s, "invalid block type");
	} while (!last && rc == 0);
	*outlen = s.outpos;
	*consumed = s.inpos;
	if (why)
		*why = rc == -EBADMSG ? s.why : NULL;
	return rc;
}

/* ---- gzip (RFC 1952) ---- */

uint32_t inflate_crc32(uint32_t crc, const void *data, size_t len)
{
	/* the reflected polynomial 0xedb88320, four bits at a time */
	static const uint32_t t[16] = { 0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
		0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344,
		0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c };
	const uint8_t *p = data;
	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ t[crc & 15];
		crc = (crc >> 4) ^ t[crc & 15];
	}
	return ~crc;
}

int inflate_is_gzip(const void *data, size_t len)
{
	const uint8_t *p = data;
	return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Skips a NUL-terminated header field; returns its end + 1 or 0. */
static size_t skip_zstring(const uint8_t *in, size_t len, size_t pos)
{
	const uint8_t *z = pos < len ? memchr(in + pos, 0, len - pos) : NULL;
	return z ? (size_t)(z - in) + 1 : 0;
}

/* Returns the offset of the deflate data of the member at pos, or 0 with *why set. */
static size_t gz_header(const uint8_t *in, size_t len, size_t pos, const char **why)
{
	enum { FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16 };
	if (len - pos < 10 || !inflate_is_gzip(in + pos, len - pos)) {
		*why = "not gzip data";
		return 0;
	}
	if (in[pos + 2] != 8 || (in[pos + 3] & 0xe0)) {
		*why = "unsupported gzip method or flags";
		return 0;
	}
	unsigned flg = in[pos + 3];
	size_t p = pos + 10;
	if (flg & FEXTRA) {
		if (len - p < 2 || len - p - 2 < (size_t)(in[p] | in[p + 1] << 8))
			goto truncated;
		p += 2 + (size_t)(in[p] | in[p + 1] << 8);
	}
	if ((flg & FNAME) && !(p = skip_zstring(in, len, p)))
		goto truncated;
	if ((flg & FCOMMENT) && !(p = skip_zstring(in, len, p)))
		goto truncated;
	if (flg & FHCRC) {
		if (len - p < 2)
			goto truncated;
		p += 2;
	}
	return p;
truncated:
	*why = "truncated gzip header";
	return 0;
}

/* Decodes every member into out[0..cap). 0, -ENOSPC or -EBADMSG. */
static int gz_members(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
		      size_t *outlen, const char **why)
{
	size_t pos = 0, o = 0;
	do {
		size_t start = gz_header(in, len, pos, why), n, used;
		if (!start)
			return -EBADMSG;
		int rc = inflate_raw(in + start, len - start, out + o, cap - o, &n, &used, why);
		if (rc)
			return rc;
		pos = start + used;
		if (len - pos < 8) {
			*why = "truncated gzip trailer";
			return -EBADMSG;
		}
		if (le32(in + pos) != inflate_crc32(0, out + o, n)) {
			*why = "gzip CRC mismatch";
			return -EBADMSG;
		}
		if (le32(in + pos + 4) != (uint32_t)n) {
			*why = "gzip length mismatch";
			return -EBADMSG;
		}
		o += n;
		pos += 8;
	} while (pos < len && inflate_is_gzip(in + pos, len - pos));
	if (pos < len) {
		*why = "data after the gzip stream";
		return -EBADMSG;
	}
	*outlen = o;
	return 0;
}

int inflate_gzip(const uint8_t *in, size_t inlen, size_t max, uint8_t **out,
		 size_t *outlen, const char **why)
{
	/* The last member's trailer gives its size, usually the whole size: start there and
	 * start over in a buffer twice as big whenever the output does not fit. */
	size_t cap = inlen >= 4 ? le32(in + inlen - 4) : 0;
	if (cap < 4096)
		cap = 4096;
	if (cap > max)
		cap = max;
	*why = NULL;
	for (;;) {
		uint8_t *buf = cfg_malloc(cap + 1);
		if (!buf)
			return -ENOMEM;
		int rc = gz_members(in, inlen, buf, cap, outlen, why);
		if (rc == 0) {
			buf[*outlen] = 0;
			*out = buf;
			return 0;
		}
		cfg_free(buf);
		if (rc != -ENOSPC)
			return rc;
		if (cap >= max) {
			*why = "too large when decompressed";
			return -EFBIG;
		}
		cap = cap > max / 2 ? max : cap * 2;
	}
}
