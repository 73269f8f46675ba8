/* The write-ahead log's replay: store -> log -> store and store -> snapshot -> store giving
 * the same HashKV, a torn tail at every byte of the last record, every kind of corruption
 * with its offset, a newer format, and every allocation failing in turn (the codec's own
 * pieces: wal_codec_test.c). Seeded; the seed is printed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../kv/wal.h"
#include "../testutil.h"
#include "mvcctest.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	return mvcct_xorshift(&rng);
}


/* ---- a store with history, and its log ---------------------------------------------------- */

struct fix {
	struct mvcc *s;
	struct wal_leases l;
	struct wal_buf b;	/* a segment: header, SEGMENT, records */
	int64_t logged;
	size_t last;		/* offset of the last record in b */
};

static void fix_init(struct fix *f)
{
	memset(f, 0, sizeof(*f));
	f->s = mvcct_new();
	wal_leases_init(&f->l, NULL);
	wal_buf_init(&f->b, NULL);
	f->logged = mvcc_rev(f->s);
	TU_EQ_INT(wal_put_header(&f->b, WAL_MAGIC_SEGMENT), 0);
	TU_EQ_INT(wal_put_segment(&f->b, 0, f->logged), 0);
}

static void fix_free(struct fix *f)
{
	mvcc_free(f->s);
	wal_leases_free(&f->l);
	wal_buf_free(&f->b);
}

static void fix_pull(struct fix *f)
{
	size_t before = f->b.len;
	TU_EQ_INT(wal_pull(f->s, &f->logged, &f->b), 0);
	TU_EQ_INT(f->logged, mvcc_rev(f->s));
	if (f->b.len > before)
		f->last = before;
}

static void key_of(char *k, uint64_t r)
{
	snprintf(k, 16, "k%02u", (unsigned)(r % 24));
}

/* One random change: puts, a delete or a range delete, a txn, a compaction, a lease. */
static void fix_step(struct fix *f)
{
	char k[16], e[16], v[64];
	uint64_t r = rnd();
	size_t before;

	key_of(k, rnd());
	snprintf(v, sizeof(v), "%.*s", (int)(rnd() % 40), "value-value-value-value-value-value-value");
	before = f->b.len;
	switch (r % 8) {
	case 0:
	case 1:
	case 2:
		TU_EQ_INT(mvcct_put_lease(f->s, k, v, (int64_t)(rnd() % 3)), 0);
		break;
	case 3:
		mvcct_del(f->s, k, NULL);
		break;
	case 4:
		key_of(e, rnd());
		if (strcmp(k, e) < 0)
			mvcct_del(f->s, k, e);
		break;
	case 5: {
		struct mvcc_put_req q = { .key = mvcct_b(k), .value = mvcct_b(v) };
		struct mvcc_put_res pr;
		struct mvcc_delete_req d = { .key = mvcct_b(e) };
		struct mvcc_delete_res dr;
		key_of(e, rnd());
		d.key = mvcct_b(e);
		TU_EQ_INT(mvcc_txn_begin(f->s), 0);
		TU_EQ_INT(mvcc_txn_put(f->s, &q, &pr), 0);
		TU_EQ_INT(mvcc_txn_delete(f->s, &d, &dr), 0);
		mvcc_delete_res_free(f->s, &dr);
		key_of(k, rnd());
		q.key = mvcct_b(k);
		TU_EQ_INT(mvcc_txn_put(f->s, &q, &pr), 0);
		mvcc_txn_end(f->s);
		break;
	}
	case 6:
		if (rnd() % 4 == 0 && mvcc_rev(f->s) > mvcc_compacted(f->s) + 1) {
			int64_t c = mvcc_compacted(f->s) + 1 +
				    (int64_t)(rnd() % (uint64_t)(mvcc_rev(f->s) - mvcc_compacted(f->s)));
			fix_pull(f);	/* as the service does: log, compact, log the compaction */
			before = f->b.len;
			TU_EQ_INT(mvcc_compact(f->s, c), 0);
			TU_EQ_INT(wal_put_compact(&f->b, c), 0);
			f->last = before;
			return;
		}
		break;
	default: {
		int64_t id = (int64_t)(rnd() % 5) + 1;
		if (rnd() % 3) {
			int64_t ttl = (int64_t)(rnd() % 100) + 1;
			TU_EQ_INT(wal_leases_put(&f->l, id, ttl), 0);
			TU_EQ_INT(wal_put_lease_grant(&f->b, id, ttl), 0);
		} else {
			wal_leases_del(&f->l, id);
			TU_EQ_INT(wal_put_lease_revoke(&f->b, id), 0);
		}
		f->last = before;
		return;
	}
	}
	fix_pull(f);
}

