/* Internals shared by the message codec files (msg_*.c): the decoding context, each
 * type's decoder and emitter, and helpers for embedded and repeated messages. */
#ifndef CABIN_KV_MSG_PRIV_H
#define CABIN_KV_MSG_PRIV_H

#include <errno.h>
#include <string.h>

#include "msg.h"

/* One kvm_decode call: where allocations go, and the Txn limits' running counts. */
struct kvm_dec {
	struct pb_arena *a;
	unsigned txn_depth;
	size_t txn_ops;
};

/* Each type's decoder (overwrites *msg, the struct of that type; returns 0 or an error)
 * and emitter (a pb_emit_fn). */
typedef int (*kvm_dec_fn)(struct kvm_dec *d, struct pb_bytes in, void *msg);
#define KVM_PRIV_DECL(id, name, type)                                        \
	int kvm_dec_##name(struct kvm_dec *d, struct pb_bytes in, void *msg); \
	void kvm_emit_##name(struct pb_buf *b, const void *msg);
KVM_MESSAGES(KVM_PRIV_DECL)
#undef KVM_PRIV_DECL

/* Decodes in as type t into msg (msg.c). */
int kvm_dec_type(struct kvm_dec *d, enum kvm_type t, struct pb_bytes in, void *msg);

/* The occurrences of one singular embedded message field (or oneof member) seen so far.
 * protobuf merges repeated occurrences as if their bytes were concatenated; the usual
 * single occurrence is decoded where it lies, without copying. Zero it to start (or to
 * restart, when another member of the same oneof was set). */
struct kvm_sub {
	const uint8_t *from;	/* the key of the first occurrence */
	struct pb_bytes last;
	size_t total;		/* bytes of all occurrences */
	unsigned n;
};

/* Notes an occurrence. Returns 0, or PB_EWIRETYPE if f is not length-delimited. */
int kvm_sub_note(struct kvm_sub *s, const struct pb_field *f);
/* The message bytes of field num noted in s within in: the one occurrence, or all of them
 * concatenated into the arena. Returns 0 or -ENOMEM. */
int kvm_sub_bytes(struct kvm_dec *d, const struct kvm_sub *s, struct pb_bytes in,
		  uint32_t num, struct pb_bytes *out);
/* Decodes field num noted in s as a new message of type t in the arena and returns it;
 * NULL when s noted nothing, or on failure with *rc set. */
void *kvm_sub_msg(struct kvm_dec *d, const struct kvm_sub *s, struct pb_bytes in,
		  uint32_t num, enum kvm_type t, int *rc);

/* Decodes a message that is one oneof of embedded messages, fields 1..max, whose types
 * are types[1..max]: *which becomes the field number of the member set (0 for none) and
 * the member is decoded into member (where every member of the C union starts). */
int kvm_dec_oneof(struct kvm_dec *d, struct pb_bytes in, uint32_t *which, void *member,
		  const enum kvm_type *types, uint32_t max);

/* Counts the occurrences of fields 1..max of in into counts[1..max] (counts has max + 1
 * entries, zeroed by the caller). Returns 0 or a wire-format error. */
int kvm_count(struct pb_bytes in, size_t *counts, uint32_t max);

/* Decodes one element of a repeated message field into elem. */
static inline int kvm_elem(struct kvm_dec *d, const struct pb_field *f, enum kvm_type t,
			   void *elem)
{
	if (f->wt != PB_LEN)
		return PB_EWIRETYPE;
	return kvm_dec_type(d, t, f->bytes, elem);
}

/* An array of n zeroed elements in the arena, or NULL for n == 0. Sets *rc to -ENOMEM
 * when allocation fails. */
static inline void *kvm_array(struct kvm_dec *d, size_t n, size_t size, int *rc)
{
	void *p = n ? pb_arena_array(d->a, n, size) : NULL;
	if (n && !p)
		*rc = -ENOMEM;
	return p;
}

/* Writes an embedded message when present. */
static inline void kvm_put_opt(struct pb_buf *b, uint32_t num, pb_emit_fn emit,
			       const void *msg)
{
	if (msg)
		pb_put_msg(b, num, emit, msg);
}

/* Repeated string/bytes elements: each written, even when empty. */
static inline void kvm_put_strings(struct pb_buf *b, uint32_t num, const struct pb_bytes *v,
				   size_t n)
{
	for (size_t i = 0; i < n; i++)
		pb_put_bytes_field(b, num, v[i]);
}

#endif
