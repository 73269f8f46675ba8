/* libFuzzer driver for inflate: arbitrary bytes as a raw deflate stream (into a small
 * and a large buffer, which must agree) and as gzip data. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../init/config.h"
#include "../../init/inflate.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

static uint8_t small[1024], big[1 << 20];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n1, n2, used1, used2, n;
	const char *why;
	uint8_t *out;
	int rc1 = inflate_raw(data, size, small, sizeof(small), &n1, &used1, &why);
	int rc2 = inflate_raw(data, size, big, sizeof(big), &n2, &used2, &why);
	CHECK(rc1 == 0 || rc1 == -ENOSPC || rc1 == -EBADMSG);
	CHECK(used2 <= size && n2 <= sizeof(big));
	if (rc1 == 0)
		CHECK(rc2 == 0 && n1 == n2 && used1 == used2 && memcmp(small, big, n1) == 0);
	if (rc2 == 0 && n2 <= sizeof(small))
		CHECK(rc1 == 0);
	int rc = inflate_gzip(data, size, 1 << 20, &out, &n, &why);
	CHECK(rc == 0 || rc == -EFBIG || rc == -EBADMSG || rc == -ENOMEM);
	if (rc == 0) {
		CHECK(n <= (1 << 20) && out[n] == 0);
		free(out);
	}
	return 0;
}