static void fix_run(struct fix *f, int steps)
{
	fix_init(f);
	for (int i = 0; i < steps; i++)
		fix_step(f);
}

/* The same state: revision, compaction, HashKV (every revision held), leases. */
static void same_state(struct mvcc *a, const struct wal_leases *la, struct mvcc *b,
		       const struct wal_leases *lb)
{
	struct mvcc_hash ha, hb;

	TU_EQ_INT(mvcc_rev(a), mvcc_rev(b));
	TU_EQ_INT(mvcc_compacted(a), mvcc_compacted(b));
	TU_EQ_INT(mvcc_hash_kv(a, 0, &ha), 0);
	TU_EQ_INT(mvcc_hash_kv(b, 0, &hb), 0);
	TU_EQ_INT(ha.hash, hb.hash);
	TU_EQ_INT(mvcc_rec_count(a), mvcc_rec_count(b));
	TU_EQ_INT(la->n, lb->n);
	for (size_t i = 0; i < la->cap; i++) {
		const struct wal_lease *x = wal_leases_slot(la, i);
		bool found = !x;
		for (size_t j = 0; x && j < lb->cap; j++)
			found |= lb->slot[j].id == x->id && lb->slot[j].ttl == x->ttl;
		TU_CHECK(found);
	}
}

/* Replays bytes into a fresh store; returns the rc, fills *r and *off. */
static int replay(const uint8_t *p, size_t len, bool tail, struct mvcc **s, struct wal_leases *l,
		  struct wal_replay *r, size_t *off, const char **why)
{
	*s = mvcct_new();
	wal_leases_init(l, NULL);
	return wal_replay_segment(p, len, tail, *s, l, r, off, why);
}

