/* Helpers for the etcd message codec tests: see msgtest.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgtest.h"
#include "pbtest.h"

struct pb_arena msgt_arena;

int msgt_golden(enum kvm_type t, const void *msg, const uint8_t *want, size_t n, int line)
{
	struct pb_buf b;
	struct pb_arena a;
	void *m = calloc(1, kvm_type_size(t));
	int rc, ok = 1;

	pb_buf_init(&b, NULL);
	pb_arena_init(&a, NULL);
	if ((rc = kvm_encode(&b, t, msg)) != 0 || !pbtest_bytes(b.data, b.len, want, n, line)) {
		ok = 0;
		fprintf(stderr, "  ^ encoding %s: rc %d\n", kvm_type_name(t), rc);
	}
	b.len = 0;
	if ((rc = kvm_decode(t, want, n, m, &a)) != 0 || (rc = kvm_encode(&b, t, m)) != 0 ||
	    !pbtest_bytes(b.data, b.len, want, n, line)) {
		ok = 0;
		fprintf(stderr, "  ^ decoding and re-encoding %s: rc %d\n", kvm_type_name(t), rc);
	}
	pb_buf_free(&b);
	pb_arena_free(&a);
	free(m);
	return ok;
}

int msgt_dec(enum kvm_type t, const uint8_t *b, size_t n, void *m)
{
	uint8_t *copy = pb_arena_alloc(&msgt_arena, n);
	memcpy(copy, b, n);
	return kvm_decode(t, copy, n, m, &msgt_arena);
}

int msgt_beq(struct pb_bytes b, const char *s)
{
	return b.len == strlen(s) && (b.len == 0 || memcmp(b.p, s, b.len) == 0);
}
