/* The etcd message codecs: golden encodings derived by hand from the protobuf wire format
 * and etcd's field numbers (each also decoded and re-encoded to the same bytes), proto3's
 * rules (defaults omitted, last value wins, repeated fields append, embedded messages
 * merge, unknown fields skipped, wrong wire types refused), the Txn limits, errors inside
 * nested messages, and failing the Nth allocation. */
#include <errno.h>

#include "../../../kv/msg.h"
#include "../testutil.h"
#include "pbtest.h"

#define S(str) ((struct pb_bytes){(const uint8_t *)(str), sizeof(str) - 1})

static struct pb_arena arena;

/* Encodes msg and compares with want; decodes want and encodes that again. */
static void golden(enum kvm_type t, const void *msg, const uint8_t *want, size_t n, int line)
{
	struct pb_buf b;
	struct pb_arena a;
	void *m = calloc(1, kvm_type_size(t));
	int rc;

	pb_buf_init(&b, NULL);
	pb_arena_init(&a, NULL);
	if ((rc = kvm_encode(&b, t, msg)) != 0 || !pbtest_bytes(b.data, b.len, want, n, line)) {
		tu_failures++;
		fprintf(stderr, "  ^ encoding %s: rc %d\n", kvm_type_name(t), rc);
	}
	b.len = 0;
	if ((rc = kvm_decode(t, want, n, m, &a)) != 0 || (rc = kvm_encode(&b, t, m)) != 0 ||
	    !pbtest_bytes(b.data, b.len, want, n, line)) {
		tu_failures++;
		fprintf(stderr, "  ^ decoding and re-encoding %s: rc %d\n", kvm_type_name(t), rc);
	}
	pb_buf_free(&b);
	pb_arena_free(&a);
	free(m);
}
#define GOLDEN(t, msg, ...)                                                  \
	do {                                                                 \
		static const uint8_t want_[] = {__VA_ARGS__};                \
		golden((t), (msg), want_, sizeof(want_), __LINE__);          \
	} while (0)

/* Decodes a copy of the bytes, kept in the shared arena (freed at the end of each test)
 * since the decoded message points into it, into *m. */
static int dec(enum kvm_type t, const uint8_t *b, size_t n, void *m)
{
	uint8_t *copy = pb_arena_alloc(&arena, n);
	memcpy(copy, b, n);
	return kvm_decode(t, copy, n, m, &arena);
}
#define DECODE(t, m, ...) \
	dec((t), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}), (m))

static int beq(struct pb_bytes b, const char *s)
{
	return b.len == strlen(s) && (b.len == 0 || memcmp(b.p, s, b.len) == 0);
}

/* ---- KV -------------------------------------------------------------------------------- */

static void test_put(void)
{
	const uint8_t wire[] = {0x0a, 0x03, 'f', 'o', 'o', 0x12, 0x03, 'b', 'a', 'r'};
	struct kvm_put_request p = {.key = S("foo"), .value = S("bar")}, got;

	/* etcdctl put foo bar */
	GOLDEN(KVM_PUT_REQUEST, &p, 0x0a, 0x03, 0x66, 0x6f, 0x6f, 0x12, 0x03, 0x62, 0x61, 0x72);
	TU_EQ_INT(kvm_decode_put_request(wire, sizeof(wire), &got, &arena), 0);
	TU_CHECK(got.key.p == wire + 2 && got.key.len == 3);	/* zero copy */
	TU_CHECK(got.value.p == wire + 7 && beq(got.value, "bar"));
	TU_CHECK(!got.lease && !got.prev_kv && !got.ignore_value && !got.ignore_lease);

	p.lease = 0x1234, p.prev_kv = p.ignore_value = p.ignore_lease = true;
	GOLDEN(KVM_PUT_REQUEST, &p, 0x0a, 0x03, 'f', 'o', 'o', 0x12, 0x03, 'b', 'a', 'r',
	       0x18, 0xb4, 0x24, 0x20, 0x01, 0x28, 0x01, 0x30, 0x01);

	struct kvm_header h = {.revision = 2};
	struct kvm_kv prev = {.key = S("foo"), .create_revision = 2, .mod_revision = 2,
			      .version = 1, .value = S("old"), .lease = 0x1234};
	struct kvm_put_response r = {.header = &h, .prev_kv = &prev};
	GOLDEN(KVM_PUT_RESPONSE, &r, 0x0a, 0x02, 0x18, 0x02, 0x12, 0x13, 0x0a, 0x03, 'f', 'o',
	       'o', 0x10, 0x02, 0x18, 0x02, 0x20, 0x01, 0x2a, 0x03, 'o', 'l', 'd', 0x30, 0xb4,
	       0x24);
	r.prev_kv = NULL;
	GOLDEN(KVM_PUT_RESPONSE, &r, 0x0a, 0x02, 0x18, 0x02);
	struct kvm_put_response rd;
	TU_EQ_INT(DECODE(KVM_PUT_RESPONSE, &rd, 0x0a, 0x02, 0x18, 0x02), 0);
	TU_CHECK(rd.header && rd.header->revision == 2 && rd.prev_kv == NULL);
	pb_arena_free(&arena);
}

