/* From records to the store: a segment's records applied in order (every REV the store's
 * next revision, compactions, leases), and a snapshot loaded whole. Every record is checked
 * against the state it lands on, so a log that does not fit together is reported, not
 * applied. Pure. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "wal.h"

static int corrupt(struct wal_replay *r, const char **why, const char *fmt, int64_t a, int64_t b)
{
	snprintf(r->msg, sizeof(r->msg), fmt, a, b);
	*why = r->msg;
	return WAL_ECORRUPT;
}

/* The store's answer to a change that does not fit: a corrupt log, or no memory. */
static int store_err(int rc, const char **why)
{
	if (rc == -ENOMEM)
		return rc;
	*why = "a change does not fit the store (order or metadata)";
	return WAL_ECORRUPT;
}

static int apply_change(struct mvcc *s, int64_t rev, uint32_t sub, const struct wal_change *c)
{
	if (c->sweep)
		return mvcc_restore_sweep(s, rev, sub, c->key, c->last, c->sweep);
	struct mvcc_rec m = {
		.kv = { .key = c->key, .value = c->value, .create_revision = c->create,
			.mod_revision = rev, .version = c->version, .lease = c->lease },
		.sub = sub, .tomb = c->del,
	};
	return mvcc_restore_rec(s, &m);
}

static int apply_rev(struct mvcc *s, const struct wal_rec *rec, struct wal_replay *r,
		     const char **why)
{
	const uint8_t *p = rec->u.rev.p;
	int64_t rev = rec->u.rev.rev;

	if (rev != mvcc_rev(s) + 1)
		return corrupt(r, why, "revision %" PRId64 " does not follow %" PRId64, rev,
			       mvcc_rev(s));
	for (uint32_t i = 0, sub = 0; i < rec->u.rev.n; i++) {
		struct wal_change c;
		wal_change_next(&p, rec->u.rev.end, &c);
		int rc = apply_change(s, rev, sub, &c);
		if (rc)
			return store_err(rc, why);
		sub += c.sweep ? c.sweep : 1;
	}
	return 0;
}

/* One record of a segment, after its SEGMENT record. */
static int apply(struct mvcc *s, struct wal_leases *l, const struct wal_rec *rec,
		 struct wal_replay *r, const char **why)
{
	switch (rec->type) {
	case WAL_REV:
		return apply_rev(s, rec, r, why);
	case WAL_COMPACT:
		if (mvcc_compact(s, rec->u.compact))
			return corrupt(r, why, "compaction to revision %" PRId64
				       " is impossible at revision %" PRId64, rec->u.compact,
				       mvcc_rev(s));
		return 0;
	case WAL_LEASE_GRANT:
		if (!rec->u.lease.id) {
			*why = "lease grant without an id";
			return WAL_ECORRUPT;
		}
		return wal_leases_put(l, rec->u.lease.id, rec->u.lease.ttl);
	case WAL_LEASE_REVOKE:
		wal_leases_del(l, rec->u.lease.id);
		return 0;
	case WAL_APPLIED:
		if (rec->u.applied < r->applied) {
			*why = "an APPLIED record goes back";
			return WAL_ECORRUPT;
		}
		r->applied = rec->u.applied;
		return 0;
	case WAL_SEGMENT:
		*why = "a second SEGMENT record in one segment";
		return WAL_ECORRUPT;
	default:
		*why = "a snapshot or Raft record in a store segment";
		return WAL_ECORRUPT;
	}
}

/* The first record of a segment. */
static int apply_seg(struct mvcc *s, const struct wal_rec *rec, struct wal_replay *r,
		     const char **why)
{
	if (rec->type != WAL_SEGMENT) {
		*why = "the segment does not start with its SEGMENT record";
		return WAL_ECORRUPT;
	}
	if (rec->u.seg.rev != mvcc_rev(s))
		return corrupt(r, why, "the segment follows revision %" PRId64
			       " but the log before it ends at %" PRId64, rec->u.seg.rev,
			       mvcc_rev(s));
	r->has_seg = true;
	r->seq = rec->u.seg.seq;
	r->seg_rev = rec->u.seg.rev;
	return 0;
}

int wal_replay_segment(const uint8_t *p, size_t len, bool tail, struct mvcc *s,
		       struct wal_leases *l, struct wal_replay *r, size_t *off, const char **why)
{
	struct wal_iter it;
	struct wal_rec rec;
	int rc;

	memset(r, 0, sizeof(*r));
	*off = 0;
	rc = wal_iter_init(&it, p, len, WAL_MAGIC_SEGMENT, tail, why);
	while (rc == 0 && (rc = wal_next(&it, &rec, why)) == 1) {
		rc = r->has_seg ? apply(s, l, &rec, r, why) : apply_seg(s, &rec, r, why);
		if (rc) {
			*off = rec.off;
			return rc;
		}
		r->records += rec.type != WAL_SEGMENT;
	}
	r->end = it.off;
	if (rc == 0 && !r->has_seg) {
		*why = "the segment has no SEGMENT record";
		rc = tail ? WAL_ETORN : WAL_ECORRUPT;	/* a tail: cut short while created */
	}
	if (rc == WAL_ETORN) {
		r->torn = true;
		return 0;
	}
	*off = it.off;
	return rc;
}

/* ---- snapshots ---------------------------------------------------------------------------- */

