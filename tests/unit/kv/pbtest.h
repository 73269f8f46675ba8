/* Helpers for the protobuf and etcd message tests: an allocator that fails its Nth
 * allocation and counts live blocks, and a byte comparison that prints both in hex. */
#ifndef CABIN_PBTEST_H
#define CABIN_PBTEST_H

#include <stddef.h>
#include <stdint.h>

#include "../../../kv/pb.h"

struct failalloc {
	long fail_at;	/* the Nth allocation or growth (1-based) fails; 0: none */
	long calls;	/* allocations and growths so far */
	long live;	/* blocks not yet freed */
};

/* A pb_alloc_fn; ctx is a struct failalloc. */
void *failalloc_fn(void *ctx, void *ptr, size_t size);
/* A pb_alloc over fa, reset to fail at the Nth call (0: never). */
struct pb_alloc failalloc_init(struct failalloc *fa, long fail_at);

/* Returns 1 when got[0..n) equals want[0..wn); otherwise prints both in hex with the
 * line and returns 0. PBT_BYTES counts that as a failure of the calling test file. */
int pbtest_bytes(const uint8_t *got, size_t n, const uint8_t *want, size_t wn, int line);

#define PBT_BYTES(got, n, ...)                                                      \
	do {                                                                        \
		static const uint8_t want_[] = {__VA_ARGS__};                       \
		if (!pbtest_bytes((got), (n), want_, sizeof(want_), __LINE__))      \
			tu_failures++;                                              \
	} while (0)

#endif
