/* The KV store's write-ahead log and snapshots: a pure codec (records framed with CRC-32C,
 * a replay iterator over bytes that tells a torn tail from corruption), the bridge between
 * records and the MVCC store (pull committed revisions, apply records, dump and load a
 * snapshot), and a thin file shell (segments, fdatasync, snapshot files, recovery).
 *
 * On disk, under DATA_DIR/member/:
 *   wal/SSSSSSSSSSSSSSSS-RRRRRRRRRRRRRRRR.wal   segment S (hex, 16 digits, from 0), whose
 *        first record follows store revision R. Segments are append-only; a new one is cut
 *        at WAL_SEGMENT_MAX bytes and before each snapshot.
 *   snap/SSSSSSSSSSSSSSSS-RRRRRRRRRRRRRRRR.snap  the store at revision R, covering every
 *        segment before S. Written to a .tmp name, fsynced, renamed, directory fsynced;
 *        then the older snapshots and the segments before S are deleted.
 * Recovery loads the newest snapshot and replays the segments from its S on.
 *
 * Every file: a 16-byte header, then records. A segment may end in zero bytes: room
 * written ahead of the records to come (WAL_AHEAD at a time), so that a record's
 * fdatasync finds the file's size and blocks already on disk and writes the data alone.
 * Zeros from a record boundary to the end of a segment end its records.
 *   header: magic (8: "cabinWAL" or "cabinSNP"), u32 format version (1), u32 CRC-32C of the
 *           first 12 bytes.
 *   record: u32 payload length, u8 type, 3 zero bytes, u32 CRC-32C of the payload, u32
 *           CRC-32C of these first 12 bytes; then the payload.
 * All integers little-endian; int64 as their two's complement. A record never moves once
 * written, and a value's bytes sit contiguously inside its record, so a later version can
 * point the in-memory index at (file, offset) instead of holding values.
 *
 * Payloads (a "change" is one key's write inside a revision):
 *   change:        u8 kind (0 put, 1 delete), u32 key length, then for a put u32 value
 *                  length, i64 create revision, i64 version, i64 lease; the key bytes; for
 *                  a put the value bytes. Or a sweep, the tombstones of one DeleteRange
 *                  (REV records only, since version 2): u8 kind 2, u32 first key length,
 *                  u32 last key length, u32 number of keys n (>= 2), the first key, the
 *                  last key (greater): every key alive from the first through the last at
 *                  that point of the replay, n of them, deleted in key order.
 *   SEGMENT (1):   u64 segment number, i64 store revision before this segment. First
 *                  record of each segment, nowhere else.
 *   REV (2):       i64 revision, u32 number of changes (>= 1), then the changes in their
 *                  order, with sub-revisions from 0 up (a sweep takes one per key): one
 *                  committed revision.
 *   COMPACT (3):   i64 revision compacted to.
 *   LEASE_GRANT (4):  i64 id, i64 TTL in seconds.
 *   LEASE_REVOKE (5): i64 id.
 *   APPLIED (6):   u64 Raft index: the records before it hold the effects of every Raft
 *                  entry up to it. A batch of entries applied ends with one, so at start-up
 *                  the last segment is cut after its last APPLIED record: what follows it
 *                  is a batch a crash cut short, and Raft applies it again. In a snapshot
 *                  it follows SNAP_META.
 *   SNAP_META (16):   i64 revision, i64 compacted revision, u64 first segment not covered,
 *                  u64 key revisions, u64 leases. First record of a snapshot.
 *   SNAP_KV (17):  i64 revision, u32 sub-revision, then one change: a key revision held.
 *   SNAP_END (18): u64 key revisions, u64 leases: the snapshot is complete.
 * The Raft log (kv/rlog.c: DATA_DIR/member/raft/SSSSSSSSSSSSSSSS-IIIIIIIIIIIIIIII.rlog,
 * segment S whose first entry was to be I) has files of its own kind ("cabinRFT"), of
 * these records:
 *   RAFT_STATE (32):  u64 term, u64 vote, u64 commit: the hard state from here on.
 *   RAFT_SNAP (33):   u64 index, u64 term, u8 reset, 3 zero bytes, u32 n (<= 32), then n
 *                  times u64 member id and u8 learner (0/1): the entries up to index are
 *                  covered by a snapshot; reset 1 (a leader's snapshot taken): no entry
 *                  written before it counts any more.
 *   RAFT_ENTRY (34):  u64 term, u64 index, u8 type (0 normal, 1 configuration), then its
 *                  data. An entry replaces any entries from its index on written before.
 * A snapshot is SNAP_META, its SNAP_KVs in (revision, sub) order, one LEASE_GRANT per
 * lease, SNAP_END, then zero bytes up to a multiple of WAL_SNAP_ALIGN (512: `etcdctl
 * snapshot save` takes a file whose size is not that plus its 32-byte digest for a
 * truncated one). */
