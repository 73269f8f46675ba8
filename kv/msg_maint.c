/* Codecs of the Maintenance service's messages: Status, Alarm, HashKV, Snapshot and
 * MoveLeader (Defragment and the empty requests use the shared messages of msg.c). */
#include "msg_priv.h"

int kvm_dec_status_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_status_response *m = msg;
	struct kvm_sub hdr = {0};
	size_t counts[9] = {0};
	struct pb_bytes *errors;
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if ((rc = kvm_count(in, counts, 8)) < 0)
		return rc;
	if (!(m->errors = errors = kvm_array(d, counts[8], sizeof(*errors), &rc)) && rc < 0)
		return rc;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = kvm_sub_note(&hdr, &f); break;
		case 2: rc = pb_get_bytes(&f, &m->version); break;
		case 3: rc = pb_get_i64(&f, &m->db_size); break;
		case 4: rc = pb_get_u64(&f, &m->leader); break;
		case 5: rc = pb_get_u64(&f, &m->raft_index); break;
		case 6: rc = pb_get_u64(&f, &m->raft_term); break;
		case 7: rc = pb_get_u64(&f, &m->raft_applied_index); break;
		case 8: rc = pb_get_bytes(&f, &errors[m->n_errors++]); break;
		case 9: rc = pb_get_i64(&f, &m->db_size_in_use); break;
		case 10: rc = pb_get_bool(&f, &m->is_learner); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	return rc;
}

void kvm_emit_status_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_status_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	pb_put_bytes(b, 2, m->version);
	pb_put_i64(b, 3, m->db_size);
	pb_put_u64(b, 4, m->leader);
	pb_put_u64(b, 5, m->raft_index);
	pb_put_u64(b, 6, m->raft_term);
	pb_put_u64(b, 7, m->raft_applied_index);
	kvm_put_strings(b, 8, m->errors, m->n_errors);
	pb_put_i64(b, 9, m->db_size_in_use);
	pb_put_bool(b, 10, m->is_learner);
}

int kvm_dec_alarm_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_alarm_request *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_i32(&f, &m->action); break;
		case 2: rc = pb_get_u64(&f, &m->member_id); break;
		case 3: rc = pb_get_i32(&f, &m->alarm); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_alarm_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_alarm_request *m = msg;

	pb_put_i32(b, 1, m->action);
	pb_put_u64(b, 2, m->member_id);
	pb_put_i32(b, 3, m->alarm);
}

int kvm_dec_alarm_member(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_alarm_member *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_u64(&f, &m->member_id); break;
		case 2: rc = pb_get_i32(&f, &m->alarm); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_alarm_member(struct pb_buf *b, const void *msg)
{
	const struct kvm_alarm_member *m = msg;

	pb_put_u64(b, 1, m->member_id);
	pb_put_i32(b, 2, m->alarm);
}

int kvm_dec_alarm_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_alarm_response *m = msg;
	struct kvm_sub hdr = {0};
	size_t counts[3] = {0};
	struct kvm_alarm_member *alarms;
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if ((rc = kvm_count(in, counts, 2)) < 0)
		return rc;
	if (!(m->alarms = alarms = kvm_array(d, counts[2], sizeof(*alarms), &rc)) && rc < 0)
		return rc;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = kvm_sub_note(&hdr, &f); break;
		case 2: rc = kvm_elem(d, &f, KVM_ALARM_MEMBER, &alarms[m->n_alarms++]); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	return rc;
}

void kvm_emit_alarm_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_alarm_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	for (size_t i = 0; i < m->n_alarms; i++)
		pb_put_msg(b, 2, kvm_emit_alarm_member, &m->alarms[i]);
}

int kvm_dec_hash_kv_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_hash_kv_request *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num == 1 && (rc = pb_get_i64(&f, &m->revision)) < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_hash_kv_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_hash_kv_request *m = msg;

	pb_put_i64(b, 1, m->revision);
}

int kvm_dec_hash_kv_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_hash_kv_response *m = msg;
	struct kvm_sub hdr = {0};
	struct pb_reader r;
	struct pb_field f;
	int rc;

	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = kvm_sub_note(&hdr, &f); break;
		case 2: rc = pb_get_u32(&f, &m->hash); break;
		case 3: rc = pb_get_i64(&f, &m->compact_revision); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	return rc;
}

void kvm_emit_hash_kv_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_hash_kv_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	pb_put_u64(b, 2, m->hash);
	pb_put_i64(b, 3, m->compact_revision);
}

int kvm_dec_snapshot_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_snapshot_response *m = msg;
	struct kvm_sub hdr = {0};
	struct pb_reader r;
	struct pb_field f;
	int rc;

	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = kvm_sub_note(&hdr, &f); break;
		case 2: rc = pb_get_u64(&f, &m->remaining_bytes); break;
		case 3: rc = pb_get_bytes(&f, &m->blob); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	return rc;
}

void kvm_emit_snapshot_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_snapshot_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	pb_put_u64(b, 2, m->remaining_bytes);
	pb_put_bytes(b, 3, m->blob);
}

int kvm_dec_move_leader_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_move_leader_request *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num == 1 && (rc = pb_get_u64(&f, &m->target_id)) < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_move_leader_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_move_leader_request *m = msg;

	pb_put_u64(b, 1, m->target_id);
}
