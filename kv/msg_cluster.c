/* Codecs of the Cluster service's messages: Member and the MemberList, MemberAdd,
 * MemberRemove, MemberUpdate and MemberPromote requests and responses. */
#include "msg_priv.h"

int kvm_dec_member(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_member *m = msg;
	size_t counts[5] = {0};
	struct pb_bytes *peer, *client;
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if ((rc = kvm_count(in, counts, 4)) < 0)
		return rc;
	m->peer_urls = peer = kvm_array(d, counts[3], sizeof(*peer), &rc);
	m->client_urls = client = kvm_array(d, counts[4], sizeof(*client), &rc);
	if (rc < 0)
		return rc;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_u64(&f, &m->id); break;
		case 2: rc = pb_get_bytes(&f, &m->name); break;
		case 3: rc = pb_get_bytes(&f, &peer[m->n_peer_urls++]); break;
		case 4: rc = pb_get_bytes(&f, &client[m->n_client_urls++]); break;
		case 5: rc = pb_get_bool(&f, &m->is_learner); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_member(struct pb_buf *b, const void *msg)
{
	const struct kvm_member *m = msg;

	pb_put_u64(b, 1, m->id);
	pb_put_bytes(b, 2, m->name);
	kvm_put_strings(b, 3, m->peer_urls, m->n_peer_urls);
	kvm_put_strings(b, 4, m->client_urls, m->n_client_urls);
	pb_put_bool(b, 5, m->is_learner);
}

int kvm_dec_member_list_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_member_list_request *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num == 1 && (rc = pb_get_bool(&f, &m->linearizable)) < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_member_list_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_member_list_request *m = msg;

	pb_put_bool(b, 1, m->linearizable);
}

/* header = 1, then the member list at field num (and, for MemberAdd, member = 2). */
static int dec_members(struct kvm_dec *d, struct pb_bytes in, uint32_t num,
		       const struct kvm_header **header, const struct kvm_member **member,
		       const struct kvm_member **members, size_t *n_members)
{
	struct kvm_sub hdr = {0}, one = {0};
	size_t counts[4] = {0};
	struct kvm_member *list;
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	if ((rc = kvm_count(in, counts, 3)) < 0)
		return rc;
	if (!(*members = list = kvm_array(d, counts[num], sizeof(*list), &rc)) && rc < 0)
		return rc;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num == 1)
			rc = kvm_sub_note(&hdr, &f);
		else if (f.num == num)
			rc = kvm_elem(d, &f, KVM_MEMBER, &list[(*n_members)++]);
		else if (f.num == 2 && member)
			rc = kvm_sub_note(&one, &f);
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		*header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	if (rc == 0 && member)
		*member = kvm_sub_msg(d, &one, in, 2, KVM_MEMBER, &rc);
	return rc;
}

int kvm_dec_members_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_members_response *m = msg;

	memset(m, 0, sizeof(*m));
	return dec_members(d, in, 2, &m->header, NULL, &m->members, &m->n_members);
}

void kvm_emit_members_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_members_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	for (size_t i = 0; i < m->n_members; i++)
		pb_put_msg(b, 2, kvm_emit_member, &m->members[i]);
}

int kvm_dec_member_add_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_member_add_request *m = msg;
	size_t counts[2] = {0};
	struct pb_bytes *urls;
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if ((rc = kvm_count(in, counts, 1)) < 0)
		return rc;
	if (!(m->peer_urls = urls = kvm_array(d, counts[1], sizeof(*urls), &rc)) && rc < 0)
		return rc;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_bytes(&f, &urls[m->n_peer_urls++]); break;
		case 2: rc = pb_get_bool(&f, &m->is_learner); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_member_add_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_member_add_request *m = msg;

	kvm_put_strings(b, 1, m->peer_urls, m->n_peer_urls);
	pb_put_bool(b, 2, m->is_learner);
}

int kvm_dec_member_add_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_member_add_response *m = msg;

	memset(m, 0, sizeof(*m));
	return dec_members(d, in, 3, &m->header, &m->member, &m->members, &m->n_members);
}

void kvm_emit_member_add_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_member_add_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	kvm_put_opt(b, 2, kvm_emit_member, m->member);
	for (size_t i = 0; i < m->n_members; i++)
		pb_put_msg(b, 3, kvm_emit_member, &m->members[i]);
}

int kvm_dec_member_id_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_member_id_request *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num == 1 && (rc = pb_get_u64(&f, &m->id)) < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_member_id_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_member_id_request *m = msg;

	pb_put_u64(b, 1, m->id);
}

int kvm_dec_member_update_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_member_update_request *m = msg;
	size_t counts[3] = {0};
	struct pb_bytes *urls;
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if ((rc = kvm_count(in, counts, 2)) < 0)
		return rc;
	if (!(m->peer_urls = urls = kvm_array(d, counts[2], sizeof(*urls), &rc)) && rc < 0)
		return rc;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_u64(&f, &m->id); break;
		case 2: rc = pb_get_bytes(&f, &urls[m->n_peer_urls++]); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_member_update_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_member_update_request *m = msg;

	pb_put_u64(b, 1, m->id);
	kvm_put_strings(b, 2, m->peer_urls, m->n_peer_urls);
}
