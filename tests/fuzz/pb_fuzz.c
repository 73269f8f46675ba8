/* libFuzzer driver for the protobuf layer: arbitrary bytes go through the wire reader and
 * to the decoder of every etcd message type. Whatever decodes must encode, decode again,
 * and encode to the same bytes (the first encoding normalises: defaults dropped, merged
 * messages joined, ints shortened); a decode with its Nth allocation failing must fail with
 * -ENOMEM or give the same result. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../kv/msg.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

/* Fails the fail_at-th allocation; counts live blocks. */
struct fail {
	long fail_at, calls, live;
};

static void *fail_alloc(void *ctx, void *ptr, size_t size)
{
	struct fail *f = ctx;

	if (size == 0) {
		if (ptr)
			f->live--;
		free(ptr);
		return NULL;
	}
	if (++f->calls == f->fail_at)
		return NULL;
	void *p = realloc(ptr, size);
	if (p && !ptr)
		f->live++;
	return p;
}

static _Alignas(max_align_t) unsigned char m1[1024], m2[1024], m3[1024];

/* The reader alone: fields to the end or the first error, which must not move it. */
static void fuzz_reader(const uint8_t *data, size_t size)
{
	struct pb_reader r;
	struct pb_field f;
	size_t n = 0;
	int rc;

	pb_reader_init(&r, data, size);
	while ((rc = pb_next(&r, &f)) > 0) {
		CHECK(f.num >= 1 && f.num <= PB_FIELD_MAX && f.at >= data && r.p <= r.end);
		if (f.wt == PB_LEN)
			CHECK(f.bytes.p >= data && f.bytes.p + f.bytes.len <= r.p);
	}
	const uint8_t *at = r.p;
	if (rc < 0)
		CHECK(pb_next(&r, &f) == rc && r.p == at);
	CHECK(pb_count_varints(data, size, 5, &n) <= 0);
}

static void fuzz_type(enum kvm_type t, const uint8_t *data, size_t size, long fail_at)
{
	struct pb_arena a1, a2;
	struct pb_buf b1, b2;
	size_t sz = kvm_type_size(t);
	int rc;

	CHECK(sz <= sizeof(m1));
	pb_arena_init(&a1, NULL);
	pb_arena_init(&a2, NULL);
	pb_buf_init(&b1, NULL);
	pb_buf_init(&b2, NULL);
	rc = kvm_decode(t, data, size, m1, &a1);
	CHECK(rc == 0 || (rc <= PB_ETRUNC && rc >= PB_ETOOBIG));

	/* The same decode with one allocation failing. */
	struct fail fl = {.fail_at = fail_at};
	struct pb_alloc al = {fail_alloc, &fl};
	struct pb_arena af;
	pb_arena_init(&af, &al);
	int rcf = kvm_decode(t, data, size, m3, &af);
	CHECK(rcf == rc || rcf == -ENOMEM);
	pb_arena_free(&af);
	CHECK(fl.live == 0);

	if (rc == 0) {
		CHECK(kvm_encode(&b1, t, m1) == 0);
		CHECK(kvm_decode(t, b1.data, b1.len, m2, &a2) == 0);
		CHECK(kvm_encode(&b2, t, m2) == 0);
		CHECK(b1.len == b2.len && (b1.len == 0 || memcmp(b1.data, b2.data, b1.len) == 0));
	}
	pb_buf_free(&b1);
	pb_buf_free(&b2);
	pb_arena_free(&a1);
	pb_arena_free(&a2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_reader(data, size);
	for (int t = 0; t < KVM_TYPES; t++)
		fuzz_type(t, data, size, (long)(size % 13) + 1);
	return 0;
}
