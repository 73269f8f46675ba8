/* Internals of the MVCC store shared by kv/mvcc*.c: the per-key history, the revision
 * log, the B+-tree index, value references and the counting allocator. Not an API. */
#ifndef CABIN_KV_MVCC_INT_H
#define CABIN_KV_MVCC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mvcc.h"

/* ---- values (kv/mvcc_val.c) -------------------------------------------------------------
 * A value is reached only through these calls. Its reference is 0 for an empty value, a
 * heap copy of the bytes (a pointer, low bit 0) from when it is written until the caller
 * says where it lives in a file (mvcc_val_settle), then that place (loc << 1 | 1), read back
 * through the store's reader into the read buffer. The length is the revision's vlen. */
struct mvcc_vref {
	uint64_t v;
};
struct mvcc_rev;

/* Copies len bytes into a new heap value of r. Returns 0 or -ENOMEM. */
int mvcc_val_make(struct mvcc *s, struct mvcc_rev *r, const uint8_t *p, size_t len);
void mvcc_val_drop(struct mvcc *s, struct mvcc_rev *r);
/* The bytes of r's value: the heap copy, or read into the read buffer. Returns 0, or the
 * reader's error (-EIO...) or -ENOMEM with *out empty. */
int mvcc_val_get(struct mvcc *s, const struct mvcc_rev *r, struct mvcc_bytes *out);
/* mvcc_restore_rec's value v for r: left in place (mvcc_restore_in_place) or copied.
 * Returns 0, -ENOMEM or MVCC_EARG. */
int mvcc_val_restore(struct mvcc *s, struct mvcc_rev *r, struct mvcc_bytes v);
/* The place of bytes p inside the in-place range of mvcc_restore_in_place, or 0. */
uint64_t mvcc_inplace_loc(const struct mvcc *s, const uint8_t *p, size_t len);
/* Reads len bytes at loc into the read buffer. Returns 0 or an error, as mvcc_val_get. */
int mvcc_rd_read(struct mvcc *s, uint64_t loc, size_t len, struct mvcc_bytes *out);

/* The read buffer: chunks of bytes read from files, kept until released to a mark. */
struct mvcc_rdchunk {
	struct mvcc_rdchunk *next;	/* the older chunk */
	size_t used, cap;
	uint8_t data[];
};
struct mvcc_rdmark {
	struct mvcc_rdchunk *chunk;
	size_t used;
};
static inline struct mvcc_rdmark mvcc_rd_mark(const struct mvcc *s);
/* Frees what was read after mark m. */
void mvcc_rd_release(struct mvcc *s, struct mvcc_rdmark m);
/* Empties the read buffer: the start of a call whose results may hold values. */
void mvcc_rd_reset(struct mvcc *s);

/* ---- per-key history --------------------------------------------------------------------
 * 32 bytes a revision. A put's create revision and version are not stored: within one life
 * of the key (from the put that created it to the next tombstone) versions count up by one
 * a revision, so `life`, the distance back to that first put, gives both (its revision, and
 * life + 1). A compaction may drop a life's first put: the key then keeps a base (the
 * create revision and version of revs[0]) for the revisions whose life reaches back past
 * revs[0]. The lease is an index into the store's table of lease IDs (mvcc_lid_*). */
struct mvcc_rev {
	int64_t main;		/* mod revision */
	struct mvcc_vref val;
	uint32_t sub;
	uint32_t tomb : 1;	/* this revision deleted the key */
	uint32_t vlen : 31;	/* the value's length */
	uint32_t life;		/* a put: revisions back to its life's first, saturating */
	uint32_t lease;		/* the lease's index (mvcc_lid_get), 0 for none */
};

/* One key and its revisions, oldest first, in (main, sub) order. Held by the index; the log
 * points at it too. A key with no revisions left is removed and freed.
 *
 * A long key (over MVCC_KEY_INLINE bytes) keeps only its first MVCC_KEY_PREFIX bytes here,
 * then a reference to the whole key: a heap copy until settled, then its place in a file
 * (loc << 1 | 1), read back when the prefix cannot decide a comparison or the key is handed
 * out. The revision array has room for 1 << capl revisions, and when `based` one element
 * more before revs[0] holding the base (mvcc_key_base). */
#define MVCC_KEY_PREFIX 40
struct mvcc_key {
	struct mvcc_rev *revs;
	uint32_t nrev;
	uint32_t len : 26;
	uint32_t capl : 5;
	uint32_t based : 1;
	uint8_t bytes[];	/* the key; or a long key's prefix, then its reference */
};

