/* The log's records as bytes: the file header, record framing with CRC-32C, the payload of
 * each record type, and the reader that checks every record before handing it out and
 * tells a torn tail (a write a crash cut short) from corruption. Pure. */
#include <errno.h>
#include <string.h>

#include "le.h"
#include "wal.h"

const char *wal_strerror(int code)
{
	switch (code) {
#define WAL_ERR_CASE(name, value, text) \
	case name:                      \
		return text;
		WAL_ERRORS(WAL_ERR_CASE)
#undef WAL_ERR_CASE
	default:
		break;
	}
	if (code <= -1600 && code > -1700)
		return mvcc_strerror(code);
	return code < 0 && code > -4096 ? strerror(-code) : "unknown error";
}

/* ---- buffers ---------------------------------------------------------------------------- */

void wal_buf_init(struct wal_buf *b, const struct mvcc_alloc *a)
{
	memset(b, 0, sizeof(*b));
	b->a.fn = a ? a->fn : mvcc_libc;
	b->a.ctx = a ? a->ctx : NULL;
}

void wal_buf_free(struct wal_buf *b)
{
	if (b->p)
		b->a.fn(b->a.ctx, b->p, 0);
	b->p = NULL;
	b->len = b->cap = 0;
}

void wal_buf_shrink(struct wal_buf *b, size_t keep)
{
	if (!b->len && b->cap > keep)
		wal_buf_free(b);
}

