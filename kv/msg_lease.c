/* Codecs of the Lease service's messages: Grant, Revoke, KeepAlive (a stream of the same
 * request and response), TimeToLive and Leases. */
#include "msg_priv.h"

int kvm_dec_lease_grant_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_lease_grant_request *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_i64(&f, &m->ttl); break;
		case 2: rc = pb_get_i64(&f, &m->id); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_lease_grant_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_lease_grant_request *m = msg;

	pb_put_i64(b, 1, m->ttl);
	pb_put_i64(b, 2, m->id);
}

int kvm_dec_lease_grant_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_lease_grant_response *m = msg;
	struct kvm_sub hdr = {0};
	struct pb_reader r;
	struct pb_field f;
	int rc;

	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = kvm_sub_note(&hdr, &f); break;
		case 2: rc = pb_get_i64(&f, &m->id); break;
		case 3: rc = pb_get_i64(&f, &m->ttl); break;
		case 4: rc = pb_get_bytes(&f, &m->error); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	return rc;
}

void kvm_emit_lease_grant_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_lease_grant_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	pb_put_i64(b, 2, m->id);
	pb_put_i64(b, 3, m->ttl);
	pb_put_bytes(b, 4, m->error);
}

int kvm_dec_lease_id_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_lease_id_request *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num == 1 && (rc = pb_get_i64(&f, &m->id)) < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_lease_id_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_lease_id_request *m = msg;

	pb_put_i64(b, 1, m->id);
}

int kvm_dec_lease_keepalive_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_lease_keepalive_response *m = msg;
	struct kvm_sub hdr = {0};
	struct pb_reader r;
	struct pb_field f;
	int rc;

	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = kvm_sub_note(&hdr, &f); break;
		case 2: rc = pb_get_i64(&f, &m->id); break;
		case 3: rc = pb_get_i64(&f, &m->ttl); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	return rc;
}

void kvm_emit_lease_keepalive_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_lease_keepalive_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	pb_put_i64(b, 2, m->id);
	pb_put_i64(b, 3, m->ttl);
}

int kvm_dec_lease_ttl_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_lease_ttl_request *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_i64(&f, &m->id); break;
		case 2: rc = pb_get_bool(&f, &m->keys); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_lease_ttl_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_lease_ttl_request *m = msg;

	pb_put_i64(b, 1, m->id);
	pb_put_bool(b, 2, m->keys);
}

int kvm_dec_lease_ttl_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_lease_ttl_response *m = msg;
	struct kvm_sub hdr = {0};
	size_t counts[6] = {0};
	struct pb_bytes *keys;
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if ((rc = kvm_count(in, counts, 5)) < 0)
		return rc;
	if (!(m->keys = keys = kvm_array(d, counts[5], sizeof(*keys), &rc)) && rc < 0)
		return rc;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = kvm_sub_note(&hdr, &f); break;
		case 2: rc = pb_get_i64(&f, &m->id); break;
		case 3: rc = pb_get_i64(&f, &m->ttl); break;
		case 4: rc = pb_get_i64(&f, &m->granted_ttl); break;
		case 5: rc = pb_get_bytes(&f, &keys[m->n_keys++]); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	return rc;
}

void kvm_emit_lease_ttl_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_lease_ttl_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	pb_put_i64(b, 2, m->id);
	pb_put_i64(b, 3, m->ttl);
	pb_put_i64(b, 4, m->granted_ttl);
	kvm_put_strings(b, 5, m->keys, m->n_keys);
}

/* LeaseStatus: ID = 1. */
static int dec_lease_status(const struct pb_field *outer, int64_t *id)
{
	struct pb_reader r;
	struct pb_field f;
	int rc;

	if (outer->wt != PB_LEN)
		return PB_EWIRETYPE;
	*id = 0;
	pb_reader_init(&r, outer->bytes.p, outer->bytes.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num == 1 && (rc = pb_get_i64(&f, id)) < 0)
			return rc;
	}
	return rc;
}

static void emit_lease_status(struct pb_buf *b, const void *msg)
{
	pb_put_i64(b, 1, *(const int64_t *)msg);
}

int kvm_dec_lease_leases_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_lease_leases_response *m = msg;
	struct kvm_sub hdr = {0};
	size_t counts[3] = {0};
	int64_t *ids;
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if ((rc = kvm_count(in, counts, 2)) < 0)
		return rc;
	if (!(m->leases = ids = kvm_array(d, counts[2], sizeof(*ids), &rc)) && rc < 0)
		return rc;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = kvm_sub_note(&hdr, &f); break;
		case 2: rc = dec_lease_status(&f, &ids[m->n_leases++]); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	return rc;
}

void kvm_emit_lease_leases_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_lease_leases_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	for (size_t i = 0; i < m->n_leases; i++)
		pb_put_msg(b, 2, emit_lease_status, &m->leases[i]);
}
