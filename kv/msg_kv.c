/* Codecs of the KV service's messages: Range, Put, DeleteRange, Txn (with Compare and the
 * RequestOp/ResponseOp oneofs, which nest Txns recursively up to KVM_TXN_DEPTH_MAX) and
 * Compact. */
#include "msg_priv.h"

int kvm_dec_range_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_range_request *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_bytes(&f, &m->key); break;
		case 2: rc = pb_get_bytes(&f, &m->range_end); break;
		case 3: rc = pb_get_i64(&f, &m->limit); break;
		case 4: rc = pb_get_i64(&f, &m->revision); break;
		case 5: rc = pb_get_i32(&f, &m->sort_order); break;
		case 6: rc = pb_get_i32(&f, &m->sort_target); break;
		case 7: rc = pb_get_bool(&f, &m->serializable); break;
		case 8: rc = pb_get_bool(&f, &m->keys_only); break;
		case 9: rc = pb_get_bool(&f, &m->count_only); break;
		case 10: rc = pb_get_i64(&f, &m->min_mod_revision); break;
		case 11: rc = pb_get_i64(&f, &m->max_mod_revision); break;
		case 12: rc = pb_get_i64(&f, &m->min_create_revision); break;
		case 13: rc = pb_get_i64(&f, &m->max_create_revision); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_range_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_range_request *m = msg;

	pb_put_bytes(b, 1, m->key);
	pb_put_bytes(b, 2, m->range_end);
	pb_put_i64(b, 3, m->limit);
	pb_put_i64(b, 4, m->revision);
	pb_put_i32(b, 5, m->sort_order);
	pb_put_i32(b, 6, m->sort_target);
	pb_put_bool(b, 7, m->serializable);
	pb_put_bool(b, 8, m->keys_only);
	pb_put_bool(b, 9, m->count_only);
	pb_put_i64(b, 10, m->min_mod_revision);
	pb_put_i64(b, 11, m->max_mod_revision);
	pb_put_i64(b, 12, m->min_create_revision);
	pb_put_i64(b, 13, m->max_create_revision);
}

int kvm_dec_range_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_range_response *m = msg;
	struct kvm_sub hdr = {0};
	size_t counts[3] = {0};
	struct kvm_kv *kvs;
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if ((rc = kvm_count(in, counts, 2)) < 0)
		return rc;
	if (!(m->kvs = kvs = kvm_array(d, counts[2], sizeof(*kvs), &rc)) && rc < 0)
		return rc;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = kvm_sub_note(&hdr, &f); break;
		case 2: rc = kvm_elem(d, &f, KVM_KV, &kvs[m->n_kvs++]); break;
		case 3: rc = pb_get_bool(&f, &m->more); break;
		case 4: rc = pb_get_i64(&f, &m->count); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	return rc;
}

void kvm_emit_range_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_range_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	for (size_t i = 0; i < m->n_kvs; i++)
		pb_put_msg(b, 2, kvm_emit_kv, &m->kvs[i]);
	pb_put_bool(b, 3, m->more);
	pb_put_i64(b, 4, m->count);
}

int kvm_dec_put_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_put_request *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_bytes(&f, &m->key); break;
		case 2: rc = pb_get_bytes(&f, &m->value); break;
		case 3: rc = pb_get_i64(&f, &m->lease); break;
		case 4: rc = pb_get_bool(&f, &m->prev_kv); break;
		case 5: rc = pb_get_bool(&f, &m->ignore_value); break;
		case 6: rc = pb_get_bool(&f, &m->ignore_lease); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_put_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_put_request *m = msg;

	pb_put_bytes(b, 1, m->key);
	pb_put_bytes(b, 2, m->value);
	pb_put_i64(b, 3, m->lease);
	pb_put_bool(b, 4, m->prev_kv);
	pb_put_bool(b, 5, m->ignore_value);
	pb_put_bool(b, 6, m->ignore_lease);
}

int kvm_dec_put_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_put_response *m = msg;
	struct kvm_sub hdr = {0}, prev = {0};
	struct pb_reader r;
	struct pb_field f;
	int rc;

	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = kvm_sub_note(&hdr, &f); break;
		case 2: rc = kvm_sub_note(&prev, &f); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	if (rc == 0)
		m->prev_kv = kvm_sub_msg(d, &prev, in, 2, KVM_KV, &rc);
	return rc;
}

void kvm_emit_put_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_put_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	kvm_put_opt(b, 2, kvm_emit_kv, m->prev_kv);
}

int kvm_dec_delete_range_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_delete_range_request *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_bytes(&f, &m->key); break;
		case 2: rc = pb_get_bytes(&f, &m->range_end); break;
		case 3: rc = pb_get_bool(&f, &m->prev_kv); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_delete_range_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_delete_range_request *m = msg;

	pb_put_bytes(b, 1, m->key);
	pb_put_bytes(b, 2, m->range_end);
	pb_put_bool(b, 3, m->prev_kv);
}

