/* The open files of the log that the store's long keys and values are read from (slots),
 * reading them back (from the pending records until they are written), and settling the
 * store on the places of what was just logged or snapshotted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "../lib/log.h"
#include "wal_file.h"

/* ---- the files values are read from ---------------------------------------------------------- */

/* A slot for fd (taken over): its number, or -ENOMEM / -EMFILE with fd closed. */
long wal_slot_add(struct wal *w, int fd, uint64_t seq)
{
	uint64_t *sq;
	size_t i;
	int *v;

	for (i = 0; i < w->nslot && w->slot[i] >= 0; i++)
		;
	if (i == w->nslot) {
		if (w->nslot == SLOTS_MAX || !(v = realloc(w->slot, (w->nslot + 1) * sizeof(*v)))) {
			close(fd);
			return w->nslot == SLOTS_MAX ? -EMFILE : -ENOMEM;
		}
		w->slot = v;
		if (!(sq = realloc(w->slot_seq, (w->nslot + 1) * sizeof(*sq)))) {
			close(fd);
			return -ENOMEM;
		}
		w->slot_seq = sq;
		w->nslot++;
	}
	w->slot[i] = fd;
	w->slot_seq[i] = seq;
	return (long)i;
}

void wal_slot_close(struct wal *w, size_t i)
{
	if (i < w->nslot && w->slot[i] >= 0) {
		if (w->slot[i] != w->fd)
			close(w->slot[i]);
		w->slot[i] = -1;
	}
}

uint64_t wal_loc_of(size_t slot, uint64_t off)
{
	return (uint64_t)slot << LOC_SHIFT | off;
}

/* mvcc_read_fn: from the file, or from the pending records not written yet. */
int wal_read(void *ctx, uint64_t loc, uint8_t *dst, size_t len)
{
	struct wal *w = ctx;
	size_t i = (size_t)(loc >> LOC_SHIFT);
	uint64_t off = loc & (((uint64_t)1 << LOC_SHIFT) - 1);

	if (i >= w->nslot || w->slot[i] < 0)
		return -EIO;
	if (i == w->cur && off + len > w->off) {
		if (off < w->off || off - w->off > w->pend.len || len > w->pend.len - (off - w->off))
			return -EIO;
		memcpy(dst, w->pend.p + (off - w->off), len);
		return 0;
	}
	while (len) {
		ssize_t n = pread(w->slot[i], dst, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		dst += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}


/* A change's place, its bytes being at file offset base + their offset from p; false when
 * it has nothing to settle. */
static bool place_of(int64_t rev, uint32_t sub, const struct wal_change *c, const uint8_t *p,
		     uint64_t base, struct place *out)
{
	if (c->sweep)
		return false;	/* its keys are where their puts put them */
	out->rev = rev;
	out->sub = sub;
	out->key = c->key.len > MVCC_KEY_INLINE ? base + (uint64_t)(c->key.p - p) : 0;
	out->val = !c->del && c->value.len ? base + (uint64_t)(c->value.p - p) : 0;
	return out->key || out->val;
}

bool wal_settle_place(struct mvcc *s, size_t slot, const struct place *pl)
{
	return mvcc_settle(s, pl->rev, pl->sub, pl->key ? wal_loc_of(slot, pl->key) : 0,
			   pl->val ? wal_loc_of(slot, pl->val) : 0) == 0;
}

/* Calls fn for the place of every change of the REV and SNAP_KV records in
 * [p + from, p + len), the bytes being at file offset base + their offset from p. Returns
 * true if every record was read and fn was content with each. */
bool wal_each_place(const uint8_t *p, size_t len, size_t from, uint64_t base,
		       bool (*fn)(void *ctx, const struct place *pl), void *ctx)
{
	struct wal_iter it = { .p = p, .len = len, .off = from };
	struct wal_change c;
	struct place pl;
	struct wal_rec r;
	const char *why;
	bool ok = true;
	int more;

	while ((more = wal_next(&it, &r, &why)) == 1) {
		if (r.type == WAL_SNAP_KV && place_of(r.u.kv.rev, r.u.kv.sub, &r.u.kv.c, p, base, &pl))
			ok &= fn(ctx, &pl);
		if (r.type != WAL_REV)
			continue;
		const uint8_t *q = r.u.rev.p;
		for (uint32_t i = 0, sub = 0; i < r.u.rev.n; i++) {
			wal_change_next(&q, r.u.rev.end, &c);
			if (place_of(r.u.rev.rev, sub, &c, p, base, &pl))
				ok &= fn(ctx, &pl);
			sub += c.sweep ? c.sweep : 1;
		}
	}
	return ok && more == 0;
}

struct settle_now {
	struct mvcc *s;
	size_t slot;
};

static bool settle_now(void *ctx, const struct place *pl)
{
	const struct settle_now *sn = ctx;
	return wal_settle_place(sn->s, sn->slot, pl);
}

void wal_settle(struct wal *w, struct mvcc *s, size_t from)
{
	struct settle_now sn = { s, w->cur };

	if (!wal_each_place(w->pend.p, w->pend.len, from, w->off, settle_now, &sn))
		log_warnx("kv: some logged values stay in memory (%s)", w->waldir);
}


bool wal_note_place(void *ctx, const struct place *pl)
{
	struct places *ps = ctx;

	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 4096;
		struct place *v = realloc(ps->v, cap * sizeof(*v));
		if (!v)
			return false;
		ps->v = v;
		ps->cap = cap;
	}
	ps->v[ps->n++] = *pl;
	return true;
}

size_t wal_take_values(struct mvcc *s, size_t slot, const struct places *ps, size_t from,
		       size_t n, bool *ok)
{
	size_t end = ps->n - from > n ? from + n : ps->n;

	for (size_t i = from; i < end; i++)
		*ok &= wal_settle_place(s, slot, &ps->v[i]);
	return end;
}

void wal_values_taken(struct wal *w, size_t slot, uint64_t seq, bool ok, const char *path)
{
	if (!ok) {
		log_warnx("kv: %s: not every value was found in it; the older files stay open",
			  path);
		return;
	}
	/* the files before it; segments cut since (the snapshot was written a piece at a
	 * time) hold what came after it */
	for (size_t i = 0; i < w->nslot; i++)
		if (i != slot && i != w->cur && w->slot_seq[i] < seq)
			wal_slot_close(w, i);
}

/* Opens path into a new slot. Returns 0 with *slot set, or -errno. */
int wal_open_slot(struct wal *w, const char *path, int flags, uint64_t seq, size_t *slot)
{
	int fd = open(path, flags | O_CLOEXEC);
	long i;

	if (fd < 0)
		return -errno;
	i = wal_slot_add(w, fd, seq);
	if (i < 0)
		return (int)i;
	*slot = (size_t)i;
	return 0;
}