#ifndef CABIN_KV_WAL_H
#define CABIN_KV_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mvcc.h"

/* ---- errors ----------------------------------------------------------------------------
 * Functions return 0 (or a count) or a negative code: -ENOMEM, -errno from a system call,
 * MVCC_* from the store, or one of these. */
#define WAL_ERRORS(X)                                                                  \
	X(WAL_ETORN, -1800, "wal: torn record at the end of the log")                  \
	X(WAL_ECORRUPT, -1801, "wal: corrupt record")                                  \
	X(WAL_EVERSION, -1802, "wal: written by a newer version of cabind")            \
	X(WAL_EGAP, -1803, "wal: revisions were compacted before they were logged")

#define WAL_ERR_ENUM(name, value, text) name = value,
enum wal_code { WAL_ERRORS(WAL_ERR_ENUM) };
#undef WAL_ERR_ENUM

/* A static description of a WAL_E* code, an MVCC_E* code or -errno. */
const char *wal_strerror(int code);

#define WAL_VERSION 2	/* 2: sweeps; version 1 files are read as ever */
#define WAL_FILE_HEADER 16
#define WAL_REC_HEADER 16
#define WAL_SEGMENT_MAX ((size_t)64 << 20)
#define WAL_AHEAD ((size_t)1 << 20)	/* zeros written ahead in a segment, at a time */
#define WAL_SNAP_ALIGN 512
#define WAL_MAGIC_SEGMENT "cabinWAL"
#define WAL_MAGIC_SNAPSHOT "cabinSNP"
#define WAL_MAGIC_RAFT "cabinRFT"

enum wal_type {
	WAL_SEGMENT = 1,
	WAL_REV = 2,
	WAL_COMPACT = 3,
	WAL_LEASE_GRANT = 4,
	WAL_LEASE_REVOKE = 5,
	WAL_APPLIED = 6,
	WAL_SNAP_META = 16,
	WAL_SNAP_KV = 17,
	WAL_SNAP_END = 18,
	WAL_RAFT_STATE = 32,
	WAL_RAFT_SNAP = 33,
	WAL_RAFT_ENTRY = 34,
};

/* ---- CRC-32C (Castagnoli), slice-by-8 (kv/wal_crc.c) ----------------------------------- */

/* Continues crc over n bytes: wal_crc32c(0, p, n) is the CRC-32C of p ("123456789" gives
 * 0xe3069283), and wal_crc32c(wal_crc32c(0, a, x), b, y) that of a then b. */
uint32_t wal_crc32c(uint32_t crc, const void *p, size_t n);
/* The same without the CPU's crc32 instruction (what wal_crc32c does on CPUs without it). */
uint32_t wal_crc32c_soft(uint32_t crc, const void *p, size_t n);

/* ---- encoding (kv/wal_codec.c) ----------------------------------------------------------- */

/* Memory as kv/mvcc.h's allocator (realloc semantics; NULL = libc). */
struct wal_buf {
	uint8_t *p;
	size_t len, cap;
	struct mvcc_alloc a;
};

void wal_buf_init(struct wal_buf *b, const struct mvcc_alloc *a);
void wal_buf_free(struct wal_buf *b);
/* Appends n zero bytes. Returns 0 or -ENOMEM (b as it was). */
int wal_buf_zeros(struct wal_buf *b, size_t n);
/* Gives back the memory of an empty buffer that grew past keep bytes. */
void wal_buf_shrink(struct wal_buf *b, size_t keep);