int kvm_dec_delete_range_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_delete_range_response *m = msg;
	struct kvm_sub hdr = {0};
	size_t counts[4] = {0};
	struct kvm_kv *kvs;
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if ((rc = kvm_count(in, counts, 3)) < 0)
		return rc;
	if (!(m->prev_kvs = kvs = kvm_array(d, counts[3], sizeof(*kvs), &rc)) && rc < 0)
		return rc;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = kvm_sub_note(&hdr, &f); break;
		case 2: rc = pb_get_i64(&f, &m->deleted); break;
		case 3: rc = kvm_elem(d, &f, KVM_KV, &kvs[m->n_prev_kvs++]); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	return rc;
}

void kvm_emit_delete_range_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_delete_range_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	pb_put_i64(b, 2, m->deleted);
	for (size_t i = 0; i < m->n_prev_kvs; i++)
		pb_put_msg(b, 3, kvm_emit_kv, &m->prev_kvs[i]);
}

/* A member of Compare.target_union: the last one set wins and clears the others. */
static int compare_union(struct kvm_compare *m, const struct pb_field *f)
{
	int64_t *slot[] = {[KVM_CMP_VERSION] = &m->version,
			   [KVM_CMP_CREATE_REVISION] = &m->create_revision,
			   [KVM_CMP_MOD_REVISION] = &m->mod_revision,
			   [KVM_CMP_LEASE] = &m->lease};

	m->version = m->create_revision = m->mod_revision = m->lease = 0;
	m->value = (struct pb_bytes){NULL, 0};
	m->which = f->num;
	if (f->num == KVM_CMP_VALUE)
		return pb_get_bytes(f, &m->value);
	return pb_get_i64(f, slot[f->num]);
}

int kvm_dec_compare(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_compare *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_i32(&f, &m->result); break;
		case 2: rc = pb_get_i32(&f, &m->target); break;
		case 3: rc = pb_get_bytes(&f, &m->key); break;
		case 4: case 5: case 6: case 7: case 8: rc = compare_union(m, &f); break;
		case 64: rc = pb_get_bytes(&f, &m->range_end); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_compare(struct pb_buf *b, const void *msg)
{
	const struct kvm_compare *m = msg;

	pb_put_i32(b, 1, m->result);
	pb_put_i32(b, 2, m->target);
	pb_put_bytes(b, 3, m->key);
	switch (m->which) {
	case KVM_CMP_VERSION: pb_put_varint_field(b, 4, (uint64_t)m->version); break;
	case KVM_CMP_CREATE_REVISION:
		pb_put_varint_field(b, 5, (uint64_t)m->create_revision);
		break;
	case KVM_CMP_MOD_REVISION: pb_put_varint_field(b, 6, (uint64_t)m->mod_revision); break;
	case KVM_CMP_VALUE: pb_put_bytes_field(b, 7, m->value); break;
	case KVM_CMP_LEASE: pb_put_varint_field(b, 8, (uint64_t)m->lease); break;
	}
	pb_put_bytes(b, 64, m->range_end);
}

/* The types of the RequestOp and ResponseOp members, by field number. */
static const enum kvm_type request_types[] = {
	[KVM_OP_RANGE] = KVM_RANGE_REQUEST, [KVM_OP_PUT] = KVM_PUT_REQUEST,
	[KVM_OP_DELETE_RANGE] = KVM_DELETE_RANGE_REQUEST, [KVM_OP_TXN] = KVM_TXN_REQUEST,
};
static const enum kvm_type response_types[] = {
	[KVM_OP_RANGE] = KVM_RANGE_RESPONSE, [KVM_OP_PUT] = KVM_PUT_RESPONSE,
	[KVM_OP_DELETE_RANGE] = KVM_DELETE_RANGE_RESPONSE, [KVM_OP_TXN] = KVM_TXN_RESPONSE,
};

int kvm_dec_request_op(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_request_op *m = msg;

	memset(m, 0, sizeof(*m));
	return kvm_dec_oneof(d, in, &m->type, &m->range, request_types, KVM_OP_TXN);
}

void kvm_emit_request_op(struct pb_buf *b, const void *msg)
{
	const struct kvm_request_op *m = msg;

	switch (m->type) {
	case KVM_OP_RANGE: pb_put_msg(b, 1, kvm_emit_range_request, &m->range); break;
	case KVM_OP_PUT: pb_put_msg(b, 2, kvm_emit_put_request, &m->put); break;
	case KVM_OP_DELETE_RANGE:
		pb_put_msg(b, 3, kvm_emit_delete_range_request, &m->delete_range);
		break;
	case KVM_OP_TXN: pb_put_msg(b, 4, kvm_emit_txn_request, &m->txn); break;
	}
}

int kvm_dec_response_op(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_response_op *m = msg;

	memset(m, 0, sizeof(*m));
	return kvm_dec_oneof(d, in, &m->type, &m->range, response_types, KVM_OP_TXN);
}

void kvm_emit_response_op(struct pb_buf *b, const void *msg)
{
	const struct kvm_response_op *m = msg;

	switch (m->type) {
	case KVM_OP_RANGE: pb_put_msg(b, 1, kvm_emit_range_response, &m->range); break;
	case KVM_OP_PUT: pb_put_msg(b, 2, kvm_emit_put_response, &m->put); break;
	case KVM_OP_DELETE_RANGE:
		pb_put_msg(b, 3, kvm_emit_delete_range_response, &m->delete_range);
		break;
	case KVM_OP_TXN: pb_put_msg(b, 4, kvm_emit_txn_response, &m->txn); break;
	}
}

/* Counts n more compares and ops against KVM_TXN_OPS_MAX. */
static int txn_ops(struct kvm_dec *d, size_t n)
{
	if (n > KVM_TXN_OPS_MAX - d->txn_ops)
		return PB_ELIMIT;
	d->txn_ops += n;
	return 0;
}

/* Runs a Txn decoder one level deeper, within KVM_TXN_DEPTH_MAX. */
static int txn_level(struct kvm_dec *d, struct pb_bytes in, void *m,
		     int (*dec)(struct kvm_dec *, struct pb_bytes, void *))
{
	int rc;

	if (d->txn_depth >= KVM_TXN_DEPTH_MAX)
		return PB_EDEPTH;
	d->txn_depth++;
	rc = dec(d, in, m);
	d->txn_depth--;
	return rc;
}

static int dec_txn_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_txn_request *m = msg;
	struct kvm_compare *cmp;
	struct kvm_request_op *ops[4] = {NULL};
	size_t counts[4] = {0}, n[4] = {0};
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	if ((rc = kvm_count(in, counts, 3)) < 0 ||
	    (rc = txn_ops(d, counts[1] + counts[2] + counts[3])) < 0)
		return rc;
	m->compare = cmp = kvm_array(d, counts[1], sizeof(*cmp), &rc);
	for (int i = 2; i <= 3; i++)
		ops[i] = kvm_array(d, counts[i], sizeof(*ops[i]), &rc);
	if (rc < 0)
		return rc;
	m->success = ops[2];
	m->failure = ops[3];
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num == 1)
			rc = kvm_elem(d, &f, KVM_COMPARE, &cmp[n[1]++]);
		else if (f.num == 2 || f.num == 3)
			rc = kvm_elem(d, &f, KVM_REQUEST_OP, &ops[f.num][n[f.num]++]);
		if (rc < 0)
			return rc;
	}
	m->n_compare = n[1];
	m->n_success = n[2];
	m->n_failure = n[3];
	return rc;
}

