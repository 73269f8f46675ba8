/* libFuzzer driver for the write-ahead log's replay (pure: kv/wal_codec.c, wal_replay.c,
 * wal_store.c, wal_leases.c and the MVCC store). The first byte picks what the rest is:
 *   0 a segment that ends the log (torn tails allowed), 1 a segment before others,
 *   2 a snapshot, 3 records the driver frames itself (type byte, 16-bit length, payload)
 *   with good checksums after a SEGMENT record, so that the payloads and their replay get
 *   fuzzed past the CRCs.
 * The second byte, if not 0, fails that allocation. Whatever replays must report offsets
 * inside the input; a store rebuilt from an empty one must come out the same (HashKV) when
 * logged again and replayed, and when snapshotted and loaded. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../kv/wal.h"

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

struct fail {
	long fail_at, calls;
};

static void *fail_alloc(void *ctx, void *ptr, size_t size)
{
	struct fail *f = ctx;

	if (size == 0) {
		free(ptr);
		return NULL;
	}
	if (++f->calls == f->fail_at)
		return NULL;
	return realloc(ptr, size);
}

static void same(struct mvcc *a, struct mvcc *b)
{
	struct mvcc_hash ha, hb;

	CHECK(mvcc_rev(a) == mvcc_rev(b));
	CHECK(mvcc_compacted(a) == mvcc_compacted(b));
	CHECK(mvcc_hash_kv(a, 0, &ha) == 0 && mvcc_hash_kv(b, 0, &hb) == 0);
	CHECK(ha.hash == hb.hash);
}

/* A store replayed from empty: its history logged again and replayed, and snapshotted and
 * loaded, gives the same store. Compacted history cannot be logged again: skipped then. */
static void round_trip(struct mvcc *s, const struct wal_leases *l)
{
	struct wal_buf b;
	struct wal_snap_writer w;
	struct mvcc *t;
	struct wal_leases tl;
	struct wal_replay r;
	const char *why;
	size_t off;
	int64_t logged = 1;

	if (!mvcc_compacted(s)) {
		wal_buf_init(&b, NULL);
		CHECK(wal_put_header(&b, WAL_MAGIC_SEGMENT) == 0);
		CHECK(wal_put_segment(&b, 0, 1) == 0);
		CHECK(wal_pull(s, &logged, &b) == 0);
		CHECK(mvcc_new(NULL, &t) == 0);
		wal_leases_init(&tl, NULL);
		CHECK(wal_replay_segment(b.p, b.len, false, t, &tl, &r, &off, &why) == 0);
		same(s, t);
		mvcc_free(t);
		wal_leases_free(&tl);
		wal_buf_free(&b);
	}
	wal_buf_init(&b, NULL);
	wal_snap_start(&w, s, l, 3, 0);
	CHECK(wal_snap_fill(&w, &b, SIZE_MAX) == 0);
	CHECK(mvcc_new(NULL, &t) == 0);
	wal_leases_init(&tl, NULL);
	CHECK(wal_load_snapshot(b.p, b.len, t, &tl, &r, &off, &why) == 0);
	same(s, t);
	CHECK(tl.n == l->n);
	mvcc_free(t);
	wal_leases_free(&tl);
	wal_buf_free(&b);
}

static void append(struct wal_buf *b, const uint8_t *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);	/* the buffer is on libc's allocator */
		CHECK(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Mode 3: header, SEGMENT(0, 1), then the input's records with good checksums. */
static void frame(struct wal_buf *b, const uint8_t *p, size_t n)
{
	wal_buf_init(b, NULL);
	CHECK(wal_put_header(b, WAL_MAGIC_SEGMENT) == 0);
	CHECK(wal_put_segment(b, 0, 1) == 0);
	while (n >= 3) {
		size_t len = (size_t)p[1] | (size_t)p[2] << 8;
		uint8_t h[WAL_REC_HEADER] = { 0 };
		if (len > n - 3)
			len = n - 3;
		put32(h, (uint32_t)len);
		h[4] = p[0];
		put32(h + 8, wal_crc32c(0, p + 3, len));
		put32(h + 12, wal_crc32c(0, h, 12));
		append(b, h, sizeof(h));
		append(b, p + 3, len);
		p += 3 + len;
		n -= 3 + len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fail f = { 0 };
	struct mvcc_alloc a = { fail_alloc, &f, false };
	struct mvcc *s;
	struct wal_leases l;
	struct wal_replay r;
	struct wal_buf framed = { 0 };
	const uint8_t *p;
	const char *why = NULL;
	size_t n, off = 0;
	int mode, rc;

	if (size < 2)
		return 0;
	mode = data[0] % 4;
	a.slab = data[0] & 4;	/* the store's small blocks in chunks, or each on its own */
	f.fail_at = data[1];
	p = data + 2;
	n = size - 2;
	if (mode == 3) {
		frame(&framed, p, n);
		p = framed.p;
		n = framed.len;
	}
	if (mvcc_new(&a, &s)) {
		wal_buf_free(&framed);
		return 0;
	}
	wal_leases_init(&l, &a);
	if (mode == 2)
		rc = wal_load_snapshot(p, n, s, &l, &r, &off, &why);
	else
		rc = wal_replay_segment(p, n, mode != 1, s, &l, &r, &off, &why);
	CHECK(rc == 0 || rc == -ENOMEM || rc == WAL_ECORRUPT || rc == WAL_EVERSION);
	CHECK(off <= n && r.end <= n);
	if (rc && rc != -ENOMEM)
		CHECK(why && why[0]);
	if (rc == 0 && r.torn)
		CHECK(r.end < n || !r.has_seg);
	if (rc == 0) {
		f.fail_at = 0;
		if (mode == 2 || (r.has_seg && r.seg_rev == 1))
			round_trip(s, &l);
	}
	mvcc_free(s);
	wal_leases_free(&l);
	wal_buf_free(&framed);
	return 0;
}