static inline bool mvcc_key_long(const struct mvcc_key *k)
{
	return k->len > MVCC_KEY_INLINE;
}

/* The create revision, version and lease of revision r of k (zeros for a tombstone) into
 * out's fields of those names. */
void mvcc_rev_meta(const struct mvcc *s, const struct mvcc_key *k, const struct mvcc_rev *r,
		   struct mvcc_kv *out);
/* Drops what revision r holds: its value and its lease reference. */
void mvcc_rev_drop(struct mvcc *s, struct mvcc_rev *r);

/* ---- lease IDs (kv/mvcc_lid.c) ----------------------------------------------------------
 * Each lease ID held by some revision, once, with a count of the revisions holding it;
 * index 0 is "no lease". */
struct mvcc_lid {
	int64_t id;		/* 0: a free entry */
	uint32_t refs;		/* a free entry: the next free index (0: none) */
};
struct mvcc_lids {
	struct mvcc_lid *e;
	uint32_t n, cap;	/* entries used (index 0 included), allocated */
	uint32_t free;		/* the first free entry below n, 0 if none */
	uint32_t *slot;		/* open addressing (linear probes) on the ID: index, 0 = empty */
	uint32_t nslot;		/* 0 or a power of two */
	uint32_t live;		/* entries in use: the table goes when none is */
};
/* The index of lease id with one more reference (0 for id 0). Returns 0 or -ENOMEM. */
int mvcc_lid_get(struct mvcc *s, int64_t id, uint32_t *out);
/* One more reference to index i / one fewer (the entry goes at zero); 0 is a no-op. */
void mvcc_lid_ref(struct mvcc *s, uint32_t i);
void mvcc_lid_put(struct mvcc *s, uint32_t i);
static inline int64_t mvcc_lid_id(const struct mvcc *s, uint32_t i);
void mvcc_lid_free(struct mvcc *s);

/* A new key holding a copy of the bytes, with room for one revision and none yet;
 * NULL for ENOMEM. mvcc_key_free drops its revisions' values too. */
struct mvcc_key *mvcc_key_new(struct mvcc *s, struct mvcc_bytes key);
/* The whole key: in memory, or read into the store's key buffer `buf` (0 or 1; valid until
 * that buffer is used again). Returns 0 or the reader's error. */
int mvcc_key_full(struct mvcc *s, const struct mvcc_key *k, int buf, struct mvcc_bytes *out);
/* Orders key k against the bytes (p, len), reading k's rest through buffer 1 if its prefix
 * does not decide; an unreadable key orders after (counted in read_errors). s may be NULL
 * for stores that never settle. */
int mvcc_key_cmp_to(struct mvcc *s, const struct mvcc_key *k, const uint8_t *p, size_t len);
/* A long key's bytes live at loc from now on (no-op for a short one). */
void mvcc_key_settle(struct mvcc *s, struct mvcc_key *k, uint64_t loc);
void mvcc_key_free(struct mvcc *s, struct mvcc_key *k);
/* Ensures room for one more revision of k, a put if `put`: a put continuing a life also
 * gets k the base slot, so that a compaction never has to allocate one. Returns 0 or
 * -ENOMEM. */
int mvcc_key_reserve(struct mvcc *s, struct mvcc_key *k, bool put);
/* Drops k's first `drop` revisions (fewer than it has), keeping what the others need to
 * know their create revision and version; shrinks the array. Never fails. */
void mvcc_key_trim(struct mvcc *s, struct mvcc_key *k, size_t drop);
/* For a key with no revisions yet whose first will be a put in the middle of a life:
 * gives it a base (the create revision and version that put has). Returns 0 or -ENOMEM. */
int mvcc_key_set_base(struct mvcc *s, struct mvcc_key *k, int64_t create, int64_t version);
/* Appends revision r to k (room reserved; r->life is worked out here) and logs it (room
 * reserved); counts it. */
void mvcc_key_append(struct mvcc *s, struct mvcc_key *k, const struct mvcc_rev *r);
/* Returns the latest revision of k with main <= at, or NULL. */
const struct mvcc_rev *mvcc_key_at(const struct mvcc_key *k, int64_t at);
/* Index in k->revs of revision (main, sub), or -1. */
long mvcc_key_find(const struct mvcc_key *k, int64_t main, uint32_t sub);
/* The kv of k as of revision r (a tombstone gives the key and mod revision only); a value
 * kept in a file is read into the read buffer. Returns 0 or mvcc_val_get's error. */
