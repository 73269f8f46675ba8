/* Micro-benchmark of the MVCC store core alone, on etcdctl check perf's shape: N random
 * 256-byte keys with 1 KiB values are put, read back, deleted with one DeleteRange and
 * compacted; prints throughput, the bytes the store holds per key and the process RSS.
 *   cc -O2 -std=c11 -D_GNU_SOURCE -o build/mvcc_bench tests/bench/mvcc_bench.c kv/mvcc*.c
 *   build/mvcc_bench [N (300000)] [key bytes (256)] [value bytes (1024)] */
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../kv/mvcc.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void report(const char *what, struct mvcc *s, size_t n)
{
	struct mvcc_stats st;

	mvcc_stats(s, &st);
	printf("%-28s keys %zu revisions %zu held %.1f MiB (%zu B/key) rss %.1f MiB\n", what,
	       st.keys, st.revisions, st.bytes / 1048576.0, n ? st.bytes / n : 0,
	       rss_kib() / 1024.0);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 300000;
	size_t klen = argc > 2 ? strtoul(argv[2], NULL, 10) : 256;
	size_t vlen = argc > 3 ? strtoul(argv[3], NULL, 10) : 1024;
	uint8_t *keys = malloc(n * klen), *val = malloc(vlen), zero = 0;
	struct mvcc *s;
	double t;

	if (!keys || !val || klen < 8 || mvcc_new(NULL, &s))
		return 1;
	for (size_t i = 0; i < n * klen; i++)
		keys[i] = (uint8_t)('a' + rnd() % 26);
	memset(val, 'v', vlen);
	printf("%zu keys of %zu bytes, values of %zu bytes; rss at start %.1f MiB\n", n, klen,
	       vlen, rss_kib() / 1024.0);

	t = now();
	for (size_t i = 0; i < n; i++) {
		struct mvcc_put_req q = { .key = { keys + i * klen, klen }, .value = { val, vlen } };
		struct mvcc_put_res r;
		if (mvcc_put(s, &q, &r))
			return 1;
	}
	t = now() - t;
	printf("put: %.0f/s (%.2f us each)\n", n / t, t / n * 1e6);
	report("after the puts", s, n);

	t = now();
	for (size_t i = 0; i < n; i++) {
		size_t k = rnd() % n;
		struct mvcc_range_req q = { .key = { keys + k * klen, klen } };
		struct mvcc_range_res r;
		if (mvcc_range(s, &q, &r) || r.n != 1)
			return 1;
		mvcc_range_res_free(s, &r);
	}
	t = now() - t;
	printf("get: %.0f/s (%.2f us each)\n", n / t, t / n * 1e6);

	t = now();
	struct mvcc_delete_req d = { .key = { &zero, 1 }, .range_end = { &zero, 1 } };
	struct mvcc_delete_res dr;
	if (mvcc_delete(s, &d, &dr))
		return 1;
	printf("delete all: %.1f ms\n", (now() - t) * 1e3);
	report("after the delete", s, n);
	t = now();
	if (mvcc_compact(s, mvcc_rev(s)))
		return 1;
	printf("compact: %.1f ms\n", (now() - t) * 1e3);
	report("after the compaction", s, n);
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	report("after malloc_trim", s, n);
	mvcc_free(s);
	free(keys);
	free(val);
	return 0;
}
