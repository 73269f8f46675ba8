/* The MVCC store's compaction: drops the history below a revision and gives the memory
 * back (values, revision arrays, emptied keys, index nodes, the log's tail). etcd 3.4's
 * rule: each key keeps its latest revision <= rev unless that revision deleted it. */
#include <string.h>

#include "mvcc_int.h"

/* How many of k's revisions a compaction at rev drops: those below its latest at rev, and
 * that one too if it is a tombstone. */
static size_t dropped(const struct mvcc_key *k, int64_t rev)
{
	const struct mvcc_rev *r = mvcc_key_at(k, rev);
	return r ? (size_t)(r - k->revs) + (r->tomb ? 1 : 0) : 0;
}

/* Keeps the log entries that survive, in order, with the indexes their revisions will have
 * once the keys are trimmed. Runs before any key is trimmed, so every entry still finds
 * its key and revision. */
static void compact_log(struct mvcc *s, int64_t rev)
{
	size_t w = 0, i;

	for (i = 0; i < s->nlog; i++) {
		struct mvcc_logent e = s->log[i];
		const struct mvcc_rev *r = mvcc_log_rev(&e);
		if (r->main <= rev && (r->tomb || mvcc_key_at(e.key, rev) != r))
			continue;	/* history the compaction drops */
		e.i -= (uint32_t)dropped(e.key, rev);
		s->log[w++] = e;
	}
	s->nlog = w;
	if (s->logcap > 64 && s->nlog < s->logcap / 4) {
		size_t cap = s->nlog * 2 > 64 ? s->nlog * 2 : 64;
		if (!mvcc_mem_grow(s, (void **)&s->log, s->logcap * sizeof(s->log[0]),
				   cap * sizeof(s->log[0])))
			s->logcap = cap;	/* a failed shrink just keeps the old block */
	}
}

/* Drops k's revisions below rev. Returns true if none is left. */
static bool compact_key(struct mvcc *s, struct mvcc_key *k, int64_t rev)
{
	size_t drop = dropped(k, rev);

	if (!drop)
		return false;
	if (drop == k->nrev)
		return true;	/* mvcc_key_free drops them */
	mvcc_key_trim(s, k, drop);
	return false;
}

int mvcc_compact(struct mvcc *s, int64_t rev)
{
	struct mvcc_pos pos;
	struct mvcc_key *k;

	if (s->in_txn)
		return MVCC_ETXN;
	if (rev <= s->compacted)
		return MVCC_ECOMPACTED;
	if (rev > s->rev)
		return MVCC_EFUTURE;
	compact_log(s, rev);
	pos = mvcc_bt_first(&s->index);
	while ((k = mvcc_bt_at(pos))) {
		struct mvcc_key *next;
		struct mvcc_bytes nb;
		mvcc_bt_next(&pos);
		if (!compact_key(s, k, rev))
			continue;
		/* removing rebalances the leaves: find the next key again by its bytes */
		next = mvcc_bt_at(pos);
		mvcc_bt_remove(s, &s->index, k);
		mvcc_key_free(s, k);
		pos = (struct mvcc_pos){ 0 };
		if (next && mvcc_key_full(s, next, 0, &nb) == 0) {
			pos = mvcc_bt_seek(&s->index, nb.p, nb.len);
		} else if (next) {
			/* unreadable: start over; the keys done are done */
			s->read_errors++;
			pos = mvcc_bt_first(&s->index);
		}
	}
	s->compacted = rev;
	return 0;
}