int mvcc_key_kv(struct mvcc *s, const struct mvcc_key *k, const struct mvcc_rev *r,
		struct mvcc_kv *out);
/* The same without the value. */
int mvcc_key_meta(struct mvcc *s, const struct mvcc_key *k, const struct mvcc_rev *r,
		  struct mvcc_kv *out);
int mvcc_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* ---- the index: a B+-tree of key pointers ----------------------------------------------
 * Leaves hold the keys in order and are chained; an inner node holds its children and the
 * first key of each child. Nodes keep at least BT_MIN entries (except the root). */
#define BT_CAP 32
#define BT_MIN (BT_CAP / 4)
#define BT_DEPTH_MAX 24

struct mvcc_node {
	uint16_t n;
	uint16_t leaf;
	struct mvcc_node *next;			/* leaves: the next leaf */
	struct mvcc_key *key[BT_CAP];		/* leaf: the keys; inner: each child's first */
	struct mvcc_node *kid[];			/* inner nodes only: BT_CAP children */
};

struct mvcc_tree {
	struct mvcc *s;				/* whose keys (for long ones; may be NULL) */
	struct mvcc_node *root;			/* NULL when empty */
	int height;				/* levels: 1 = the root is a leaf */
	size_t count;
};

/* A position in the leaves; leaf NULL = past the end. */
struct mvcc_pos {
	struct mvcc_node *leaf;
	unsigned i;
};

/* The first key >= (p, len). */
struct mvcc_pos mvcc_bt_seek(const struct mvcc_tree *t, const uint8_t *p, size_t len);
struct mvcc_pos mvcc_bt_first(const struct mvcc_tree *t);
static inline struct mvcc_key *mvcc_bt_at(struct mvcc_pos pos)
{
	return pos.leaf ? pos.leaf->key[pos.i] : NULL;
}
void mvcc_bt_next(struct mvcc_pos *pos);
/* The key with these bytes, or NULL. */
struct mvcc_key *mvcc_bt_get(const struct mvcc_tree *t, const uint8_t *p, size_t len);
/* Inserts k, whose bytes these are, which must not be present. Returns 0 or -ENOMEM (tree
 * unchanged). */
int mvcc_bt_insert(struct mvcc *s, struct mvcc_tree *t, struct mvcc_key *k,
		   struct mvcc_bytes bytes);
/* Removes k, which must be present. Never allocates, never fails. */
void mvcc_bt_remove(struct mvcc *s, struct mvcc_tree *t, const struct mvcc_key *k);
void mvcc_bt_destroy(struct mvcc *s, struct mvcc_tree *t);

/* ---- the revision log ------------------------------------------------------------------
 * Every key revision held, in (main, sub) order: history replay, HashKV and the open
 * transaction's changes (its tail, from txn_start) come from here. An entry names the
 * revision by its index in the key's array (16 bytes an entry): appends and undos only
 * touch the ends of both, and a compaction moves the indexes down as it trims the keys. */
struct mvcc_logent {
	struct mvcc_key *key;
	uint32_t i;		/* key->revs[i] */
	uint32_t sweep;		/* a tombstone continuing the previous entry's DeleteRange */
};

static inline struct mvcc_rev *mvcc_log_rev(const struct mvcc_logent *e)
{
	return &e->key->revs[e->i];
}

static inline int64_t mvcc_log_main(const struct mvcc_logent *e)
{
	return e->key->revs[e->i].main;
}

/* ---- the store -------------------------------------------------------------------------- */
/* Small blocks (mvcc_alloc.slab): MVCC_SLAB_UNIT-byte classes up to MVCC_SLAB_MAX, each with
 * a list of freed blocks (linked through their first word); new ones are carved from the
 * newest chunk. */
#define MVCC_SLAB_UNIT 16
#define MVCC_SLAB_MAX 256
#define MVCC_SLAB_CHUNK (((size_t)1 << 20) - 64)	/* with malloc's header: 256 pages */
struct mvcc_slab {
	void *free[MVCC_SLAB_MAX / MVCC_SLAB_UNIT];
	uint8_t *next;		/* the unused rest of the newest chunk */
	size_t left;
	void *chunks;		/* every chunk, linked through its first word */
};

