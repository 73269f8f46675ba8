/* Protocol Buffers wire format: the bounds-checked reader, the decoders' arena and the
 * writer. The writer sizes an embedded message with a counting pass before writing its
 * length, instead of writing first and moving the bytes to make room for the length. */
#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

#define PB_ERR_TEXT(name, value, text) case name: return text;
const char *pb_strerror(int code)
{
	switch (code) {
	PB_ERRORS(PB_ERR_TEXT)
	case 0: return "success";
	case -ENOMEM: return "out of memory";
	}
	return "unknown error";
}
#undef PB_ERR_TEXT

static void *libc_alloc(void *ctx, void *ptr, size_t size)
{
	(void)ctx;
	if (size == 0) {
		free(ptr);
		return NULL;
	}
	return realloc(ptr, size);
}

const struct pb_alloc pb_libc = {libc_alloc, NULL};

/* ---- reading ------------------------------------------------------------------------- */

int pb_read_varint(struct pb_reader *r, uint64_t *v)
{
	const uint8_t *p = r->p;
	uint64_t x = 0;

	for (unsigned i = 0; i < 10; i++) {
		if (p == r->end)
			return PB_ETRUNC;
		uint8_t c = *p++;
		if (i == 9 && c > 1)	/* the tenth byte holds bit 63 only */
			return PB_EOVERFLOW;
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			r->p = p;
			*v = x;
			return 0;
		}
	}
	return PB_EOVERFLOW; /* not reached: the tenth byte either ends or fails above */
}

int pb_read_fixed64(struct pb_reader *r, uint64_t *v)
{
	if (r->end - r->p < 8)
		return PB_ETRUNC;
	uint64_t x = 0;
	for (int i = 7; i >= 0; i--)
		x = x << 8 | r->p[i];
	r->p += 8;
	*v = x;
	return 0;
}

int pb_read_fixed32(struct pb_reader *r, uint32_t *v)
{
	if (r->end - r->p < 4)
		return PB_ETRUNC;
	*v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
	     (uint32_t)r->p[3] << 24;
	r->p += 4;
	return 0;
}

int pb_read_len(struct pb_reader *r, struct pb_bytes *out)
{
	const uint8_t *start = r->p;
	uint64_t n;
	int rc = pb_read_varint(r, &n);

	if (rc < 0)
		return rc;
	if (n > (uint64_t)(r->end - r->p)) {
		r->p = start;
		return PB_ELEN;
	}
	out->p = r->p;
	out->len = (size_t)n;
	r->p += n;
	return 0;
}

static int wire_valid(unsigned wt)
{
	return wt == PB_VARINT || wt == PB_I64 || wt == PB_LEN || wt == PB_I32;
}

int pb_read_tag(struct pb_reader *r, uint32_t *num, enum pb_wire *wt)
{
	const uint8_t *start = r->p;
	uint64_t key;
	int rc = pb_read_varint(r, &key);

	if (rc < 0)
		return rc;
	if (key >> 3 == 0 || key >> 3 > PB_FIELD_MAX)
		rc = PB_EFIELD;
	else if (!wire_valid(key & 7))
		rc = PB_EWIRETYPE;
	if (rc < 0) {
		r->p = start;
		return rc;
	}
	*num = (uint32_t)(key >> 3);
	*wt = (enum pb_wire)(key & 7);
	return 0;
}

/* Reads a value of wire type wt into f (v or bytes). */
static int read_value(struct pb_reader *r, enum pb_wire wt, struct pb_field *f)
{
	uint32_t v32;
	int rc;

	f->v = 0;
	f->bytes = (struct pb_bytes){NULL, 0};
	switch (wt) {
	case PB_VARINT:
		return pb_read_varint(r, &f->v);
	case PB_I64:
		return pb_read_fixed64(r, &f->v);
	case PB_I32:
		if ((rc = pb_read_fixed32(r, &v32)) == 0)
			f->v = v32;
		return rc;
	case PB_LEN:
		return pb_read_len(r, &f->bytes);
	default:
		return PB_EWIRETYPE;
	}
}

