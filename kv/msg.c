/* The etcd message codecs' entry points and shared machinery: the per-type table,
 * merging of repeated embedded messages, and the messages every service uses
 * (ResponseHeader, KeyValue, Event, header-only responses, empty requests). */
#include <errno.h>
#include <string.h>

#include "msg_priv.h"

struct kvm_codec {
	const char *name;
	size_t size;
	kvm_dec_fn dec;
	pb_emit_fn emit;
};

#define KVM_ROW(id, name, type) [id] = {#name, sizeof(struct type), kvm_dec_##name, \
					kvm_emit_##name},
static const struct kvm_codec codecs[KVM_TYPES] = {KVM_MESSAGES(KVM_ROW)};
#undef KVM_ROW

static const struct kvm_codec *codec(enum kvm_type t)
{
	return (unsigned)t < KVM_TYPES ? &codecs[t] : NULL;
}

const char *kvm_type_name(enum kvm_type t)
{
	return codec(t) ? codec(t)->name : NULL;
}

size_t kvm_type_size(enum kvm_type t)
{
	return codec(t) ? codec(t)->size : 0;
}

int kvm_dec_type(struct kvm_dec *d, enum kvm_type t, struct pb_bytes in, void *msg)
{
	return codecs[t].dec(d, in, msg);
}

int kvm_decode(enum kvm_type t, const uint8_t *buf, size_t len, void *msg,
	       struct pb_arena *a)
{
	struct kvm_dec d = {.a = a};

	if (!codec(t))
		return PB_EFIELD;
	return kvm_dec_type(&d, t, (struct pb_bytes){buf, len}, msg);
}

int kvm_encode(struct pb_buf *b, enum kvm_type t, const void *msg)
{
	if (!codec(t))
		return PB_EFIELD;
	return pb_encode(b, codecs[t].emit, msg);
}

/* ---- merging and counting ------------------------------------------------------------- */

int kvm_sub_note(struct kvm_sub *s, const struct pb_field *f)
{
	if (f->wt != PB_LEN)
		return PB_EWIRETYPE;
	if (!s->n++)
		s->from = f->at;
	s->last = f->bytes;
	s->total += f->bytes.len;
	return 0;
}

/* Each occurrence must be well-formed by itself, as protobuf parses them one by one: a
 * field may not start in one and end in the next. */
static int part_valid(struct pb_bytes part)
{
	struct pb_reader r;
	struct pb_field f;
	int rc;

	pb_reader_init(&r, part.p, part.len);
	while ((rc = pb_next(&r, &f)) > 0)
		;
	return rc;
}

int kvm_sub_bytes(struct kvm_dec *d, const struct kvm_sub *s, struct pb_bytes in,
		  uint32_t num, struct pb_bytes *out)
{
	struct pb_reader r;
	struct pb_field f;
	uint8_t *cat;
	size_t n = 0;
	int rc;

	if (s->n <= 1 || s->total == 0) {
		*out = s->last;
		return 0;
	}
	if (!(cat = pb_arena_alloc(d->a, s->total)))
		return -ENOMEM;
	/* Every field from s->from on was read once already. Only occurrences of num are
	 * there to gather; another member of its oneof would have restarted s. */
	pb_reader_init(&r, s->from, (size_t)(in.p + in.len - s->from));
	while (pb_next(&r, &f) > 0) {
		if (f.num != num || f.wt != PB_LEN || f.bytes.len > s->total - n)
			continue;
		if ((rc = part_valid(f.bytes)) < 0)
			return rc;
		memcpy(cat + n, f.bytes.p, f.bytes.len);
		n += f.bytes.len;
	}
	*out = (struct pb_bytes){cat, n};
	return 0;
}

void *kvm_sub_msg(struct kvm_dec *d, const struct kvm_sub *s, struct pb_bytes in,
		  uint32_t num, enum kvm_type t, int *rc)
{
	struct pb_bytes bytes;
	void *m;

	if (!s->n)
		return NULL;
	if ((*rc = kvm_sub_bytes(d, s, in, num, &bytes)) < 0)
		return NULL;
	if (!(m = pb_arena_alloc(d->a, codecs[t].size))) {
		*rc = -ENOMEM;
		return NULL;
	}
	if ((*rc = kvm_dec_type(d, t, bytes, m)) < 0)
		return NULL;
	return m;
}