static int snap_meta(const struct wal_rec *rec, struct wal_replay *r, const char **why)
{
	if (rec->type != WAL_SNAP_META) {
		*why = "the snapshot does not start with its SNAP_META record";
		return WAL_ECORRUPT;
	}
	if (rec->u.meta.rev < 1 || rec->u.meta.compacted < 0 ||
	    rec->u.meta.compacted > rec->u.meta.rev) {
		*why = "SNAP_META: impossible revisions";
		return WAL_ECORRUPT;
	}
	r->rev = rec->u.meta.rev;
	r->compacted = rec->u.meta.compacted;
	r->next_seq = rec->u.meta.next_seq;
	return 0;
}

/* Above the compacted revision nothing was dropped: every revision up to the snapshot's
 * is there, its changes numbered from 0 without a gap. at: the last (revision, sub) seen
 * above it (0 before the first). */
static bool snap_continues(const struct wal_rec *meta, const struct wal_rec *rec, int64_t *at,
			   uint32_t *sub)
{
	int64_t base = meta->u.meta.compacted > 1 ? meta->u.meta.compacted : 1;
	int64_t rev = rec ? rec->u.kv.rev : meta->u.meta.rev + 1;
	uint32_t s = rec ? rec->u.kv.sub : 0;

	if (rev <= base)
		return true;
	if (!*at ? rev == base + 1 && s == 0 :
		   (rev == *at && s == *sub + 1) || (rev == *at + 1 && s == 0)) {
		*at = rev;
		*sub = s;
		return true;
	}
	return false;
}

/* A record after SNAP_META: key revisions, then leases, then SNAP_END. */
static int snap_rec(struct mvcc *s, struct wal_leases *l, const struct wal_rec *rec,
		    const struct wal_rec *meta, struct wal_replay *r, uint64_t *nkv,
		    uint64_t *nlease, bool *done, int64_t *at, uint32_t *sub, const char **why)
{
	int rc;

	if (*done) {
		*why = "records after SNAP_END";
		return WAL_ECORRUPT;
	}
	if (rec->type == WAL_APPLIED && !*nkv && !*nlease && !*at && !r->applied) {
		r->applied = rec->u.applied ? rec->u.applied : UINT64_MAX;	/* one, first */
		return 0;
	}
	if (rec->type == WAL_SNAP_KV && !*nlease && *nkv < meta->u.meta.nkv) {
		if (rec->u.kv.rev > meta->u.meta.rev) {
			*why = "SNAP_KV: a revision after the snapshot's";
			return WAL_ECORRUPT;
		}
		if (!snap_continues(meta, rec, at, sub)) {
			*why = "SNAP_KV: a revision or a change above the compacted one is missing";
			return WAL_ECORRUPT;
		}
		rc = apply_change(s, rec->u.kv.rev, rec->u.kv.sub, &rec->u.kv.c);
		if (rc)
			return store_err(rc, why);
		(*nkv)++;
		return 0;
	}
	if (rec->type == WAL_LEASE_GRANT && *nkv == meta->u.meta.nkv &&
	    *nlease < meta->u.meta.nlease && rec->u.lease.id) {
		(*nlease)++;
		return wal_leases_put(l, rec->u.lease.id, rec->u.lease.ttl);
	}
	if (rec->type == WAL_SNAP_END && !snap_continues(meta, NULL, at, sub)) {
		*why = "SNAP_END: revisions up to the snapshot's are missing";
		return WAL_ECORRUPT;
	}
	if (rec->type == WAL_SNAP_END && *nkv == meta->u.meta.nkv &&
	    *nlease == meta->u.meta.nlease && rec->u.end.nkv == *nkv &&
	    rec->u.end.nlease == *nlease) {
		*done = true;
		return 0;
	}
	*why = "a record out of place (counts do not match SNAP_META)";
	return WAL_ECORRUPT;
}

/* The padding after SNAP_END: fewer than WAL_SNAP_ALIGN bytes, all zero (none at all too). */
static bool zero_pad(const uint8_t *p, size_t n)
{
	if (n >= WAL_SNAP_ALIGN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int wal_load_snapshot(const uint8_t *p, size_t len, struct mvcc *s, struct wal_leases *l,
		      struct wal_replay *r, size_t *off, const char **why)
{
	struct wal_iter it;
	struct wal_rec rec, meta;
	uint64_t nkv = 0, nlease = 0;
	int64_t at = 0;
	uint32_t sub = 0;
	bool done = false;
	int rc;

	memset(r, 0, sizeof(*r));
	*off = 0;
	rc = wal_iter_init(&it, p, len, WAL_MAGIC_SNAPSHOT, false, why);
	if (rc)
		return rc;
	rc = wal_next(&it, &meta, why);
	if (rc == 0) {
		*why = "the snapshot is empty";
		rc = WAL_ECORRUPT;
	}
	if (rc == 1)
		rc = snap_meta(&meta, r, why);
	*off = rc ? WAL_FILE_HEADER : it.off;
	while (rc == 0 && !(done && zero_pad(p + it.off, len - it.off)) &&
	       (rc = wal_next(&it, &rec, why)) == 1) {
		rc = snap_rec(s, l, &rec, &meta, r, &nkv, &nlease, &done, &at, &sub, why);
		*off = rc ? rec.off : it.off;
	}
	if (rc == 0 && !done) {
		*why = "the snapshot ends before its SNAP_END record";
		rc = WAL_ECORRUPT;
	}
	if (rc == 0 && mvcc_restore_revs(s, r->rev, r->compacted)) {
		*why = "SNAP_META: revisions do not fit the key revisions";
		rc = WAL_ECORRUPT;
		*off = WAL_FILE_HEADER;
	}
	if (r->applied == UINT64_MAX)
		r->applied = 0;	/* an APPLIED record of index 0 */
	r->end = it.off;
	return rc;
}
