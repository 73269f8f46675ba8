/* The MVCC store core with etcd 3.4's semantics: a revisioned key-value map with ranges,
 * puts, deletes, transactions, compaction, watch events, history replay and HashKV. Pure:
 * no I/O, no clock, no logging; memory only through the allocator given to mvcc_new. One
 * store is used from one thread.
 *
 * Revisions: an empty store is at revision 1. Every transaction that changes something
 * adds exactly 1, and all its writes share that revision, numbered by a sub-revision
 * (0, 1, ...) in the order they were made. Reading at revision R sees the state after the
 * transaction that produced R. After mvcc_compact(C), reads and history at revisions >= C
 * still work (the state at C is kept) and those < C fail with MVCC_ECOMPACTED.
 *
 * Borrowed bytes: every struct mvcc_kv the store hands out points into the store. Keys
 * stay valid across later puts, deletes and failed ops, and become invalid at
 * mvcc_compact, mvcc_txn_abort (for what the aborted transaction wrote) and mvcc_free.
 * Values too, unless the store keeps them in files (see "values kept in files" below):
 * then a value is valid until the next mvcc_range, mvcc_put, mvcc_delete, mvcc_txn_begin
 * or mvcc_rec_at, and an event's until its callback returns. */
#ifndef CABIN_KV_MVCC_H
#define CABIN_KV_MVCC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors ----------------------------------------------------------------------------
 * Functions return 0 (or a count or revision) or a negative code: -ENOMEM, or one of these.
 * The etcd texts are exactly what etcd's gRPC errors carry. */
#define MVCC_ERRORS(X)                                                                      \
	X(MVCC_ECOMPACTED, -1600, "etcdserver: mvcc: required revision has been compacted")  \
	X(MVCC_EFUTURE, -1601, "etcdserver: mvcc: required revision is a future revision")   \
	X(MVCC_ENOTFOUND, -1602, "etcdserver: key not found")                                \
	X(MVCC_EVALUE, -1603, "etcdserver: value is provided")                               \
	X(MVCC_ELEASE, -1604, "etcdserver: lease is provided")                               \
	X(MVCC_ENOKEY, -1605, "etcdserver: key is not provided")                             \
	X(MVCC_ETXN, -1606, "mvcc: call not allowed with the transaction open (or closed)")  \
	X(MVCC_ESORT, -1607, "etcdserver: invalid sort option")                              \
	X(MVCC_EARG, -1608, "mvcc: invalid argument")

#define MVCC_ERR_ENUM(name, value, text) name = value,
enum mvcc_code { MVCC_ERRORS(MVCC_ERR_ENUM) };
#undef MVCC_ERR_ENUM

/* Returns a static description of an MVCC_E* code or -ENOMEM ("unknown error" otherwise). */
const char *mvcc_strerror(int code);

/* ---- values shared by requests and results ---------------------------------------------
 * Enum values are etcd's protobuf numbers, so decoded requests convert by a cast. */
enum mvcc_sort_order { MVCC_SORT_NONE = 0, MVCC_SORT_ASCEND = 1, MVCC_SORT_DESCEND = 2 };
enum mvcc_sort_target {
	MVCC_SORT_KEY = 0, MVCC_SORT_VERSION = 1, MVCC_SORT_CREATE = 2, MVCC_SORT_MOD = 3,
	MVCC_SORT_VALUE = 4,
};
enum mvcc_cmp_result {
	MVCC_CMP_EQUAL = 0, MVCC_CMP_GREATER = 1, MVCC_CMP_LESS = 2, MVCC_CMP_NOT_EQUAL = 3,
};
enum mvcc_cmp_target {
	MVCC_TARGET_VERSION = 0, MVCC_TARGET_CREATE = 1, MVCC_TARGET_MOD = 2,
	MVCC_TARGET_VALUE = 3, MVCC_TARGET_LEASE = 4,
};
enum mvcc_event_type { MVCC_EVENT_PUT = 0, MVCC_EVENT_DELETE = 1 };

/* Bytes borrowed for the duration of a call (in requests) or from the store (in results).
 * p may be NULL when len is 0. */
struct mvcc_bytes {
	const uint8_t *p;
	size_t len;
};

/* A key range as etcd spells it: range_end empty = the single key; range_end "\0" = every
 * key >= key (so key "\0" with range_end "\0" = all keys); otherwise [key, range_end). */