int kvm_dec_oneof(struct kvm_dec *d, struct pb_bytes in, uint32_t *which, void *member,
		  const enum kvm_type *types, uint32_t max)
{
	struct kvm_sub u = {0};
	struct pb_bytes bytes;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	*which = 0;
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num < 1 || f.num > max)
			continue;
		if (f.num != *which)
			u = (struct kvm_sub){0};
		*which = f.num;
		if ((rc = kvm_sub_note(&u, &f)) < 0)
			return rc;
	}
	if (rc < 0 || !*which)
		return rc;
	if ((rc = kvm_sub_bytes(d, &u, in, *which, &bytes)) < 0)
		return rc;
	return kvm_dec_type(d, types[*which], bytes, member);
}

int kvm_count(struct pb_bytes in, size_t *counts, uint32_t max)
{
	struct pb_reader r;
	struct pb_field f;
	int rc;

	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num <= max)
			counts[f.num]++;
	}
	return rc;
}

/* ---- shared messages ------------------------------------------------------------------ */

int kvm_dec_empty(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(msg, 0, sizeof(struct kvm_empty));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0)
		;
	return rc;
}

void kvm_emit_empty(struct pb_buf *b, const void *msg)
{
	(void)b, (void)msg;
}

int kvm_dec_header(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_header *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_u64(&f, &m->cluster_id); break;
		case 2: rc = pb_get_u64(&f, &m->member_id); break;
		case 3: rc = pb_get_i64(&f, &m->revision); break;
		case 4: rc = pb_get_u64(&f, &m->raft_term); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_header(struct pb_buf *b, const void *msg)
{
	const struct kvm_header *m = msg;

	pb_put_u64(b, 1, m->cluster_id);
	pb_put_u64(b, 2, m->member_id);
	pb_put_i64(b, 3, m->revision);
	pb_put_u64(b, 4, m->raft_term);
}

int kvm_dec_header_response(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_header_response *m = msg;
	struct kvm_sub hdr = {0};
	struct pb_reader r;
	struct pb_field f;
	int rc;

	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		if (f.num == 1 && (rc = kvm_sub_note(&hdr, &f)) < 0)
			return rc;
	}
	if (rc == 0)
		m->header = kvm_sub_msg(d, &hdr, in, 1, KVM_HEADER, &rc);
	return rc;
}

void kvm_emit_header_response(struct pb_buf *b, const void *msg)
{
	const struct kvm_header_response *m = msg;

	kvm_put_opt(b, 1, kvm_emit_header, m->header);
}

int kvm_dec_kv(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_kv *m = msg;
	struct pb_reader r;
	struct pb_field f;
	int rc;

	(void)d;
	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_bytes(&f, &m->key); break;
		case 2: rc = pb_get_i64(&f, &m->create_revision); break;
		case 3: rc = pb_get_i64(&f, &m->mod_revision); break;
		case 4: rc = pb_get_i64(&f, &m->version); break;
		case 5: rc = pb_get_bytes(&f, &m->value); break;
		case 6: rc = pb_get_i64(&f, &m->lease); break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

void kvm_emit_kv(struct pb_buf *b, const void *msg)
{
	const struct kvm_kv *m = msg;

	pb_put_bytes(b, 1, m->key);
	pb_put_i64(b, 2, m->create_revision);
	pb_put_i64(b, 3, m->mod_revision);
	pb_put_i64(b, 4, m->version);
	pb_put_bytes(b, 5, m->value);
	pb_put_i64(b, 6, m->lease);
}

int kvm_dec_event(struct kvm_dec *d, struct pb_bytes in, void *msg)
{
	struct kvm_event *m = msg;
	struct kvm_sub kv = {0}, prev = {0};
	struct pb_reader r;
	struct pb_field f;
	int rc;

	memset(m, 0, sizeof(*m));
	pb_reader_init(&r, in.p, in.len);
	while ((rc = pb_next(&r, &f)) > 0) {
		switch (f.num) {
		case 1: rc = pb_get_i32(&f, &m->type); break;
		case 2: rc = kvm_sub_note(&kv, &f); break;
		case 3: rc = kvm_sub_note(&prev, &f); break;
		}
		if (rc < 0)
			return rc;
	}
	if (rc == 0)
		m->kv = kvm_sub_msg(d, &kv, in, 2, KVM_KV, &rc);
	if (rc == 0)
		m->prev_kv = kvm_sub_msg(d, &prev, in, 3, KVM_KV, &rc);
	return rc;
}

void kvm_emit_event(struct pb_buf *b, const void *msg)
{
	const struct kvm_event *m = msg;

	pb_put_i32(b, 1, m->type);
	kvm_put_opt(b, 2, kvm_emit_kv, m->kv);
	kvm_put_opt(b, 3, kvm_emit_kv, m->prev_kv);
}
