/* The protobuf wire format: every error path of the reader, the writer's encodings byte by
 * byte (derived from the protobuf encoding rules), sizing of nested messages, the arena,
 * and failing the Nth allocation. */
#include <errno.h>

#include "../../../kv/pb.h"
#include "../testutil.h"
#include "pbtest.h"

#define BUF(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

/* Reads one varint from the bytes; expects rc, the value and the bytes consumed. */
static void varint_case(const uint8_t *b, size_t n, int rc, uint64_t v, size_t used, int line)
{
	struct pb_reader r;
	uint64_t got = 0xdead;

	pb_reader_init(&r, b, n);
	int got_rc = pb_read_varint(&r, &got);
	if (got_rc != rc || (rc == 0 && got != v) || (size_t)(r.p - b) != (rc ? 0 : used)) {
		tu_failures++;
		fprintf(stderr, "FAIL line %d: rc %d value %llu used %zu\n", line, got_rc,
			(unsigned long long)got, (size_t)(r.p - b));
	}
}
#define VARINT(rc, v, used, ...) varint_case(BUF(__VA_ARGS__), rc, v, used, __LINE__)

static void test_read_varint(void)
{
	VARINT(0, 0, 1, 0x00);
	VARINT(0, 1, 1, 0x01, 0xff);			/* stops after the first byte */
	VARINT(0, 127, 1, 0x7f);
	VARINT(0, 128, 2, 0x80, 0x01);
	VARINT(0, 300, 2, 0xac, 0x02);
	VARINT(0, 0, 2, 0x80, 0x00);			/* non-minimal: accepted */
	VARINT(0, 1, 10, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
	VARINT(0, UINT64_MAX, 10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	VARINT(0, 1ull << 63, 10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01);
	VARINT(PB_ETRUNC, 0, 0, 0x80);
	VARINT(PB_ETRUNC, 0, 0, 0xff, 0xff, 0xff);
	/* The tenth byte may hold bit 63 only; an eleventh byte never comes. */
	VARINT(PB_EOVERFLOW, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02);
	VARINT(PB_EOVERFLOW, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	       0x00);
	VARINT(PB_EOVERFLOW, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81,
	       0x00);

	struct pb_reader r;
	uint64_t v;
	pb_reader_init(&r, NULL, 0);
	TU_EQ_INT(pb_read_varint(&r, &v), PB_ETRUNC);
}

static void test_read_fixed(void)
{
	const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x88, 0x99};
	struct pb_reader r;
	uint64_t v64;
	uint32_t v32;

	pb_reader_init(&r, b, 9);
	TU_EQ_INT(pb_read_fixed64(&r, &v64), 0);
	TU_CHECK(v64 == 0x8807060504030201ull);
	TU_EQ_INT(pb_read_fixed64(&r, &v64), PB_ETRUNC);
	TU_EQ_INT(r.p - b, 8);
	pb_reader_init(&r, b, 7);
	TU_EQ_INT(pb_read_fixed64(&r, &v64), PB_ETRUNC);
	TU_EQ_INT(r.p - b, 0);

	pb_reader_init(&r, b + 4, 5);
	TU_EQ_INT(pb_read_fixed32(&r, &v32), 0);
	TU_CHECK(v32 == 0x88070605u);
	TU_EQ_INT(pb_read_fixed32(&r, &v32), PB_ETRUNC);
	pb_reader_init(&r, b, 3);
	TU_EQ_INT(pb_read_fixed32(&r, &v32), PB_ETRUNC);
	TU_EQ_INT(r.p - b, 0);
}

static void test_read_len(void)
{
	const uint8_t ok[] = {0x03, 'a', 'b', 'c', 0x00};
	const uint8_t over[] = {0x04, 'a', 'b', 'c'};
	const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
	const uint8_t cut[] = {0x80};
	struct pb_reader r;
	struct pb_bytes s;

	pb_reader_init(&r, ok, sizeof(ok));
	TU_EQ_INT(pb_read_len(&r, &s), 0);
	TU_CHECK(s.p == ok + 1 && s.len == 3);
	TU_EQ_INT(pb_read_len(&r, &s), 0);		/* the empty string */
	TU_EQ_INT(s.len, 0);
	TU_CHECK(r.p == r.end);

	pb_reader_init(&r, over, sizeof(over));
	TU_EQ_INT(pb_read_len(&r, &s), PB_ELEN);
	TU_CHECK(r.p == over);
	pb_reader_init(&r, huge, sizeof(huge));
	TU_EQ_INT(pb_read_len(&r, &s), PB_ELEN);
	pb_reader_init(&r, cut, sizeof(cut));
	TU_EQ_INT(pb_read_len(&r, &s), PB_ETRUNC);
}

static void tag_case(const uint8_t *b, size_t n, int rc, uint32_t num, int wt, int line)
{
	struct pb_reader r;
	uint32_t got_num = 0;
	enum pb_wire got_wt = PB_VARINT;

	pb_reader_init(&r, b, n);
	int got = pb_read_tag(&r, &got_num, &got_wt);
	if (got != rc || (rc == 0 && (got_num != num || (int)got_wt != wt)) ||
	    (rc && r.p != b)) {
		tu_failures++;
		fprintf(stderr, "FAIL line %d: rc %d num %u wt %d\n", line, got, got_num,
			(int)got_wt);
	}
}
#define TAG(rc, num, wt, ...) tag_case(BUF(__VA_ARGS__), rc, num, wt, __LINE__)

static void test_read_tag(void)
{
	TAG(0, 1, PB_VARINT, 0x08);
	TAG(0, 1, PB_LEN, 0x0a);
	TAG(0, 2, PB_I64, 0x11);
	TAG(0, 3, PB_I32, 0x1d);
	TAG(0, 64, PB_LEN, 0x82, 0x04);			/* Compare.range_end */
	TAG(0, PB_FIELD_MAX, PB_VARINT, 0xf8, 0xff, 0xff, 0xff, 0x0f);
	TAG(PB_EFIELD, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x10);	/* 1 << 29 */
	TAG(PB_EFIELD, 0, 0, 0x00);				/* field 0, VARINT */
	TAG(PB_EFIELD, 0, 0, 0x02);				/* field 0, LEN */
	TAG(PB_EWIRETYPE, 0, 0, 0x0b);				/* start group */
	TAG(PB_EWIRETYPE, 0, 0, 0x0c);				/* end group */
	TAG(PB_EWIRETYPE, 0, 0, 0x0e);				/* 6 */
	TAG(PB_EWIRETYPE, 0, 0, 0x0f);				/* 7 */
	TAG(PB_ETRUNC, 0, 0, 0x88);
	TAG(PB_EOVERFLOW, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f);
}

static void test_skip(void)
{
	const uint8_t b[] = {0x96, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x02, 'h', 'i', 1, 2, 3, 4};
	struct pb_reader r;

	pb_reader_init(&r, b, sizeof(b));
	TU_EQ_INT(pb_skip(&r, PB_VARINT), 0);
	TU_EQ_INT(r.p - b, 2);
	TU_EQ_INT(pb_skip(&r, PB_I64), 0);
	TU_EQ_INT(r.p - b, 10);
	TU_EQ_INT(pb_skip(&r, PB_LEN), 0);
	TU_EQ_INT(r.p - b, 13);
	TU_EQ_INT(pb_skip(&r, PB_SGROUP), PB_EWIRETYPE);
	TU_EQ_INT(pb_skip(&r, PB_EGROUP), PB_EWIRETYPE);
	TU_EQ_INT(pb_skip(&r, (enum pb_wire)6), PB_EWIRETYPE);
	TU_EQ_INT(r.p - b, 13);
	TU_EQ_INT(pb_skip(&r, PB_I64), PB_ETRUNC);
	TU_EQ_INT(pb_skip(&r, PB_I32), 0);
	TU_CHECK(r.p == r.end);
	TU_EQ_INT(pb_skip(&r, PB_I32), PB_ETRUNC);
	TU_EQ_INT(pb_skip(&r, PB_VARINT), PB_ETRUNC);
	TU_EQ_INT(pb_skip(&r, PB_LEN), PB_ETRUNC);
}

/* Every wire type in one message, each read by pb_next; then each kind of bad field. */
static void test_next(void)
{
	const uint8_t b[] = {
		0x08, 0x96, 0x01,			/* 1 VARINT 150 */
		0x11, 1, 0, 0, 0, 0, 0, 0, 0x80,	/* 2 I64 */
		0x1a, 0x03, 'a', 'b', 'c',		/* 3 LEN "abc" */
		0x25, 0xff, 0xff, 0xff, 0xff,		/* 4 I32 */
		0x82, 0x04, 0x00,			/* 64 LEN "" */
	};
	struct pb_reader r;
	struct pb_field f;

	pb_reader_init(&r, b, sizeof(b));
	TU_EQ_INT(pb_next(&r, &f), 1);
	TU_CHECK(f.num == 1 && f.wt == PB_VARINT && f.v == 150 && f.at == b);
	TU_EQ_INT(pb_next(&r, &f), 1);
	TU_CHECK(f.num == 2 && f.wt == PB_I64 && f.v == 0x8000000000000001ull && f.at == b + 3);
	TU_EQ_INT(pb_next(&r, &f), 1);
	TU_CHECK(f.num == 3 && f.wt == PB_LEN && f.bytes.len == 3 && f.bytes.p == b + 14);
	TU_EQ_INT(pb_next(&r, &f), 1);
	TU_CHECK(f.num == 4 && f.wt == PB_I32 && f.v == 0xffffffffu);
	TU_EQ_INT(pb_next(&r, &f), 1);
	TU_CHECK(f.num == 64 && f.wt == PB_LEN && f.bytes.len == 0);
	TU_EQ_INT(pb_next(&r, &f), 0);
	TU_EQ_INT(pb_next(&r, &f), 0);

	struct {
		const uint8_t b[4];
		size_t n;
		int rc;
	} bad[] = {
		{{0x08}, 1, PB_ETRUNC},			/* value missing */
		{{0x08, 0x80}, 2, PB_ETRUNC},
		{{0x09, 1, 2}, 3, PB_ETRUNC},		/* I64 short */
		{{0x0d, 1, 2, 3}, 4, PB_ETRUNC},	/* I32 short */
		{{0x0a, 0x03, 'a'}, 3, PB_ELEN},
		{{0x0a}, 1, PB_ETRUNC},
		{{0x0b, 0x0c}, 2, PB_EWIRETYPE},	/* an empty group */
		{{0x00, 0x00}, 2, PB_EFIELD},
		{{0x80}, 1, PB_ETRUNC},			/* key cut */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pb_reader_init(&r, bad[i].b, bad[i].n);
		int rc = pb_next(&r, &f);
		if (rc != bad[i].rc || r.p != bad[i].b) {
			tu_failures++;
			fprintf(stderr, "FAIL bad[%zu]: rc %d\n", i, rc);
		}
	}
}

static void test_typed_getters(void)
{
	struct pb_field v = {.num = 1, .wt = PB_VARINT, .v = 0xffffffffffffffffull};
	struct pb_field l = {.num = 1, .wt = PB_LEN, .bytes = {(const uint8_t *)"x", 1}};
	struct pb_field i64 = {.num = 1, .wt = PB_I64, .v = 5};
	uint64_t u64;
	int64_t s64;
	uint32_t u32;
	int32_t s32;
	bool b;
	struct pb_bytes s;

	TU_EQ_INT(pb_get_u64(&v, &u64), 0);
	TU_CHECK(u64 == UINT64_MAX);
	TU_EQ_INT(pb_get_i64(&v, &s64), 0);
	TU_EQ_INT(s64, -1);
	TU_EQ_INT(pb_get_i32(&v, &s32), 0);
	TU_EQ_INT(s32, -1);
	TU_EQ_INT(pb_get_u32(&v, &u32), 0);
	TU_CHECK(u32 == 0xffffffffu);
	TU_EQ_INT(pb_get_bool(&v, &b), 0);
	TU_CHECK(b);
	v.v = 0x100000000ull;				/* int32 keeps the low 32 bits */
	TU_EQ_INT(pb_get_i32(&v, &s32), 0);
	TU_EQ_INT(s32, 0);
	TU_EQ_INT(pb_get_bool(&v, &b), 0);		/* any non-zero varint is true */
	TU_CHECK(b);
	v.v = 0x80000000ull;
	TU_EQ_INT(pb_get_i32(&v, &s32), 0);
	TU_EQ_INT(s32, INT32_MIN);
	v.v = 1ull << 63;
	TU_EQ_INT(pb_get_i64(&v, &s64), 0);
	TU_CHECK(s64 == INT64_MIN);

	TU_EQ_INT(pb_get_bytes(&l, &s), 0);
	TU_CHECK(s.len == 1 && s.p[0] == 'x');
	TU_EQ_INT(pb_get_bytes(&v, &s), PB_EWIRETYPE);
	TU_EQ_INT(pb_get_u64(&l, &u64), PB_EWIRETYPE);
	TU_EQ_INT(pb_get_i64(&l, &s64), PB_EWIRETYPE);
	TU_EQ_INT(pb_get_u32(&l, &u32), PB_EWIRETYPE);
	TU_EQ_INT(pb_get_i32(&l, &s32), PB_EWIRETYPE);
	TU_EQ_INT(pb_get_bool(&l, &b), PB_EWIRETYPE);
	TU_EQ_INT(pb_get_u64(&i64, &u64), PB_EWIRETYPE);	/* fixed64 is not int64 */
}

static void test_count_varints(void)
{
	size_t n = 0;

	/* unpacked 0, packed {1, 300, 0}, an unknown field, unpacked 1 */
	const uint8_t mixed[] = {0x28, 0x00, 0x2a, 0x04, 0x01, 0xac, 0x02, 0x00,
				 0x30, 0x01, 0x28, 0x01};
	TU_EQ_INT(pb_count_varints(mixed, sizeof(mixed), 5, &n), 0);
	TU_EQ_INT(n, 5);
	n = 0;
	TU_EQ_INT(pb_count_varints(mixed, sizeof(mixed), 6, &n), 0);
	TU_EQ_INT(n, 1);
	n = 0;
	const uint8_t empty_run[] = {0x2a, 0x00};
	TU_EQ_INT(pb_count_varints(empty_run, 2, 5, &n), 0);
	TU_EQ_INT(n, 0);
	const uint8_t cut_run[] = {0x2a, 0x02, 0x01, 0x80};
	TU_EQ_INT(pb_count_varints(cut_run, 4, 5, &n), PB_ETRUNC);
	const uint8_t fixed[] = {0x2d, 1, 2, 3, 4};
	TU_EQ_INT(pb_count_varints(fixed, 5, 5, &n), PB_EWIRETYPE);
	const uint8_t bad_after[] = {0x28, 0x00, 0x0b};
	TU_EQ_INT(pb_count_varints(bad_after, 3, 5, &n), PB_EWIRETYPE);
}

/* ---- writing ----------------------------------------------------------------------- */

static void test_put_scalars(void)
{
	struct pb_buf b;

	pb_buf_init(&b, NULL);
	pb_put_u64(&b, 1, 0);				/* zero: nothing */
	pb_put_i64(&b, 2, 0);
	pb_put_bool(&b, 3, false);
	pb_put_bytes(&b, 4, (struct pb_bytes){NULL, 0});
	pb_put_fixed64(&b, 5, 0);
	pb_put_fixed32(&b, 6, 0);
	pb_put_packed_i32(&b, 7, NULL, 0);
	TU_EQ_INT(b.len, 0);
	TU_EQ_INT(b.err, 0);

	pb_put_u64(&b, 1, 150);
	PBT_BYTES(b.data, b.len, 0x08, 0x96, 0x01);
	b.len = 0;
	pb_put_i64(&b, 2, -1);
	PBT_BYTES(b.data, b.len, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	b.len = 0;
	pb_put_i32(&b, 3, -2);				/* sign-extended to 64 bits */
	PBT_BYTES(b.data, b.len, 0x18, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	b.len = 0;
	pb_put_bool(&b, 4, true);
	pb_put_fixed64(&b, 5, 0x0102030405060708ull);
	pb_put_fixed32(&b, 6, 0xa1b2c3d4u);
	PBT_BYTES(b.data, b.len, 0x20, 0x01, 0x29, 8, 7, 6, 5, 4, 3, 2, 1, 0x35, 0xd4, 0xc3,
		  0xb2, 0xa1);
	b.len = 0;
	pb_put_bytes(&b, 1, (struct pb_bytes){(const uint8_t *)"foo", 3});
	pb_put_bytes_field(&b, 2, (struct pb_bytes){NULL, 0});	/* always written */
	pb_put_varint_field(&b, 3, 0);
	PBT_BYTES(b.data, b.len, 0x0a, 0x03, 'f', 'o', 'o', 0x12, 0x00, 0x18, 0x00);
	b.len = 0;
	const int32_t filters[] = {0, 1, -1};
	pb_put_packed_i32(&b, 5, filters, 3);
	PBT_BYTES(b.data, b.len, 0x2a, 0x0c, 0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0x01);
	b.len = 0;
	pb_put_u64(&b, PB_FIELD_MAX, 1);
	pb_put_u64(&b, 64, UINT64_MAX);
	PBT_BYTES(b.data, b.len, 0xf8, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x80, 0x04, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	TU_EQ_INT(b.err, 0);
	pb_buf_free(&b);
	TU_CHECK(b.data == NULL && b.len == 0 && b.cap == 0);
}

static void test_varint_len(void)
{
	TU_EQ_INT(pb_varint_len(0), 1);
	TU_EQ_INT(pb_varint_len(127), 1);
	TU_EQ_INT(pb_varint_len(128), 2);
	TU_EQ_INT(pb_varint_len(16383), 2);
	TU_EQ_INT(pb_varint_len(16384), 3);
	TU_EQ_INT(pb_varint_len(UINT64_MAX), 10);
	for (int bit = 0; bit < 64; bit++) {	/* each written varint reads back */
		uint64_t v = (1ull << bit) | (bit * 0x0123456789abcdefull >> 7);
		struct pb_buf b;
		struct pb_reader r;
		uint64_t got;
		pb_buf_init(&b, NULL);
		pb_put_varint(&b, v);
		TU_EQ_INT(b.len, pb_varint_len(v));
		pb_reader_init(&r, b.data, b.len);
		TU_EQ_INT(pb_read_varint(&r, &got), 0);
		TU_CHECK(got == v && r.p == r.end);
		pb_buf_free(&b);
	}
}

/* Test messages: a "leaf" {1: name, 2: n}, and a "node" holding a leaf, a list of
 * leaves, and optionally a child node. */
struct leaf {
	const char *name;
	uint64_t n;
};
struct node {
	const struct leaf *leaf;
	const struct leaf *list;
	size_t n_list;
	const struct node *child;
};

static void emit_leaf(struct pb_buf *b, const void *msg)
{
	const struct leaf *l = msg;
	pb_put_bytes(b, 1, (struct pb_bytes){(const uint8_t *)l->name, strlen(l->name)});
	pb_put_u64(b, 2, l->n);
}

static void emit_node(struct pb_buf *b, const void *msg)
{
	const struct node *m = msg;
	if (m->leaf)
		pb_put_msg(b, 1, emit_leaf, m->leaf);
	for (size_t i = 0; i < m->n_list; i++)
		pb_put_msg(b, 2, emit_leaf, &m->list[i]);
	if (m->child)
		pb_put_msg(b, 3, emit_node, m->child);
}

static void test_nested(void)
{
	struct leaf big = {.n = 1};
	char name[201];
	memset(name, 'x', 200);
	name[200] = 0;
	big.name = name;
	const struct leaf list[] = {{"a", 1}, {"", 0}};
	const struct node inner = {.leaf = &big};
	const struct node outer = {.leaf = &(struct leaf){"k", 300}, .list = list, .n_list = 2,
				   .child = &inner};
	struct pb_buf b;

	pb_buf_init(&b, NULL);
	TU_EQ_INT(pb_encode(&b, emit_node, &outer), 0);
	/* leaf {0a 01 6b 10 ac 02}; two list leaves, the empty one as "12 00"; the child holds
	 * a 205-byte leaf (0a c8 01 + 200 x + 10 01), so lengths take two bytes: 205 = cd 01
	 * for the leaf inside, 3 + 205 = 208 = d0 01 for the child. */
	TU_EQ_INT(b.len, 8 + 7 + 2 + 3 + 208);
	PBT_BYTES(b.data, 20, 0x0a, 0x06, 0x0a, 0x01, 'k', 0x10, 0xac, 0x02, 0x12, 0x05, 0x0a,
		  0x01, 'a', 0x10, 0x01, 0x12, 0x00, 0x1a, 0xd0, 0x01);
	PBT_BYTES(b.data + 20, 6, 0x0a, 0xcd, 0x01, 0x0a, 0xc8, 0x01);
	PBT_BYTES(b.data + b.len - 3, 3, 'x', 0x10, 0x01);
	TU_EQ_INT(pb_encoded_size(emit_node, &outer), (int64_t)b.len);

	/* pb_encode appends after what is there. */
	size_t first = b.len;
	TU_EQ_INT(pb_encode(&b, emit_leaf, &list[0]), 0);
	PBT_BYTES(b.data + first, b.len - first, 0x0a, 0x01, 'a', 0x10, 0x01);
	pb_buf_free(&b);
}

/* A chain of nodes, each the child of the next: PB_NEST_MAX levels of pb_put_msg pass. */
static void test_nest_limit(void)
{
	static struct node chain[PB_NEST_MAX + 2];
	struct pb_buf b;

	for (size_t i = 1; i < PB_NEST_MAX + 2; i++)
		chain[i].child = &chain[i - 1];
	pb_buf_init(&b, NULL);
	TU_EQ_INT(pb_encode(&b, emit_node, &chain[PB_NEST_MAX]), 0);
	TU_EQ_INT(b.len, pb_encoded_size(emit_node, &chain[PB_NEST_MAX]));
	PBT_BYTES(b.data + b.len - 4, 4, 0x1a, 0x02, 0x1a, 0x00);	/* the innermost two */
	size_t len = b.len;
	TU_EQ_INT(pb_encode(&b, emit_node, &chain[PB_NEST_MAX + 1]), PB_EDEPTH);
	TU_EQ_INT(b.len, len);
	TU_EQ_INT(pb_encoded_size(emit_node, &chain[PB_NEST_MAX + 1]), PB_EDEPTH);
	pb_buf_free(&b);
}

/* A message whose emitter writes a different number of bytes each time it is called. */
static void emit_liar(struct pb_buf *b, const void *msg)
{
	int *calls = (int *)msg;
	pb_put_u64(b, 1, (uint64_t)++*calls);
	if (*calls > 1)
		pb_put_u64(b, 2, 1);
}

static void test_emit_mismatch(void)
{
	struct pb_buf b;
	int calls = 0;

	pb_buf_init(&b, NULL);
	TU_EQ_INT(pb_encode(&b, emit_liar, &calls), PB_ETOOBIG);
	TU_EQ_INT(b.len, 0);
	pb_buf_free(&b);
}

static void test_buf_alloc_failures(void)
{
	const struct node outer = {.leaf = &(struct leaf){"hello", 7}};
	struct failalloc fa;
	struct pb_buf b;

	/* The first encode makes one allocation (reserve once); fail it. */
	struct pb_alloc a = failalloc_init(&fa, 1);
	pb_buf_init(&b, &a);
	TU_EQ_INT(pb_encode(&b, emit_node, &outer), -ENOMEM);
	TU_CHECK(b.len == 0 && b.data == NULL && b.err == 0);
	TU_EQ_INT(fa.calls, 1);
	TU_EQ_INT(pb_encode(&b, emit_node, &outer), 0);
	TU_EQ_INT(fa.calls, 2);
	size_t len = b.len;

	/* Growth fails: what is there stays. */
	static struct leaf lots[100];
	for (int i = 0; i < 100; i++)
		lots[i] = (struct leaf){"0123456789", (uint64_t)i};
	const struct node many = {.list = lots, .n_list = 100};
	fa.fail_at = fa.calls + 1;
	TU_EQ_INT(pb_encode(&b, emit_node, &many), -ENOMEM);
	TU_EQ_INT(b.len, len);
	PBT_BYTES(b.data, b.len, 0x0a, 0x09, 0x0a, 0x05, 'h', 'e', 'l', 'l', 'o', 0x10, 0x07);
	TU_EQ_INT(pb_encode(&b, emit_node, &many), 0);
	TU_EQ_INT(fa.live, 1);
	pb_buf_free(&b);
	TU_EQ_INT(fa.live, 0);

	/* The put functions used directly: the error sticks, later puts do nothing. */
	a = failalloc_init(&fa, 1);
	pb_buf_init(&b, &a);
	pb_put_u64(&b, 1, 1);
	TU_EQ_INT(b.err, -ENOMEM);
	fa.fail_at = 0;
	pb_put_u64(&b, 1, 1);
	TU_EQ_INT(b.len, 0);
	TU_EQ_INT(b.err, -ENOMEM);
	pb_buf_free(&b);
	TU_EQ_INT(pb_buf_reserve(&b, (size_t)PB_MSG_MAX + 1), PB_ETOOBIG);
	pb_buf_free(&b);
}

static void test_arena(void)
{
	struct failalloc fa;
	struct pb_alloc a = failalloc_init(&fa, 0);
	struct pb_arena ar;

	pb_arena_init(&ar, &a);
	TU_CHECK(pb_arena_alloc(&ar, 0) == NULL);
	TU_EQ_INT(fa.calls, 0);
	unsigned char *p = pb_arena_alloc(&ar, 3);
	unsigned char *q = pb_arena_alloc(&ar, 1);
	TU_CHECK(p && q && p != q);
	TU_EQ_INT((uintptr_t)p % _Alignof(max_align_t), 0);
	TU_EQ_INT((uintptr_t)q % _Alignof(max_align_t), 0);
	TU_EQ_INT(fa.calls, 1);				/* both from the first chunk */
	unsigned char *big = pb_arena_alloc(&ar, 1 << 20);
	TU_CHECK(big != NULL);
	size_t zero = 0;
	for (size_t i = 0; i < 1 << 20; i += 4096)
		zero += big[i];
	TU_EQ_INT(zero, 0);
	memset(big, 0xee, 1 << 20);
	TU_CHECK(pb_arena_array(&ar, SIZE_MAX / 8, 16) == NULL);	/* overflow */
	TU_CHECK(pb_arena_array(&ar, 0, 16) == NULL);
	int64_t *arr = pb_arena_array(&ar, 10, sizeof(int64_t));
	TU_CHECK(arr && arr[9] == 0);
	TU_CHECK(ar.total > 1 << 20);
	fa.fail_at = fa.calls + 1;
	TU_CHECK(pb_arena_alloc(&ar, 1 << 16) == NULL);
	TU_EQ_INT(fa.live, 3);
	pb_arena_free(&ar);
	TU_EQ_INT(fa.live, 0);
	TU_EQ_INT(ar.total, 0);
	TU_CHECK(pb_arena_alloc(&ar, 8) != NULL);	/* usable again */
	pb_arena_free(&ar);

	/* A limit: chunks shrink to fit under it, then allocations fail. */
	a = failalloc_init(&fa, 0);
	pb_arena_init(&ar, &a);
	ar.limit = 3000;
	TU_CHECK(pb_arena_alloc(&ar, 1000) != NULL);	/* a 2048-byte first chunk */
	TU_CHECK(pb_arena_alloc(&ar, 1000) != NULL);
	TU_CHECK(pb_arena_alloc(&ar, 500) != NULL);	/* a chunk of what is left */
	TU_CHECK(ar.total <= 3000);
	TU_CHECK(pb_arena_alloc(&ar, 1000) == NULL);
	TU_CHECK(ar.total <= 3000);
	pb_arena_free(&ar);
	TU_EQ_INT(fa.live, 0);

	pb_arena_init(&ar, NULL);			/* libc */
	for (int i = 0; i < 1000; i++)
		TU_CHECK(pb_arena_alloc(&ar, 100) != NULL);
	pb_arena_free(&ar);
}

static void test_strerror(void)
{
	TU_EQ_STR(pb_strerror(PB_ETRUNC), "protobuf: input ends inside a field");
	TU_EQ_STR(pb_strerror(PB_ETOOBIG), "protobuf: message too large");
	TU_EQ_STR(pb_strerror(-ENOMEM), "out of memory");
	TU_EQ_STR(pb_strerror(0), "success");
	TU_EQ_STR(pb_strerror(-1), "unknown error");
}

int main(void)
{
	TU_RUN(test_read_varint);
	TU_RUN(test_read_fixed);
	TU_RUN(test_read_len);
	TU_RUN(test_read_tag);
	TU_RUN(test_skip);
	TU_RUN(test_next);
	TU_RUN(test_typed_getters);
	TU_RUN(test_count_varints);
	TU_RUN(test_put_scalars);
	TU_RUN(test_varint_len);
	TU_RUN(test_nested);
	TU_RUN(test_nest_limit);
	TU_RUN(test_emit_mismatch);
	TU_RUN(test_buf_alloc_failures);
	TU_RUN(test_arena);
	TU_RUN(test_strerror);
	return TU_EXIT();
}
