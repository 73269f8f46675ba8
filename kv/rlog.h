/* The Raft log on disk (DATA_DIR/member/raft): what a ready batch asks to persist (hard
 * state, a leader's snapshot's metadata, entries), made durable with one fdatasync per
 * batch, in segments that each start with the hard state and snapshot of the moment so
 * that older ones can be deleted once a snapshot covers their entries. Records are those
 * of kv/wal.h (RAFT_*), in files of their own kind; a torn tail is cut off at start-up. */
#ifndef CABIN_KV_RLOG_H
#define CABIN_KV_RLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft.h"

#define RLOG_SEGMENT_MAX ((size_t)64 << 20)

/* What the log held at start-up: for raft_restart. */
struct rlog_boot {
	struct raft_hard_state hs;
	struct raft_snap_meta snap;
	struct raft_entry *ents;	/* after snap.index, in order; each data its own block */
	size_t n;
	bool fresh;			/* no log existed: a new member */
};
void rlog_boot_free(struct rlog_boot *b);

struct rlog;

/* Opens (or creates) the log in dir and reads it back into *boot (the caller's:
 * rlog_boot_free). A torn last record is cut off with a warning naming the file and
 * offset; anything else wrong stops the opening with err naming the file, offset and
 * why. Returns 0 with *out (rlog_close), or a negative code. */
int rlog_open(const char *dir, struct rlog **out, struct rlog_boot *boot, char *err,
	      size_t errlen);
/* Adds what rd asks to persist to the pending records: its hard state if changed, its
 * snapshot's metadata (a reset of the log), its entries. Returns 0, -ENOMEM or -EINVAL
 * (an entry too large), with nothing added. */
int rlog_append(struct rlog *l, const struct raft_ready *rd);
/* Notes a local snapshot (the entries up to m->index are covered). 0 or -ENOMEM. */
int rlog_put_snap(struct rlog *l, const struct raft_snap_meta *m);
bool rlog_has_pending(const struct rlog *l);
/* Writes the pending records and fdatasyncs. 0 or -errno: they stay pending and are written
 * again from the last good offset next time. A segment past RLOG_SEGMENT_MAX is followed
 * by a new one (a failure to cut is retried at the next sync). */
int rlog_sync(struct rlog *l);
/* Deletes the segments whose entries all are at or before index (which a snapshot noted
 * with rlog_put_snap and synced covers). Returns how many went, or -errno. */
int rlog_compact(struct rlog *l, uint64_t index);

/* Tests: segments cut past bytes instead of RLOG_SEGMENT_MAX. */
void rlog_set_segment_max(struct rlog *l, size_t bytes);

struct rlog_stats {
	uint64_t syncs, bytes, segments;
};
void rlog_stats(const struct rlog *l, struct rlog_stats *st);
/* Closes the files; pending records are dropped (rlog_sync first). NULL: no-op. */
void rlog_close(struct rlog *l);

#endif
