/* The MVCC store's walks over the revision log: history replay for watch catch-up, and
 * HashKV computed exactly as etcd 3.4 does over its backend (revision keys and protobuf
 * KeyValues, CRC-32C), so a cabin member and an etcd member with one history agree. */
#include <string.h>

#include "mvcc_int.h"

/* The first log entry with main >= rev. */
static size_t log_seek(const struct mvcc *s, int64_t rev)
{
	size_t lo = 0, hi = s->nlog;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mvcc_log_main(&s->log[mid]) < rev)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool log_match(const struct mvcc_span *sp, const struct mvcc_logent *e)
{
	return mvcc_span_has(sp, e->key);
}

/* Delivers the matching events of the revision in log[i, end); returns how many. */
static long deliver(struct mvcc *s, const struct mvcc_span *sp, size_t i, size_t end,
		    bool prev, mvcc_event_fn *fn, void *ctx)
{
	size_t last = end, n = 0;

	for (size_t j = i; j < end; j++)
		if (log_match(sp, &s->log[j]))
			last = j;
	for (size_t j = i; last < end && j <= last; j++) {
		struct mvcc_rdmark m = mvcc_rd_mark(s);
		struct mvcc_event ev;
		int rc;
		if (!log_match(sp, &s->log[j]))
			continue;
		rc = mvcc_log_event(s, &s->log[j], prev, &ev);
		if (rc) {
			mvcc_rd_release(s, m);
			return rc;
		}
		ev.last = j == last;
		fn(ctx, &ev);
		mvcc_rd_release(s, m);
		n++;
	}
	return (long)n;
}

int64_t mvcc_history(struct mvcc *s, struct mvcc_bytes key, struct mvcc_bytes range_end,
		     int64_t start, size_t max, mvcc_event_fn *fn, void *ctx, int64_t *next)
{
	return mvcc_history_ex(s, key, range_end, start, max, true, fn, ctx, next);
}

int64_t mvcc_history_ex(struct mvcc *s, struct mvcc_bytes key, struct mvcc_bytes range_end,
			int64_t start, size_t max, bool prev, mvcc_event_fn *fn, void *ctx,
			int64_t *next)
{
	struct mvcc_span sp;
	size_t i, n = 0;

	if (start < s->compacted)
		return MVCC_ECOMPACTED;
	*next = start;
	if (start > s->rev)
		return 0;
	mvcc_span_init(s, &sp, key, range_end);
	/* the open transaction's entries are past s->rev and stay unseen */
	for (i = log_seek(s, start); i < s->nlog && mvcc_log_main(&s->log[i]) <= s->rev;) {
		size_t end = i;
		while (end < s->nlog && mvcc_log_main(&s->log[end]) == mvcc_log_main(&s->log[i]))
			end++;
		long got = deliver(s, &sp, i, end, prev, fn, ctx);
		if (got < 0)
			return got;
		n += (size_t)got;
		*next = mvcc_log_main(&s->log[i]) + 1;
		i = end;
		if (max && n >= max)
			return (int64_t)n;
	}
	*next = s->rev + 1;
	return (int64_t)n;
}

/* ---- HashKV ---------------------------------------------------------------------------- */

struct crc {
	uint32_t table[256];
	uint32_t v;
};

static void crc_init(struct crc *c)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t x = i;
		for (int b = 0; b < 8; b++)
			x = (x >> 1) ^ (x & 1 ? 0x82f63b78u : 0);	/* Castagnoli, reflected */
		c->table[i] = x;
	}
	c->v = 0xffffffffu;
}

static void crc_add(struct crc *c, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		c->v = c->table[(c->v ^ b[i]) & 0xff] ^ (c->v >> 8);
}

static void crc_be64(struct crc *c, int64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
	crc_add(c, b, 8);
}

static void crc_varint(struct crc *c, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;

	do {
		b[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	crc_add(c, b, n);
}

/* A protobuf field; proto3 leaves out zero numbers and empty bytes. */
static void crc_int_field(struct crc *c, uint8_t field, int64_t v)
{
	if (!v)
		return;
	crc_varint(c, (uint64_t)field << 3);
	crc_varint(c, (uint64_t)v);
}

static void crc_bytes_field(struct crc *c, uint8_t field, struct mvcc_bytes b)
{
	if (!b.len)
		return;
	crc_varint(c, (uint64_t)field << 3 | 2);
	crc_varint(c, b.len);
	crc_add(c, b.p, b.len);
}

/* etcd's backend record: key = main (8 bytes big-endian) '_' sub (8 bytes) ['t' for a
 * deletion]; value = the mvccpb.KeyValue, only the key for a deletion. */
static int crc_record(struct mvcc *s, struct crc *c, const struct mvcc_key *k,
		      const struct mvcc_rev *r)
{
	struct mvcc_rdmark m = mvcc_rd_mark(s);
	struct mvcc_kv kv;
	int rc;

	crc_be64(c, r->main);
	crc_add(c, "_", 1);
	crc_be64(c, r->sub);
	if (r->tomb)
		crc_add(c, "t", 1);
	rc = mvcc_key_kv(s, k, r, &kv);
	if (rc)
		return rc;
	crc_bytes_field(c, 1, kv.key);
	if (!r->tomb) {
		crc_int_field(c, 2, kv.create_revision);
		crc_int_field(c, 3, kv.mod_revision);
		crc_int_field(c, 4, kv.version);
		crc_bytes_field(c, 5, kv.value);
		crc_int_field(c, 6, kv.lease);
	}
	mvcc_rd_release(s, m);
	return 0;
}

/* Whether some key exists at rev (etcd's "keep" set is not empty). */
static bool any_live(const struct mvcc *s, int64_t rev)
{
	struct mvcc_key *k;

	for (struct mvcc_pos pos = mvcc_bt_first(&s->index); (k = mvcc_bt_at(pos));
	     mvcc_bt_next(&pos))
		if (mvcc_key_live(k, rev))
			return true;
	return false;
}

int mvcc_hash_kv(struct mvcc *s, int64_t rev, struct mvcc_hash *out)
{
	struct crc c;
	bool keep;

	memset(out, 0, sizeof(*out));
	if (rev > 0 && rev <= s->compacted)
		return MVCC_ECOMPACTED;
	if (rev > s->rev)
		return MVCC_EFUTURE;
	if (rev <= 0)
		rev = s->rev;
	out->revision = s->rev;
	out->compact_revision = s->compacted ? s->compacted : -1;
	crc_init(&c);
	crc_add(&c, "key", 3);	/* etcd hashes its bucket's name first */
	/* At or below the compacted revision etcd hashes a record only if a compaction at
	 * rev would keep it, unless no key exists at rev at all. */
	keep = s->compacted && any_live(s, rev);
	for (size_t i = 0; i < s->nlog && mvcc_log_main(&s->log[i]) <= rev; i++) {
		const struct mvcc_logent *e = &s->log[i];
		const struct mvcc_rev *r = mvcc_log_rev(e);
		if (keep && r->main <= s->compacted && mvcc_key_live(e->key, rev) != r)
			continue;
		int rc = crc_record(s, &c, e->key, r);
		if (rc)
			return rc;
	}
	out->hash = c.v ^ 0xffffffffu;
	return 0;
}