int pb_skip(struct pb_reader *r, enum pb_wire wt)
{
	struct pb_field f;
	return read_value(r, wt, &f);
}

int pb_next(struct pb_reader *r, struct pb_field *f)
{
	const uint8_t *start = r->p;
	int rc;

	if (r->p == r->end)
		return 0;
	if ((rc = pb_read_tag(r, &f->num, &f->wt)) < 0)
		return rc;
	if ((rc = read_value(r, f->wt, f)) < 0) {
		r->p = start;
		return rc;
	}
	f->at = start;
	return 1;
}

/* Two's complement without implementation-defined conversions. */
static int64_t to_i64(uint64_t v)
{
	return v <= INT64_MAX ? (int64_t)v : -(int64_t)(~v) - 1;
}

static int32_t to_i32(uint32_t v)
{
	return v <= INT32_MAX ? (int32_t)v : -(int32_t)(~v) - 1;
}

int pb_get_u64(const struct pb_field *f, uint64_t *v)
{
	if (f->wt != PB_VARINT)
		return PB_EWIRETYPE;
	*v = f->v;
	return 0;
}

int pb_get_i64(const struct pb_field *f, int64_t *v)
{
	if (f->wt != PB_VARINT)
		return PB_EWIRETYPE;
	*v = to_i64(f->v);
	return 0;
}

int pb_get_u32(const struct pb_field *f, uint32_t *v)
{
	if (f->wt != PB_VARINT)
		return PB_EWIRETYPE;
	*v = (uint32_t)f->v;
	return 0;
}

int pb_get_i32(const struct pb_field *f, int32_t *v)
{
	if (f->wt != PB_VARINT)
		return PB_EWIRETYPE;
	*v = to_i32((uint32_t)f->v);
	return 0;
}

int pb_get_bool(const struct pb_field *f, bool *v)
{
	if (f->wt != PB_VARINT)
		return PB_EWIRETYPE;
	*v = f->v != 0;
	return 0;
}

int pb_get_bytes(const struct pb_field *f, struct pb_bytes *v)
{
	if (f->wt != PB_LEN)
		return PB_EWIRETYPE;
	*v = f->bytes;
	return 0;
}

/* Varints in a packed run; each must be complete. */
static int count_packed(struct pb_bytes run, size_t *n)
{
	struct pb_reader r;
	uint64_t v;
	int rc;

	pb_reader_init(&r, run.p, run.len);
	while (r.p != r.end) {
		if ((rc = pb_read_varint(&r, &v)) < 0)
			return rc;
		(*n)++;
	}
	return 0;
}

int pb_count_varints(const uint8_t *buf, size_t len, uint32_t num, size_t *n)
{
	struct pb_reader r;
	struct pb_field f;
	int rc;

	pb_reader_init(&r, buf, len);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num != num)
			continue;
		if (f.wt == PB_VARINT)
			(*n)++;
		else if (f.wt != PB_LEN)
			return PB_EWIRETYPE;
		else if ((rc = count_packed(f.bytes, n)) < 0)
			return rc;
	}
	return rc;
}

/* ---- the arena ------------------------------------------------------------------------ */

#define ARENA_ALIGN alignof(max_align_t)
#define ARENA_FIRST 2048	/* first chunk's payload; each next one doubles, up to MAX */
#define ARENA_MAX 65536

struct pb_chunk {
	struct pb_chunk *next;
	size_t size, used;	/* payload bytes */
	alignas(max_align_t) unsigned char data[];
};

void pb_arena_init(struct pb_arena *a, const struct pb_alloc *alloc)
{
	memset(a, 0, sizeof(*a));
	a->alloc = alloc ? *alloc : pb_libc;
}