/* mvccpb.KeyValue. key and value borrow from the store (see the top of this file). */
struct mvcc_kv {
	struct mvcc_bytes key, value;
	int64_t create_revision, mod_revision, version, lease;
};

/* Memory: realloc semantics, like kv/pb.h's allocator so one function serves both:
 * fn(ctx, NULL, n) allocates, fn(ctx, p, n) resizes, fn(ctx, p, 0) frees (returns NULL).
 * The store never asks for 0 bytes except to free. slab: the store's small blocks (keys,
 * revision arrays, short values) are carved from 1 MiB chunks it asks fn for, without a
 * header per block, and reused by size; the chunks go back only with the store. A NULL
 * allocator means libc with slab. */
struct mvcc_alloc {
	void *(*fn)(void *ctx, void *ptr, size_t size);
	void *ctx;
	bool slab;
};
/* That function on libc's realloc and free (ctx unused): what a NULL allocator means. */
void *mvcc_libc(void *ctx, void *ptr, size_t size);

/* ---- life cycle ------------------------------------------------------------------------ */
struct mvcc;

/* Creates an empty store at revision 1. a (copied; NULL = libc) serves every allocation of
 * the store and of the results it returns. Returns 0 with *out set (owned by the caller:
 * mvcc_free), or -ENOMEM. */
int mvcc_new(const struct mvcc_alloc *a, struct mvcc **out);
/* Frees the store and everything it holds (an open transaction is dropped). NULL is a no-op. */
void mvcc_free(struct mvcc *s);

/* The current revision (the last committed one) and the compacted revision (0: never). */
int64_t mvcc_rev(const struct mvcc *s);
int64_t mvcc_compacted(const struct mvcc *s);

struct mvcc_stats {
	size_t keys;		/* keys that exist at the current revision */
	size_t index_keys;	/* keys with any history held (deleted ones until compacted) */
	size_t revisions;	/* key revisions held, tombstones included */
	size_t bytes;		/* memory held (what was asked of the allocator) plus the
				 * values kept in files: the quota's measure and Status'
				 * dbSize */
};
void mvcc_stats(const struct mvcc *s, struct mvcc_stats *out);

/* ---- reads ----------------------------------------------------------------------------- */

/* etcdserverpb.RangeRequest without `serializable` (the service's business). */
struct mvcc_range_req {
	struct mvcc_bytes key, range_end;
	int64_t limit;		/* <= 0: no limit */
	int64_t revision;	/* <= 0: the current one */
	enum mvcc_sort_order sort_order;
	enum mvcc_sort_target sort_target;
	bool keys_only, count_only;
	int64_t min_mod_revision, max_mod_revision;	/* 0: no bound */
	int64_t min_create_revision, max_create_revision;
};

struct mvcc_range_res {
	struct mvcc_kv *kvs;	/* n entries; the array is the result's (mvcc_range_res_free),
				 * the bytes are borrowed from the store */
	size_t n;
	int64_t count;		/* keys in the range at the revision, before the min/max
				 * filters and the limit (etcd counts them so) */
	bool more;		/* more kvs matched (after the filters) than limit allowed */
	int64_t revision;	/* for the response header: the store's revision as seen by
				 * the read (inside a transaction that wrote: the pending one) */
};

/* Range as etcd 3.4 applies it: keys in the range that exist at the revision, in key order;
 * the min/max filters drop kvs; a sort_target other than KEY with sort_order NONE sorts
 * ASCEND; a sort orders by the target with ties in key order, then limit cuts. keys_only
 * leaves value empty; count_only returns no kvs. Fills *res (caller-owned, overwritten).
 * Returns 0, MVCC_ENOKEY (empty key), MVCC_EFUTURE (revision > current),
 * MVCC_ECOMPACTED (revision < compacted), MVCC_ESORT (sort order or target out of range),
 * -ENOMEM; on error *res is empty. Not allowed with a transaction open (MVCC_ETXN): use
 * mvcc_txn_range. */
int mvcc_range(struct mvcc *s, const struct mvcc_range_req *req, struct mvcc_range_res *res);
/* Frees res->kvs and empties *res. The store must be the one that filled it. */
void mvcc_range_res_free(struct mvcc *s, struct mvcc_range_res *res);

/* ---- writes ---------------------------------------------------------------------------- */

