/* The etcd message codecs: golden encodings derived by hand from the protobuf wire format
 * and etcd's field numbers (each also decoded and re-encoded to the same bytes), message by
 * message, and the Txn limits. proto3's rules across messages: msg_rules_test.c. */
#include <errno.h>

#include "../../../kv/msg.h"
#include "../testutil.h"
#include "msgtest.h"
#include "pbtest.h"

#define S(str) ((struct pb_bytes){(const uint8_t *)(str), sizeof(str) - 1})

/* ---- KV -------------------------------------------------------------------------------- */

static void test_put(void)
{
	const uint8_t wire[] = {0x0a, 0x03, 'f', 'o', 'o', 0x12, 0x03, 'b', 'a', 'r'};
	struct kvm_put_request p = {.key = S("foo"), .value = S("bar")}, got;

	/* etcdctl put foo bar */
	GOLDEN(KVM_PUT_REQUEST, &p, 0x0a, 0x03, 0x66, 0x6f, 0x6f, 0x12, 0x03, 0x62, 0x61, 0x72);
	TU_EQ_INT(kvm_decode_put_request(wire, sizeof(wire), &got, &msgt_arena), 0);
	TU_CHECK(got.key.p == wire + 2 && got.key.len == 3);	/* zero copy */
	TU_CHECK(got.value.p == wire + 7 && msgt_beq(got.value, "bar"));
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
	pb_arena_free(&msgt_arena);
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
	TU_CHECK(msgt_beq(rd.kvs[0].key, "a") && msgt_beq(rd.kvs[1].key, "b") && rd.kvs[2].key.len == 0);
	TU_EQ_INT(rd.count, 2);
	TU_CHECK(rd.header == NULL);
	pb_arena_free(&msgt_arena);
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
	TU_CHECK(got.which == KVM_CMP_VALUE && msgt_beq(got.value, "x") && got.version == 0);
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x3a, 0x01, 'x', 0x40, 0x07), 0);
	TU_CHECK(got.which == KVM_CMP_LEASE && got.lease == 7 && got.value.len == 0);
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x82, 0x04, 0x02, 'a', 'b'), 0);
	TU_CHECK(msgt_beq(got.range_end, "ab") && got.which == KVM_CMP_UNSET);
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x38, 0x01), PB_EWIRETYPE);	/* value as varint */
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x22, 0x00), PB_EWIRETYPE);	/* version as LEN */
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x80, 0x04, 0x01), PB_EWIRETYPE);
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x82, 0x04, 0x02, 'a'), PB_ELEN);
	TU_EQ_INT(DECODE(KVM_COMPARE, &got, 0x82), PB_ETRUNC);
	pb_arena_free(&msgt_arena);
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
	TU_CHECK(got.compare[0].target == KVM_TARGET_VALUE && msgt_beq(got.compare[0].value, "v"));
	TU_CHECK(got.success[0].type == KVM_OP_PUT && msgt_beq(got.success[0].put.value, "w"));
	TU_CHECK(got.success[1].type == KVM_OP_DELETE_RANGE && got.success[1].delete_range.key.len == 0);
	TU_CHECK(got.failure[0].type == KVM_OP_RANGE && msgt_beq(got.failure[0].range.key, "k"));

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
	pb_arena_free(&msgt_arena);
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
	TU_EQ_INT(kvm_decode_txn_request(b.data, b.len, &got, &msgt_arena), 0);
	const struct kvm_txn_request *t = &got;
	int levels = 1;
	while (t->n_success == 1 && t->success[0].type == KVM_OP_TXN)
		t = &t->success[0].txn, levels++;
	TU_EQ_INT(levels, KVM_TXN_DEPTH_MAX);
	TU_CHECK(t->n_compare == 1 && msgt_beq(t->compare[0].key, "bottom"));
	b.len = 0;
	TU_EQ_INT(kvm_encode_txn_response(&b, &r), 0);
	TU_EQ_INT(kvm_decode_txn_response(b.data, b.len, &rgot, &msgt_arena), 0);

	build_chains(&q, &r, KVM_TXN_DEPTH_MAX + 1);
	b.len = 0;
	TU_EQ_INT(kvm_encode_txn_request(&b, &q), 0);	/* the encoder has no Txn limit */
	TU_EQ_INT(kvm_decode_txn_request(b.data, b.len, &got, &msgt_arena), PB_EDEPTH);
	b.len = 0;
	TU_EQ_INT(kvm_encode_txn_response(&b, &r), 0);
	TU_EQ_INT(kvm_decode_txn_response(b.data, b.len, &rgot, &msgt_arena), PB_EDEPTH);
	/* ... also when it is one op of a RequestOp. */
	struct kvm_request_op op = {.type = KVM_OP_TXN, .txn = q}, opgot;
	b.len = 0;
	TU_EQ_INT(kvm_encode_request_op(&b, &op), 0);
	TU_EQ_INT(kvm_decode_request_op(b.data, b.len, &opgot, &msgt_arena), PB_EDEPTH);
	pb_buf_free(&b);
	pb_arena_free(&msgt_arena);
}

