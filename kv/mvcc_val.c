/* The MVCC store's values: heap copies while they are new, places in the caller's files
 * once settled, and the read buffer that holds the bytes read back from there. */
#include <errno.h>
#include <string.h>

#include "mvcc_int.h"

#define RD_CHUNK ((size_t)64 << 10)
#define LOC_MAX ((uint64_t)1 << 62)

static bool in_file(struct mvcc_vref v)
{
	return v.v & 1;
}

static uint8_t *heap(struct mvcc_vref v)
{
	return (uint8_t *)(uintptr_t)v.v;
}

int mvcc_val_make(struct mvcc *s, struct mvcc_rev *r, const uint8_t *p, size_t len)
{
	uint8_t *b;

	r->val.v = 0;
	r->vlen = 0;
	if (!len)
		return 0;
	b = mvcc_mem_alloc(s, len);
	if (!b)
		return -ENOMEM;
	memcpy(b, p, len);
	r->val.v = (uint64_t)(uintptr_t)b;
	r->vlen = (uint32_t)len;
	return 0;
}

void mvcc_val_drop(struct mvcc *s, struct mvcc_rev *r)
{
	if (in_file(r->val))
		s->file_bytes -= r->vlen;
	else if (r->val.v)
		mvcc_mem_free(s, heap(r->val), r->vlen);
	r->val.v = 0;
}

/* Room for n bytes in the read buffer, or NULL. */
static uint8_t *rd_alloc(struct mvcc *s, size_t n)
{
	struct mvcc_rdchunk *c = s->rd;
	size_t cap;

	if (c && c->cap - c->used >= n) {
		c->used += n;
		return c->data + c->used - n;
	}
	cap = n > RD_CHUNK ? n : RD_CHUNK;
	c = mvcc_res_alloc(s, sizeof(*c) + cap);
	if (!c)
		return NULL;
	c->next = s->rd;
	c->cap = cap;
	c->used = n;
	s->rd = c;
	return c->data;
}

void mvcc_rd_release(struct mvcc *s, struct mvcc_rdmark m)
{
	while (s->rd && s->rd != m.chunk) {
		struct mvcc_rdchunk *c = s->rd;
		s->rd = c->next;
		mvcc_res_free(s, c);
	}
	if (s->rd)
		s->rd->used = m.used;
}

void mvcc_rd_reset(struct mvcc *s)
{
	/* one ordinary chunk stays for the next call */
	while (s->rd && (s->rd->next || s->rd->cap != RD_CHUNK)) {
		struct mvcc_rdchunk *c = s->rd;
		s->rd = c->next;
		mvcc_res_free(s, c);
	}
	if (s->rd)
		s->rd->used = 0;
}

int mvcc_rd_read(struct mvcc *s, uint64_t loc, size_t len, struct mvcc_bytes *out)
{
	uint8_t *dst;
	int rc;

	out->p = NULL;
	out->len = 0;
	if (!s->reader)
		return -EIO;
	dst = rd_alloc(s, len);
	if (!dst)
		return -ENOMEM;
	rc = s->reader(s->reader_ctx, loc, dst, len);
	if (rc)
		return rc < 0 ? rc : -EIO;
	out->p = dst;
	out->len = len;
	return 0;
}

int mvcc_val_get(struct mvcc *s, const struct mvcc_rev *r, struct mvcc_bytes *out)
{
	out->p = NULL;
	out->len = 0;
	if (!r->val.v)
		return 0;
	if (in_file(r->val))
		return mvcc_rd_read(s, r->val.v >> 1, r->vlen, out);
	out->p = heap(r->val);
	out->len = r->vlen;
	return 0;
}

void mvcc_set_reader(struct mvcc *s, mvcc_read_fn *fn, void *ctx)
{
	s->reader = fn;
	s->reader_ctx = ctx;
}

/* Points r's value at loc, freeing a heap copy. */
static void settle(struct mvcc *s, struct mvcc_rev *r, uint64_t loc)
{
	uint32_t len = r->vlen;

	mvcc_val_drop(s, r);
	r->vlen = len;
	r->val.v = loc << 1 | 1;
	s->file_bytes += len;
}

int mvcc_settle(struct mvcc *s, int64_t rev, uint32_t sub, uint64_t key_loc, uint64_t val_loc)
{
	const struct mvcc_logent *e = mvcc_log_find(s, rev, sub);
	struct mvcc_rev *r;

	if (key_loc >= LOC_MAX || val_loc >= LOC_MAX || (!key_loc && !val_loc))
		return MVCC_EARG;
	if (!e)
		return MVCC_ENOTFOUND;
	r = &e->key->revs[mvcc_key_find(e->key, rev, sub)];
	if (val_loc && (r->tomb || !r->vlen))
		return MVCC_ENOTFOUND;
	if (key_loc)
		mvcc_key_settle(s, e->key, key_loc);
	if (val_loc)
		settle(s, r, val_loc);
	return 0;
}

void mvcc_restore_in_place(struct mvcc *s, const uint8_t *base, size_t len, uint64_t loc)
{
	s->inplace = base;
	s->inplace_len = len;
	s->inplace_loc = loc;
}

uint64_t mvcc_inplace_loc(const struct mvcc *s, const uint8_t *p, size_t len)
{
	uint64_t loc;

	if (!s->inplace || !len || p < s->inplace || len > s->inplace_len ||
	    (size_t)(p - s->inplace) > s->inplace_len - len)
		return 0;
	loc = s->inplace_loc + (uint64_t)(p - s->inplace);
	return loc && loc < LOC_MAX ? loc : 0;
}

/* mvcc_restore_rec's value: settled where it lies when that is inside the in-place range,
 * else a heap copy. */
int mvcc_val_restore(struct mvcc *s, struct mvcc_rev *r, struct mvcc_bytes v)
{
	uint64_t loc = mvcc_inplace_loc(s, v.p, v.len);

	if (!loc)
		return mvcc_val_make(s, r, v.p, v.len);
	r->vlen = (uint32_t)v.len;
	r->val.v = loc << 1 | 1;
	s->file_bytes += v.len;
	return 0;
}

size_t mvcc_file_bytes(const struct mvcc *s)
{
	return s->file_bytes;
}

uint64_t mvcc_read_errors(const struct mvcc *s)
{
	return s->read_errors;
}