/* etcdserverpb.PutRequest. The lease's existence is the caller's to check. */
struct mvcc_put_req {
	struct mvcc_bytes key, value;	/* copied into the store */
	int64_t lease;			/* 0: none */
	bool prev_kv, ignore_value, ignore_lease;
};

struct mvcc_put_res {
	int64_t revision;	/* the revision the put is written at */
	bool has_prev;		/* req->prev_kv and the key existed: prev is its old kv */
	struct mvcc_kv prev;
};

/* Puts one key: version 1 and create_revision = this revision on a key that does not
 * exist, else version + 1 keeping create_revision. ignore_value keeps the old value,
 * ignore_lease the old lease. Returns 0, MVCC_ENOKEY, MVCC_EVALUE (ignore_value with a
 * value), MVCC_ELEASE (ignore_lease with a lease), MVCC_ENOTFOUND (ignore_* on a key that
 * does not exist), MVCC_EARG (a key over MVCC_KEY_MAX bytes or a value of 2 GiB or
 * more), -ENOMEM, MVCC_ETXN (a transaction is open: use mvcc_txn_put). On error nothing
 * changed. Commits (and reports events) before returning. */
int mvcc_put(struct mvcc *s, const struct mvcc_put_req *req, struct mvcc_put_res *res);

/* etcdserverpb.DeleteRangeRequest */
struct mvcc_delete_req {
	struct mvcc_bytes key, range_end;
	bool prev_kv;
};

struct mvcc_delete_res {
	int64_t revision;	/* the revision after the delete (unchanged if none deleted) */
	int64_t deleted;
	struct mvcc_kv *prev_kvs;	/* n_prev (= deleted with req->prev_kv, else 0) in key
					 * order; array owned as in mvcc_range_res */
	size_t n_prev;
};

/* Deletes the keys of the range that exist, in key order (one sub-revision each). Deleting
 * nothing changes nothing. Returns 0, MVCC_ENOKEY, -ENOMEM (nothing changed), MVCC_ETXN
 * (use mvcc_txn_delete). */
int mvcc_delete(struct mvcc *s, const struct mvcc_delete_req *req, struct mvcc_delete_res *res);
void mvcc_delete_res_free(struct mvcc *s, struct mvcc_delete_res *res);

/* ---- transactions ----------------------------------------------------------------------
 * A transaction runs ops one after another on a private view: reads see its earlier
 * writes, nothing is visible to history or the event callback until mvcc_txn_end, and the
 * revision moves (by 1) only if it wrote. An op that fails leaves the transaction as it was
 * before that op; the caller then normally calls mvcc_txn_abort, which undoes all its writes.
 * Nothing else (compaction, the one-op calls, another begin) is allowed meanwhile.
 *
 * To run an etcd TxnRequest the way etcd 3.4 does, evaluate the compares of the request AND
 * of every nested TxnRequest on the chosen path before running the first op: etcd decides
 * the whole path against the state at the start of the transaction. etcd's gRPC layer also
 * rejects a txn that writes one key twice ("etcdserver: duplicate key given in txn
 * request"); the store itself accepts that (each write gets its own sub-revision). */

/* etcdserverpb.Compare: `number` is the version, create or mod revision or the lease as
 * target says; value is for MVCC_TARGET_VALUE. */
struct mvcc_compare {
	enum mvcc_cmp_result result;
	enum mvcc_cmp_target target;
	struct mvcc_bytes key, range_end;
	int64_t number;
	struct mvcc_bytes value;
};

/* Opens a transaction. Returns 0, or MVCC_ETXN if one is open. */
int mvcc_txn_begin(struct mvcc *s);
/* True if every key of the range satisfies c in the transaction's view. A key that does
 * not exist (or a range with none) compares as version, create, mod and lease 0, and
 * fails every VALUE compare. An unknown result is true, an unknown target compares 0 with 0
 * (as etcd). Without an open transaction it reads the committed state. */
bool mvcc_txn_compare(struct mvcc *s, const struct mvcc_compare *c);
/* mvcc_range, mvcc_put, mvcc_delete inside the open transaction (MVCC_ETXN without one).
 * Results are as for the one-op calls; res->revision is the transaction's pending revision
 * once it has written. A range revision may name the pending revision. */