/* Room for n more bytes. */
static int reserve(struct wal_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	void *p;

	if (b->cap - b->len >= n)
		return 0;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	p = b->a.fn(b->a.ctx, b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

int wal_buf_zeros(struct wal_buf *b, size_t n)
{
	if (reserve(b, n))
		return -ENOMEM;
	memset(b->p + b->len, 0, n);
	b->len += n;
	return 0;
}

/* ---- records ---------------------------------------------------------------------------- */

/* Starts a record of type t with room for n payload bytes; the header is sealed later. */
static int rec_begin(struct wal_buf *b, enum wal_type t, size_t n, size_t *mark)
{
	if (n > SIZE_MAX - WAL_REC_HEADER || reserve(b, WAL_REC_HEADER + n))
		return -ENOMEM;
	*mark = b->len;
	memset(b->p + b->len, 0, WAL_REC_HEADER);
	b->p[b->len + 4] = (uint8_t)t;
	b->len += WAL_REC_HEADER;
	return 0;
}

static void rec_end(struct wal_buf *b, size_t mark)
{
	uint8_t *h = b->p + mark;
	size_t n = b->len - mark - WAL_REC_HEADER;

	le_put32(h, (uint32_t)n);
	le_put32(h + 8, wal_crc32c(0, h + WAL_REC_HEADER, n));
	le_put32(h + 12, wal_crc32c(0, h, 12));
}

/* One record whose payload is p[0, n). */
static int put_rec(struct wal_buf *b, enum wal_type t, const uint8_t *p, size_t n)
{
	size_t mark;

	if (rec_begin(b, t, n, &mark))
		return -ENOMEM;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	rec_end(b, mark);
	return 0;
}

int wal_put_header(struct wal_buf *b, const char magic[8])
{
	if (reserve(b, WAL_FILE_HEADER))
		return -ENOMEM;
	uint8_t *h = b->p + b->len;
	memcpy(h, magic, 8);
	le_put32(h + 8, WAL_VERSION);
	le_put32(h + 12, wal_crc32c(0, h, 12));
	b->len += WAL_FILE_HEADER;
	return 0;
}

int wal_put_segment(struct wal_buf *b, uint64_t seq, int64_t rev)
{
	uint8_t p[16];
	le_put64(p, seq);
	le_put64(p + 8, (uint64_t)rev);
	return put_rec(b, WAL_SEGMENT, p, sizeof(p));
}

int wal_put_compact(struct wal_buf *b, int64_t rev)
{
	uint8_t p[8];
	le_put64(p, (uint64_t)rev);
	return put_rec(b, WAL_COMPACT, p, sizeof(p));
}

int wal_put_lease_grant(struct wal_buf *b, int64_t id, int64_t ttl)
{
	uint8_t p[16];
	le_put64(p, (uint64_t)id);
	le_put64(p + 8, (uint64_t)ttl);
	return put_rec(b, WAL_LEASE_GRANT, p, sizeof(p));
}

int wal_put_lease_revoke(struct wal_buf *b, int64_t id)
{
	uint8_t p[8];
	le_put64(p, (uint64_t)id);
	return put_rec(b, WAL_LEASE_REVOKE, p, sizeof(p));
}

int wal_put_applied(struct wal_buf *b, uint64_t index)
{
	uint8_t p[8];

	le_put64(p, index);
	return put_rec(b, WAL_APPLIED, p, sizeof(p));
}

int wal_put_snap_meta(struct wal_buf *b, int64_t rev, int64_t compacted, uint64_t next_seq,
		      uint64_t nkv, uint64_t nlease)
{
	uint8_t p[40];
	le_put64(p, (uint64_t)rev);
	le_put64(p + 8, (uint64_t)compacted);
	le_put64(p + 16, next_seq);
	le_put64(p + 24, nkv);
	le_put64(p + 32, nlease);
	return put_rec(b, WAL_SNAP_META, p, sizeof(p));
}

int wal_put_snap_end(struct wal_buf *b, uint64_t nkv, uint64_t nlease)
{
	uint8_t p[16];
	le_put64(p, nkv);
	le_put64(p + 8, nlease);
	return put_rec(b, WAL_SNAP_END, p, sizeof(p));
}

/* ---- changes ---------------------------------------------------------------------------- */

#define PUT_FIXED 33	/* kind, key length, value length, create, version, lease */
#define DEL_FIXED 5	/* kind, key length */
#define SWEEP_FIXED 13	/* kind, first key length, last key length, keys */

static size_t change_size(const struct wal_change *c)
{
	if (c->sweep)
		return SWEEP_FIXED + c->key.len + c->last.len;
	return c->del ? DEL_FIXED + c->key.len : PUT_FIXED + c->key.len + c->value.len;
}

/* Writes c at p (change_size bytes). */
static void change_write(uint8_t *p, const struct wal_change *c)
{
	if (c->sweep) {
		p[0] = 2;
		le_put32(p + 1, (uint32_t)c->key.len);
		le_put32(p + 5, (uint32_t)c->last.len);
		le_put32(p + 9, c->sweep);
		memcpy(p + SWEEP_FIXED, c->key.p, c->key.len);
		memcpy(p + SWEEP_FIXED + c->key.len, c->last.p, c->last.len);
		return;
	}
	p[0] = c->del ? 1 : 0;
	le_put32(p + 1, (uint32_t)c->key.len);
	if (c->del) {
		if (c->key.len)
			memcpy(p + DEL_FIXED, c->key.p, c->key.len);
		return;
	}
	le_put32(p + 5, (uint32_t)c->value.len);
	le_put64(p + 9, (uint64_t)c->create);
	le_put64(p + 17, (uint64_t)c->version);
	le_put64(p + 25, (uint64_t)c->lease);
	if (c->key.len)
		memcpy(p + PUT_FIXED, c->key.p, c->key.len);
	if (c->value.len)
		memcpy(p + PUT_FIXED + c->key.len, c->value.p, c->value.len);
}

static int bytes_cmp(struct mvcc_bytes a, struct mvcc_bytes b)
{
	int c = memcmp(a.p, b.p, a.len < b.len ? a.len : b.len);
	return c ? c : (a.len > b.len) - (a.len < b.len);
}

/* A sweep at [p, end) (kind checked): its size, or 0 if malformed (an empty key, fewer
 * than two keys, the last not after the first, lengths past end). */
static size_t sweep_parse(const uint8_t *p, const uint8_t *end, struct wal_change *c)
{
	size_t left = (size_t)(end - p), klen, llen;

	if (left < SWEEP_FIXED)
		return 0;
	klen = le_get32(p + 1);
	llen = le_get32(p + 5);
	c->sweep = le_get32(p + 9);
	if (!klen || !llen || klen > left - SWEEP_FIXED || llen > left - SWEEP_FIXED - klen ||
	    c->sweep < 2)
		return 0;
	c->del = true;
	c->key = (struct mvcc_bytes){ p + SWEEP_FIXED, klen };
	c->last = (struct mvcc_bytes){ p + SWEEP_FIXED + klen, llen };
	return bytes_cmp(c->key, c->last) < 0 ? SWEEP_FIXED + klen + llen : 0;
}

/* Parses one change at [p, end): returns its size, or 0 if it is not a whole, well-formed
 * change (unknown kind, a sweep where none may be, empty key, lengths past end). */
static size_t change_parse(const uint8_t *p, const uint8_t *end, bool sweeps,
			   struct wal_change *c)
{
	size_t left = (size_t)(end - p), klen, vlen, fixed;

	memset(c, 0, sizeof(*c));
	if (left >= 1 && p[0] == 2 && sweeps)
		return sweep_parse(p, end, c);
	if (left < DEL_FIXED || p[0] > 1)
		return 0;
	c->del = p[0] == 1;
	fixed = c->del ? DEL_FIXED : PUT_FIXED;
	if (left < fixed)
		return 0;
	klen = le_get32(p + 1);
	vlen = c->del ? 0 : le_get32(p + 5);
	if (!klen || klen > left - fixed || vlen > left - fixed - klen)
		return 0;
	if (!c->del) {
		c->create = (int64_t)le_get64(p + 9);
		c->version = (int64_t)le_get64(p + 17);
		c->lease = (int64_t)le_get64(p + 25);
	}
	c->key = (struct mvcc_bytes){ p + fixed, klen };
	c->value = (struct mvcc_bytes){ vlen ? p + fixed + klen : NULL, vlen };
	return fixed + klen + vlen;
}

void wal_change_next(const uint8_t **p, const uint8_t *end, struct wal_change *c)
{
	*p += change_parse(*p, end, true, c);
}

static int change_ok(const struct wal_change *c)
{
	if (c->sweep)
		return c->del && c->sweep >= 2 && c->key.len && c->key.len <= UINT32_MAX &&
		       c->last.len && c->last.len <= UINT32_MAX && !c->value.len &&
		       bytes_cmp(c->key, c->last) < 0;
	return c->key.len && c->key.len <= UINT32_MAX && c->value.len <= UINT32_MAX &&
	       (!c->del || !c->value.len);
}

int wal_put_snap_kv(struct wal_buf *b, int64_t rev, uint32_t sub, const struct wal_change *c)
{
	size_t mark, n;

	if (!change_ok(c) || c->sweep)
		return -EINVAL;
	n = 12 + change_size(c);
	if (n > UINT32_MAX)
		return -EINVAL;
	if (rec_begin(b, WAL_SNAP_KV, n, &mark))
		return -ENOMEM;
	le_put64(b->p + b->len, (uint64_t)rev);
	le_put32(b->p + b->len + 8, sub);
	change_write(b->p + b->len + 12, c);
	b->len += n;
	rec_end(b, mark);
	return 0;
}

/* ---- REV records ------------------------------------------------------------------------ */

int wal_rev_begin(struct wal_buf *b, int64_t rev, size_t *mark)
{
	if (rec_begin(b, WAL_REV, 12, mark))
		return -ENOMEM;
	le_put64(b->p + b->len, (uint64_t)rev);
	le_put32(b->p + b->len + 8, 0);
	b->len += 12;
	return 0;
}

int wal_rev_add(struct wal_buf *b, size_t mark, const struct wal_change *c)
{
	uint8_t *count;
	size_t n;

	if (!change_ok(c))
		return -EINVAL;
	n = change_size(c);
	if (n > UINT32_MAX - (b->len - mark - WAL_REC_HEADER))
		return -EINVAL;	/* the record would outgrow its 32-bit length */
	if (reserve(b, n))
		return -ENOMEM;
	change_write(b->p + b->len, c);
	b->len += n;
	count = b->p + mark + WAL_REC_HEADER + 8;
	le_put32(count, le_get32(count) + 1);
	return 0;
}

void wal_rev_end(struct wal_buf *b, size_t mark)
{
	rec_end(b, mark);
}

void wal_rev_cancel(struct wal_buf *b, size_t mark)
{
	b->len = mark;
}

int wal_put_raft_state(struct wal_buf *b, uint64_t term, uint64_t vote, uint64_t commit)
{
	uint8_t p[24];

	le_put64(p, term);
	le_put64(p + 8, vote);
	le_put64(p + 16, commit);
	return put_rec(b, WAL_RAFT_STATE, p, sizeof(p));
}

int wal_put_raft_snap(struct wal_buf *b, uint64_t index, uint64_t term, bool reset,
		      uint32_t n, const uint64_t *ids, const uint8_t *learner)
{
	uint8_t p[24 + 9 * WAL_RAFT_MEMBERS_MAX] = {0};

	if (n > WAL_RAFT_MEMBERS_MAX)
		return -EINVAL;
	le_put64(p, index);
	le_put64(p + 8, term);
	p[16] = reset;
	le_put32(p + 20, n);
	for (uint32_t i = 0; i < n; i++) {
		le_put64(p + 24 + 9 * i, ids[i]);
		p[32 + 9 * i] = learner[i] ? 1 : 0;
	}
	return put_rec(b, WAL_RAFT_SNAP, p, 24 + 9 * (size_t)n);
}

int wal_put_raft_entry(struct wal_buf *b, uint64_t term, uint64_t index, uint8_t type,
		       const uint8_t *data, size_t len)
{
	size_t mark;

	if (len > UINT32_MAX - 64)
		return -EINVAL;
	if (rec_begin(b, WAL_RAFT_ENTRY, 17 + len, &mark))
		return -ENOMEM;
	uint8_t *p = b->p + b->len;
	le_put64(p, term);
	le_put64(p + 8, index);
	p[16] = type;
	if (len)
		memcpy(p + 17, data, len);
	b->len += 17 + len;
	rec_end(b, mark);
	return 0;
}

/* ---- reading ---------------------------------------------------------------------------- */

int wal_iter_init(struct wal_iter *it, const uint8_t *p, size_t len, const char magic[8],
		  bool tail, const char **why)
{
	uint32_t version;

	memset(it, 0, sizeof(*it));
	it->p = p;
	it->len = len;
	it->tail = tail;
	it->zeros_end = memcmp(magic, WAL_MAGIC_SEGMENT, 8) == 0 ||
			memcmp(magic, WAL_MAGIC_RAFT, 8) == 0;
	if (len < WAL_FILE_HEADER) {
		*why = "the file is shorter than its header";
		return tail ? WAL_ETORN : WAL_ECORRUPT;
	}
	if (memcmp(p, magic, 8) != 0) {
		*why = "bad magic number (not a file of this kind)";
		return WAL_ECORRUPT;
	}
	if (wal_crc32c(0, p, 12) != le_get32(p + 12)) {
		*why = "file header checksum mismatch";
		return WAL_ECORRUPT;
	}
	version = le_get32(p + 8);
	if (version == 0) {
		*why = "format version 0";
		return WAL_ECORRUPT;
	}
	if (version > WAL_VERSION) {
		*why = "written in a newer format version than this cabind reads";
		return WAL_EVERSION;
	}
	it->off = WAL_FILE_HEADER;
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* etcd's test for a torn write: the record's bytes, cut at 512-byte file sectors, hold a
 * piece that is all zeros (a sector the crash left unwritten). A piece is checked to the
 * end of its sector (or of the file), past the record's end, so that a few zero bytes
 * ending a record that is merely corrupt do not pass for an unwritten sector. */
static bool zero_sector(const struct wal_iter *it, size_t from, size_t to)
{
	while (from < to) {
		size_t next = (from / 512 + 1) * 512, stop = next < it->len ? next : it->len;
		if (all_zero(it->p + from, stop - from))
			return true;
		from = next;
	}
	return false;
}

/* Nothing but the zeros a segment writes ahead follows offset from: what ends there was
 * the last thing written, as a record ending the file is. */
static bool last_written(const struct wal_iter *it, size_t from)
{
	return it->zeros_end && all_zero(it->p + from, it->len - from);
}

/* A bad record: torn in a tail when the crash explains it, corrupt otherwise. */
static int bad(const struct wal_iter *it, bool torn, const char *msg, const char **why)
{
	*why = msg;
	return it->tail && torn ? WAL_ETORN : WAL_ECORRUPT;
}

static int parse_rev(struct wal_rec *r, const uint8_t *p, size_t n, const char **why)
{
	const uint8_t *q = p + 12, *end = p + n;
	struct wal_change c;
	uint64_t subs = 0;

	if (n < 12) {
		*why = "REV record too short";
		return WAL_ECORRUPT;
	}
	r->u.rev.rev = (int64_t)le_get64(p);
	r->u.rev.n = le_get32(p + 8);
	r->u.rev.p = q;
	r->u.rev.end = end;
	if (!r->u.rev.n) {
		*why = "REV record without changes";
		return WAL_ECORRUPT;
	}
	for (uint32_t i = 0; i < r->u.rev.n; i++) {
		size_t k = change_parse(q, end, true, &c);
		if (!k) {
			*why = "REV record: a change is malformed or runs past the record";
			return WAL_ECORRUPT;
		}
		subs += c.sweep ? c.sweep : 1;
		if (subs > (uint64_t)UINT32_MAX + 1) {
			*why = "REV record: more sub-revisions than there can be";
			return WAL_ECORRUPT;
		}
		q += k;
	}
	if (q != end) {
		*why = "REV record: bytes after its last change";
		return WAL_ECORRUPT;
	}
	return 0;
}

static int parse_kv(struct wal_rec *r, const uint8_t *p, size_t n, const char **why)
{
	size_t k;

	if (n < 12 || !(k = change_parse(p + 12, p + n, false, &r->u.kv.c)) || 12 + k != n) {
		*why = "SNAP_KV record is malformed";
		return WAL_ECORRUPT;
	}
	r->u.kv.rev = (int64_t)le_get64(p);
	r->u.kv.sub = le_get32(p + 8);
	return 0;
}

static int parse_raft(struct wal_rec *r, const uint8_t *p, size_t n, const char **why)
{
	switch (r->type) {
	case WAL_RAFT_STATE:
		if (n != 24)
			break;
		r->u.rstate.term = le_get64(p);
		r->u.rstate.vote = le_get64(p + 8);
		r->u.rstate.commit = le_get64(p + 16);
		return 0;
	case WAL_RAFT_SNAP:
		if (n < 24)
			break;
		r->u.rsnap.index = le_get64(p);
		r->u.rsnap.term = le_get64(p + 8);
		r->u.rsnap.reset = p[16];
		r->u.rsnap.n = le_get32(p + 20);
		r->u.rsnap.members = p + 24;
		if (r->u.rsnap.n > WAL_RAFT_MEMBERS_MAX || n != 24 + 9 * (size_t)r->u.rsnap.n)
			break;
		if (p[16] > 1 || p[17] || p[18] || p[19]) {
			*why = "RAFT_SNAP record: bad reset flag or reserved bytes";
			return WAL_ECORRUPT;
		}
		for (uint32_t i = 0; i < r->u.rsnap.n; i++)
			if (p[32 + 9 * i] > 1) {
				*why = "RAFT_SNAP record: a learner flag is neither 0 nor 1";
				return WAL_ECORRUPT;
			}
		if ((r->u.rsnap.index == 0) != (r->u.rsnap.term == 0)) {
			*why = "RAFT_SNAP record: index and term must both be 0 or neither";
			return WAL_ECORRUPT;
		}
		return 0;
	default: /* WAL_RAFT_ENTRY */
		if (n < 17)
			break;
		r->u.rent.term = le_get64(p);
		r->u.rent.index = le_get64(p + 8);
		r->u.rent.type = p[16];
		r->u.rent.len = (uint32_t)(n - 17);
		r->u.rent.data = p + 17;
		if (r->u.rent.type > 1 || !r->u.rent.index || !r->u.rent.term) {
			*why = "RAFT_ENTRY record: bad type, or index or term 0";
			return WAL_ECORRUPT;
		}
		return 0;
	}
	*why = "record length does not fit its type";
	return WAL_ECORRUPT;
}

/* The payload of a record whose checksums hold. */
static int parse(struct wal_rec *r, const uint8_t *p, size_t n, const char **why)
{
	static const size_t fixed[] = {
		[WAL_SEGMENT] = 16, [WAL_COMPACT] = 8, [WAL_LEASE_GRANT] = 16, [WAL_APPLIED] = 8,
		[WAL_LEASE_REVOKE] = 8, [WAL_SNAP_META] = 40, [WAL_SNAP_END] = 16,
	};

	switch (r->type) {
	case WAL_REV:
		return parse_rev(r, p, n, why);
	case WAL_SNAP_KV:
		return parse_kv(r, p, n, why);
	case WAL_RAFT_STATE:
	case WAL_RAFT_SNAP:
	case WAL_RAFT_ENTRY:
		return parse_raft(r, p, n, why);
	case WAL_SEGMENT:
	case WAL_COMPACT:
	case WAL_APPLIED:
	case WAL_LEASE_GRANT:
	case WAL_LEASE_REVOKE:
	case WAL_SNAP_META:
	case WAL_SNAP_END:
		break;
	default:
		*why = "unknown record type (written by a newer cabind?)";
		return WAL_EVERSION;
	}
	if (n != fixed[r->type]) {
		*why = "record length does not fit its type";
		return WAL_ECORRUPT;
	}
	switch (r->type) {
	case WAL_SEGMENT:
		r->u.seg.seq = le_get64(p);
		r->u.seg.rev = (int64_t)le_get64(p + 8);
		break;
	case WAL_COMPACT:
		r->u.compact = (int64_t)le_get64(p);
		break;
	case WAL_APPLIED:
		r->u.applied = le_get64(p);
		break;
	case WAL_LEASE_GRANT:
		r->u.lease.ttl = (int64_t)le_get64(p + 8);
		/* fall through */
	case WAL_LEASE_REVOKE:
		r->u.lease.id = (int64_t)le_get64(p);
		break;
	case WAL_SNAP_META:
		r->u.meta.rev = (int64_t)le_get64(p);
		r->u.meta.compacted = (int64_t)le_get64(p + 8);
		r->u.meta.next_seq = le_get64(p + 16);
		r->u.meta.nkv = le_get64(p + 24);
		r->u.meta.nlease = le_get64(p + 32);
		break;
	default:
		r->u.end.nkv = le_get64(p);
		r->u.end.nlease = le_get64(p + 8);
		break;
	}
	return 0;
}

int wal_next(struct wal_iter *it, struct wal_rec *r, const char **why)
{
	size_t left = it->len - it->off, n;
	const uint8_t *h = it->p + it->off;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!left)
		return 0;
	if (it->zeros_end && !h[0] && all_zero(h, left))
		return 0;	/* the room written ahead */
	if (left < WAL_REC_HEADER)
		return bad(it, true, "record header cut short by the end of the file", why);
	if (wal_crc32c(0, h, 12) != le_get32(h + 12))
		return bad(it, all_zero(h, WAL_REC_HEADER) ||
				       last_written(it, it->off + WAL_REC_HEADER),
			   "record header checksum mismatch", why);
	if (h[5] || h[6] || h[7])
		return bad(it, false, "reserved record header bytes are set", why);
	n = le_get32(h);
	if (n > left - WAL_REC_HEADER)
		return bad(it, true, "record runs past the end of the file", why);
	if (wal_crc32c(0, h + WAL_REC_HEADER, n) != le_get32(h + 8)) {
		size_t end = it->off + WAL_REC_HEADER + n;
		return bad(it, end == it->len || zero_sector(it, it->off, end) ||
				       last_written(it, end),
			   "record checksum mismatch", why);
	}
	r->type = (enum wal_type)h[4];
	r->off = it->off;
	r->len = WAL_REC_HEADER + n;
	rc = parse(r, h + WAL_REC_HEADER, n, why);
	if (rc)
		return rc;
	it->off += r->len;
	return 1;
}

bool wal_scan_applied(const uint8_t *p, size_t len, size_t *end)
{
	struct wal_iter it;
	struct wal_rec r;
	const char *why;
	bool found = false;

	*end = 0;
	if (wal_iter_init(&it, p, len, WAL_MAGIC_SEGMENT, true, &why))
		return false;
	while (wal_next(&it, &r, &why) == 1) {
		if (r.type == WAL_SEGMENT && !found && !*end)
			*end = it.off;
		if (r.type == WAL_APPLIED) {
			*end = it.off;
			found = true;
		}
	}
	return found;
}
