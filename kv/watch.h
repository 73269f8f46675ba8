/* The pure parts of the etcd Watch service: what one watcher asks for (its range, filters
 * and options), the table of a stream's watch ids, the events of a committed revision copied
 * and encoded once for every watcher, history read in bounded chunks for a watcher catching
 * up, and etcd's cutting of large responses into fragments. No I/O, no clock; the stream
 * shell is kv/svc_watch.c. */
#ifndef CABIN_KV_WATCH_H
#define CABIN_KV_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "mvcc.h"
#include "pb.h"

/* etcd 3.4's numbers */
#define WATCH_BATCH_REVS 1000	/* revisions in one catch-up response (watchBatchMaxRevs) */
#define WATCH_FRAGMENT_MAX ((3u << 19) + (512u << 10))	/* --max-request-bytes + the gRPC
							 * overhead: fragments cut below it */
/* ours: a catch-up response also ends at the first revision boundary past this many bytes
 * of events (etcd has no such bound), and one read of history delivers at most this many
 * events before stopping at a revision boundary */
#define WATCH_CHUNK_BYTES (1u << 20)
#define WATCH_CHUNK_EVENTS 4096

/* ---- errors: etcd's texts, sent as a create response's cancel_reason ---------------------- */
#define WATCH_ERRORS(X)                                                                 \
	X(WATCH_EDUPLICATE, -1700, "mvcc: duplicate watch ID provided on the WatchStream") \
	X(WATCH_EEMPTY, -1701, "mvcc: watcher range is empty")

#define WATCH_ERR_ENUM(name, value, text) name = value,
enum watch_code { WATCH_ERRORS(WATCH_ERR_ENUM) };
#undef WATCH_ERR_ENUM

/* Returns the text of a WATCH_E* code, or mvcc_strerror's for any other. */
const char *watch_strerror(int code);

/* ---- one watcher -------------------------------------------------------------------------- */
enum watch_flag {
	WATCH_PREV_KV = 1, WATCH_NOPUT = 2, WATCH_NODELETE = 4, WATCH_PROGRESS = 8,
	WATCH_FRAGMENT = 16,
};

enum watch_state {
	WATCH_SYNCED,	/* gets each revision >= next_rev as it commits */
	WATCH_UNSYNCED,	/* history owes it every revision from next_rev on */
	WATCH_DONE,	/* canceled by compaction: its id stays taken until the client cancels */
};

/* Kept small: a node serves 10,000 of them. The list links are the stream shell's. */
struct watcher {
	int64_t id;
	int64_t next_rev;
	struct watcher *prev, *next;
	uint32_t key_len, end_len;
	uint8_t flags;		/* enum watch_flag */
	uint8_t state;		/* enum watch_state */
	bool idle;		/* WATCH_PROGRESS: nothing sent since the last progress tick */
	uint8_t bytes[];	/* the key, then range_end */
};

/* A watcher for create request r (borrowed), with id 0 and state SYNCED; the caller sets
 * id, state and next_rev. As etcd, an empty key is "\0", and range_end "\0" means every key
 * >= key. Returns 0 with *out set (free() it), WATCH_EEMPTY (range_end <= key), -ENOMEM. */
int watch_new(const struct kvm_watch_create_request *r, struct watcher **out);

static inline struct mvcc_bytes watch_key(const struct watcher *w)
{
	return (struct mvcc_bytes){ w->bytes, w->key_len };
}

static inline struct mvcc_bytes watch_range_end(const struct watcher *w)
{
	return (struct mvcc_bytes){ w->bytes + w->key_len, w->end_len };
}

/* Whether key is in w's range. */
bool watch_match(const struct watcher *w, const uint8_t *key, size_t len);
/* Whether w's filters drop an event of this type (enum mvcc_event_type). */
bool watch_filtered(const struct watcher *w, int type);

/* ---- a stream's watch ids ------------------------------------------------------------------ */
struct watch_ids {
	struct watcher **slot;	/* open addressing, linear probing; cap a power of two */
	size_t cap, n;
};

struct watcher *watch_ids_find(const struct watch_ids *t, int64_t id);
/* Adds w under w->id (not present). Returns 0 or -ENOMEM (t unchanged). */
int watch_ids_add(struct watch_ids *t, struct watcher *w);
/* Removes id if present. */
void watch_ids_del(struct watch_ids *t, int64_t id);
/* Frees the table, not the watchers. */
void watch_ids_free(struct watch_ids *t);
/* The id etcd assigns to a create request with watch_id 0: the first one from *next on
 * that is not taken; *next moves past it. */