static struct pb_chunk *arena_grow(struct pb_arena *a, size_t need)
{
	size_t size = a->head ? a->head->size * 2 : ARENA_FIRST;
	if (size > ARENA_MAX)
		size = ARENA_MAX;
	if (size < need)
		size = need;
	if (a->limit) {		/* near the limit, a chunk of just what is needed */
		size_t used = a->total + sizeof(struct pb_chunk);
		size_t room = a->limit > used ? a->limit - used : 0;
		if (need > room)
			return NULL;
		if (size > room)
			size = room;
	}
	if (size > SIZE_MAX - sizeof(struct pb_chunk))
		return NULL;
	struct pb_chunk *c = a->alloc.fn(a->alloc.ctx, NULL, sizeof(*c) + size);
	if (!c)
		return NULL;
	c->next = a->head;
	c->size = size;
	c->used = 0;
	a->head = c;
	a->total += sizeof(*c) + size;
	return c;
}

void *pb_arena_alloc(struct pb_arena *a, size_t size)
{
	struct pb_chunk *c = a->head;

	if (size == 0 || size > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (!c || c->size - c->used < size) {
		if (!(c = arena_grow(a, size)))
			return NULL;
	}
	void *p = c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

void *pb_arena_array(struct pb_arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return pb_arena_alloc(a, n * size);
}

void pb_arena_free(struct pb_arena *a)
{
	struct pb_chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		a->alloc.fn(a->alloc.ctx, c, 0);
	}
	a->head = NULL;
	a->total = 0;
}

/* ---- writing -------------------------------------------------------------------------- */

void pb_buf_init(struct pb_buf *b, const struct pb_alloc *alloc)
{
	memset(b, 0, sizeof(*b));
	b->alloc = alloc ? *alloc : pb_libc;
}

void pb_buf_free(struct pb_buf *b)
{
	struct pb_alloc a = b->alloc;

	if (b->data)
		a.fn(a.ctx, b->data, 0);
	pb_buf_init(b, &a);
}

int pb_buf_reserve(struct pb_buf *b, size_t extra)
{
	if (extra > PB_MSG_MAX || b->len > PB_MSG_MAX - extra)
		return PB_ETOOBIG;
	size_t need = b->len + extra;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > PB_MSG_MAX / 2 ? need : cap * 2;
	uint8_t *p = b->alloc.fn(b->alloc.ctx, b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

/* Makes room for n bytes: returns where to write them, or NULL while sizing or failed. */
static uint8_t *room(struct pb_buf *b, size_t n)
{
	int rc;

	if (b->err)
		return NULL;
	if (b->sizing) {
		if (n > PB_MSG_MAX || b->len > PB_MSG_MAX - n)
			b->err = PB_ETOOBIG;
		else
			b->len += n;
		return NULL;
	}
	if ((rc = pb_buf_reserve(b, n)) < 0) {
		b->err = rc;
		return NULL;
	}
	uint8_t *p = b->data + b->len;
	b->len += n;
	return p;
}

void pb_put_raw(struct pb_buf *b, const void *p, size_t n)
{
	uint8_t *w = room(b, n);
	if (w && n)
		memcpy(w, p, n);
}

size_t pb_varint_len(uint64_t v)
{
	size_t n = 1;
	for (; v >= 0x80; v >>= 7)
		n++;
	return n;
}

void pb_put_varint(struct pb_buf *b, uint64_t v)
{
	uint8_t *w = room(b, pb_varint_len(v));
	if (!w)
		return;
	for (; v >= 0x80; v >>= 7)
		*w++ = (uint8_t)(v | 0x80);
	*w = (uint8_t)v;
}

void pb_put_tag(struct pb_buf *b, uint32_t num, enum pb_wire wt)
{
	pb_put_varint(b, (uint64_t)num << 3 | wt);
}

void pb_put_varint_field(struct pb_buf *b, uint32_t num, uint64_t v)
{
	pb_put_tag(b, num, PB_VARINT);
	pb_put_varint(b, v);
}

void pb_put_bytes_field(struct pb_buf *b, uint32_t num, struct pb_bytes v)
{
	pb_put_tag(b, num, PB_LEN);
	pb_put_varint(b, v.len);
	pb_put_raw(b, v.p, v.len);
}

/* Size of msg as emit writes it; sets b->err on failure. */
static size_t size_of(struct pb_buf *b, pb_emit_fn emit, const void *msg)
{
	struct pb_buf s = {.sizing = true, .depth = b->depth};

	emit(&s, msg);
	if (s.err && !b->err)
		b->err = s.err;
	return s.len;
}

void pb_put_msg(struct pb_buf *b, uint32_t num, pb_emit_fn emit, const void *msg)
{
	if (b->err)
		return;
	if (b->depth >= PB_NEST_MAX) {
		b->err = PB_EDEPTH;
		return;
	}
	b->depth++;
	size_t n = size_of(b, emit, msg);
	pb_put_tag(b, num, PB_LEN);
	pb_put_varint(b, n);
	if (b->sizing)
		pb_put_raw(b, NULL, n);	/* counts n; writes nothing */
	else
		emit(b, msg);
	b->depth--;
}

int64_t pb_encoded_size(pb_emit_fn emit, const void *msg)
{
	struct pb_buf s = {.sizing = true};
	size_t n = size_of(&s, emit, msg);
	return s.err ? s.err : (int64_t)n;
}

int pb_encode(struct pb_buf *b, pb_emit_fn emit, const void *msg)
{
	size_t start = b->len;
	int saved = b->err, rc;
	int64_t n = pb_encoded_size(emit, msg);

	if (n < 0)
		return (int)n;
	if ((rc = pb_buf_reserve(b, (size_t)n)) < 0)
		return rc;
	b->err = 0;
	b->depth = 0;
	emit(b, msg);
	rc = b->err;
	if (rc == 0 && b->len - start != (size_t)n)
		rc = PB_ETOOBIG;	/* emit wrote other than it sized: a bug; never send it */
	if (rc < 0)
		b->len = start;
	b->err = saved;
	return rc;
}

/* ---- proto3 scalars: zero is the default and is not written ----------------------------- */

void pb_put_u64(struct pb_buf *b, uint32_t num, uint64_t v)
{
	if (v)
		pb_put_varint_field(b, num, v);
}

void pb_put_i64(struct pb_buf *b, uint32_t num, int64_t v)
{
	pb_put_u64(b, num, (uint64_t)v);
}

void pb_put_i32(struct pb_buf *b, uint32_t num, int32_t v)
{
	pb_put_u64(b, num, (uint64_t)(int64_t)v);
}

void pb_put_bool(struct pb_buf *b, uint32_t num, bool v)
{
	pb_put_u64(b, num, v);
}

void pb_put_fixed64(struct pb_buf *b, uint32_t num, uint64_t v)
{
	uint8_t le[8];

	if (!v)
		return;
	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	pb_put_tag(b, num, PB_I64);
	pb_put_raw(b, le, 8);
}

void pb_put_fixed32(struct pb_buf *b, uint32_t num, uint32_t v)
{
	uint8_t le[4];

	if (!v)
		return;
	for (int i = 0; i < 4; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	pb_put_tag(b, num, PB_I32);
	pb_put_raw(b, le, 4);
}

void pb_put_bytes(struct pb_buf *b, uint32_t num, struct pb_bytes v)
{
	if (v.len)
		pb_put_bytes_field(b, num, v);
}

void pb_put_packed_i32(struct pb_buf *b, uint32_t num, const int32_t *v, size_t n)
{
	size_t len = 0;

	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		len += pb_varint_len((uint64_t)(int64_t)v[i]);
	pb_put_tag(b, num, PB_LEN);
	pb_put_varint(b, len);
	for (size_t i = 0; i < n; i++)
		pb_put_varint(b, (uint64_t)(int64_t)v[i]);
}
