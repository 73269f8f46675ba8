/* Protocol Buffers wire format: a bounds-checked reader over a borrowed buffer, a growable
 * writer that sizes each nested message before writing it (so every payload byte is copied
 * once), and a bump arena for what decoders allocate. Pure: no I/O; memory only through a
 * struct pb_alloc, so tests can fail the Nth allocation. */
#ifndef CABIN_PB_H
#define CABIN_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PB_FIELD_MAX ((1u << 29) - 1)	/* largest field number */
#define PB_MSG_MAX 0x7fffffffu		/* largest encoding the writer produces (2 GiB - 1) */
#define PB_NEST_MAX 100			/* messages nested inside one another when encoding */

/* ---- errors ----------------------------------------------------------------------------
 * Functions return 0 (or a count) or a negative code: -ENOMEM or one of these. */
#define PB_ERRORS(X)                                                                   \
	X(PB_ETRUNC, -1500, "protobuf: input ends inside a field")                     \
	X(PB_EOVERFLOW, -1501, "protobuf: varint longer than 10 bytes or over 64 bits") \
	X(PB_EWIRETYPE, -1502, "protobuf: invalid or unexpected wire type")            \
	X(PB_ELEN, -1503, "protobuf: length exceeds the remaining input")              \
	X(PB_EFIELD, -1504, "protobuf: invalid field number")                          \
	X(PB_EDEPTH, -1505, "protobuf: messages nested too deeply")                    \
	X(PB_ELIMIT, -1506, "protobuf: too many elements")                             \
	X(PB_ETOOBIG, -1507, "protobuf: message too large")

#define PB_ERR_ENUM(name, value, text) name = value,
enum pb_code { PB_ERRORS(PB_ERR_ENUM) };
#undef PB_ERR_ENUM

/* Returns a static description of a PB_E* code, 0 or -ENOMEM ("unknown error" otherwise). */
const char *pb_strerror(int code);

enum pb_wire {
	PB_VARINT = 0,
	PB_I64 = 1,
	PB_LEN = 2,
	PB_SGROUP = 3,	/* groups: proto2 only, always rejected */
	PB_EGROUP = 4,
	PB_I32 = 5,
};

/* A borrowed byte string: bytes and string fields. Not NUL-terminated; p may be NULL when
 * len is 0. */
struct pb_bytes {
	const uint8_t *p;
	size_t len;
};

/* ---- memory ----------------------------------------------------------------------------
 * realloc semantics: fn(ctx, NULL, n) allocates, fn(ctx, p, n) resizes, fn(ctx, p, 0)
 * frees and returns NULL. Returns NULL on failure (p is then untouched). */
typedef void *(*pb_alloc_fn)(void *ctx, void *ptr, size_t size);
struct pb_alloc {
	pb_alloc_fn fn;
	void *ctx;
};
extern const struct pb_alloc pb_libc;	/* realloc and free */

/* ---- reading ---------------------------------------------------------------------------
 * The reader borrows buf; nothing is copied. On error the position is unchanged. */
struct pb_reader {
	const uint8_t *p, *end;
};

static inline void pb_reader_init(struct pb_reader *r, const uint8_t *buf, size_t len)
{
	r->p = buf;
	r->end = buf ? buf + len : buf;	/* NULL + 0 is undefined */
}

/* A varint of at most 10 bytes whose value fits 64 bits; non-minimal encodings are
 * accepted, as protobuf does. Returns 0, PB_ETRUNC or PB_EOVERFLOW. */
int pb_read_varint(struct pb_reader *r, uint64_t *v);
/* Little-endian fixed-width values. Return 0 or PB_ETRUNC. */
int pb_read_fixed64(struct pb_reader *r, uint64_t *v);
int pb_read_fixed32(struct pb_reader *r, uint32_t *v);
/* A length varint and that many bytes; *out points into the input. Returns 0, PB_ETRUNC,
 * PB_EOVERFLOW, or PB_ELEN when the length exceeds what remains. */
int pb_read_len(struct pb_reader *r, struct pb_bytes *out);
/* A field key. Returns 0, a varint error, PB_EFIELD for field number 0 or over
 * PB_FIELD_MAX, or PB_EWIRETYPE for groups (3, 4) and the undefined types 6 and 7. */
int pb_read_tag(struct pb_reader *r, uint32_t *num, enum pb_wire *wt);
/* Skips the value of a field of wire type wt. Returns 0 or the error of reading it;
 * PB_EWIRETYPE for groups and undefined types. */
int pb_skip(struct pb_reader *r, enum pb_wire wt);

/* One field as read: number, wire type, and its value: v for VARINT, I64 and I32 (fixed
 * values zero-extended), bytes for LEN. at points at the field's key in the input. */
struct pb_field {
	uint32_t num;
	enum pb_wire wt;
	uint64_t v;
	struct pb_bytes bytes;
	const uint8_t *at;
};

/* Reads the next field, key and value. Returns 1, 0 at the end of the input, or an error
 * of pb_read_tag or of reading the value. Unknown fields are skipped by ignoring them. */
int pb_next(struct pb_reader *r, struct pb_field *f);

/* Typed views of a field. Each returns 0, or PB_EWIRETYPE when the field's wire type does
 * not match (VARINT for the integers and bool, LEN for bytes). Integers narrower than 64
 * bits keep the low bits, as protobuf does; signed values are two's complement. */
