/* Helpers for the protobuf and etcd message tests (see pbtest.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbtest.h"

void *failalloc_fn(void *ctx, void *ptr, size_t size)
{
	struct failalloc *fa = ctx;

	if (size == 0) {
		if (ptr)
			fa->live--;
		free(ptr);
		return NULL;
	}
	if (++fa->calls == fa->fail_at)
		return NULL;
	void *p = realloc(ptr, size);
	if (p && !ptr)
		fa->live++;
	return p;
}

struct pb_alloc failalloc_init(struct failalloc *fa, long fail_at)
{
	memset(fa, 0, sizeof(*fa));
	fa->fail_at = fail_at;
	return (struct pb_alloc){failalloc_fn, fa};
}

static void hex(const char *what, const uint8_t *p, size_t n)
{
	fprintf(stderr, "  %s (%zu):", what, n);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %02x", p[i]);
	fprintf(stderr, "\n");
}

int pbtest_bytes(const uint8_t *got, size_t n, const uint8_t *want, size_t wn, int line)
{
	if (n == wn && (n == 0 || memcmp(got, want, n) == 0))
		return 1;
	fprintf(stderr, "FAIL line %d: bytes differ\n", line);
	hex("got ", got, n);
	hex("want", want, wn);
	return 0;
}