/* One key's change inside a revision (REV) or a key revision (SNAP_KV). Bytes borrowed.
 * A sweep (REV only) is a delete with sweep >= 2 keys, from key through last. */
struct wal_change {
	bool del;
	struct mvcc_bytes key, value;		/* value empty for a delete */
	int64_t create, version, lease;		/* 0 for a delete */
	uint32_t sweep;				/* 0: one key */
	struct mvcc_bytes last;			/* a sweep's last key */
};

/* The appenders add one whole record (or the file header) to b and return 0, or -ENOMEM
 * with b as it was. */
int wal_put_header(struct wal_buf *b, const char magic[8]);
int wal_put_segment(struct wal_buf *b, uint64_t seq, int64_t rev);
int wal_put_compact(struct wal_buf *b, int64_t rev);
int wal_put_lease_grant(struct wal_buf *b, int64_t id, int64_t ttl);
int wal_put_lease_revoke(struct wal_buf *b, int64_t id);
int wal_put_applied(struct wal_buf *b, uint64_t index);
int wal_put_snap_meta(struct wal_buf *b, int64_t rev, int64_t compacted, uint64_t next_seq,
		      uint64_t nkv, uint64_t nlease);
int wal_put_snap_kv(struct wal_buf *b, int64_t rev, uint32_t sub, const struct wal_change *c);
int wal_put_snap_end(struct wal_buf *b, uint64_t nkv, uint64_t nlease);
int wal_put_raft_state(struct wal_buf *b, uint64_t term, uint64_t vote, uint64_t commit);
/* n at most WAL_RAFT_MEMBERS_MAX (else -EINVAL). */
#define WAL_RAFT_MEMBERS_MAX 32
int wal_put_raft_snap(struct wal_buf *b, uint64_t index, uint64_t term, bool reset,
		      uint32_t n, const uint64_t *ids, const uint8_t *learner);
/* len below 4 GiB - 64 (else -EINVAL). */
int wal_put_raft_entry(struct wal_buf *b, uint64_t term, uint64_t index, uint8_t type,
		       const uint8_t *data, size_t len);

/* A REV record is built change by change: begin notes where it starts in *mark, add
 * appends a change, end seals it (length, count, checksums), cancel drops it. begin and
 * add return 0 or -ENOMEM (then cancel). A key or value of 4 GiB or more is -EINVAL. */
int wal_rev_begin(struct wal_buf *b, int64_t rev, size_t *mark);
int wal_rev_add(struct wal_buf *b, size_t mark, const struct wal_change *c);
void wal_rev_end(struct wal_buf *b, size_t mark);
void wal_rev_cancel(struct wal_buf *b, size_t mark);

/* ---- decoding ---------------------------------------------------------------------------- */

/* A decoded record; pointers borrow from the bytes being read. */
struct wal_rec {
	enum wal_type type;
	size_t off;		/* where the record starts */
	size_t len;		/* its whole length, header included */
	union {
		struct { uint64_t seq; int64_t rev; } seg;
		struct { int64_t rev; uint32_t n; const uint8_t *p, *end; } rev;  /* changes */
		int64_t compact;
		uint64_t applied;
		struct { int64_t id, ttl; } lease;	/* a revoke has ttl 0 */
		struct { int64_t rev, compacted; uint64_t next_seq, nkv, nlease; } meta;
		struct { int64_t rev; uint32_t sub; struct wal_change c; } kv;
		struct { uint64_t nkv, nlease; } end;
		struct { uint64_t term, vote, commit; } rstate;
		struct { uint64_t index, term; bool reset; uint32_t n;
			 const uint8_t *members; } rsnap;	/* n * (u64 id, u8 learner) */
		struct { uint64_t term, index; uint8_t type; uint32_t len;
			 const uint8_t *data; } rent;
	} u;
};