int pb_get_u64(const struct pb_field *f, uint64_t *v);
int pb_get_i64(const struct pb_field *f, int64_t *v);
int pb_get_u32(const struct pb_field *f, uint32_t *v);
int pb_get_i32(const struct pb_field *f, int32_t *v);
int pb_get_bool(const struct pb_field *f, bool *v);
int pb_get_bytes(const struct pb_field *f, struct pb_bytes *v);

/* A repeated varint field may arrive unpacked (one VARINT field per element) or packed
 * (LEN holding varints). Counts the elements of every occurrence of field num in
 * buf[0..len), adding to *n. Returns 0, a read error, or PB_EWIRETYPE. */
int pb_count_varints(const uint8_t *buf, size_t len, uint32_t num, size_t *n);

/* ---- the arena ---------------------------------------------------------------------------
 * Decoders allocate everything they return (arrays, nested messages, merged bytes) here,
 * and the caller frees it all at once. */
struct pb_chunk;
struct pb_arena {
	struct pb_alloc alloc;
	struct pb_chunk *head;	/* private */
	size_t total;		/* bytes taken from alloc, chunk headers included */
	size_t limit;		/* total may not pass this (allocations fail); 0: no limit */
};

/* Empties a (allocates nothing; no limit); alloc NULL means pb_libc (copied). A server
 * sets a->limit to bound what one hostile request can make a decoder allocate: merged
 * messages are copied once per nesting level. */
void pb_arena_init(struct pb_arena *a, const struct pb_alloc *alloc);
/* Returns size zeroed bytes aligned for any type, owned by a, or NULL when size is 0 or
 * allocation fails. */
void *pb_arena_alloc(struct pb_arena *a, size_t size);
/* n elements of size bytes; NULL when n * size is 0, overflows or allocation fails. */
void *pb_arena_array(struct pb_arena *a, size_t n, size_t size);
/* Frees everything a holds; a is empty again and can be reused. */
void pb_arena_free(struct pb_arena *a);

/* ---- writing -----------------------------------------------------------------------------
 * The pb_put_* functions append and return nothing: the first error sticks in b->err and
 * later puts do nothing, so an encoder checks once at the end. pb_encode is the entry
 * point: it sizes the message, reserves once, writes, and restores b on failure. */
struct pb_buf {
	uint8_t *data;		/* owned; NULL until the first write */
	size_t len, cap;
	struct pb_alloc alloc;
	int err;		/* sticky: 0, -ENOMEM, PB_ETOOBIG or PB_EDEPTH */
	bool sizing;		/* count len only; data is never touched */
	unsigned depth;		/* pb_put_msg nesting */
};

/* Empties b (allocates nothing); alloc NULL means pb_libc (copied). */
void pb_buf_init(struct pb_buf *b, const struct pb_alloc *alloc);
/* Frees b->data; b is empty again. */
void pb_buf_free(struct pb_buf *b);
/* Makes room for extra more bytes. Returns 0, -ENOMEM or PB_ETOOBIG (b unchanged). */
int pb_buf_reserve(struct pb_buf *b, size_t extra);

/* Writes the fields of msg (borrowed) into b with the pb_put_* functions. */
typedef void (*pb_emit_fn)(struct pb_buf *b, const void *msg);

/* Appends the encoding of msg. Returns 0, or -ENOMEM, PB_ETOOBIG (over PB_MSG_MAX) or
 * PB_EDEPTH (over PB_NEST_MAX) with b->len and b->err as they were. */
int pb_encode(struct pb_buf *b, pb_emit_fn emit, const void *msg);
/* Returns the encoded size of msg, or a negative PB_ETOOBIG / PB_EDEPTH. */
int64_t pb_encoded_size(pb_emit_fn emit, const void *msg);

/* Bytes a value takes as a varint (1..10). */
size_t pb_varint_len(uint64_t v);

void pb_put_raw(struct pb_buf *b, const void *p, size_t n);
void pb_put_varint(struct pb_buf *b, uint64_t v);
void pb_put_tag(struct pb_buf *b, uint32_t num, enum pb_wire wt);

/* Fields always written, zero or not: oneof members, repeated elements. */
void pb_put_varint_field(struct pb_buf *b, uint32_t num, uint64_t v);
void pb_put_bytes_field(struct pb_buf *b, uint32_t num, struct pb_bytes v);
/* An embedded message: key, its size, then its fields. Always written (an empty message is
 * "present" and encodes as key and length 0). */
void pb_put_msg(struct pb_buf *b, uint32_t num, pb_emit_fn emit, const void *msg);

/* proto3 scalars: nothing is written for 0, false or empty. Signed values are written as
 * 64-bit two's complement (a negative int32 takes 10 bytes), as protobuf does. */
void pb_put_u64(struct pb_buf *b, uint32_t num, uint64_t v);
void pb_put_i64(struct pb_buf *b, uint32_t num, int64_t v);
void pb_put_i32(struct pb_buf *b, uint32_t num, int32_t v);
void pb_put_bool(struct pb_buf *b, uint32_t num, bool v);
void pb_put_fixed64(struct pb_buf *b, uint32_t num, uint64_t v);
void pb_put_fixed32(struct pb_buf *b, uint32_t num, uint32_t v);
void pb_put_bytes(struct pb_buf *b, uint32_t num, struct pb_bytes v);
/* A packed repeated int32 (enums); nothing for n == 0. */
void pb_put_packed_i32(struct pb_buf *b, uint32_t num, const int32_t *v, size_t n);

#endif