struct mvcc {
	struct mvcc_alloc a;
	struct mvcc_slab slab;
	size_t bytes;			/* held: sizes asked of the allocator */
	struct mvcc_tree index;
	int64_t rev, compacted;
	size_t live, nrevs;		/* keys existing now, revisions held */
	struct mvcc_logent *log;
	size_t nlog, logcap;
	bool in_txn;
	size_t txn_start;		/* log index of the open transaction's first change */
	mvcc_event_fn *observer;
	void *observer_ctx;
	bool observer_paused;		/* mvcc_observer_pause */
	mvcc_read_fn *reader;		/* values kept in files (mvcc_set_reader) */
	void *reader_ctx;
	size_t file_bytes;		/* bytes of the values kept there */
	uint64_t read_errors;		/* values an event could not carry */
	uint8_t *kbuf[2];		/* long keys read back (mvcc_key_full) */
	size_t kcap[2];
	struct mvcc_rdchunk *rd;	/* the read buffer, newest chunk first */
	struct mvcc_lids lids;
	const uint8_t *inplace;		/* mvcc_restore_in_place */
	size_t inplace_len;
	uint64_t inplace_loc;
};

static inline int64_t mvcc_lid_id(const struct mvcc *s, uint32_t i)
{
	return i ? s->lids.e[i].id : 0;
}

static inline struct mvcc_rdmark mvcc_rd_mark(const struct mvcc *s)
{
	struct mvcc_rdmark m = { s->rd, s->rd ? s->rd->used : 0 };
	return m;
}

/* Sized allocation through s->a, counted in s->bytes. mvcc_mem_grow keeps *p on failure. */
void *mvcc_mem_alloc(struct mvcc *s, size_t size);
void mvcc_mem_free(struct mvcc *s, void *p, size_t size);
int mvcc_mem_grow(struct mvcc *s, void **p, size_t old, size_t size);
/* Result arrays: from the same allocator, but not the store's, so not counted. */
void *mvcc_res_alloc(struct mvcc *s, size_t size);
void mvcc_res_free(struct mvcc *s, void *p);

/* The view a read inside the store sees: the committed revision, or the pending one once
 * the open transaction has written. */
static inline int64_t mvcc_view_rev(const struct mvcc *s)
{
	return s->in_txn && s->nlog > s->txn_start ? s->rev + 1 : s->rev;
}

/* A key range resolved from etcd's key/range_end rules (see mvcc.h). */
struct mvcc_span {
	struct mvcc *s;			/* whose keys it is checked against */
	const uint8_t *key, *end;
	size_t key_len, end_len;
	bool single, unbounded;
};
void mvcc_span_init(struct mvcc *s, struct mvcc_span *sp, struct mvcc_bytes key,
		    struct mvcc_bytes range_end);
bool mvcc_span_has(const struct mvcc_span *sp, const struct mvcc_key *k);
/* The position of the span's first key (or where it would be). */
struct mvcc_pos mvcc_span_begin(const struct mvcc *s, const struct mvcc_span *sp);
/* The key at pos if it is inside the span, else NULL. */
struct mvcc_key *mvcc_span_key(const struct mvcc_span *sp, struct mvcc_pos pos);

/* Checks and resolves a read revision against view: 0 with *at set, or an error. */
int mvcc_read_rev(const struct mvcc *s, int64_t want, int64_t view, int64_t *at);
/* The key's revision that exists at `at` (not deleted), or NULL. */
static inline const struct mvcc_rev *mvcc_key_live(const struct mvcc_key *k, int64_t at)
{
	const struct mvcc_rev *r = mvcc_key_at(k, at);
	return r && !r->tomb ? r : NULL;
}

/* Undoes the open transaction's log entries from index mark on. */
void mvcc_undo(struct mvcc *s, size_t mark);
/* Ensures room for n more log entries. Returns 0 or -ENOMEM. */
int mvcc_log_reserve(struct mvcc *s, size_t n);
/* Fills an event for log entry e (committed), its prev only if with_prev. Returns 0 or
 * mvcc_val_get's error. */
int mvcc_log_event(struct mvcc *s, const struct mvcc_logent *e, bool with_prev,
		   struct mvcc_event *ev);
/* The log entry of key revision (main, sub), or NULL. */
const struct mvcc_logent *mvcc_log_find(const struct mvcc *s, int64_t main, uint32_t sub);

int mvcc_range_in(struct mvcc *s, const struct mvcc_range_req *req, struct mvcc_range_res *res);
int mvcc_put_in(struct mvcc *s, const struct mvcc_put_req *req, struct mvcc_put_res *res);
int mvcc_delete_in(struct mvcc *s, const struct mvcc_delete_req *req, struct mvcc_delete_res *res);

#endif