/* Reads bytes [p, p + len) of one file. tail: these are the last bytes of the log, where a
 * write cut short by a crash may end them: a torn record is then reported as WAL_ETORN
 * rather than WAL_ECORRUPT. */
struct wal_iter {
	const uint8_t *p;
	size_t len, off;	/* off: the next record, or the bad one after an error */
	bool tail;
	bool zeros_end;		/* a segment: zeros to the end of the file end it cleanly */
};

/* Checks the file header (magic must match) and sets it up to read the records after it.
 * Returns 0, WAL_ETORN (tail, shorter than a header), WAL_ECORRUPT, WAL_EVERSION, with *why
 * (static) saying what is wrong. */
int wal_iter_init(struct wal_iter *it, const uint8_t *p, size_t len, const char magic[8],
		  bool tail, const char **why);
/* The next record: returns 1 with *r filled, 0 at a clean end (of the file, or of the
 * records of a segment: zeros to its end), or WAL_ETORN (a torn record at it->off ends a
 * tail: incomplete, or failing its checksum while being the last record, with nothing but
 * zeros after it in a segment, or holding an all-zero 512-byte sector), WAL_ECORRUPT or WAL_EVERSION (an unknown record
 * type) at it->off, with *why saying what is wrong. Every length and count in the record is
 * checked against its bounds before it is returned. */
int wal_next(struct wal_iter *it, struct wal_rec *r, const char **why);
/* Where a batch of the segment p[0, len) a crash may have cut short begins: returns true
 * with *end the end of its last APPLIED record, or false (none) with *end the end of its
 * SEGMENT record (0 if it has none). Reads as far as its records are whole. */
bool wal_scan_applied(const uint8_t *p, size_t len, size_t *end);
/* The next change of a REV record: call with *p = r->u.rev.p and end = r->u.rev.end while
 * n changes remain (wal_next checked that they are there). Sub-revisions: one per change,
 * c->sweep for a sweep. */
void wal_change_next(const uint8_t **p, const uint8_t *end, struct wal_change *c);

/* ---- leases known to the log (kv/wal_leases.c) -------------------------------------------
 * (id, TTL) of each lease granted and not revoked: what a snapshot keeps. */
struct wal_lease {
	int64_t id, ttl;	/* id 0: a free slot */
};
struct wal_leases {
	struct wal_lease *slot;
	size_t cap, n;		/* cap: 0 or a power of two */
	struct mvcc_alloc a;
};
void wal_leases_init(struct wal_leases *l, const struct mvcc_alloc *a);
void wal_leases_free(struct wal_leases *l);
/* Sets the TTL of lease id (id != 0). Returns 0, -EINVAL (id 0), -ENOMEM (unchanged). */
int wal_leases_put(struct wal_leases *l, int64_t id, int64_t ttl);
/* Forgets lease id; unknown ids are ignored. */
void wal_leases_del(struct wal_leases *l, int64_t id);
/* dst (uninitialised) as a copy of src. Returns 0 or -ENOMEM (dst empty, nothing to free). */
int wal_leases_copy(struct wal_leases *dst, const struct wal_leases *src);
/* The lease in slot i (0 <= i < l->cap), or NULL for a free slot. */
const struct wal_lease *wal_leases_slot(const struct wal_leases *l, size_t i);

/* ---- the store and the records (kv/wal_store.c, kv/wal_replay.c) ------------------------- */

/* Appends one REV record per committed revision after *logged to b (mvcc_history), and
 * moves *logged to the last one appended. Returns 0; -ENOMEM (b holds the revisions that
 * fitted, *logged says which); WAL_EGAP if revisions after *logged are no longer held
 * (compacted before they were logged): only a snapshot can cover them then. */
int wal_pull(struct mvcc *s, int64_t *logged, struct wal_buf *b);

