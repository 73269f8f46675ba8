/* The Raft log as the core holds it: entries after the compaction point in one array,
 * each entry's data its own block. Appends that fail leave the log as it was. Messages
 * and readies point into the entries' data, so data dropped from the log goes to a
 * graveyard first (see raft_free_data). */
#include <errno.h>
#include <string.h>

#include "raft_int.h"

#define E(r, k) ((r)->log.e[(r)->log.start + (k)])

uint64_t raft_last_index(const struct raft *r)
{
	return r->log.off_index + r->log.n;
}

uint64_t raft_term(const struct raft *r, uint64_t i)
{
	const struct raft_log *l = &r->log;

	if (i == l->off_index)
		return l->off_term;
	if (i < l->off_index || i > raft_last_index(r))
		return 0;
	return E(r, i - l->off_index - 1).term;
}

uint64_t raft_last_term(const struct raft *r)
{
	return raft_term(r, raft_last_index(r));
}

const struct raft_entry *raft_entry_at(const struct raft *r, uint64_t i)
{
	if (i <= r->log.off_index || i > raft_last_index(r))
		return NULL;
	return &E(r, i - r->log.off_index - 1);
}

bool raft_up_to_date(const struct raft *r, uint64_t index, uint64_t term)
{
	uint64_t lt = raft_last_term(r);

	return term > lt || (term == lt && index >= raft_last_index(r));
}

/* Makes room for more entries after the last. */
static int reserve(struct raft *r, size_t more)
{
	struct raft_log *l = &r->log;

	if (l->start + l->n + more <= l->cap)
		return 0;
	if (l->start > 0 && l->n + more <= l->cap) {
		memmove(l->e, l->e + l->start, l->n * sizeof(*l->e));
		l->start = 0;
		return 0;
	}
	size_t cap = l->cap ? l->cap : 64;
	while (cap < l->n + more)
		cap *= 2;
	struct raft_entry *e = raft_mem(r, NULL, cap * sizeof(*e));
	if (!e)
		return -ENOMEM;
	if (l->n)
		memcpy(e, l->e + l->start, l->n * sizeof(*e));
	raft_mem(r, l->e, 0);
	l->e = e;
	l->start = 0;
	l->cap = cap;
	return 0;
}

/* Drops the entries from index i on (their data to the graveyard, room for which the
 * caller made). */
static void truncate_from(struct raft *r, uint64_t i)
{
	struct raft_log *l = &r->log;
	size_t keep = (size_t)(i - l->off_index - 1);

	for (size_t k = keep; k < l->n; k++)
		raft_free_data(r, E(r, k).data);
	l->n = keep;
	if (l->unstable > i)
		l->unstable = i;
}

int raft_log_append(struct raft *r, const struct raft_entry *ents, size_t n)
{
	if (n == 0)
		return 0;
	uint64_t first = ents[0].index, last = raft_last_index(r);
	size_t dropped = first <= last ? (size_t)(last - first + 1) : 0;

	if (raft_vec_grow(r, &r->graveyard, sizeof(uint8_t *), dropped) < 0)
		return -ENOMEM;
	if (reserve(r, n) < 0)
		return -ENOMEM;
	size_t k;
	uint8_t **data = raft_mem(r, NULL, n * sizeof(*data));
	if (!data)
		return -ENOMEM;
	for (k = 0; k < n; k++) {
		data[k] = NULL;
		if (ents[k].len && !(data[k] = raft_mem(r, NULL, ents[k].len)))
			break;
		if (ents[k].len)
			memcpy(data[k], ents[k].data, ents[k].len);
	}
	if (k < n) {
		while (k--)
			raft_mem(r, data[k], 0);
		raft_mem(r, data, 0);
		return -ENOMEM;
	}
	if (first <= last)
		truncate_from(r, first);
	for (k = 0; k < n; k++) {
		struct raft_entry *e = &r->log.e[r->log.start + r->log.n++];
		*e = ents[k];
		e->data = data[k];
	}
	raft_mem(r, data, 0);
	if (r->log.unstable > first)
		r->log.unstable = first;
	return 0;
}