static void test_txn_ops_limit(void)
{
	size_t n = KVM_TXN_OPS_MAX;
	uint8_t *buf = malloc(2 * (n + 1) + 2);
	struct kvm_txn_request got;

	for (size_t i = 0; i <= n; i++)
		buf[2 * i] = 0x0a, buf[2 * i + 1] = 0x00;	/* an empty compare */
	TU_EQ_INT(kvm_decode_txn_request(buf, 2 * n, &got, &msgt_arena), 0);
	TU_EQ_INT(got.n_compare, n);
	TU_EQ_INT(kvm_decode_txn_request(buf, 2 * (n + 1), &got, &msgt_arena), PB_ELIMIT);
	pb_arena_free(&msgt_arena);

	/* Over all levels: one op holding a Txn that holds n compares is n + 1. */
	struct kvm_txn_request inner = {.compare = calloc(n, sizeof(struct kvm_compare)),
					.n_compare = n};
	struct kvm_request_op op = {.type = KVM_OP_TXN, .txn = inner};
	struct kvm_txn_request outer = {.failure = &op, .n_failure = 1};
	struct pb_buf b;
	pb_buf_init(&b, NULL);
	TU_EQ_INT(kvm_encode_txn_request(&b, &outer), 0);
	TU_EQ_INT(kvm_decode_txn_request(b.data, b.len, &got, &msgt_arena), PB_ELIMIT);
	inner.n_compare = op.txn.n_compare = n - 1;
	b.len = 0;
	TU_EQ_INT(kvm_encode_txn_request(&b, &outer), 0);
	TU_EQ_INT(kvm_decode_txn_request(b.data, b.len, &got, &msgt_arena), 0);
	TU_EQ_INT(got.failure[0].txn.n_compare, n - 1);
	pb_buf_free(&b);
	pb_arena_free(&msgt_arena);
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
	TU_CHECK(msgt_beq(c.key, "k"));
	TU_EQ_INT(DECODE(KVM_WATCH_CREATE_REQUEST, &c, 0x2a, 0x02, 0x00, 0x80), PB_ETRUNC);
	TU_EQ_INT(DECODE(KVM_WATCH_CREATE_REQUEST, &c, 0x2d, 0x00, 0x00, 0x00, 0x00),
		  PB_EWIRETYPE);
	TU_EQ_INT(kvm_decode_watch_create_request(NULL, 0, &c, &msgt_arena), 0);
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
	TU_EQ_INT(kvm_decode_watch_request(NULL, 0, &got, &msgt_arena), 0);
	TU_EQ_INT(got.type, KVM_WATCH_NONE);
	pb_arena_free(&msgt_arena);
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
	pb_arena_free(&msgt_arena);
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
	pb_arena_free(&msgt_arena);
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
	TU_CHECK(mg.n_peer_urls == 2 && mg.peer_urls[0].len == 0 && msgt_beq(mg.peer_urls[1], "y"));
	TU_CHECK(mg.n_client_urls == 1 && msgt_beq(mg.client_urls[0], "x"));
	TU_EQ_INT(DECODE(KVM_MEMBER, &mg, 0x18, 0x01), PB_EWIRETYPE);	/* URL as varint */
	pb_arena_free(&msgt_arena);
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
	pb_arena_free(&msgt_arena);
}

int main(void)
{
	pb_arena_init(&msgt_arena, NULL);
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
	pb_arena_free(&msgt_arena);
	return TU_EXIT();
}