/* A snapshot written piece by piece, so that it never has to sit in memory whole. */
struct wal_snap_writer {
	struct mvcc *s;
	const struct wal_leases *l;
	int64_t rev, compacted;	/* the store's when it started */
	size_t limit;		/* and its key revisions then: the ones written */
	uint64_t next_seq;
	uint64_t applied;	/* the Raft index the store is at */
	int stage;
	size_t i;
	uint64_t nkv, nlease;
	uint64_t bytes;		/* written so far */
	size_t pad;		/* the zeros at the end, once written */
};
/* Starts a snapshot of s as it is now (its revision and the key revisions it holds; writes
 * after this are not in it, so the writing may be spread over time, as long as s is not
 * compacted meanwhile) with the leases of l (which must not change until it is done). */
void wal_snap_start(struct wal_snap_writer *w, struct mvcc *s, const struct wal_leases *l,
		    uint64_t next_seq, uint64_t applied);
/* Appends the next records of the snapshot (the file header first) to b until b holds at
 * least chunk bytes. Returns 1 if more is to come, 0 when the snapshot is complete,
 * -ENOMEM (b as before the record that failed; call again to retry). */
int wal_snap_fill(struct wal_snap_writer *w, struct wal_buf *b, size_t chunk);

/* What a replay learned, and where it stopped. */
struct wal_replay {
	uint64_t seq;		/* the segment's number (SEGMENT record) */
	int64_t seg_rev;	/* and the revision it follows */
	size_t end;		/* bytes of whole good records, file header included */
	bool torn;		/* a torn tail starts at end: *why says what */
	size_t records;		/* records applied, SEGMENT excluded */
	uint64_t applied;	/* the last APPLIED record's index (0: none) */
	bool has_seg;		/* the SEGMENT record was read */
	/* snapshots only */
	int64_t rev, compacted;
	uint64_t next_seq;
	char msg[160];		/* where a *why with numbers in it is written */
};

/* Replays the bytes of one segment into an empty or partly rebuilt store s and lease
 * table l: the SEGMENT record first (its revision must be the store's), then each record
 * in order, every REV the store's next revision. tail: the last segment (see wal_iter).
 * Returns 0 (with *r filled; on a torn tail r->torn, r->end its offset and *why), or
 * WAL_ECORRUPT / WAL_EVERSION / -ENOMEM with *off the bad record's offset and *why. s and
 * l are left partly changed on error: throw them away. */
int wal_replay_segment(const uint8_t *p, size_t len, bool tail, struct mvcc *s,
		       struct wal_leases *l, struct wal_replay *r, size_t *off, const char **why);
/* Loads a snapshot into an empty store s and lease table l. The snapshot must be whole:
 * any flaw is WAL_ECORRUPT (or WAL_EVERSION) with *off and *why. r->rev, r->compacted and
 * r->next_seq are set. Returns 0 or an error as above. */
int wal_load_snapshot(const uint8_t *p, size_t len, struct mvcc *s, struct wal_leases *l,
		      struct wal_replay *r, size_t *off, const char **why);

/* ---- a leader's snapshot installed (kv/wal_install.c) ----------------------------------- */

/* What a snapshot file says of itself. */
struct wal_snap_head {
	int64_t rev;		/* the store's revision */
	uint64_t next_seq;	/* the first segment it does not cover */
	uint64_t applied;	/* the Raft index the store is at (0: none said) */
};
/* Reads every record of the snapshot file at path (checksums, SNAP_META first, SNAP_END
 * last) and its head into *h. Returns 0, or a negative code with err naming the file and
 * the offset of the flaw. */
int wal_snapshot_check(const char *path, struct wal_snap_head *h, char *err, size_t errlen);
/* Makes the checked snapshot file at path (on the same file system) the whole log of
 * DATA_DIR dir: its segments and snapshots are removed, an empty segment h->next_seq is
 * written, and path is renamed into member/snap as the newest snapshot, last. A crash on
 * the way leaves path in place: call again. Returns 0 or -errno with err set. */
int wal_install_snapshot(const char *dir, const char *path, const struct wal_snap_head *h,
			 char *err, size_t errlen);

/* ---- the file shell (kv/wal_file.c) ------------------------------------------------------ */

struct wal;

struct wal_stats {
	uint64_t syncs;		/* fdatasyncs of segments */
	uint64_t bytes;		/* record bytes written */
	uint64_t snapshots;
	uint64_t segment;	/* the segment being written */
	int64_t snap_rev;	/* the newest snapshot's revision (0: none) */
	uint64_t snap_size;	/* and its size in bytes */
};

