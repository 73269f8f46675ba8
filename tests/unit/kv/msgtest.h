/* Helpers for the etcd message codec tests (msg_test.c, msg_rules_test.c): golden encodings
 * both ways, decoding literal bytes into a shared arena, and byte comparison. */
#ifndef CABIN_TEST_MSGTEST_H
#define CABIN_TEST_MSGTEST_H

#include <stddef.h>
#include <stdint.h>

#include "../../../kv/msg.h"

/* Where DECODE's copies and what it decodes live; the tests free it when they are done. */
extern struct pb_arena msgt_arena;

/* Encodes msg and compares with want (n bytes); decodes want and encodes that again, which
 * must give the same bytes. Returns 1, or 0 after printing what differs (for line).
 * GOLDEN counts a failure in the calling test program. */
int msgt_golden(enum kvm_type t, const void *msg, const uint8_t *want, size_t n, int line);
#define GOLDEN(t, msg, ...)                                                       \
	do {                                                                      \
		static const uint8_t want_[] = {__VA_ARGS__};                     \
		if (!msgt_golden((t), (msg), want_, sizeof(want_), __LINE__))     \
			tu_failures++;                                            \
	} while (0)

/* Decodes a copy of the n bytes at b (in msgt_arena, since the decoded message points into
 * it) into *m; returns kvm_decode's code. */
int msgt_dec(enum kvm_type t, const uint8_t *b, size_t n, void *m);
#define DECODE(t, m, ...)                                                                 \
	msgt_dec((t), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}), \
		 (m))

/* Whether b holds exactly the C string s. */
int msgt_beq(struct pb_bytes b, const char *s);

#endif
