/* The write-ahead log's codec: CRC-32C against known vectors and a bitwise reference,
 * records and file headers in and out, the store's restore rules, and the lease table
 * against a model. Seeded; the seed is printed. */
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

/* ---- CRC-32C ----------------------------------------------------------------------------- */

static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int b = 0; b < 8; b++)
			c = (c >> 1) ^ (c & 1 ? 0x82f63b78u : 0);
	}
	return ~c;
}

static void test_crc_vectors(void)
{
	uint8_t b[64];

	TU_EQ_INT(wal_crc32c(0, "123456789", 9), 0xe3069283u);
	TU_EQ_INT(wal_crc32c(0, "", 0), 0);
	TU_EQ_INT(wal_crc32c(0, "a", 1), 0xc1d04330u);
	/* RFC 3720 (iSCSI) B.4 */
	memset(b, 0, 32);
	TU_EQ_INT(wal_crc32c(0, b, 32), 0x8a9136aau);
	memset(b, 0xff, 32);
	TU_EQ_INT(wal_crc32c(0, b, 32), 0x62a8ab43u);
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)i;
	TU_EQ_INT(wal_crc32c(0, b, 32), 0x46dd794eu);
	for (int i = 0; i < 32; i++)
		b[i] = (uint8_t)(31 - i);
	TU_EQ_INT(wal_crc32c(0, b, 32), 0x113fdb5cu);
	/* 48 bytes of an iSCSI read command */
	static const uint8_t iscsi[48] = {
		0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0x14, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0x14, 0, 0, 0, 0x18,
		0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0,
	};
	TU_EQ_INT(wal_crc32c(0, iscsi, 48), 0xd9963a56u);
}

/* Every length and misalignment against the bitwise reference, whole and in two pieces. */
static void test_crc_random(void)
{
	uint8_t buf[300];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd();
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n + off <= sizeof(buf); n += 1 + n / 16) {
			uint32_t want = crc_bitwise(buf + off, n);
			size_t cut = n ? rnd() % n : 0;
			TU_EQ_INT(wal_crc32c(0, buf + off, n), want);
			TU_EQ_INT(wal_crc32c(wal_crc32c(0, buf + off, cut), buf + off + cut, n - cut),
				  want);
			/* the table version too, whichever the CPU gives wal_crc32c */
			TU_EQ_INT(wal_crc32c_soft(0, buf + off, n), want);
			TU_EQ_INT(wal_crc32c_soft(wal_crc32c(0, buf + off, cut), buf + off + cut,
						  n - cut), want);
		}
}

/* File headers: wrong magic, checksum, version 0, a newer version. */
static void test_file_header(void)
{
	struct wal_buf b;
	struct wal_iter it;
	const char *why;

	wal_buf_init(&b, NULL);
	TU_EQ_INT(wal_put_header(&b, WAL_MAGIC_SEGMENT), 0);
	TU_EQ_INT(wal_iter_init(&it, b.p, b.len, WAL_MAGIC_SEGMENT, false, &why), 0);
	TU_EQ_INT(wal_iter_init(&it, b.p, b.len, WAL_MAGIC_SNAPSHOT, true, &why), WAL_ECORRUPT);
	b.p[13] ^= 1;
	TU_EQ_INT(wal_iter_init(&it, b.p, b.len, WAL_MAGIC_SEGMENT, true, &why), WAL_ECORRUPT);
	b.p[13] ^= 1;
	for (uint32_t v = 0; v < 4; v++) {	/* 1 and 2 are read */
		uint32_t c;
		b.p[8] = (uint8_t)v;
		c = wal_crc32c(0, b.p, 12);
		for (int i = 0; i < 4; i++)
			b.p[12 + i] = (uint8_t)(c >> (8 * i));
		TU_EQ_INT(wal_iter_init(&it, b.p, b.len, WAL_MAGIC_SEGMENT, true, &why),
			  v == 0 ? WAL_ECORRUPT : v <= WAL_VERSION ? 0 : WAL_EVERSION);
	}
	TU_EQ_INT(wal_iter_init(&it, b.p, 10, WAL_MAGIC_SEGMENT, true, &why), WAL_ETORN);
	TU_EQ_INT(wal_iter_init(&it, b.p, 10, WAL_MAGIC_SEGMENT, false, &why), WAL_ECORRUPT);
	wal_buf_free(&b);
}