int64_t watch_ids_auto(const struct watch_ids *t, int64_t *next);

/* ---- encoding ------------------------------------------------------------------------------ */

/* Appends ev (borrowed) to b as one WatchResponse.events record (field 11), with its prev_kv
 * if with_prev and ev has one. tmp is scratch. Returns 0, -ENOMEM or PB_ETOOBIG. */
int watch_put_event(struct pb_buf *b, struct pb_buf *tmp, const struct mvcc_event *ev,
		    bool with_prev);
/* Appends the head of an events response to b: the header (hdr: an encoded
 * ResponseHeader), watch_id and, if fragment, the fragment flag. Errors stick in b->err. */
void watch_put_head(struct pb_buf *b, struct pb_bytes hdr, int64_t id, bool fragment);

/* How many of the n records (n >= 1) the next response of a series takes, as etcd's
 * sendFragments cuts one: with started false (the first of the series), all of them and
 * *fragment false if the whole response (head bytes of head without the flag, plus the
 * records) is under WATCH_FRAGMENT_MAX or n is 1. Otherwise the response is a fragment
 * (head + 2 bytes of flag): as many records as keep it under the limit, at least one, with
 * *fragment false on the one that takes the last record. */
size_t watch_fragment(size_t head, const struct pb_bytes *recs, size_t n, bool started,
		      bool *fragment);

/* ---- the events of one committed revision, shared by every watcher ------------------------- */
struct watch_rev_ev {
	size_t key, key_len;	/* offsets in keys */
	size_t plain, plain_len;	/* the record without prev_kv, in enc */
	size_t prev, prev_len;		/* with prev_kv (the plain one when there is none) */
	uint8_t type;
};

struct watch_rev {
	int64_t rev;
	struct pb_buf keys, enc;
	struct watch_rev_ev *ev;
	size_t n, cap;
	int err;		/* sticky: an event could not be copied (-ENOMEM, PB_ETOOBIG) */
};

void watch_rev_init(struct watch_rev *r);
/* Copies ev (borrowed for the call) into r; the revision is its kv's mod_revision. Returns
 * 0 or the sticky error. */
int watch_rev_add(struct watch_rev *r, const struct mvcc_event *ev, struct pb_buf *tmp);
/* Empties r for the next revision (keeps its memory unless it grew large). */
void watch_rev_reset(struct watch_rev *r);
void watch_rev_free(struct watch_rev *r);
/* The records of r that w gets (its range, filters and prev_kv) into out (room for r->n).
 * Returns how many. */
size_t watch_rev_select(const struct watch_rev *r, const struct watcher *w,
			struct pb_bytes *out);

/* ---- catch-up from history ----------------------------------------------------------------- */
struct watch_chunk {
	struct pb_buf ev;	/* the event records, back to back */
	size_t *size;		/* each record's size */
	size_t n, cap;
	int64_t next;		/* where the watcher continues */
	bool done;		/* next is past the store's revision: the watcher is synced */
	/* private, while reading */
	const struct watcher *w;
	struct pb_buf *tmp;
	int64_t at;		/* the revision being read */
	size_t revs;
	bool full;
	int err;
};

/* Reads the history w is owed, from w->next_rev: whole revisions only, at most
 * WATCH_BATCH_REVS of them (counted before w's filters, as etcd counts) and ending at the
 * first revision boundary past WATCH_CHUNK_BYTES of records, filtered and with prev_kv as
 * w asks. c (watch_chunk_init once; its memory is reused) gets the records, next and
 * done. A chunk may hold no record and still move next. Returns the number of records,
 * MVCC_ECOMPACTED (w->next_rev is below the compacted revision), -ENOMEM or PB_ETOOBIG. */
void watch_chunk_init(struct watch_chunk *c);
int watch_catch_up(struct mvcc *s, const struct watcher *w, struct watch_chunk *c,
		   struct pb_buf *tmp);
/* The records of c as slices into c->ev, into out (room for c->n). */
void watch_chunk_records(const struct watch_chunk *c, struct pb_bytes *out);
void watch_chunk_free(struct watch_chunk *c);

#endif
