/* The etcd message codecs against proto3's rules, across messages: the last value of a
 * field wins, unknown fields are skipped, wrong wire types refused, embedded messages merge
 * and repeated fields append, errors inside nested messages, every message type decoding
 * its own encoding, and failing the Nth allocation. Message by message: msg_test.c. */
#include <errno.h>

#include "../../../kv/msg.h"
#include "../testutil.h"
#include "msgtest.h"
#include "pbtest.h"


/* ---- proto3 rules ---------------------------------------------------------------------- */

static void test_last_wins_and_unknown(void)
{
	struct kvm_put_request p;

	TU_EQ_INT(DECODE(KVM_PUT_REQUEST, &p, 0x0a, 0x01, 'a', 0x18, 0x05, 0x0a, 0x01, 'b',
			 0x18, 0x00, 0x20, 0x01, 0x20, 0x00), 0);
	TU_CHECK(msgt_beq(p.key, "b") && p.lease == 0 && !p.prev_kv);

	/* Unknown fields of every wire type, before, between and after known ones. */
	TU_EQ_INT(DECODE(KVM_PUT_REQUEST, &p, 0x78, 0x01,		/* 15 VARINT */
			 0x0a, 0x01, 'k',
			 0x81, 0x01, 1, 2, 3, 4, 5, 6, 7, 8,		/* 16 I64 */
			 0x8a, 0x01, 0x02, 0x0b, 0x0c,			/* 17 LEN (group inside) */
			 0x95, 0x01, 1, 2, 3, 4,			/* 18 I32 */
			 0x12, 0x01, 'v',
			 0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00), 0);	/* PB_FIELD_MAX */
	TU_CHECK(msgt_beq(p.key, "k") && msgt_beq(p.value, "v"));
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
	pb_arena_free(&msgt_arena);
}

static void test_merge(void)
{
	/* A singular embedded message twice: merged field by field, in the msgt_arena. */
	const uint8_t two_headers[] = {0x0a, 0x04, 0x08, 0x01, 0x18, 0x05,
				       0x0a, 0x04, 0x10, 0x02, 0x18, 0x06};
	struct kvm_range_response r;
	TU_EQ_INT(kvm_decode_range_response(two_headers, sizeof(two_headers), &r, &msgt_arena), 0);
	TU_CHECK(r.header && r.header->cluster_id == 1 && r.header->member_id == 2 &&
		 r.header->revision == 6);

	/* Bytes of a merged message live in the msgt_arena, not in the input. */
	struct kvm_put_response pr;
	uint8_t in[] = {0x12, 0x03, 0x0a, 0x01, 'a', 0x12, 0x03, 0x2a, 0x01, 'v'};
	TU_EQ_INT(kvm_decode_put_response(in, sizeof(in), &pr, &msgt_arena), 0);
	TU_CHECK(pr.prev_kv && msgt_beq(pr.prev_kv->key, "a") && msgt_beq(pr.prev_kv->value, "v"));
	TU_CHECK(pr.prev_kv->key.p < in || pr.prev_kv->key.p >= in + sizeof(in));

	/* The same oneof member twice merges; repeated fields inside it append. */
	struct kvm_request_op op;
	TU_EQ_INT(DECODE(KVM_REQUEST_OP, &op, 0x12, 0x03, 0x0a, 0x01, 'a',
			 0x12, 0x03, 0x12, 0x01, 'b'), 0);
	TU_CHECK(op.type == KVM_OP_PUT && msgt_beq(op.put.key, "a") && msgt_beq(op.put.value, "b"));
	TU_EQ_INT(DECODE(KVM_REQUEST_OP, &op, 0x22, 0x02, 0x0a, 0x00, 0x22, 0x04, 0x0a, 0x00,
			 0x12, 0x00), 0);
	TU_CHECK(op.type == KVM_OP_TXN && op.txn.n_compare == 2 && op.txn.n_success == 1);
	/* Another member in between starts over. */
	TU_EQ_INT(DECODE(KVM_REQUEST_OP, &op, 0x12, 0x03, 0x0a, 0x01, 'a', 0x0a, 0x03, 0x0a,
			 0x01, 'r', 0x12, 0x03, 0x12, 0x01, 'b'), 0);
	TU_CHECK(op.type == KVM_OP_PUT && op.put.key.len == 0 && msgt_beq(op.put.value, "b"));
	TU_EQ_INT(DECODE(KVM_REQUEST_OP, &op, 0x12, 0x03, 0x0a, 0x01, 'a', 0x0a, 0x03, 0x0a,
			 0x01, 'r'), 0);
	TU_CHECK(op.type == KVM_OP_RANGE && msgt_beq(op.range.key, "r"));
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
	TU_CHECK(w.type == KVM_WATCH_CREATE && msgt_beq(w.create.key, "k") &&
		 w.create.n_filters == 2 && w.create.filters[0] == 1 && w.create.filters[1] == 0);
	pb_arena_free(&msgt_arena);
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
		int rc = kvm_decode_txn_request(full, n, &t, &msgt_arena);
		if (rc == 0)
			ok++;
		else
			TU_CHECK(rc == PB_ELEN || rc == PB_ETRUNC);
	}
	TU_EQ_INT(ok, 3);		/* the empty prefix and the two field boundaries */
	pb_arena_free(&msgt_arena);
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
		TU_EQ_INT(kvm_decode(t, NULL, 0, out, &msgt_arena), 0);
		TU_EQ_INT(memcmp(out, zero, kvm_type_size(t)), 0);
		/* Unknown fields are skipped by every type; bad wire format is refused. */
		TU_EQ_INT(kvm_decode(t, (const uint8_t[]){0xf8, 0x07, 0x01}, 3, out, &msgt_arena), 0);
		TU_EQ_INT(kvm_decode(t, (const uint8_t[]){0x0b}, 1, out, &msgt_arena), PB_EWIRETYPE);
		TU_EQ_INT(kvm_decode(t, (const uint8_t[]){0x80}, 1, out, &msgt_arena), PB_ETRUNC);
	}
	TU_CHECK(kvm_type_name(KVM_TYPES) == NULL && kvm_type_name(-1) == NULL);
	TU_EQ_INT(kvm_type_size(KVM_TYPES), 0);
	TU_EQ_STR(kvm_type_name(KVM_PUT_REQUEST), "put_request");
	TU_EQ_INT(kvm_encode(&b, KVM_TYPES, zero), PB_EFIELD);
	TU_EQ_INT(kvm_decode(KVM_TYPES, NULL, 0, out, &msgt_arena), PB_EFIELD);
	pb_buf_free(&b);
	pb_arena_free(&msgt_arena);
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

	/* An msgt_arena limit bounds what one request may allocate. */
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
	pb_arena_init(&msgt_arena, NULL);
	TU_RUN(test_last_wins_and_unknown);
	TU_RUN(test_wrong_wire_type);
	TU_RUN(test_merge);
	TU_RUN(test_nested_errors);
	TU_RUN(test_every_type);
	TU_RUN(test_alloc_failures);
	pb_arena_free(&msgt_arena);
	return TU_EXIT();
}