int mvcc_txn_range(struct mvcc *s, const struct mvcc_range_req *req, struct mvcc_range_res *res);
int mvcc_txn_put(struct mvcc *s, const struct mvcc_put_req *req, struct mvcc_put_res *res);
int mvcc_txn_delete(struct mvcc *s, const struct mvcc_delete_req *req,
		    struct mvcc_delete_res *res);
/* Commits: the revision moves to the pending one if the transaction wrote, then the event
 * callback sees every change in order. Returns the store's revision afterwards (the
 * response header's), or MVCC_ETXN without an open transaction. Cannot fail otherwise. */
int64_t mvcc_txn_end(struct mvcc *s);
/* Undoes every write of the open transaction and closes it (no-op without one). Results
 * of the transaction's ops may now point to freed memory. */
void mvcc_txn_abort(struct mvcc *s);

/* ---- compaction ------------------------------------------------------------------------ */

/* Drops history below rev: each key keeps its latest revision <= rev unless that is a
 * deletion, and keys left with nothing are freed. Returns 0, MVCC_ECOMPACTED (rev <=
 * compacted), MVCC_EFUTURE (rev > current), MVCC_ETXN. Cannot fail for memory. O(keys). */
int mvcc_compact(struct mvcc *s, int64_t rev);

/* ---- events ---------------------------------------------------------------------------- */

/* mvccpb.Event. A DELETE's kv holds only the key and mod_revision = the delete's revision.
 * prev is the key's kv at revision - 1 if it existed then and is still held. last marks
 * the final event of its revision. All bytes borrowed for the duration of the callback. */
struct mvcc_event {
	enum mvcc_event_type type;
	struct mvcc_kv kv, prev;
	bool has_prev, last;
	bool sweep;	/* a delete continuing the previous event's DeleteRange: together they
			 * are every key that existed from the first's key through this one's */
};

/* Called once per event; must not write to, compact or free the store. */
typedef void mvcc_event_fn(void *ctx, const struct mvcc_event *ev);

/* Sets the callback every commit reports its changes to, in revision and sub-revision
 * order (fn NULL: none). ctx is passed back, never touched. */
void mvcc_set_observer(struct mvcc *s, mvcc_event_fn *fn, void *ctx);
/* While paused, commits report nothing: for an observer with nobody to tell, so that no
 * event is built (nor its values read back from files) for nothing. */
void mvcc_observer_pause(struct mvcc *s, bool paused);

/* Replays committed history for watch catch-up: calls fn for each event with revision in
 * [start, current] on a key of the range (key may be empty here), in revision order,
 * prev filled as for live events. With max > 0 it stops at the first revision boundary
 * after delivering max events. *next gets the revision to continue from (current + 1
 * when done, start when start > current). Returns the events delivered, or
 * MVCC_ECOMPACTED when start < the compacted revision (the revision is mvcc_compacted).
 * start is >= 1: etcd's start_revision 0 ("from the next one") is the caller's to map.
 * A start equal to the compacted revision sees the puts made at it but not its deletions
 * (as etcd's watch). fn (required) must not write to, compact or free the store. */
int64_t mvcc_history(struct mvcc *s, struct mvcc_bytes key, struct mvcc_bytes range_end,
		     int64_t start, size_t max, mvcc_event_fn *fn, void *ctx, int64_t *next);
/* The same, with prev filled only if prev is true (a log has no use for it). */
int64_t mvcc_history_ex(struct mvcc *s, struct mvcc_bytes key, struct mvcc_bytes range_end,
			int64_t start, size_t max, bool prev, mvcc_event_fn *fn, void *ctx,
			int64_t *next);

/* ---- hashing --------------------------------------------------------------------------- */

struct mvcc_hash {
	uint32_t hash;
	int64_t revision;		/* current revision */
	int64_t compact_revision;	/* -1 when never compacted, as etcd reports it */
};

/* HashKV: etcd 3.4's CRC-32C over the revisions held up to rev (0 = current) as etcd's
 * backend stores them (revision key, then the protobuf KeyValue), so equal histories hash
 * equal, and equal to an etcd 3.4 member with that history. Returns 0, MVCC_ECOMPACTED
 * (0 < rev <= compacted), MVCC_EFUTURE. */
int mvcc_hash_kv(struct mvcc *s, int64_t rev, struct mvcc_hash *out);