/* Every record type out and back. */
static void test_records(void)
{
	struct wal_buf b;
	struct wal_iter it;
	struct wal_rec r;
	const char *why;
	struct wal_change put = { .key = mvcct_b("key"), .value = mvcct_b("value"), .create = 3,
				  .version = 2, .lease = -7 };
	struct wal_change del = { .del = true, .key = mvcct_b("gone") }, c;
	size_t mark;

	wal_buf_init(&b, NULL);
	TU_EQ_INT(wal_put_header(&b, WAL_MAGIC_SNAPSHOT), 0);
	TU_EQ_INT(wal_put_segment(&b, 1ull << 40, 1234567890123ll), 0);
	TU_EQ_INT(wal_rev_begin(&b, 42, &mark), 0);
	TU_EQ_INT(wal_rev_add(&b, mark, &put), 0);
	TU_EQ_INT(wal_rev_add(&b, mark, &del), 0);
	wal_rev_end(&b, mark);
	TU_EQ_INT(wal_put_compact(&b, 41), 0);
	TU_EQ_INT(wal_put_lease_grant(&b, -1, 60), 0);
	TU_EQ_INT(wal_put_lease_revoke(&b, 77), 0);
	TU_EQ_INT(wal_put_snap_meta(&b, 9, 4, 3, 2, 1), 0);
	TU_EQ_INT(wal_put_snap_kv(&b, 8, 5, &put), 0);
	TU_EQ_INT(wal_put_snap_end(&b, 2, 1), 0);
	/* a change with an empty key, or a value on a delete, is refused */
	c = put;
	c.key.len = 0;
	TU_EQ_INT(wal_put_snap_kv(&b, 8, 5, &c), -EINVAL);
	c = del;
	c.value = mvcct_b("v");
	TU_EQ_INT(wal_rev_begin(&b, 1, &mark), 0);
	TU_EQ_INT(wal_rev_add(&b, mark, &c), -EINVAL);
	wal_rev_cancel(&b, mark);

	TU_EQ_INT(wal_iter_init(&it, b.p, b.len, WAL_MAGIC_SNAPSHOT, false, &why), 0);
	TU_EQ_INT(wal_next(&it, &r, &why), 1);
	TU_EQ_INT(r.type, WAL_SEGMENT);
	TU_EQ_INT(r.u.seg.seq, 1ull << 40);
	TU_EQ_INT(r.u.seg.rev, 1234567890123ll);
	TU_EQ_INT(wal_next(&it, &r, &why), 1);
	TU_EQ_INT(r.type, WAL_REV);
	TU_EQ_INT(r.u.rev.rev, 42);
	TU_EQ_INT(r.u.rev.n, 2);
	{
		const uint8_t *p = r.u.rev.p;
		wal_change_next(&p, r.u.rev.end, &c);
		TU_CHECK(!c.del && mvcct_eq(c.key, "key") && mvcct_eq(c.value, "value"));
		TU_EQ_INT(c.create, 3);
		TU_EQ_INT(c.version, 2);
		TU_EQ_INT(c.lease, -7);
		wal_change_next(&p, r.u.rev.end, &c);
		TU_CHECK(c.del && mvcct_eq(c.key, "gone") && !c.value.len);
		TU_CHECK(p == r.u.rev.end);
	}
	TU_EQ_INT(wal_next(&it, &r, &why), 1);
	TU_EQ_INT(r.u.compact, 41);
	TU_EQ_INT(wal_next(&it, &r, &why), 1);
	TU_EQ_INT(r.type, WAL_LEASE_GRANT);
	TU_EQ_INT(r.u.lease.id, -1);
	TU_EQ_INT(r.u.lease.ttl, 60);
	TU_EQ_INT(wal_next(&it, &r, &why), 1);
	TU_EQ_INT(r.type, WAL_LEASE_REVOKE);
	TU_EQ_INT(r.u.lease.id, 77);
	TU_EQ_INT(wal_next(&it, &r, &why), 1);
	TU_EQ_INT(r.u.meta.rev, 9);
	TU_EQ_INT(r.u.meta.compacted, 4);
	TU_EQ_INT(r.u.meta.next_seq, 3);
	TU_EQ_INT(r.u.meta.nkv, 2);
	TU_EQ_INT(r.u.meta.nlease, 1);
	TU_EQ_INT(wal_next(&it, &r, &why), 1);
	TU_EQ_INT(r.type, WAL_SNAP_KV);
	TU_EQ_INT(r.u.kv.rev, 8);
	TU_EQ_INT(r.u.kv.sub, 5);
	TU_CHECK(mvcct_eq(r.u.kv.c.value, "value"));
	/* the value sits contiguously at a fixed place in the record */
	TU_CHECK(r.u.kv.c.value.p == b.p + r.off + WAL_REC_HEADER + 12 + 33 + 3);
	TU_EQ_INT(wal_next(&it, &r, &why), 1);
	TU_EQ_INT(r.u.end.nkv, 2);
	TU_EQ_INT(wal_next(&it, &r, &why), 0);
	wal_buf_free(&b);
}