static void test_range(void)
{
	struct kvm_range_request q = {
		.key = S("a"), .range_end = S("b"), .limit = 3, .revision = 4,
		.sort_order = KVM_SORT_DESCEND, .sort_target = KVM_SORT_VALUE,
		.serializable = true, .keys_only = true, .count_only = true,
		.min_mod_revision = 10, .max_mod_revision = 11, .min_create_revision = 12,
		.max_create_revision = 13,
	};
	GOLDEN(KVM_RANGE_REQUEST, &q, 0x0a, 0x01, 'a', 0x12, 0x01, 'b', 0x18, 0x03, 0x20, 0x04,
	       0x28, 0x02, 0x30, 0x04, 0x38, 0x01, 0x40, 0x01, 0x48, 0x01, 0x50, 0x0a, 0x58,
	       0x0b, 0x60, 0x0c, 0x68, 0x0d);

	/* Negative int64 and enum values take ten bytes and come back. */
	struct kvm_range_request neg = {.limit = -1, .sort_order = -2}, got;
	GOLDEN(KVM_RANGE_REQUEST, &neg, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	       0xff, 0x01, 0x28, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	TU_EQ_INT(DECODE(KVM_RANGE_REQUEST, &got, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			 0xff, 0xff, 0xff, 0x01, 0x28, 0xfe, 0xff, 0xff, 0xff, 0x0f), 0);
	TU_EQ_INT(got.limit, -1);
	TU_EQ_INT(got.sort_order, -2);		/* a 5-byte int32 encoding, as old encoders */

	struct kvm_header h = {.cluster_id = 1, .member_id = 2, .revision = 5, .raft_term = 3};
	struct kvm_kv kv = {.key = S("a"), .create_revision = 2, .mod_revision = 5,
			    .version = 2, .value = S("1")};
	struct kvm_range_response r = {.header = &h, .kvs = &kv, .n_kvs = 1, .more = true,
				       .count = 1};
	GOLDEN(KVM_RANGE_RESPONSE, &r, 0x0a, 0x08, 0x08, 0x01, 0x10, 0x02, 0x18, 0x05, 0x20,
	       0x03, 0x12, 0x0c, 0x0a, 0x01, 'a', 0x10, 0x02, 0x18, 0x05, 0x20, 0x02, 0x2a, 0x01,
	       '1', 0x18, 0x01, 0x20, 0x01);

	struct kvm_range_response rd;
	TU_EQ_INT(DECODE(KVM_RANGE_RESPONSE, &rd, 0x12, 0x03, 0x0a, 0x01, 'a', 0x20, 0x02, 0x12,
			 0x03, 0x0a, 0x01, 'b', 0x12, 0x00), 0);
	TU_EQ_INT(rd.n_kvs, 3);			/* repeated fields append, empty ones too */
	TU_CHECK(beq(rd.kvs[0].key, "a") && beq(rd.kvs[1].key, "b") && rd.kvs[2].key.len == 0);
	TU_EQ_INT(rd.count, 2);
	TU_CHECK(rd.header == NULL);
	pb_arena_free(&arena);
}

static void test_delete_range(void)
{
	struct kvm_delete_range_request q = {.key = S("k"), .range_end = S("\0"),
					     .prev_kv = true};
	GOLDEN(KVM_DELETE_RANGE_REQUEST, &q, 0x0a, 0x01, 'k', 0x12, 0x01, 0x00, 0x18, 0x01);

	struct kvm_header h = {.revision = 3};
	struct kvm_kv kvs[] = {{.key = S("a")}, {.key = S("b")}};
	struct kvm_delete_range_response r = {.header = &h, .deleted = 2, .prev_kvs = kvs,
					      .n_prev_kvs = 2};
	GOLDEN(KVM_DELETE_RANGE_RESPONSE, &r, 0x0a, 0x02, 0x18, 0x03, 0x10, 0x02, 0x1a, 0x03,
	       0x0a, 0x01, 'a', 0x1a, 0x03, 0x0a, 0x01, 'b');
}

static void test_compare(void)
{
	struct kvm_compare c = {.result = KVM_CMP_NOT_EQUAL, .target = KVM_TARGET_MOD,
				.key = S("k"), .which = KVM_CMP_MOD_REVISION, .mod_revision = 5,
				.range_end = S("l")};
	/* range_end is field 64: key (64 << 3 | 2) = 514 = 82 04 */
	GOLDEN(KVM_COMPARE, &c, 0x08, 0x03, 0x10, 0x02, 0x1a, 0x01, 'k', 0x30, 0x05, 0x82, 0x04,
	       0x01, 'l');

	/* etcdctl txn: version("k") = "0": the oneof member is written although zero. */
	struct kvm_compare v0 = {.key = S("k"), .which = KVM_CMP_VERSION};
	GOLDEN(KVM_COMPARE, &v0, 0x1a, 0x01, 'k', 0x20, 0x00);
	struct kvm_compare cr = {.which = KVM_CMP_CREATE_REVISION, .create_revision = 1};
	GOLDEN(KVM_COMPARE, &cr, 0x28, 0x01);
	struct kvm_compare val = {.target = KVM_TARGET_VALUE, .which = KVM_CMP_VALUE};
	GOLDEN(KVM_COMPARE, &val, 0x10, 0x03, 0x3a, 0x00);
	struct kvm_compare ls = {.target = KVM_TARGET_LEASE, .which = KVM_CMP_LEASE, .lease = 9};
	GOLDEN(KVM_COMPARE, &ls, 0x10, 0x04, 0x40, 0x09);
	struct kvm_compare none = {.key = S("k"), .version = 5};	/* which unset: no member */
	GOLDEN(KVM_COMPARE, &none, 0x1a, 0x01, 'k');

	/* The last member of the oneof wins and clears the others. */
	struct kvm_compare got;
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x20, 0x03, 0x3a, 0x01, 'x'), 0);
	TU_CHECK(got.which == KVM_CMP_VALUE && beq(got.value, "x") && got.version == 0);
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x3a, 0x01, 'x', 0x40, 0x07), 0);
	TU_CHECK(got.which == KVM_CMP_LEASE && got.lease == 7 && got.value.len == 0);
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x82, 0x04, 0x02, 'a', 'b'), 0);
	TU_CHECK(beq(got.range_end, "ab") && got.which == KVM_CMP_UNSET);
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x38, 0x01), PB_EWIRETYPE);	/* value as varint */
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x22, 0x00), PB_EWIRETYPE);	/* version as LEN */
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x80, 0x04, 0x01), PB_EWIRETYPE);
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x82, 0x04, 0x02, 'a'), PB_ELEN);
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x82), PB_ETRUNC);
	pb_arena_free(&arena);
}

static void test_txn(void)
{
	struct kvm_compare cmp = {.target = KVM_TARGET_VALUE, .key = S("k"),
				  .which = KVM_CMP_VALUE, .value = S("v")};
	struct kvm_request_op put = {.type = KVM_OP_PUT, .put = {.key = S("k"), .value = S("w")}};
	struct kvm_request_op get = {.type = KVM_OP_RANGE, .range = {.key = S("k")}};
	struct kvm_txn_request q = {.compare = &cmp, .n_compare = 1, .success = &put,
				    .n_success = 1, .failure = &get, .n_failure = 1};
	GOLDEN(KVM_TXN_REQUEST, &q, 0x0a, 0x08, 0x10, 0x03, 0x1a, 0x01, 'k', 0x3a, 0x01, 'v',
	       0x12, 0x08, 0x12, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'w',
	       0x1a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 'k');

	struct kvm_txn_request got;
	TU_EQ_INT(DECODE(KVM_TXN_REQUEST, &got, 0x0a, 0x08, 0x10, 0x03, 0x1a, 0x01, 'k', 0x3a,
			 0x01, 'v', 0x12, 0x08, 0x12, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'w',
			 0x1a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 'k', 0x12, 0x02, 0x1a, 0x00), 0);
	TU_EQ_INT(got.n_compare, 1);
	TU_EQ_INT(got.n_success, 2);
	TU_EQ_INT(got.n_failure, 1);
	TU_CHECK(got.compare[0].target == KVM_TARGET_VALUE && beq(got.compare[0].value, "v"));
	TU_CHECK(got.success[0].type == KVM_OP_PUT && beq(got.success[0].put.value, "w"));
	TU_CHECK(got.success[1].type == KVM_OP_DELETE_RANGE && got.success[1].delete_range.key.len == 0);
	TU_CHECK(got.failure[0].type == KVM_OP_RANGE && beq(got.failure[0].range.key, "k"));

	/* Every kind of op, and a nested Txn. */
	struct kvm_request_op inner_ops[] = {
		{.type = KVM_OP_DELETE_RANGE, .delete_range = {.key = S("d")}},
	};
	struct kvm_request_op ops[] = {
		{.type = KVM_OP_TXN, .txn = {.success = inner_ops, .n_success = 1}},
		{.type = KVM_OP_NONE},
	};
	struct kvm_txn_request nested = {.success = ops, .n_success = 2};
	GOLDEN(KVM_TXN_REQUEST, &nested, 0x12, 0x09, 0x22, 0x07, 0x12, 0x05, 0x1a, 0x03, 0x0a,
	       0x01, 'd', 0x12, 0x00);

	struct kvm_header h = {.revision = 7};
	struct kvm_response_op rop = {.type = KVM_OP_PUT, .put = {.header = &h}};
	struct kvm_txn_response r = {.header = &h, .succeeded = true, .responses = &rop,
				     .n_responses = 1};
	GOLDEN(KVM_TXN_RESPONSE, &r, 0x0a, 0x02, 0x18, 0x07, 0x10, 0x01, 0x1a, 0x06, 0x12, 0x04,
	       0x0a, 0x02, 0x18, 0x07);

	struct kvm_kv kv = {.key = S("a")};
	struct kvm_response_op rops[] = {
		{.type = KVM_OP_RANGE, .range = {.kvs = &kv, .n_kvs = 1, .count = 1}},
		{.type = KVM_OP_DELETE_RANGE, .delete_range = {.deleted = 1}},
		{.type = KVM_OP_TXN, .txn = {.succeeded = true}},
	};
	struct kvm_txn_response all = {.responses = rops, .n_responses = 3};
	GOLDEN(KVM_TXN_RESPONSE, &all, 0x1a, 0x09, 0x0a, 0x07, 0x12, 0x03, 0x0a, 0x01, 'a', 0x20,
	       0x01, 0x1a, 0x04, 0x1a, 0x02, 0x10, 0x01, 0x1a, 0x04, 0x22, 0x02, 0x10, 0x01);

	struct kvm_compaction_request c = {.revision = 5, .physical = true};
	GOLDEN(KVM_COMPACTION_REQUEST, &c, 0x08, 0x05, 0x10, 0x01);
	pb_arena_free(&arena);
}

