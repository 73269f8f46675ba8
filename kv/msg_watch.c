/* Codecs of the Watch service's stream messages: WatchRequest (create, cancel, progress)
 * and WatchResponse with its events. */
#include "msg_priv.h"

/* Appends the filters of field f, unpacked (one VARINT) or packed (LEN of varints). */
static int dec_filters(const struct pb_field *f, int32_t *out, size_t *n)
{
	struct pb_field e = {.wt = PB_VARINT};
	struct pb_reader r;
	int rc;

	if (f->wt == PB_VARINT)
		return pb_get_i32(f, &out[(*n)++]);
	if (f->wt != PB_LEN)
		return PB_EWIRETYPE;
	pb_reader_init(&r, f->bytes.p, f->bytes.len);
	while (r.p != r.end) {
		if ((rc = pb_read_varint(&r, &e.v)) < 0 || (rc = pb_get_i32(&e, &out[(*n)++])) < 0)
			return rc;
	}
	return 0;
}

int kvm_dec_watch_create_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_watch_create_request *m = msg;
	size_t n = 0;
	int32_t *filters;
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if ((rc = pb_count_varints(in.p, in.len, 5, &n)) < 0)
		return rc;
	if (!(m->filters = filters = kvm_array(d, n, sizeof(*filters), &rc)) && rc < 0)
		return rc;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_bytes(&f, &m->key); break;
		case 2: rc = pb_get_bytes(&f, &m->range_end); break;
		case 3: rc = pb_get_i64(&f, &m->start_revision); break;
		case 4: rc = pb_get_bool(&f, &m->progress_notify); break;
		case 5: rc = dec_filters(&f, filters, &m->n_filters); break;
		case 6: rc = pb_get_bool(&f, &m->prev_kv); break;
		case 7: rc = pb_get_i64(&f, &m->watch_id); break;
		case 8: rc = pb_get_bool(&f, &m->fragment); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_watch_create_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_watch_create_request *m = msg;

	pb_put_bytes(b, 1, m->key);
	pb_put_bytes(b, 2, m->range_end);
	pb_put_i64(b, 3, m->start_revision);
	pb_put_bool(b, 4, m->progress_notify);
	pb_put_packed_i32(b, 5, m->filters, m->n_filters);
	pb_put_bool(b, 6, m->prev_kv);
	pb_put_i64(b, 7, m->watch_id);
	pb_put_bool(b, 8, m->fragment);
}

int kvm_dec_watch_cancel_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_watch_cancel_request *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num == 1 && (rc = pb_get_i64(&f, &m->watch_id)) < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_watch_cancel_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_watch_cancel_request *m = msg;

	pb_put_i64(b, 1, m->watch_id);
}

static const enum kvm_type watch_types[] = {
	[KVM_WATCH_CREATE] = KVM_WATCH_CREATE_REQUEST,
	[KVM_WATCH_CANCEL] = KVM_WATCH_CANCEL_REQUEST,
	[KVM_WATCH_PROGRESS] = KVM_EMPTY,
};

int kvm_dec_watch_request(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_watch_request *m = msg;

	memset(m, 0, sizeof(*m));
	return kvm_dec_oneof(d, in, &m->type, &m->create, watch_types, KVM_WATCH_PROGRESS);
}

void kvm_emit_watch_request(struct pb_buf *b, const void *msg)
{
	const struct kvm_watch_request *m = msg;
	static const struct kvm_empty progress;

	switch (m->type) {
	case KVM_WATCH_CREATE: pb_put_msg(b, 1, kvm_emit_watch_create_request, &m->create); break;
	case KVM_WATCH_CANCEL: pb_put_msg(b, 2, kvm_emit_watch_cancel_request, &m->cancel); break;
	case KVM_WATCH_PROGRESS: pb_put_msg(b, 3, kvm_emit_empty, &progress); break;
	}
}

int kvm_dec_watch_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_watch_response *m = msg;
	struct kvm_sub hdr = {0};
	size_t counts[12] = {0};
	struct kvm_event *ev;
	struct pb_reader r;
	struct pb_field f;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if ((rc = kvm_count(in, counts, 11)) < 0)
		return rc;
	if (!(m->events = ev = kvm_array(d, counts[11], sizeof(*ev), &rc)) && rc < 0)
		return rc;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = kvm_sub_note(&hdr, &f); break;
		case 2: rc = pb_get_i64(&f, &m->watch_id); break;
		case 3: rc = pb_get_bool(&f, &m->created); break;
		case 4: rc = pb_get_bool(&f, &m->canceled); break;
		case 5: rc = pb_get_i64(&f, &m->compact_revision); break;
		case 6: rc = pb_get_bytes(&f, &m->cancel_reason); break;
		case 7: rc = pb_get_bool(&f, &m->fragment); break;
		case 11: rc = kvm_elem(d, &f, KVM_EVENT, &ev[m->n_events++]); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	return rc;
}

void kvm_emit_watch_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_watch_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
	pb_put_i64(b, 2, m->watch_id);
	pb_put_bool(b, 3, m->created);
	pb_put_bool(b, 4, m->canceled);
	pb_put_i64(b, 5, m->compact_revision);
	pb_put_bytes(b, 6, m->cancel_reason);
	pb_put_bool(b, 7, m->fragment);
	for (size_t i = 0; i < m->n_events; i++)
		pb_put_msg(b, 11, kvm_emit_event, &m->events[i]);
}