/* The index of the first entry of ents that the log lacks or holds with another term;
 * 0 if it holds them all. */
static uint64_t find_conflict(const struct raft *r, const struct raft_entry *ents, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (raft_term(r, ents[k].index) != ents[k].term)
			return ents[k].index;
	return 0;
}

int raft_log_maybe_append(struct raft *r, uint64_t index, uint64_t term, uint64_t commit,
			  const struct raft_entry *ents, size_t n, uint64_t *last)
{
	if (index < r->log.off_index || raft_term(r, index) != term)
		return 0;
	uint64_t last_new = index + n;
	uint64_t ci = find_conflict(r, ents, n);

	/* entries at or before the compaction point are committed: they match */
	if (ci && ci <= r->log.committed)
		return -EINVAL; /* a leader asked to rewrite a committed entry */
	if (ci) {
		int rc = raft_log_append(r, ents + (ci - index - 1), (size_t)(last_new - ci + 1));
		if (rc < 0)
			return rc;
	}
	raft_commit_to(r, commit < last_new ? commit : last_new);
	*last = last_new;
	return 1;
}

void raft_commit_to(struct raft *r, uint64_t commit)
{
	if (commit > r->log.committed && commit <= raft_last_index(r))
		r->log.committed = commit;
}

uint64_t raft_conflict_by_term(const struct raft *r, uint64_t i, uint64_t term)
{
	for (; i > r->log.off_index; i--)
		if (raft_term(r, i) <= term)
			return i;
	return i;
}

const struct raft_entry *raft_log_slice(const struct raft *r, uint64_t lo, size_t max_bytes,
					size_t *n)
{
	uint64_t last = raft_last_index(r);

	*n = 0;
	if (lo <= r->log.off_index || lo > last + 1)
		return NULL;
	const struct raft_entry *first = lo <= last ? &E(r, lo - r->log.off_index - 1) : NULL;
	size_t bytes = 0;
	for (uint64_t i = lo; i <= last; i++) {
		bytes += first[*n].len;
		if (*n > 0 && bytes > max_bytes)
			break;
		(*n)++;
	}
	static const struct raft_entry none;
	return first ? first : &none;
}

int raft_log_reset(struct raft *r, uint64_t index, uint64_t term)
{
	struct raft_log *l = &r->log;

	if (raft_vec_grow(r, &r->graveyard, sizeof(uint8_t *), l->n) < 0)
		return -ENOMEM;
	for (size_t k = 0; k < l->n; k++)
		raft_free_data(r, E(r, k).data);
	l->start = l->n = 0;
	l->off_index = index;
	l->off_term = term;
	/* applied moves when the ready handing the snapshot out is advanced */
	l->committed = l->applying = index;
	l->unstable = index + 1;
	return 0;
}

int raft_compact(struct raft *r, uint64_t index)
{
	struct raft_log *l = &r->log;

	if (index <= l->off_index)
		return 0;
	if (index > r->snap.index || index > l->applied)
		return -EINVAL;
	size_t drop = (size_t)(index - l->off_index);
	if (raft_vec_grow(r, &r->graveyard, sizeof(uint8_t *), drop) < 0)
		return -ENOMEM;
	l->off_term = raft_term(r, index);
	for (size_t k = 0; k < drop; k++)
		raft_free_data(r, E(r, k).data);
	l->start += drop;
	l->n -= drop;
	l->off_index = index;
	return 0;
}

void raft_log_free(struct raft *r)
{
	for (size_t k = 0; k < r->log.n; k++)
		raft_mem(r, E(r, k).data, 0);
	raft_mem(r, r->log.e, 0);
	memset(&r->log, 0, sizeof(r->log));
}