static const struct kvm_compare bottom = {.key = {(const uint8_t *)"bottom", 6}};

/* Txns nested depth levels deep (the outermost is level 1), as structs. */
static struct kvm_request_op req_chain[KVM_TXN_DEPTH_MAX + 1];
static struct kvm_response_op resp_chain[KVM_TXN_DEPTH_MAX + 1];

static void build_chains(struct kvm_txn_request *q, struct kvm_txn_response *r, int depth)
{
	memset(req_chain, 0, sizeof(req_chain));
	memset(resp_chain, 0, sizeof(resp_chain));
	memset(q, 0, sizeof(*q));
	memset(r, 0, sizeof(*r));
	struct kvm_txn_request *qt = q;
	struct kvm_txn_response *rt = r;
	for (int i = 1; i < depth; i++) {
		req_chain[i].type = resp_chain[i].type = KVM_OP_TXN;
		qt->success = &req_chain[i], qt->n_success = 1;
		rt->responses = &resp_chain[i], rt->n_responses = 1;
		qt = &req_chain[i].txn;
		rt = &resp_chain[i].txn;
	}
	qt->compare = &bottom;
	qt->n_compare = 1;
}

static void test_txn_depth(void)
{
	struct kvm_txn_request q, got;
	struct kvm_txn_response r, rgot;
	struct pb_buf b;

	pb_buf_init(&b, NULL);
	build_chains(&q, &r, KVM_TXN_DEPTH_MAX);
	TU_EQ_INT(kvm_encode_txn_request(&b, &q), 0);
	TU_EQ_INT(kvm_decode_txn_request(b.data, b.len, &got, &arena), 0);
	const struct kvm_txn_request *t = &got;
	int levels = 1;
	while (t->n_success == 1 && t->success[0].type == KVM_OP_TXN)
		t = &t->success[0].txn, levels++;
	TU_EQ_INT(levels, KVM_TXN_DEPTH_MAX);
	TU_CHECK(t->n_compare == 1 && beq(t->compare[0].key, "bottom"));
	b.len = 0;
	TU_EQ_INT(kvm_encode_txn_response(&b, &r), 0);
	TU_EQ_INT(kvm_decode_txn_response(b.data, b.len, &rgot, &arena), 0);

	build_chains(&q, &r, KVM_TXN_DEPTH_MAX + 1);
	b.len = 0;
	TU_EQ_INT(kvm_encode_txn_request(&b, &q), 0);	/* the encoder has no Txn limit */
	TU_EQ_INT(kvm_decode_txn_request(b.data, b.len, &got, &arena), PB_EDEPTH);
	b.len = 0;
	TU_EQ_INT(kvm_encode_txn_response(&b, &r), 0);
	TU_EQ_INT(kvm_decode_txn_response(b.data, b.len, &rgot, &arena), PB_EDEPTH);
	/* ... also when it is one op of a RequestOp. */
	struct kvm_request_op op = {.type = KVM_OP_TXN, .txn = q}, opgot;
	b.len = 0;
	TU_EQ_INT(kvm_encode_request_op(&b, &op), 0);
	TU_EQ_INT(kvm_decode_request_op(b.data, b.len, &opgot, &arena), PB_EDEPTH);
	pb_buf_free(&b);
	pb_arena_free(&arena);
}

static void test_txn_ops_limit(void)
{
	size_t n = KVM_TXN_OPS_MAX;
	uint8_t *buf = malloc(2 * (n + 1) + 2);
	struct kvm_txn_request got;

	for (size_t i = 0; i <= n; i++)
		buf[2 * i] = 0x0a, buf[2 * i + 1] = 0x00;	/* an empty compare */
	TU_EQ_INT(kvm_decode_txn_request(buf, 2 * n, &got, &arena), 0);
	TU_EQ_INT(got.n_compare, n);
	TU_EQ_INT(kvm_decode_txn_request(buf, 2 * (n + 1), &got, &arena), PB_ELIMIT);
	pb_arena_free(&arena);

	/* Over all levels: one op holding a Txn that holds n compares is n + 1. */
	struct kvm_txn_request inner = {.compare = calloc(n, sizeof(struct kvm_compare)),
					.n_compare = n};
	struct kvm_request_op op = {.type = KVM_OP_TXN, .txn = inner};
	struct kvm_txn_request outer = {.failure = &op, .n_failure = 1};
	struct pb_buf b;
	pb_buf_init(&b, NULL);
	TU_EQ_INT(kvm_encode_txn_request(&b, &outer), 0);
	TU_EQ_INT(kvm_decode_txn_request(b.data, b.len, &got, &arena), PB_ELIMIT);
	inner.n_compare = op.txn.n_compare = n - 1;
	b.len = 0;
	TU_EQ_INT(kvm_encode_txn_request(&b, &outer), 0);
	TU_EQ_INT(kvm_decode_txn_request(b.data, b.len, &got, &arena), 0);
	TU_EQ_INT(got.failure[0].txn.n_compare, n - 1);
	pb_buf_free(&b);
	pb_arena_free(&arena);
	free((void *)inner.compare);
	free(buf);
}

/* ---- Watch ----------------------------------------------------------------------------- */