/* Opens the log of DATA_DIR dir: creates member/wal and member/snap for a new member, or
 * loads the newest snapshot and replays the segments after it into s (an empty store) and
 * l (an empty table). A torn tail of the last segment is cut off with a warning naming the
 * file and offset; anything else wrong stops the opening, err saying "FILE: corrupt record
 * at offset N: why" (or what else failed). Returns 0 with *out (the caller's: wal_close),
 * or a negative code. */
int wal_open(const char *dir, struct mvcc *s, struct wal_leases *l, struct wal **out,
	     char *err, size_t errlen);
/* The records not yet written: callers append to it (whole records only). */
struct wal_buf *wal_pending(struct wal *w);
/* Writes the pending records to the current segment and fdatasyncs it; then they are
 * durable and the buffer is empty. Returns 0 or -errno (-ENOSPC, -EIO...): the records stay
 * pending and the next call writes them again from where the last good sync ended. Cuts a
 * new segment after a sync that left this one at WAL_SEGMENT_MAX or more (a failure to
 * cut is retried at the next sync and is not an error of this one). */
int wal_sync(struct wal *w, int64_t rev);
/* With nothing pending: cuts a new segment and writes a snapshot of s and l covering
 * every earlier one (revision rev = mvcc_rev(s)), then deletes the older snapshots and
 * segments. Returns 0 or a negative code (the log stays as good as before). */
int wal_snapshot(struct wal *w, struct mvcc *s, const struct wal_leases *l);
/* The same a piece at a time, between other work: begin (nothing pending) cuts the segment
 * and fixes what the snapshot holds (s now, a copy of l); each step writes about budget
 * bytes and returns 1 while more is to come, 0 once the snapshot is complete (as
 * wal_snapshot), or a negative code (the snapshot is dropped, the log as good as before).
 * Writes to the log go on meanwhile, but s must not be compacted until it is done or
 * dropped (wal_snapshot_drop). begin returns 0, -EBUSY (pending records, or one already
 * under way) or a negative code. Once the file is durable the steps move the store onto
 * it (about budget / 64 keys and values each); drop then finishes that instead, and
 * returns false: it returns true only when it dropped a snapshot not yet written. */
int wal_snapshot_begin(struct wal *w, struct mvcc *s, const struct wal_leases *l);
int wal_snapshot_step(struct wal *w, struct mvcc *s, size_t budget);
bool wal_snapshot_busy(const struct wal *w);
bool wal_snapshot_drop(struct wal *w);
void wal_get_stats(const struct wal *w, struct wal_stats *out);
/* The Raft index the store came back at (the last APPLIED record read; 0: none), and the
 * one it is at now, for the snapshots to come (the caller tells). */
uint64_t wal_applied(const struct wal *w);
/* Lazy: wal_sync writes without fdatasync (the Raft log holds what the records say, and
 * replays it); wal_disk_sync makes what was written durable (0 or -errno). A new segment
 * always syncs the one before. */
void wal_set_lazy(struct wal *w, bool lazy);
int wal_disk_sync(struct wal *w);
void wal_set_applied(struct wal *w, uint64_t index);
/* A new read-only descriptor of the newest snapshot file, with its size. Returns the
 * descriptor (the caller's), -ENOENT if there is none, or -errno. */
int wal_snapshot_open(struct wal *w, uint64_t *size);
/* The store's values stay in the log: wal_open makes the log the store's value reader
 * (mvcc_set_reader), the values replayed are read from the files they were found in, and
 * after a snapshot from it. wal_settle is for the REV records appended to the pending
 * buffer from byte from on (by wal_pull): their values are read from where those records
 * are written (from the buffer until then) and the store's copies are freed. */
void wal_settle(struct wal *w, struct mvcc *s, size_t from);
/* Closes the files (pending records are not written: call wal_sync first) and takes the
 * reader from the store, which must not read a value after this. NULL: no-op. */
void wal_close(struct wal *w);

#endif