int kvm_dec_txn_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	memset(msg, 0, sizeof(struct kvm_txn_request));
	return txn_level(d, in, msg, dec_txn_request);
}

void kvm_emit_txn_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_txn_request *m = msg;

	for (size_t i = 0; i < m->n_compare; i++)
		pb_put_msg(b, 1, kvm_emit_compare, &m->compare[i]);
	for (size_t i = 0; i < m->n_success; i++)
		pb_put_msg(b, 2, kvm_emit_request_op, &m->success[i]);
	for (size_t i = 0; i < m->n_failure; i++)
		pb_put_msg(b, 3, kvm_emit_request_op, &m->failure[i]);
}

static int dec_txn_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_txn_response *m = msg;
	struct kvm_sub hdr = {0};
	struct kvm_response_op *ops;
	size_t counts[4] = {0};
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	if ((rc = kvm_count(in, counts, 3)) < 0 || (rc = txn_ops(d, counts[3])) < 0)
		return rc;
	if (!(m->responses = ops = kvm_array(d, counts[3], sizeof(*ops), &rc)) && rc < 0)
		return rc;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = kvm_sub_note(&hdr, &f); break;
		case 2: rc = pb_get_bool(&f, &m->succeeded); break;
		case 3: rc = kvm_elem(d, &f, KVM_RESPONSE_OP, &ops[m->n_responses++]); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	return rc;
}

int kvm_dec_txn_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	memset(msg, 0, sizeof(struct kvm_txn_response));
	return txn_level(d, in, msg, dec_txn_response);
}

void kvm_emit_txn_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_txn_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	pb_put_bool(b, 2, m->succeeded);
	for (size_t i = 0; i < m->n_responses; i++)
		pb_put_msg(b, 3, kvm_emit_response_op, &m->responses[i]);
}

int kvm_dec_compaction_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_compaction_request *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_i64(&f, &m->revision); break;
		case 2: rc = pb_get_bool(&f, &m->physical); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_compaction_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_compaction_request *m = msg;

	pb_put_i64(b, 1, m->revision);
	pb_put_bool(b, 2, m->physical);
}