static void test_watch_request(void)
{
	const int32_t filters[] = {KVM_FILTER_NODELETE};
	struct kvm_watch_request w = {
		.type = KVM_WATCH_CREATE,
		.create = {.key = S("foo"), .range_end = S("fop"), .start_revision = 5,
			   .progress_notify = true, .filters = filters, .n_filters = 1,
			   .prev_kv = true, .watch_id = 7, .fragment = true},
	};
	GOLDEN(KVM_WATCH_REQUEST, &w, 0x0a, 0x17, 0x0a, 0x03, 'f', 'o', 'o', 0x12, 0x03, 'f',
	       'o', 'p', 0x18, 0x05, 0x20, 0x01, 0x2a, 0x01, 0x01, 0x30, 0x01, 0x38, 0x07, 0x40,
	       0x01);
	struct kvm_watch_request cancel = {.type = KVM_WATCH_CANCEL, .cancel = {.watch_id = 3}};
	GOLDEN(KVM_WATCH_REQUEST, &cancel, 0x12, 0x02, 0x08, 0x03);
	struct kvm_watch_request progress = {.type = KVM_WATCH_PROGRESS};
	GOLDEN(KVM_WATCH_REQUEST, &progress, 0x1a, 0x00);
	struct kvm_watch_request cancel0 = {.type = KVM_WATCH_CANCEL};	/* watch 0 */
	GOLDEN(KVM_WATCH_REQUEST, &cancel0, 0x12, 0x00);

	/* filters: unpacked, packed, both, and in two packed runs: all append in order. */
	struct kvm_watch_create_request c;
	TU_EQ_INT(DECODE(KVM_WATCH_CREATE_REQUEST, &c, 0x28, 0x01), 0);
	TU_CHECK(c.n_filters == 1 && c.filters[0] == KVM_FILTER_NODELETE);
	TU_EQ_INT(DECODE(KVM_WATCH_CREATE_REQUEST, &c, 0x2a, 0x02, 0x00, 0x01), 0);
	TU_CHECK(c.n_filters == 2 && c.filters[0] == 0 && c.filters[1] == 1);
	TU_EQ_INT(DECODE(KVM_WATCH_CREATE_REQUEST, &c, 0x28, 0x01, 0x0a, 0x01, 'k', 0x2a, 0x02,
			 0x00, 0x01, 0x28, 0x00, 0x2a, 0x00, 0x2a, 0x01, 0x05), 0);
	TU_EQ_INT(c.n_filters, 5);
	TU_CHECK(c.filters[0] == 1 && c.filters[1] == 0 && c.filters[2] == 1 &&
		 c.filters[3] == 0 && c.filters[4] == 5);
	TU_CHECK(beq(c.key, "k"));
	TU_EQ_INT(DECODE(KVM_WATCH_CREATE_REQUEST, &c, 0x2a, 0x02, 0x00, 0x80), PB_ETRUNC);
	TU_EQ_INT(DECODE(KVM_WATCH_CREATE_REQUEST, &c, 0x2d, 0x00, 0x00, 0x00, 0x00),
		  PB_EWIRETYPE);
	TU_EQ_INT(kvm_decode_watch_create_request(NULL, 0, &c, &arena), 0);
	TU_CHECK(c.n_filters == 0 && c.filters == NULL);
	/* Written packed: */
	struct kvm_watch_create_request both = {.filters = (const int32_t[]){0, 1},
						.n_filters = 2};
	GOLDEN(KVM_WATCH_CREATE_REQUEST, &both, 0x2a, 0x02, 0x00, 0x01);

	struct kvm_watch_request got;
	TU_EQ_INT(DECODE(KVM_WATCH_REQUEST, &got, 0x1a, 0x00), 0);
	TU_EQ_INT(got.type, KVM_WATCH_PROGRESS);
	TU_EQ_INT(DECODE(KVM_WATCH_REQUEST, &got, 0x1a, 0x02, 0x08, 0x01), 0);	/* newer fields */
	TU_EQ_INT(got.type, KVM_WATCH_PROGRESS);
	TU_EQ_INT(DECODE(KVM_WATCH_REQUEST, &got, 0x1a, 0x01, 0x0b), PB_EWIRETYPE);
	TU_EQ_INT(DECODE(KVM_WATCH_REQUEST, &got, 0x12, 0x02, 0x08, 0x09), 0);
	TU_CHECK(got.type == KVM_WATCH_CANCEL && got.cancel.watch_id == 9);
	TU_EQ_INT(kvm_decode_watch_request(NULL, 0, &got, &arena), 0);
	TU_EQ_INT(got.type, KVM_WATCH_NONE);
	pb_arena_free(&arena);
}

static void test_watch_response(void)
{
	struct kvm_header h = {.revision = 2};
	struct kvm_kv kv = {.key = S("a"), .mod_revision = 3};
	struct kvm_kv prev = {.key = S("a"), .value = S("v")};
	struct kvm_event ev[] = {
		{.type = KVM_EVENT_DELETE, .kv = &kv, .prev_kv = &prev},
		{.type = KVM_EVENT_PUT, .kv = &kv},
	};
	struct kvm_watch_response w = {.header = &h, .watch_id = 1, .created = true,
				       .canceled = true, .compact_revision = 5,
				       .cancel_reason = S("x"), .fragment = true,
				       .events = ev, .n_events = 2};
	/* events are field 11: key 11 << 3 | 2 = 0x5a */
	GOLDEN(KVM_WATCH_RESPONSE, &w, 0x0a, 0x02, 0x18, 0x02, 0x10, 0x01, 0x18, 0x01, 0x20,
	       0x01, 0x28, 0x05, 0x32, 0x01, 'x', 0x38, 0x01,
	       0x5a, 0x11, 0x08, 0x01, 0x12, 0x05, 0x0a, 0x01, 'a', 0x18, 0x03, 0x1a, 0x06, 0x0a,
	       0x01, 'a', 0x2a, 0x01, 'v',
	       0x5a, 0x07, 0x12, 0x05, 0x0a, 0x01, 'a', 0x18, 0x03);

	struct kvm_watch_response got;
	TU_EQ_INT(DECODE(KVM_WATCH_RESPONSE, &got, 0x0a, 0x00, 0x18, 0x01,
			 0x5a, 0x04, 0x12, 0x02, 0x0a, 0x00), 0);
	TU_CHECK(got.header && got.header->revision == 0 && got.created && got.watch_id == 0);
	TU_CHECK(got.n_events == 1 && got.events[0].type == KVM_EVENT_PUT &&
		 got.events[0].kv && got.events[0].kv->key.len == 0 && !got.events[0].prev_kv);
	pb_arena_free(&arena);
}

/* ---- Lease ----------------------------------------------------------------------------- */