/* ---- mvcc_restore ------------------------------------------------------------------------ */

static void test_restore_rules(void)
{
	struct mvcc *s = mvcct_new();
	struct mvcc_rec r = { .kv = { .key = mvcct_b("k"), .value = mvcct_b("v"),
				      .create_revision = 2, .mod_revision = 2, .version = 1 } };

	TU_EQ_INT(mvcc_restore_rec(s, &r), 0);
	TU_EQ_INT(mvcc_rev(s), 2);
	TU_EQ_INT(mvcc_restore_rec(s, &r), MVCC_EARG);		/* same (rev, sub) */
	r.sub = 1;
	r.kv.key = mvcct_b("j");
	TU_EQ_INT(mvcc_restore_rec(s, &r), 0);			/* same revision, next sub */
	r.kv.mod_revision = 3;
	r.kv.create_revision = 4;
	TU_EQ_INT(mvcc_restore_rec(s, &r), MVCC_EARG);		/* created in the future */
	r.kv.create_revision = 2;
	r.kv.version = 0;
	TU_EQ_INT(mvcc_restore_rec(s, &r), MVCC_EARG);
	r.tomb = true;
	TU_EQ_INT(mvcc_restore_rec(s, &r), 0);			/* a tombstone needs no version */
	TU_EQ_INT(mvcc_restore_revs(s, 2, 0), MVCC_EARG);	/* below the last revision */
	TU_EQ_INT(mvcc_restore_revs(s, 5, 6), MVCC_EARG);
	TU_EQ_INT(mvcc_restore_revs(s, 5, 3), 0);
	r.kv.mod_revision = 5;
	TU_EQ_INT(mvcc_restore_rec(s, &r), MVCC_EARG);		/* not above the current */
	r.kv.mod_revision = 6;
	r.kv.key.len = 0;
	TU_EQ_INT(mvcc_restore_rec(s, &r), MVCC_EARG);
	TU_EQ_INT(mvcc_txn_begin(s), 0);
	TU_EQ_INT(mvcc_restore_revs(s, 9, 3), MVCC_ETXN);
	mvcc_txn_abort(s);
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

/* A put's create revision and version must follow from the key's revisions before it;
 * only a key's first revision may start in the middle of a life (a compaction took the
 * rest), and the revisions after it count on from there. */
static void test_restore_lives(void)
{
	struct mvcc *s = mvcct_new();
	struct mvcc_rec r = { .kv = { .key = mvcct_b("k"), .value = mvcct_b("v"),
				      .create_revision = 3, .mod_revision = 10, .version = 7,
				      .lease = 99 } };
	struct mvcc_kv kv;

	TU_EQ_INT(mvcc_restore_rec(s, &r), 0);		/* mid-life first revision */
	r.kv.mod_revision = 11;
	r.kv.version = 9;
	TU_EQ_INT(mvcc_restore_rec(s, &r), MVCC_EARG);	/* a version skipped */
	r.kv.version = 8;
	r.kv.create_revision = 4;
	TU_EQ_INT(mvcc_restore_rec(s, &r), MVCC_EARG);	/* another create revision */
	r.kv.create_revision = 3;
	r.kv.lease = 0;
	TU_EQ_INT(mvcc_restore_rec(s, &r), 0);
	r.kv.mod_revision = 12;
	r.kv.create_revision = 12;
	r.kv.version = 1;
	TU_EQ_INT(mvcc_restore_rec(s, &r), MVCC_EARG);	/* a new life without a delete */
	r.tomb = true;
	TU_EQ_INT(mvcc_restore_rec(s, &r), 0);
	r.tomb = false;
	r.kv.mod_revision = 13;
	r.kv.create_revision = 12;
	r.kv.version = 2;
	TU_EQ_INT(mvcc_restore_rec(s, &r), MVCC_EARG);	/* after a delete: a new life only */
	r.kv.create_revision = 13;
	r.kv.version = 1;
	TU_EQ_INT(mvcc_restore_rec(s, &r), 0);
	TU_EQ_INT(mvcc_restore_revs(s, 13, 9), 0);
	TU_EQ_INT(mvcct_get(s, "k", 10, &kv), 1);
	TU_EQ_INT(kv.create_revision, 3);
	TU_EQ_INT(kv.version, 7);
	TU_EQ_INT(kv.lease, 99);
	TU_EQ_INT(mvcct_get(s, "k", 11, &kv), 1);
	TU_EQ_INT(kv.version, 8);
	TU_EQ_INT(kv.lease, 0);
	TU_EQ_INT(mvcct_get(s, "k", 13, &kv), 1);
	TU_EQ_INT(kv.create_revision, 13);
	TU_EQ_INT(kv.version, 1);
	/* a put on it now continues the life; compacting to it keeps the numbers */
	TU_EQ_INT(mvcct_put(s, "k", "w"), 0);
	TU_EQ_INT(mvcc_compact(s, 14), 0);
	TU_EQ_INT(mvcct_get(s, "k", 0, &kv), 1);
	TU_EQ_INT(kv.create_revision, 13);
	TU_EQ_INT(kv.version, 2);
	mvcc_free(s);
	TU_EQ_INT(mvcct_mem.outstanding, 0);
}

/* ---- the lease table against a model ------------------------------------------------------ */

static void test_leases_model(void)
{
	struct wal_leases l;
	int64_t model[64] = { 0 };	/* ttl by id - 1; 0 = absent */

	wal_leases_init(&l, NULL);
	for (int i = 0; i < 20000; i++) {
		int64_t id = (int64_t)(rnd() % 64) + 1;
		if (rnd() % 3) {
			int64_t ttl = (int64_t)(rnd() % 1000) + 1;
			TU_EQ_INT(wal_leases_put(&l, id, ttl), 0);
			model[id - 1] = ttl;
		} else {
			wal_leases_del(&l, id);
			model[id - 1] = 0;
		}
		if (i % 97 == 0) {
			size_t n = 0;
			for (int j = 0; j < 64; j++)
				n += model[j] != 0;
			TU_EQ_INT(l.n, n);
			for (size_t j = 0; j < l.cap; j++) {
				const struct wal_lease *x = wal_leases_slot(&l, j);
				if (x)
					TU_EQ_INT(model[x->id - 1], x->ttl);
			}
		}
	}
	TU_EQ_INT(wal_leases_put(&l, 0, 1), -EINVAL);
	wal_leases_free(&l);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		rng = strtoull(argv[1], NULL, 0);
	printf("seed %#llx\n", (unsigned long long)rng);
	TU_RUN(test_crc_vectors);
	TU_RUN(test_crc_random);
	TU_RUN(test_records);
	TU_RUN(test_file_header);
	TU_RUN(test_restore_rules);
	TU_RUN(test_restore_lives);
	TU_RUN(test_leases_model);
	return TU_EXIT();
}