/* ---- values kept in files (kv/mvcc_val.c) -----------------------------------------------
 * The store can leave its values where the caller has written them (the write-ahead log)
 * and hold only their places. A value is a heap copy when written; once the caller knows
 * where its bytes are, mvcc_val_settle gives the place (loc: the caller's, nonzero, below
 * 2^62) and the copy is freed. Reads then fetch the bytes through fn(ctx, loc, dst, len),
 * which fills dst and returns 0 or a negative errno; a failed read fails the call that
 * needed it (an event that cannot carry its value, which has no way to fail, goes without
 * it and is counted in mvcc_read_errors). */
typedef int mvcc_read_fn(void *ctx, uint64_t loc, uint8_t *dst, size_t len);
#define MVCC_KEY_MAX ((1u << 26) - 1)	/* the longest key the store holds */
#define MVCC_KEY_INLINE 128	/* longer keys keep only a prefix in memory once settled */
void mvcc_set_reader(struct mvcc *s, mvcc_read_fn *fn, void *ctx);
/* The key revision (rev, sub) has its key's bytes at key_loc and its value's at val_loc
 * from now on (0: not given; a key of MVCC_KEY_INLINE bytes or less ignores key_loc). Returns 0, MVCC_ENOTFOUND (no such revision held, or a val_loc for
 * a deletion or an empty value), MVCC_EARG (a loc out of range, or none given). */
int mvcc_settle(struct mvcc *s, int64_t rev, uint32_t sub, uint64_t key_loc, uint64_t val_loc);
/* While base is set, mvcc_restore_rec takes a key or value whose bytes lie inside
 * [base, base + len) as settled at loc + (their offset from base) instead of copying them.
 * NULL: copy again. */
void mvcc_restore_in_place(struct mvcc *s, const uint8_t *base, size_t len, uint64_t loc);
/* Bytes of keys and values kept in files, and reads that failed where the call could not
 * fail (an event without its value, a compare or key order that could not read a key). */
size_t mvcc_file_bytes(const struct mvcc *s);
uint64_t mvcc_read_errors(const struct mvcc *s);

/* ---- dump and restore (kv/mvcc_restore.c) ------------------------------------------------
 * What a snapshot and a write-ahead log need: walk every key revision the store holds, and
 * build a store again from them at their own revisions, without the observer hearing. */

/* One key revision as the store holds it. kv.mod_revision is the revision; a tombstone has
 * only the key and mod_revision. Bytes borrowed as for mvcc_kv. */
struct mvcc_rec {
	struct mvcc_kv kv;
	uint32_t sub;		/* its place among the revision's changes */
	bool tomb;		/* this revision deleted the key */
};

/* How many key revisions the store holds, tombstones included. */
size_t mvcc_rec_count(const struct mvcc *s);
/* The i-th key revision held, in (revision, sub) order: 0 <= i < mvcc_rec_count. Returns
 * 0, or MVCC_EARG for an i out of range. Not with a transaction open (MVCC_ETXN). */
int mvcc_rec_at(struct mvcc *s, size_t i, struct mvcc_rec *out);
/* Appends a key revision, which must come after every one held ((revision, sub) greater),
 * at a revision above the compacted one; the current revision moves up to it. A put needs
 * 1 <= create_revision <= its revision and version >= 1. Bytes are copied. Returns 0,
 * MVCC_EARG (out of order or inconsistent; nothing changed), MVCC_ETXN, -ENOMEM (nothing
 * changed). The observer is not told. */
int mvcc_restore_rec(struct mvcc *s, const struct mvcc_rec *r);
/* Appends the tombstones of a DeleteRange (a sweep): every key existing now from first
 * through last (both included), in key order, at (rev, sub), (rev, sub + 1)... They must
 * be n (>= 2) keys, beginning with first and ending with last, and the revision must be
 * one mvcc_restore_rec would take for a tombstone. Returns 0, MVCC_EARG (nothing changed),
 * MVCC_ETXN, -ENOMEM (nothing changed). */
int mvcc_restore_sweep(struct mvcc *s, int64_t rev, uint32_t sub, struct mvcc_bytes first,
		       struct mvcc_bytes last, uint32_t n);
/* Sets the current and compacted revisions once the revisions are restored: rev at least
 * the last restored one, 0 <= compacted <= rev. Returns 0, MVCC_EARG or MVCC_ETXN. */
int mvcc_restore_revs(struct mvcc *s, int64_t rev, int64_t compacted);

#endif