static void test_lease(void)
{
	struct kvm_header h = {.revision = 1};
	struct kvm_lease_grant_request gq = {.ttl = 60, .id = 1234};
	GOLDEN(KVM_LEASE_GRANT_REQUEST, &gq, 0x08, 0x3c, 0x10, 0xd2, 0x09);
	struct kvm_lease_grant_response gr = {.header = &h, .id = 1234, .ttl = 60,
					      .error = S("e")};
	GOLDEN(KVM_LEASE_GRANT_RESPONSE, &gr, 0x0a, 0x02, 0x18, 0x01, 0x10, 0xd2, 0x09, 0x18,
	       0x3c, 0x22, 0x01, 'e');
	struct kvm_lease_id_request id = {.id = 0x694d7ba4cd56a204};
	GOLDEN(KVM_LEASE_ID_REQUEST, &id, 0x08, 0x84, 0xc4, 0xda, 0xea, 0xcc, 0xf4, 0xde, 0xa6,
	       0x69);
	struct kvm_lease_keepalive_response ka = {.header = &h, .id = 1234, .ttl = 59};
	GOLDEN(KVM_LEASE_KEEPALIVE_RESPONSE, &ka, 0x0a, 0x02, 0x18, 0x01, 0x10, 0xd2, 0x09, 0x18,
	       0x3b);
	struct kvm_lease_ttl_request tq = {.id = 1234, .keys = true};
	GOLDEN(KVM_LEASE_TTL_REQUEST, &tq, 0x08, 0xd2, 0x09, 0x10, 0x01);
	struct pb_bytes keys[] = {S("a"), S("")};
	struct kvm_lease_ttl_response tr = {.header = &h, .id = 1234, .ttl = 50,
					    .granted_ttl = 60, .keys = keys, .n_keys = 2};
	/* An empty element of a repeated bytes field is still written. */
	GOLDEN(KVM_LEASE_TTL_RESPONSE, &tr, 0x0a, 0x02, 0x18, 0x01, 0x10, 0xd2, 0x09, 0x18, 0x32,
	       0x20, 0x3c, 0x2a, 0x01, 'a', 0x2a, 0x00);
	struct kvm_lease_ttl_response ttl_expired = {.header = &h, .id = 1234, .ttl = -1};
	GOLDEN(KVM_LEASE_TTL_RESPONSE, &ttl_expired, 0x0a, 0x02, 0x18, 0x01, 0x10, 0xd2, 0x09,
	       0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
	const int64_t ids[] = {1, 1234, 0};
	struct kvm_lease_leases_response lr = {.header = &h, .leases = ids, .n_leases = 3};
	GOLDEN(KVM_LEASE_LEASES_RESPONSE, &lr, 0x0a, 0x02, 0x18, 0x01, 0x12, 0x02, 0x08, 0x01,
	       0x12, 0x03, 0x08, 0xd2, 0x09, 0x12, 0x00);

	struct kvm_lease_leases_response got;
	TU_EQ_INT(DECODE(KVM_LEASE_LEASES_RESPONSE, &got, 0x12, 0x04, 0x08, 0x01, 0x08, 0x02),
		  0);
	TU_CHECK(got.n_leases == 1 && got.leases[0] == 2);	/* last ID wins */
	TU_EQ_INT(DECODE(KVM_LEASE_LEASES_RESPONSE, &got, 0x10, 0x01), PB_EWIRETYPE);
	TU_EQ_INT(DECODE(KVM_LEASE_LEASES_RESPONSE, &got, 0x12, 0x01, 0x0a), PB_ETRUNC);
	pb_arena_free(&arena);
}

/* ---- Cluster --------------------------------------------------------------------------- */

static void test_cluster(void)
{
	struct pb_bytes peer[] = {S("http://p")}, client[] = {S("http://c"), S("http://d")};
	struct kvm_member m = {.id = 0x8e9e05c52164694dull, .name = S("n1"), .peer_urls = peer,
			       .n_peer_urls = 1, .client_urls = client, .n_client_urls = 2,
			       .is_learner = true};
	GOLDEN(KVM_MEMBER, &m, 0x08, 0xcd, 0xd2, 0x91, 0x8b, 0xd2, 0xb8, 0x81, 0xcf, 0x8e, 0x01,
	       0x12, 0x02, 'n', '1', 0x1a, 0x08, 'h', 't', 't', 'p', ':', '/', '/', 'p',
	       0x22, 0x08, 'h', 't', 't', 'p', ':', '/', '/', 'c',
	       0x22, 0x08, 'h', 't', 't', 'p', ':', '/', '/', 'd', 0x28, 0x01);

	struct kvm_header h = {.cluster_id = 1};
	struct kvm_member one = {.id = 1, .name = S("a")};
	struct kvm_members_response ml = {.header = &h, .members = &one, .n_members = 1};
	GOLDEN(KVM_MEMBERS_RESPONSE, &ml, 0x0a, 0x02, 0x08, 0x01, 0x12, 0x05, 0x08, 0x01, 0x12,
	       0x01, 'a');

	struct kvm_member_add_request aq = {.peer_urls = peer, .n_peer_urls = 1,
					    .is_learner = true};
	GOLDEN(KVM_MEMBER_ADD_REQUEST, &aq, 0x0a, 0x08, 'h', 't', 't', 'p', ':', '/', '/', 'p',
	       0x10, 0x01);
	struct kvm_header zero = {0};
	struct kvm_member two[] = {{.id = 1}, {.id = 2}};
	struct kvm_member_add_response ar = {.header = &zero, .member = &two[1], .members = two,
					     .n_members = 2};
	/* A present but all-zero header is written as an empty message. */
	GOLDEN(KVM_MEMBER_ADD_RESPONSE, &ar, 0x0a, 0x00, 0x12, 0x02, 0x08, 0x02, 0x1a, 0x02,
	       0x08, 0x01, 0x1a, 0x02, 0x08, 0x02);
	struct kvm_member_id_request rq = {.id = 5};
	GOLDEN(KVM_MEMBER_ID_REQUEST, &rq, 0x08, 0x05);
	struct pb_bytes ab[] = {S("a"), S("b")};
	struct kvm_member_update_request uq = {.id = 5, .peer_urls = ab, .n_peer_urls = 2};
	GOLDEN(KVM_MEMBER_UPDATE_REQUEST, &uq, 0x08, 0x05, 0x12, 0x01, 'a', 0x12, 0x01, 'b');
	struct kvm_member_list_request lq = {.linearizable = true};
	GOLDEN(KVM_MEMBER_LIST_REQUEST, &lq, 0x08, 0x01);

	struct kvm_member_add_response got;
	TU_EQ_INT(DECODE(KVM_MEMBER_ADD_RESPONSE, &got, 0x1a, 0x02, 0x08, 0x07, 0x12, 0x02, 0x08,
			 0x08), 0);
	TU_CHECK(got.member && got.member->id == 8 && got.n_members == 1 &&
		 got.members[0].id == 7 && !got.header);
	struct kvm_member mg;
	TU_EQ_INT(DECODE(KVM_MEMBER, &mg, 0x1a, 0x00, 0x22, 0x01, 'x', 0x1a, 0x01, 'y'), 0);
	TU_CHECK(mg.n_peer_urls == 2 && mg.peer_urls[0].len == 0 && beq(mg.peer_urls[1], "y"));
	TU_CHECK(mg.n_client_urls == 1 && beq(mg.client_urls[0], "x"));
	TU_EQ_INT(DECODE(KVM_MEMBER, &mg, 0x18, 0x01), PB_EWIRETYPE);	/* URL as varint */
	pb_arena_free(&arena);
}

/* ---- Maintenance ----------------------------------------------------------------------- */

static void test_maintenance(void)
{
	struct kvm_header h2 = {.member_id = 2};
	struct pb_bytes errs[] = {S("e1"), S("")};
	struct kvm_status_response s = {
		.header = &h2, .version = S("3.4.0"), .db_size = 20480, .leader = 2,
		.raft_index = 9, .raft_term = 3, .raft_applied_index = 9, .errors = errs,
		.n_errors = 2, .db_size_in_use = 16384, .is_learner = true,
	};
	GOLDEN(KVM_STATUS_RESPONSE, &s, 0x0a, 0x02, 0x10, 0x02, 0x12, 0x05, '3', '.', '4', '.',
	       '0', 0x18, 0x80, 0xa0, 0x01, 0x20, 0x02, 0x28, 0x09, 0x30, 0x03, 0x38, 0x09,
	       0x42, 0x02, 'e', '1', 0x42, 0x00, 0x48, 0x80, 0x80, 0x01, 0x50, 0x01);

	struct kvm_alarm_request aq = {.action = KVM_ALARM_ACTIVATE, .member_id = 2,
				       .alarm = KVM_ALARM_NOSPACE};
	GOLDEN(KVM_ALARM_REQUEST, &aq, 0x08, 0x01, 0x10, 0x02, 0x18, 0x01);
	struct kvm_alarm_request get = {.action = KVM_ALARM_GET};
	struct pb_buf b;
	pb_buf_init(&b, NULL);
	TU_EQ_INT(kvm_encode_alarm_request(&b, &get), 0);
	TU_EQ_INT(b.len, 0);			/* etcdctl alarm list: every field zero */
	pb_buf_free(&b);

	struct kvm_header zero = {0};
	struct kvm_alarm_member am[] = {{.member_id = 2, .alarm = KVM_ALARM_NOSPACE},
					{.member_id = 3, .alarm = KVM_ALARM_CORRUPT}};
	struct kvm_alarm_response ar = {.header = &zero, .alarms = am, .n_alarms = 2};
	GOLDEN(KVM_ALARM_RESPONSE, &ar, 0x0a, 0x00, 0x12, 0x04, 0x08, 0x02, 0x10, 0x01, 0x12,
	       0x04, 0x08, 0x03, 0x10, 0x02);

	struct kvm_hash_kv_request hq = {.revision = 5};
	GOLDEN(KVM_HASH_KV_REQUEST, &hq, 0x08, 0x05);
	struct kvm_header h5 = {.revision = 5};
	struct kvm_hash_kv_response hr = {.header = &h5, .hash = 0xdeadbeef,
					  .compact_revision = 3};
	GOLDEN(KVM_HASH_KV_RESPONSE, &hr, 0x0a, 0x02, 0x18, 0x05, 0x10, 0xef, 0xfd, 0xb6, 0xf5,
	       0x0d, 0x18, 0x03);
	struct kvm_hash_kv_response hg;
	TU_EQ_INT(DECODE(KVM_HASH_KV_RESPONSE, &hg, 0x10, 0xff, 0xff, 0xff, 0xff, 0x7f), 0);
	TU_CHECK(hg.hash == 0xffffffffu);		/* uint32 keeps the low 32 bits */

	struct kvm_header h1 = {.revision = 1};
	struct kvm_snapshot_response sr = {.header = &h1, .remaining_bytes = 300,
					   .blob = S("xyz")};
	GOLDEN(KVM_SNAPSHOT_RESPONSE, &sr, 0x0a, 0x02, 0x18, 0x01, 0x10, 0xac, 0x02, 0x1a, 0x03,
	       'x', 'y', 'z');
	struct kvm_move_leader_request mq = {.target_id = 5};
	GOLDEN(KVM_MOVE_LEADER_REQUEST, &mq, 0x08, 0x05);

	struct kvm_header full = {.cluster_id = 0x8e9e05c52164694dull, .member_id = 2,
				  .revision = 7, .raft_term = 3};
	struct kvm_header_response hd = {.header = &full};
	GOLDEN(KVM_HEADER_RESPONSE, &hd, 0x0a, 0x11, 0x08, 0xcd, 0xd2, 0x91, 0x8b, 0xd2, 0xb8,
	       0x81, 0xcf, 0x8e, 0x01, 0x10, 0x02, 0x18, 0x07, 0x20, 0x03);
	pb_arena_free(&arena);
}

/* ---- proto3 rules ---------------------------------------------------------------------- */

static void test_last_wins_and_unknown(void)
{
	struct kvm_put_request p;

	TU_EQ_INT(DECODE(KVM_PUT_REQUEST, &p, 0x0a, 0x01, 'a', 0x18, 0x05, 0x0a, 0x01, 'b',
			 0x18, 0x00, 0x20, 0x01, 0x20, 0x00), 0);
	TU_CHECK(beq(p.key, "b") && p.lease == 0 && !p.prev_kv);

	/* Unknown fields of every wire type, before, between and after known ones. */
	TU_EQ_INT(DECODE(KVM_PUT_REQUEST, &p, 0x78, 0x01,		/* 15 VARINT */
			 0x0a, 0x01, 'k',
			 0x81, 0x01, 1, 2, 3, 4, 5, 6, 7, 8,		/* 16 I64 */
			 0x8a, 0x01, 0x02, 0x0b, 0x0c,			/* 17 LEN (group inside) */
			 0x95, 0x01, 1, 2, 3, 4,			/* 18 I32 */
			 0x12, 0x01, 'v',
			 0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00), 0);	/* PB_FIELD_MAX */
	TU_CHECK(beq(p.key, "k") && beq(p.value, "v"));
	/* ... but never a group, even unknown. */
	TU_EQ_INT(DECODE(KVM_PUT_REQUEST, &p, 0x0a, 0x01, 'k', 0x7b, 0x7c), PB_EWIRETYPE);
	TU_EQ_INT(DECODE(KVM_PUT_REQUEST, &p, 0x0a, 0x01, 'k', 0x00), PB_EFIELD);
}

static void test_wrong_wire_type(void)
{
	struct kvm_put_request p;
	struct kvm_range_response r;
	struct kvm_txn_request t;
	struct kvm_watch_request w;

	TU_EQ_INT(DECODE(KVM_PUT_REQUEST, &p, 0x08, 0x01), PB_EWIRETYPE);	/* bytes */
	TU_EQ_INT(DECODE(KVM_PUT_REQUEST, &p, 0x1a, 0x00), PB_EWIRETYPE);	/* int64 */
	TU_EQ_INT(DECODE(KVM_PUT_REQUEST, &p, 0x21, 0, 0, 0, 0, 0, 0, 0, 0), PB_EWIRETYPE);
	TU_EQ_INT(DECODE(KVM_PUT_REQUEST, &p, 0x2d, 0, 0, 0, 0), PB_EWIRETYPE);	/* bool */
	TU_EQ_INT(DECODE(KVM_RANGE_RESPONSE, &r, 0x08, 0x01), PB_EWIRETYPE);	/* header */
	TU_EQ_INT(DECODE(KVM_RANGE_RESPONSE, &r, 0x10, 0x01), PB_EWIRETYPE);	/* kvs */
	TU_EQ_INT(DECODE(KVM_TXN_REQUEST, &t, 0x08, 0x01), PB_EWIRETYPE);	/* compare */
	TU_EQ_INT(DECODE(KVM_TXN_REQUEST, &t, 0x12, 0x02, 0x10, 0x00), PB_EWIRETYPE); /* put */
	TU_EQ_INT(DECODE(KVM_WATCH_REQUEST, &w, 0x18, 0x00), PB_EWIRETYPE);	/* progress */
	pb_arena_free(&arena);
}

static void test_merge(void)
{
	/* A singular embedded message twice: merged field by field, in the arena. */
	const uint8_t two_headers[] = {0x0a, 0x04, 0x08, 0x01, 0x18, 0x05,
				       0x0a, 0x04, 0x10, 0x02, 0x18, 0x06};
	struct kvm_range_response r;
	TU_EQ_INT(kvm_decode_range_response(two_headers, sizeof(two_headers), &r, &arena), 0);
	TU_CHECK(r.header && r.header->cluster_id == 1 && r.header->member_id == 2 &&
		 r.header->revision == 6);

	/* Bytes of a merged message live in the arena, not in the input. */
	struct kvm_put_response pr;
	uint8_t in[] = {0x12, 0x03, 0x0a, 0x01, 'a', 0x12, 0x03, 0x2a, 0x01, 'v'};
	TU_EQ_INT(kvm_decode_put_response(in, sizeof(in), &pr, &arena), 0);
	TU_CHECK(pr.prev_kv && beq(pr.prev_kv->key, "a") && beq(pr.prev_kv->value, "v"));
	TU_CHECK(pr.prev_kv->key.p < in || pr.prev_kv->key.p >= in + sizeof(in));

	/* The same oneof member twice merges; repeated fields inside it append. */
	struct kvm_request_op op;
	TU_EQ_INT(DECODE(KVM_REQUEST_OP, &op, 0x12, 0x03, 0x0a, 0x01, 'a',
			 0x12, 0x03, 0x12, 0x01, 'b'), 0);
	TU_CHECK(op.type == KVM_OP_PUT && beq(op.put.key, "a") && beq(op.put.value, "b"));
	TU_EQ_INT(DECODE(KVM_REQUEST_OP, &op, 0x22, 0x02, 0x0a, 0x00, 0x22, 0x04, 0x0a, 0x00,
			 0x12, 0x00), 0);
	TU_CHECK(op.type == KVM_OP_TXN && op.txn.n_compare == 2 && op.txn.n_success == 1);
	/* Another member in between starts over. */
	TU_EQ_INT(DECODE(KVM_REQUEST_OP, &op, 0x12, 0x03, 0x0a, 0x01, 'a', 0x0a, 0x03, 0x0a,
			 0x01, 'r', 0x12, 0x03, 0x12, 0x01, 'b'), 0);
	TU_CHECK(op.type == KVM_OP_PUT && op.put.key.len == 0 && beq(op.put.value, "b"));
	TU_EQ_INT(DECODE(KVM_REQUEST_OP, &op, 0x12, 0x03, 0x0a, 0x01, 'a', 0x0a, 0x03, 0x0a,
			 0x01, 'r'), 0);
	TU_CHECK(op.type == KVM_OP_RANGE && beq(op.range.key, "r"));
	/* Each occurrence must be well-formed alone: no field across the seam. */
	TU_EQ_INT(DECODE(KVM_REQUEST_OP, &op, 0x12, 0x01, 0x0a, 0x12, 0x02, 0x01, 'z'),
		  PB_ETRUNC);
	TU_EQ_INT(DECODE(KVM_REQUEST_OP, &op, 0x12, 0x01, 0x0a, 0x12, 0x02, 0x0a, 0x00),
		  PB_ETRUNC);
	struct kvm_put_response pr2;
	TU_EQ_INT(DECODE(KVM_PUT_RESPONSE, &pr2, 0x0a, 0x01, 0x08, 0x0a, 0x01, 0x01),
		  PB_ETRUNC);

	struct kvm_watch_request w;
	TU_EQ_INT(DECODE(KVM_WATCH_REQUEST, &w, 0x0a, 0x02, 0x28, 0x01, 0x12, 0x00,
			 0x0a, 0x03, 0x0a, 0x01, 'k', 0x0a, 0x03, 0x2a, 0x01, 0x00), 0);
	TU_CHECK(w.type == KVM_WATCH_CREATE && w.create.n_filters == 1);	/* after cancel */
	TU_EQ_INT(DECODE(KVM_WATCH_REQUEST, &w, 0x0a, 0x02, 0x28, 0x01,
			 0x0a, 0x03, 0x0a, 0x01, 'k', 0x0a, 0x03, 0x2a, 0x01, 0x00), 0);
	TU_CHECK(w.type == KVM_WATCH_CREATE && beq(w.create.key, "k") &&
		 w.create.n_filters == 2 && w.create.filters[0] == 1 && w.create.filters[1] == 0);
	pb_arena_free(&arena);
}

/* Errors deep inside nested messages come out unchanged. */
static void test_nested_errors(void)
{
	struct kvm_range_response r;
	struct kvm_txn_request t;
	struct kvm_watch_response w;

	TU_EQ_INT(DECODE(KVM_RANGE_RESPONSE, &r, 0x0a, 0x02, 0x08, 0x80), PB_ETRUNC);
	TU_EQ_INT(DECODE(KVM_RANGE_RESPONSE, &r, 0x12, 0x02, 0x0a, 0x05), PB_ELEN);
	TU_EQ_INT(DECODE(KVM_RANGE_RESPONSE, &r, 0x12, 0x02, 0x00, 0x00), PB_EFIELD);
	TU_EQ_INT(DECODE(KVM_RANGE_RESPONSE, &r, 0x12, 0x01, 0x0b), PB_EWIRETYPE);
	TU_EQ_INT(DECODE(KVM_RANGE_RESPONSE, &r, 0x12, 0x02, 0x08, 0x01), PB_EWIRETYPE);
	TU_EQ_INT(DECODE(KVM_TXN_REQUEST, &t, 0x12, 0x04, 0x22, 0x02, 0x0a, 0x0a), PB_ELEN);
	TU_EQ_INT(DECODE(KVM_TXN_REQUEST, &t, 0x0a, 0x02, 0x1a, 0x05), PB_ELEN);
	TU_EQ_INT(DECODE(KVM_TXN_REQUEST, &t, 0x0a, 0x03, 0x80, 0x04, 0x01), PB_EWIRETYPE);
	TU_EQ_INT(DECODE(KVM_WATCH_RESPONSE, &w, 0x5a, 0x04, 0x12, 0x02, 0x0a, 0x05),
		  PB_ELEN);
	TU_EQ_INT(DECODE(KVM_WATCH_RESPONSE, &w, 0x5a, 0x03, 0x12, 0x01, 0x80), PB_ETRUNC);

	/* Every proper prefix of a valid TxnRequest either decodes or fails cleanly, and a
	 * cut inside a length-delimited field is PB_ELEN or PB_ETRUNC. */
	const uint8_t full[] = {0x0a, 0x08, 0x10, 0x03, 0x1a, 0x01, 'k', 0x3a, 0x01, 'v',
				0x12, 0x08, 0x12, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'w',
				0x1a, 0x05, 0x0a, 0x03, 0x0a, 0x01, 'k'};
	int ok = 0;
	for (size_t n = 0; n < sizeof(full); n++) {
		int rc = kvm_decode_txn_request(full, n, &t, &arena);
		if (rc == 0)
			ok++;
		else
			TU_CHECK(rc == PB_ELEN || rc == PB_ETRUNC);
	}
	TU_EQ_INT(ok, 3);		/* the empty prefix and the two field boundaries */
	pb_arena_free(&arena);
}

static void test_every_type(void)
{
	struct pb_buf b;
	unsigned char zero[512], out[512];

	memset(zero, 0, sizeof(zero));
	pb_buf_init(&b, NULL);
	for (int t = 0; t < KVM_TYPES; t++) {
		TU_CHECK(kvm_type_name(t) != NULL);
		TU_CHECK(kvm_type_size(t) > 0 && kvm_type_size(t) <= sizeof(zero));
		/* A zero struct encodes to nothing and decodes from nothing. */
		b.len = 0;
		TU_EQ_INT(kvm_encode(&b, t, zero), 0);
		TU_EQ_INT(b.len, 0);
		memset(out, 0xa5, sizeof(out));
		TU_EQ_INT(kvm_decode(t, NULL, 0, out, &arena), 0);
		TU_EQ_INT(memcmp(out, zero, kvm_type_size(t)), 0);
		/* Unknown fields are skipped by every type; bad wire format is refused. */
		TU_EQ_INT(kvm_decode(t, (const uint8_t[]){0xf8, 0x07, 0x01}, 3, out, &arena), 0);
		TU_EQ_INT(kvm_decode(t, (const uint8_t[]){0x0b}, 1, out, &arena), PB_EWIRETYPE);
		TU_EQ_INT(kvm_decode(t, (const uint8_t[]){0x80}, 1, out, &arena), PB_ETRUNC);
	}
	TU_CHECK(kvm_type_name(KVM_TYPES) == NULL && kvm_type_name(-1) == NULL);
	TU_EQ_INT(kvm_type_size(KVM_TYPES), 0);
	TU_EQ_STR(kvm_type_name(KVM_PUT_REQUEST), "put_request");
	TU_EQ_INT(kvm_encode(&b, KVM_TYPES, zero), PB_EFIELD);
	TU_EQ_INT(kvm_decode(KVM_TYPES, NULL, 0, out, &arena), PB_EFIELD);
	pb_buf_free(&b);
	pb_arena_free(&arena);
}

/* A message that allocates a lot when decoded: arrays, nested messages, a merge. */
static const uint8_t busy[] = {
	0x0a, 0x02, 0x18, 0x07, 0x10, 0x01,
	0x1a, 0x09, 0x0a, 0x07, 0x12, 0x03, 0x0a, 0x01, 'a', 0x20, 0x01,
	0x1a, 0x04, 0x1a, 0x02, 0x10, 0x01,
	0x1a, 0x0e, 0x22, 0x0c, 0x1a, 0x04, 0x12, 0x02, 0x0a, 0x00, 0x1a, 0x04, 0x12, 0x02,
	0x12, 0x00,
	0x0a, 0x02, 0x08, 0x01,
};

static void test_alloc_failures(void)
{
	struct failalloc fa;
	struct pb_arena a;
	struct kvm_txn_response r;
	int n, rc;

	for (n = 1; n < 100; n++) {
		struct pb_alloc al = failalloc_init(&fa, n);
		pb_arena_init(&a, &al);
		rc = kvm_decode_txn_response(busy, sizeof(busy), &r, &a);
		pb_arena_free(&a);
		TU_EQ_INT(fa.live, 0);
		if (rc == 0)
			break;
		TU_EQ_INT(rc, -ENOMEM);
	}
	TU_CHECK(n > 1 && n < 100);	/* failed at least once, then succeeded */
	TU_EQ_INT(fa.calls, n - 1);	/* the success made no more calls than it failed */

	/* An arena limit bounds what one request may allocate. */
	pb_arena_init(&a, NULL);
	a.limit = 256;
	TU_EQ_INT(kvm_decode_txn_response(busy, sizeof(busy), &r, &a), -ENOMEM);
	TU_CHECK(a.total <= 256);
	pb_arena_free(&a);

	/* Decode once for real and then encode with every allocation failing in turn. */
	pb_arena_init(&a, NULL);
	TU_EQ_INT(kvm_decode_txn_response(busy, sizeof(busy), &r, &a), 0);
	TU_CHECK(r.header && r.header->cluster_id == 1 && r.header->revision == 7);
	TU_EQ_INT(r.n_responses, 3);
	uint8_t prefix[64];			/* fills the first reservation exactly */
	memset(prefix, 'p', sizeof(prefix));
	for (n = 1; n < 100; n++) {
		struct pb_alloc al = failalloc_init(&fa, 0);
		struct pb_buf b;
		pb_buf_init(&b, &al);
		pb_put_raw(&b, prefix, sizeof(prefix));
		TU_EQ_INT(b.cap, sizeof(prefix));
		fa.fail_at = fa.calls + n;
		rc = kvm_encode_txn_response(&b, &r);
		if (rc == 0) {
			TU_CHECK(b.len > 64 && memcmp(b.data, prefix, 64) == 0);
			pb_buf_free(&b);
			break;
		}
		TU_EQ_INT(rc, -ENOMEM);
		TU_CHECK(b.len == 64 && memcmp(b.data, prefix, 64) == 0 && b.err == 0);
		pb_buf_free(&b);
		TU_EQ_INT(fa.live, 0);
	}
	TU_EQ_INT(n, 2);		/* one reservation for the whole message */
	pb_arena_free(&a);
}

int main(void)
{
	pb_arena_init(&arena, NULL);
	TU_RUN(test_put);
	TU_RUN(test_range);
	TU_RUN(test_delete_range);
	TU_RUN(test_compare);
	TU_RUN(test_txn);
	TU_RUN(test_txn_depth);
	TU_RUN(test_txn_ops_limit);
	TU_RUN(test_watch_request);
	TU_RUN(test_watch_response);
	TU_RUN(test_lease);
	TU_RUN(test_cluster);
	TU_RUN(test_maintenance);
	TU_RUN(test_last_wins_and_unknown);
	TU_RUN(test_wrong_wire_type);
	TU_RUN(test_merge);
	TU_RUN(test_nested_errors);
	TU_RUN(test_every_type);
	TU_RUN(test_alloc_failures);
	pb_arena_free(&arena);
	return TU_EXIT();
}
