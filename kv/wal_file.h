/* Internals of the log's file shell shared by kv/wal_file.c (files, segments, snapshots,
 * recovery) and kv/wal_place.c (the open files the store's long keys and values are read
 * from, and their places). Not an API. */
#ifndef CABIN_KV_WAL_FILE_H
#define CABIN_KV_WAL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wal.h"
#include "wal_io.h"

#define WAL_PATH 512
#define SNAP_CHUNK ((size_t)1 << 20)

/* The store's long keys and values stay in the files they were logged in (mvcc_settle): a
 * place is (slot << LOC_SHIFT | offset), a slot being one open file, a segment or a
 * snapshot. A file is closed once a snapshot has taken every value it held. */
#define LOC_SHIFT 40
#define SLOTS_MAX 4096

struct wal {
	char waldir[WAL_PATH], snapdir[WAL_PATH];
	int fd;			/* the segment being written */
	size_t cur;		/* its slot */
	int *slot;		/* the files values are read from (-1: a free slot) */
	uint64_t *slot_seq;	/* each one's segment number (a snapshot's: its first not
				 * covered) */
	size_t nslot;
	struct mvcc *s;		/* the store reading them */
	uint64_t seq;
	int64_t seg_rev;
	uint64_t off;		/* its length that is durable */
	uint64_t filled;	/* its size: off, then the zeros written ahead (WAL_AHEAD) */
	bool cut_failed;	/* a cut after a sync failed (logged once) */
	uint64_t applied;	/* the Raft index replayed up to (wal_applied) */
	bool lazy;		/* wal_set_lazy: writes are not synced one by one */
	bool unsynced;		/* ... and some are not yet */
	uint64_t applied_now;	/* what the snapshots to come say (wal_set_applied) */
	struct wal_buf pend;
	struct wal_stats st;
	char snap_file[WAL_PATH + 64];	/* the newest snapshot ("" none) */
	struct snap_job *job;		/* a snapshot being written, a piece at a time */
};

/* Where a change's long key and value are in a file (0: not to be settled). */
struct place {
	int64_t rev;
	uint32_t sub;
	uint64_t key, val;
};

/* The places a snapshot gives the store's keys and values, noted while it is written and
 * taken once it is durable. */
struct places {
	struct place *v;
	size_t n, cap;
};

/* A slot for fd (taken over): its number, or -ENOMEM / -EMFILE with fd closed. */
long wal_slot_add(struct wal *w, int fd, uint64_t seq);
void wal_slot_close(struct wal *w, size_t i);
/* Opens path into a new slot. Returns 0 with *slot set, or -errno. */
int wal_open_slot(struct wal *w, const char *path, int flags, uint64_t seq, size_t *slot);
uint64_t wal_loc_of(size_t slot, uint64_t off);
/* mvcc_read_fn: from the file, or from the pending records not written yet. */
int wal_read(void *ctx, uint64_t loc, uint8_t *dst, size_t len);
/* Calls fn for the place of every change of the REV and SNAP_KV records in
 * [p + from, p + len), the bytes being at file offset base + their offset from p. Returns
 * true if every record was read and fn was content with each. */
bool wal_each_place(const uint8_t *p, size_t len, size_t from, uint64_t base,
		    bool (*fn)(void *ctx, const struct place *pl), void *ctx);
/* wal_each_place's fn noting the places in a struct places. */
bool wal_note_place(void *ctx, const struct place *pl);
/* After a snapshot (in slot, covering the segments before seq) the store reads its keys
 * and values from it: take moves places [from, from + n) of those noted while writing it
 * onto the slot, clearing *ok if one was not found, and returns where it stopped. Once all
 * are taken, values_taken closes the files before it (unlinked by now); if one was not
 * found (!ok) they stay open instead: nothing is lost. */
size_t wal_take_values(struct mvcc *s, size_t slot, const struct places *ps, size_t from,
		       size_t n, bool *ok);
void wal_values_taken(struct wal *w, size_t slot, uint64_t seq, bool ok, const char *path);

#endif