static void test_log_round_trip(void)
{
	for (int round = 0; round < 20; round++) {
		struct fix f;
		struct mvcc *s;
		struct wal_leases l;
		struct wal_replay r;
		const char *why = NULL;
		size_t off;

		fix_run(&f, 20 + round * 10);
		TU_EQ_INT(replay(f.b.p, f.b.len, true, &s, &l, &r, &off, &why), 0);
		TU_CHECK(!r.torn);
		TU_EQ_INT(r.end, f.b.len);
		TU_CHECK(r.has_seg);
		same_state(f.s, &f.l, s, &l);
		mvcc_free(s);
		wal_leases_free(&l);
		fix_free(&f);
	}
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

/* A DeleteRange goes into the log as one sweep (its first and last keys and how many),
 * a single deleted key as a delete; replay deletes the same keys at the same
 * sub-revisions, and refuses a sweep that does not fit the store. */
static void test_sweeps(void)
{
	struct fix f;
	struct mvcc *s;
	struct wal_leases l;
	struct wal_replay r;
	struct wal_iter it;
	struct wal_rec rec;
	const char *why = NULL;
	size_t off;
	int sweeps = 0, dels = 0;

	fix_init(&f);
	for (const char *k = "abcdefgh"; *k; k++) {
		char key[2] = { *k, 0 };
		TU_EQ_INT(mvcct_put(f.s, key, key), 0);
	}
	mvcct_del(f.s, "c", NULL);
	TU_EQ_INT(mvcct_del(f.s, "b", "g"), 4);		/* b d e f */
	struct mvcc_put_req q = { .key = mvcct_b("z"), .value = mvcct_b("1") };
	struct mvcc_delete_req d1 = { .key = mvcct_b("a"), .range_end = mvcct_b("b") };
	struct mvcc_delete_req d2 = { .key = mvcct_b("g"), .range_end = mvcct_b("i") };
	struct mvcc_put_res pr;
	struct mvcc_delete_res dr;
	TU_EQ_INT(mvcc_txn_begin(f.s), 0);
	TU_EQ_INT(mvcc_txn_put(f.s, &q, &pr), 0);
	TU_EQ_INT(mvcc_txn_delete(f.s, &d1, &dr), 0);	/* a: one key */
	TU_EQ_INT(mvcc_txn_delete(f.s, &d2, &dr), 0);	/* g h: a sweep of two */
	mvcc_txn_end(f.s);
	fix_pull(&f);
	TU_EQ_INT(wal_iter_init(&it, f.b.p, f.b.len, WAL_MAGIC_SEGMENT, true, &why), 0);
	while (wal_next(&it, &rec, &why) == 1) {
		const uint8_t *p = rec.u.rev.p;
		if (rec.type != WAL_REV)
			continue;
		for (uint32_t i = 0; i < rec.u.rev.n; i++) {
			struct wal_change c;
			wal_change_next(&p, rec.u.rev.end, &c);
			if (c.sweep) {
				sweeps++;
				TU_CHECK(mvcct_eq(c.key, sweeps == 1 ? "b" : "g"));
				TU_CHECK(mvcct_eq(c.last, sweeps == 1 ? "f" : "h"));
				TU_EQ_INT(c.sweep, sweeps == 1 ? 4 : 2);
			} else {
				dels += c.del;
			}
		}
	}
	TU_EQ_INT(sweeps, 2);
	TU_EQ_INT(dels, 2);				/* c, and a in the txn */
	TU_EQ_INT(replay(f.b.p, f.b.len, true, &s, &l, &r, &off, &why), 0);
	same_state(f.s, &f.l, s, &l);
	struct mvcc_kv kv;
	TU_EQ_INT(mvcct_get(s, "e", mvcc_rev(s) - 1, &kv), 0);	/* gone, at the sweep's rev */
	TU_EQ_INT(mvcct_get(s, "e", mvcc_rev(s) - 2, &kv), 1);
	mvcc_free(s);
	wal_leases_free(&l);

	/* the store decides: exactly the keys alive from first through last */
	s = mvcct_new();
	for (const char *k = "abcd"; *k; k++) {
		char key[2] = { *k, 0 };
		TU_EQ_INT(mvcct_put(s, key, key), 0);
	}
	int64_t rev = mvcc_rev(s) + 1;
	TU_EQ_INT(mvcc_restore_sweep(s, rev, 0, mvcct_b("a"), mvcct_b("c"), 2), MVCC_EARG);
	TU_EQ_INT(mvcc_restore_sweep(s, rev, 0, mvcct_b("a"), mvcct_b("b"), 3), MVCC_EARG);
	TU_EQ_INT(mvcc_restore_sweep(s, rev, 0, mvcct_b("a0"), mvcct_b("c"), 2), MVCC_EARG);
	TU_EQ_INT(mvcc_restore_sweep(s, rev, 0, mvcct_b("a"), mvcct_b("b0"), 2), MVCC_EARG);
	TU_EQ_INT(mvcc_restore_sweep(s, rev, 0, mvcct_b("a"), mvcct_b("a"), 1), MVCC_EARG);
	TU_EQ_INT(mvcc_rev(s), rev - 1);		/* nothing changed */
	TU_EQ_INT(mvcc_restore_sweep(s, rev, 0, mvcct_b("b"), mvcct_b("d"), 3), 0);
	TU_EQ_INT(mvcc_rev(s), rev);
	TU_EQ_STR(mvcct_val(s, "a"), "a");
	TU_EQ_INT(mvcct_get(s, "c", 0, &kv), 0);
	TU_EQ_INT(mvcc_restore_sweep(s, rev, 2, mvcct_b("a"), mvcct_b("d"), 2), MVCC_EARG);
	mvcc_free(s);

	/* a sweep goes in REV records only, whole and in order */
	struct wal_change c = { .del = true, .key = mvcct_b("a"), .last = mvcct_b("b"),
				.sweep = 2 };
	TU_EQ_INT(wal_put_snap_kv(&f.b, rev, 0, &c), -EINVAL);
	size_t mark;
	TU_EQ_INT(wal_rev_begin(&f.b, rev, &mark), 0);
	c.sweep = 1;
	TU_EQ_INT(wal_rev_add(&f.b, mark, &c), -EINVAL);
	c.sweep = 2;
	c.last = mvcct_b("a");
	TU_EQ_INT(wal_rev_add(&f.b, mark, &c), -EINVAL);
	wal_rev_cancel(&f.b, mark);
	fix_free(&f);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

/* Appends src's bytes to dst (a libc buffer). */
static void cat(struct wal_buf *dst, const struct wal_buf *src)
{
	if (!src->len)
		return;
	if (dst->len + src->len > dst->cap) {
		dst->cap = (dst->len + src->len) * 2;
		dst->p = realloc(dst->p, dst->cap);
	}
	memcpy(dst->p + dst->len, src->p, src->len);
	dst->len += src->len;
}

/* Snapshot in 100-byte pieces, load, compare; then more history logged after it. */
static void test_snapshot_round_trip(void)
{
	for (int round = 0; round < 10; round++) {
		struct fix f;
		struct wal_snap_writer w;
		struct wal_buf snap, piece;
		struct mvcc *s = mvcct_new();
		struct wal_leases l;
		struct wal_replay r;
		const char *why = NULL;
		size_t off;
		int more;

		fix_run(&f, 30 + round * 25);
		wal_buf_init(&snap, NULL);
		wal_buf_init(&piece, NULL);
		wal_snap_start(&w, f.s, &f.l, 7, 42);
		do {
			more = wal_snap_fill(&w, &piece, 100);
			TU_CHECK(more >= 0);
			TU_CHECK(more == 0 || piece.len >= 100);
			cat(&snap, &piece);
			piece.len = 0;
		} while (more > 0);
		wal_leases_init(&l, NULL);
		TU_EQ_INT(wal_load_snapshot(snap.p, snap.len, s, &l, &r, &off, &why), 0);
		TU_EQ_INT(r.next_seq, 7);
		TU_EQ_INT(r.applied, 42);
		TU_EQ_INT(r.rev, mvcc_rev(f.s));
		same_state(f.s, &f.l, s, &l);
		/* more history on both, through the log */
		{
			int64_t logged = mvcc_rev(s);
			struct wal_buf seg;
			struct wal_replay r2;
			wal_buf_init(&seg, NULL);
			TU_EQ_INT(wal_put_header(&seg, WAL_MAGIC_SEGMENT), 0);
			TU_EQ_INT(wal_put_segment(&seg, 7, logged), 0);
			for (int i = 0; i < 20; i++)
				TU_EQ_INT(mvcct_put(f.s, "after", "x"), 0);
			TU_EQ_INT(wal_pull(f.s, &logged, &seg), 0);
			TU_EQ_INT(wal_replay_segment(seg.p, seg.len, true, s, &l, &r2, &off, &why), 0);
			same_state(f.s, &f.l, s, &l);
			wal_buf_free(&seg);
		}
		mvcc_free(s);
		wal_leases_free(&l);
		wal_buf_free(&snap);
		wal_buf_free(&piece);
		fix_free(&f);
	}
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

/* The tail cut at every byte of its last record: torn there, the state without it. */
static void test_torn_every_offset(void)
{
	struct fix f;
	struct mvcc *full;
	struct wal_leases fl;
	struct wal_replay r;
	const char *why;
	size_t off;

	fix_run(&f, 60);
	TU_EQ_INT(mvcct_put(f.s, "last", "the last record, long enough to span some bytes"), 0);
	fix_pull(&f);
	/* the state before the last record */
	TU_EQ_INT(replay(f.b.p, f.last, true, &full, &fl, &r, &off, &why), 0);
	for (size_t cut = f.last + 1; cut < f.b.len; cut++) {
		struct mvcc *s;
		struct wal_leases l;
		why = NULL;
		TU_EQ_INT(replay(f.b.p, cut, true, &s, &l, &r, &off, &why), 0);
		TU_CHECK(r.torn);
		TU_EQ_INT(r.end, f.last);
		TU_CHECK(why != NULL);
		same_state(full, &fl, s, &l);
		mvcc_free(s);
		wal_leases_free(&l);
		/* not the tail: the same bytes are corruption at the same offset */
		TU_EQ_INT(replay(f.b.p, cut, false, &s, &l, &r, &off, &why), WAL_ECORRUPT);
		TU_EQ_INT(off, f.last);
		mvcc_free(s);
		wal_leases_free(&l);
	}
	/* the file header cut short: torn at 0 in a tail */
	for (size_t cut = 0; cut < WAL_FILE_HEADER + WAL_REC_HEADER + 16; cut++) {
		struct mvcc *s;
		struct wal_leases l;
		TU_EQ_INT(replay(f.b.p, cut, true, &s, &l, &r, &off, &why), 0);
		TU_CHECK(r.torn && !r.has_seg);
		mvcc_free(s);
		wal_leases_free(&l);
	}
	mvcc_free(full);
	wal_leases_free(&fl);
	fix_free(&f);
}

/* Record offsets of a segment (after the file header). */
static size_t offsets(const struct wal_buf *b, size_t *out, size_t max)
{
	struct wal_iter it;
	struct wal_rec r;
	const char *why;
	size_t n = 0;

	TU_EQ_INT(wal_iter_init(&it, b->p, b->len, WAL_MAGIC_SEGMENT, false, &why), 0);
	while (n < max && wal_next(&it, &r, &why) == 1)
		out[n++] = r.off;
	return n;
}

static int replay_copy(const uint8_t *p, size_t len, bool tail, size_t *off, const char **why,
		       struct wal_replay *r)
{
	struct mvcc *s;
	struct wal_leases l;
	int rc = replay(p, len, tail, &s, &l, r, off, why);
	mvcc_free(s);
	wal_leases_free(&l);
	return rc;
}

/* A flipped bit anywhere in a record before the last: corrupt at that record, tail or not.
 * In the last record's payload: torn in a tail (it ends the file). */
static void test_bit_flips(void)
{
	struct fix f;
	size_t offs[512], n;
	uint8_t *copy;

	fix_run(&f, 40);
	n = offsets(&f.b, offs, 512);
	TU_CHECK(n > 10);
	copy = malloc(f.b.len);
	for (size_t i = 1; i < n; i++) {
		size_t start = offs[i], end = i + 1 < n ? offs[i + 1] : f.b.len;
		for (size_t at = start; at < end; at += 1 + (end - start) / 40) {
			struct wal_replay r;
			const char *why = NULL;
			size_t off = 0;
			int bit = (int)(rnd() % 8), rc;
			memcpy(copy, f.b.p, f.b.len);
			copy[at] ^= (uint8_t)(1 << bit);
			rc = replay_copy(copy, f.b.len, true, &off, &why, &r);
			if (i + 1 < n) {
				TU_EQ_INT(rc, WAL_ECORRUPT);
				TU_EQ_INT(off, start);
			} else if (at >= start + WAL_REC_HEADER) {
				TU_EQ_INT(rc, 0);
				TU_CHECK(r.torn);
				TU_EQ_INT(r.end, start);
			} else {
				/* a flipped header of the last record: its length may now run past
				 * the end (torn) or its checksum fails (corrupt) */
				TU_CHECK(rc == WAL_ECORRUPT || (rc == 0 && r.torn && r.end == start));
			}
			rc = replay_copy(copy, f.b.len, false, &off, &why, &r);
			TU_EQ_INT(rc, WAL_ECORRUPT);
			TU_EQ_INT(off, start);
			TU_CHECK(why && why[0]);
		}
	}
	free(copy);
	fix_free(&f);
}

/* A 512-byte sector of zeros inside a record of the tail is a torn write (etcd's rule),
 * wherever that record is; a zeroed record header too. */
static void test_zero_sector(void)
{
	struct fix f;
	char big[2000];
	size_t offs[64], n, at;
	struct wal_replay r;
	const char *why;
	size_t off;

	fix_init(&f);
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	for (int i = 0; i < 4; i++) {
		TU_EQ_INT(mvcct_put(f.s, "big", big), 0);
		fix_pull(&f);
	}
	n = offsets(&f.b, offs, 64);
	TU_EQ_INT(n, 5);
	at = (offs[2] / 512 + 1) * 512;	/* a whole sector inside the third record */
	memset(f.b.p + at, 0, 512);
	TU_EQ_INT(replay_copy(f.b.p, f.b.len, true, &off, &why, &r), 0);
	TU_CHECK(r.torn);
	TU_EQ_INT(r.end, offs[2]);
	TU_EQ_INT(replay_copy(f.b.p, f.b.len, false, &off, &why, &r), WAL_ECORRUPT);
	TU_EQ_INT(off, offs[2]);
	memset(f.b.p + offs[2], 0, WAL_REC_HEADER);
	TU_EQ_INT(replay_copy(f.b.p, f.b.len, true, &off, &why, &r), 0);
	TU_CHECK(r.torn);
	TU_EQ_INT(r.end, offs[2]);
	fix_free(&f);
}

/* Zeros after the last record (the room a segment has written ahead) end it cleanly, in
 * the last segment and in one before it, however many there are: the replay ends after
 * the last record and nothing is torn. Zeros followed by anything else are not that room:
 * torn at the first zero in the last segment, corrupt in one before it. */
static void test_room_ahead(void)
{
	struct fix f;
	struct wal_replay r;
	const char *why;
	size_t off, len, n, offs[64];
	uint8_t *p;

	fix_run(&f, 300);
	len = f.b.len;
	n = offsets(&f.b, offs, 64);
	TU_CHECK(n > 2);
	for (size_t z = 1; z < 5000; z = z * 3 + 1) {
		TU_EQ_INT(wal_buf_zeros(&f.b, z), 0);
		for (int tail = 0; tail < 2; tail++) {
			TU_EQ_INT(replay_copy(f.b.p, f.b.len, tail, &off, &why, &r), 0);
			TU_CHECK(!r.torn);
			TU_EQ_INT(r.end, len);
		}
		f.b.len = len;
	}
	TU_EQ_INT(wal_buf_zeros(&f.b, 3000), 0);
	p = f.b.p;
	p[f.b.len - 1] = 1;
	TU_EQ_INT(replay_copy(p, f.b.len, true, &off, &why, &r), 0);
	TU_CHECK(r.torn);
	TU_EQ_INT(r.end, len);
	TU_EQ_INT(replay_copy(p, f.b.len, false, &off, &why, &r), WAL_ECORRUPT);
	TU_EQ_INT(off, len);
	fix_free(&f);
}

/* Rewrites the record at off with a new payload and valid checksums. */
static void reseal(uint8_t *p, size_t off)
{
	uint32_t n = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 |
		     (uint32_t)p[off + 3] << 24;
	uint32_t c = wal_crc32c(0, p + off + WAL_REC_HEADER, n);
	for (int i = 0; i < 4; i++)
		p[off + 8 + i] = (uint8_t)(c >> (8 * i));
	c = wal_crc32c(0, p + off, 12);
	for (int i = 0; i < 4; i++)
		p[off + 12 + i] = (uint8_t)(c >> (8 * i));
}

/* Records whose checksums hold but whose content is wrong: corrupt at their offset with a
 * reason, never torn, tail or not. */
static void test_wrong_content(void)
{
	struct fix f;
	size_t offs[16];
	struct wal_replay r;
	const char *why;
	size_t off;
	struct {
		const char *name;
		size_t rec, at;		/* record index, byte in its payload */
		uint8_t val;
		int want;
	} cases[] = {
		{ "revision gap", 2, 0, 9, WAL_ECORRUPT },
		{ "no changes", 2, 8, 0, WAL_ECORRUPT },
		{ "two changes claimed", 2, 8, 2, WAL_ECORRUPT },
		{ "bad change kind", 2, 12, 7, WAL_ECORRUPT },
		{ "unknown type", 2, (size_t)-12, 99, WAL_EVERSION },
		{ "snapshot type", 2, (size_t)-12, WAL_SNAP_END, WAL_ECORRUPT },
		{ "second SEGMENT", 2, (size_t)-12, WAL_SEGMENT, WAL_ECORRUPT },
		{ "segment revision", 0, 8, 5, WAL_ECORRUPT },
		{ "reserved byte", 2, (size_t)-11, 1, WAL_ECORRUPT },
		{ "compaction to the future", 4, 0, 100, WAL_ECORRUPT },
	};

	fix_init(&f);
	TU_EQ_INT(mvcct_put(f.s, "a", "1"), 0);
	fix_pull(&f);
	TU_EQ_INT(mvcct_put(f.s, "b", "2"), 0);
	fix_pull(&f);
	TU_EQ_INT(wal_put_lease_grant(&f.b, 5, 10), 0);
	TU_EQ_INT(wal_put_compact(&f.b, 2), 0);
	TU_EQ_INT(mvcct_put(f.s, "c", "3"), 0);
	fix_pull(&f);
	TU_EQ_INT(offsets(&f.b, offs, 16), 6);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *c = malloc(f.b.len);
		size_t at = offs[cases[i].rec] + WAL_REC_HEADER + cases[i].at;
		memcpy(c, f.b.p, f.b.len);
		c[at] = cases[i].val;
		reseal(c, offs[cases[i].rec]);
		why = NULL;
		for (int tail = 0; tail < 2; tail++) {
			int rc = replay_copy(c, f.b.len, tail, &off, &why, &r);
			if (rc != cases[i].want)
				fprintf(stderr, "case %s: rc %d\n", cases[i].name, rc);
			TU_EQ_INT(rc, cases[i].want);
			TU_EQ_INT(off, offs[cases[i].rec]);
			TU_CHECK(why && why[0]);
		}
		free(c);
	}
	fix_free(&f);
}


/* Snapshots: cut anywhere, or with counts that disagree: corrupt, never half loaded. */
static void test_snapshot_damage(void)
{
	struct fix f;
	struct wal_snap_writer w;
	struct wal_buf snap;
	struct wal_replay r;
	const char *why;
	size_t off;

	fix_run(&f, 50);
	wal_buf_init(&snap, NULL);
	wal_snap_start(&w, f.s, &f.l, 1, 0);
	TU_EQ_INT(wal_snap_fill(&w, &snap, SIZE_MAX), 0);
	TU_EQ_INT(snap.len % WAL_SNAP_ALIGN, 0);	/* padded */
	size_t end;
	{
		struct mvcc *s = mvcct_new();
		struct wal_leases l;
		wal_leases_init(&l, NULL);
		TU_EQ_INT(wal_load_snapshot(snap.p, snap.len, s, &l, &r, &off, &why), 0);
		TU_CHECK(r.end <= snap.len && snap.len - r.end < WAL_SNAP_ALIGN);
		end = r.end;
		mvcc_free(s);
		wal_leases_free(&l);
	}
	/* cut anywhere before the end of SNAP_END: corrupt (a cut in the padding loses nothing) */
	for (size_t cut = 0; cut < end; cut += 1 + cut / 8) {
		struct mvcc *s = mvcct_new();
		struct wal_leases l;
		wal_leases_init(&l, NULL);
		TU_EQ_INT(wal_load_snapshot(snap.p, cut, s, &l, &r, &off, &why), WAL_ECORRUPT);
		TU_CHECK(off <= cut);
		mvcc_free(s);
		wal_leases_free(&l);
	}
	/* a bit flipped anywhere after the header */
	for (size_t at = WAL_FILE_HEADER; at < snap.len; at += 1 + at / 4) {
		struct mvcc *s = mvcct_new();
		struct wal_leases l;
		wal_leases_init(&l, NULL);
		snap.p[at] ^= 0x10;
		TU_EQ_INT(wal_load_snapshot(snap.p, snap.len, s, &l, &r, &off, &why), WAL_ECORRUPT);
		TU_CHECK(off <= at);
		snap.p[at] ^= 0x10;
		mvcc_free(s);
		wal_leases_free(&l);
	}
	wal_buf_free(&snap);
	fix_free(&f);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}


/* ---- allocation failures ------------------------------------------------------------------ */

/* Pull, replay, snapshot and load with the Nth allocation failing, for every N: -ENOMEM
 * with nothing leaked, or success with the right result. */
static void test_fail_nth(void)
{
	struct fix f;
	struct wal_snap_writer w;
	struct wal_buf snap;
	struct wal_replay r;
	const char *why;
	size_t off;
	struct mvcc *h = mvcct_new();	/* history without compaction, for the pulls */
	long n, base;

	for (int i = 0; i < 30; i++) {
		char k[16];
		key_of(k, rnd());
		if (i % 4 == 3)
			mvcct_del(h, k, NULL);
		else
			TU_EQ_INT(mvcct_put(h, k, "some value"), 0);
	}
	fix_run(&f, 40);
	base = mvcct_mem.outstanding;
	wal_buf_init(&snap, NULL);
	wal_snap_start(&w, f.s, &f.l, 1, 0);
	TU_EQ_INT(wal_snap_fill(&w, &snap, SIZE_MAX), 0);
	for (n = 1; n < 10000; n++) {
		struct mvcc *s = mvcct_new();
		struct wal_leases l;
		int rc, rc2;
		wal_leases_init(&l, &mvcct_alloc);
		mvcct_fail(n, false);
		rc = wal_replay_segment(f.b.p, f.b.len, true, s, &l, &r, &off, &why);
		TU_CHECK(rc == 0 || rc == -ENOMEM);
		if (rc == 0)
			same_state(f.s, &f.l, s, &l);
		mvcc_free(s);
		wal_leases_free(&l);
		s = mvcct_new();
		wal_leases_init(&l, &mvcct_alloc);
		mvcct_fail(n, false);
		rc2 = wal_load_snapshot(snap.p, snap.len, s, &l, &r, &off, &why);
		TU_CHECK(rc2 == 0 || rc2 == -ENOMEM);
		if (rc2 == 0)
			same_state(f.s, &f.l, s, &l);
		mvcc_free(s);
		wal_leases_free(&l);
		TU_EQ_INT(mvcct_mem.outstanding, base);
		if (rc == 0 && rc2 == 0 && mvcct_mem.failed == 0)
			break;
	}
	TU_CHECK(n > 5);
	/* the writers: a buffer whose Nth growth fails keeps whole records only */
	for (n = 1; n < 200; n++) {
		struct wal_buf b, seg;
		struct wal_snap_writer w2;
		struct mvcc *s;
		struct wal_leases l;
		int64_t logged = 1;
		size_t len;
		int rc;
		wal_buf_init(&b, &mvcct_alloc);
		mvcct_fail(n, true);
		rc = wal_pull(h, &logged, &b);
		TU_CHECK(rc == 0 || rc == -ENOMEM);
		TU_CHECK(rc != 0 || logged == mvcc_rev(h));
		len = b.len;
		wal_snap_start(&w2, f.s, &f.l, 1, 0);
		rc = wal_snap_fill(&w2, &b, SIZE_MAX);
		TU_CHECK(rc == 0 || rc == -ENOMEM);
		TU_CHECK(b.len >= len);
		mvcct_fail(0, false);
		/* what the pull left replays to the revision it says */
		wal_buf_init(&seg, NULL);
		TU_EQ_INT(wal_put_header(&seg, WAL_MAGIC_SEGMENT), 0);
		TU_EQ_INT(wal_put_segment(&seg, 0, 1), 0);
		b.len = len;
		cat(&seg, &b);
		TU_EQ_INT(replay(seg.p, seg.len, false, &s, &l, &r, &off, &why), 0);
		TU_EQ_INT(mvcc_rev(s), logged);
		mvcc_free(s);
		wal_leases_free(&l);
		wal_buf_free(&seg);
		wal_buf_free(&b);
		TU_EQ_INT(mvcct_mem.outstanding, base);
	}
	mvcc_free(h);
	wal_buf_free(&snap);
	fix_free(&f);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		rng = strtoull(argv[1], NULL, 0);
	printf("seed %#llx\n", (unsigned long long)rng);
	TU_RUN(test_log_round_trip);
	TU_RUN(test_sweeps);
	TU_RUN(test_snapshot_round_trip);
	TU_RUN(test_torn_every_offset);
	TU_RUN(test_bit_flips);
	TU_RUN(test_zero_sector);
	TU_RUN(test_room_ahead);
	TU_RUN(test_wrong_content);
	TU_RUN(test_snapshot_damage);
	TU_RUN(test_fail_nth);
	return TU_EXIT();
}
