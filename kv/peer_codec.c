/* The peers' wire format (see peer_codec.h): encoding into a growing buffer, decoding with
 * every count and length checked against the bytes there are. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "peer_codec.h"

#define RAFT_FIXED (4 + 8 * 8 + 8 + 8 + 4)	/* up to the snapshot's member count */
#define ENTRY_FIXED (8 + 8 + 1 + 4)

void peer_buf_free(struct peer_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int reserve(struct peer_buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	uint8_t *p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

static uint8_t *put8(uint8_t *p, uint8_t v)
{
	*p = v;
	return p + 1;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	le_put32(p, v);
	return p + 4;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
	le_put64(p, v);
	return p + 8;
}

int peer_put_hello(struct peer_buf *b, const struct peer_hello *h)
{
	if (reserve(b, PEER_HEAD + 28))
		return -ENOMEM;
	uint8_t *p = b->p + b->len;
	p = put32(p, 28);
	p = put8(p, PEER_HELLO);
	p = put32(p, h->version);
	p = put64(p, h->cluster);
	p = put64(p, h->from);
	put64(p, h->to);
	b->len += PEER_HEAD + 28;
	return 0;
}

int peer_put_snap(struct peer_buf *b, const struct peer_snap *s)
{
	if (s->len > PEER_SNAP_PIECE || s->part > PEER_SNAP_STORE || s->off > s->total ||
	    s->len > s->total - s->off)
		return -EINVAL;
	if (reserve(b, PEER_HEAD + PEER_SNAP_HEAD + s->len))
		return -ENOMEM;
	uint8_t *p = b->p + b->len;
	p = put32(p, (uint32_t)(PEER_SNAP_HEAD + s->len));
	p = put8(p, PEER_SNAP);
	p = put32(p, s->part);
	p = put64(p, s->total);
	p = put64(p, s->off);
	if (s->len)
		memcpy(p, s->data, s->len);
	b->len += PEER_HEAD + PEER_SNAP_HEAD + s->len;
	return 0;
}

int peer_put_raft(struct peer_buf *b, const struct raft_msg *m)
{
	size_t n = RAFT_FIXED + 9 * (size_t)m->snap.conf.n + 4;

	if (m->snap.conf.n > RAFT_MAX_MEMBERS)
		return -EINVAL;
	for (size_t k = 0; k < m->n_entries; k++)
		n += ENTRY_FIXED + m->entries[k].len;
	if (n > PEER_FRAME_MAX)
		return -E2BIG;
	if (reserve(b, PEER_HEAD + n))
		return -ENOMEM;
	uint8_t *p = b->p + b->len;
	p = put32(p, (uint32_t)n);
	p = put8(p, PEER_RAFT);
	p = put8(p, m->type);
	p = put8(p, m->reject);
	p = put8(p, 0);
	p = put8(p, 0);
	uint64_t f[] = {m->from, m->to, m->term, m->index, m->log_term, m->commit, m->hint,
			m->ctx, m->snap.index, m->snap.term};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		p = put64(p, f[i]);
	p = put32(p, m->snap.conf.n);
	for (uint32_t i = 0; i < m->snap.conf.n; i++) {
		p = put64(p, m->snap.conf.id[i]);
		p = put8(p, m->snap.conf.learner[i]);
	}
	p = put32(p, (uint32_t)m->n_entries);
	for (size_t k = 0; k < m->n_entries; k++) {
		const struct raft_entry *e = &m->entries[k];
		p = put64(p, e->term);
		p = put64(p, e->index);
		p = put8(p, e->type);
		p = put32(p, e->len);
		if (e->len)
			memcpy(p, e->data, e->len);
		p += e->len;
	}
	b->len += PEER_HEAD + n;
	return 0;
}

long peer_frame(const uint8_t *p, size_t n, uint8_t *type, const char **why)
{
	if (n < PEER_HEAD)
		return 0;
	uint32_t len = le_get32(p);
	if (len > PEER_FRAME_MAX) {
		*why = "frame longer than the most a peer may send";
		return -EMSGSIZE;
	}
	if (n < PEER_HEAD + (size_t)len)
		return 0;
	*type = p[4];
	return (long)(PEER_HEAD + len);
}

int peer_get_hello(const uint8_t *p, size_t n, struct peer_hello *h, const char **why)
{
	if (n != 28) {
		*why = "HELLO frame of the wrong length";
		return -EINVAL;
	}
	h->version = le_get32(p);
	h->cluster = le_get64(p + 4);
	h->from = le_get64(p + 12);
	h->to = le_get64(p + 20);
	return 0;
}

int peer_get_snap(const uint8_t *p, size_t n, struct peer_snap *s, const char **why)
{
	if (n < PEER_SNAP_HEAD || n - PEER_SNAP_HEAD > PEER_SNAP_PIECE) {
		*why = "SNAP frame of the wrong length";
		return -EINVAL;
	}
	s->part = p[0];
	s->total = le_get64(p + 4);
	s->off = le_get64(p + 12);
	s->data = p + PEER_SNAP_HEAD;
	s->len = n - PEER_SNAP_HEAD;
	if (s->part > PEER_SNAP_STORE || p[1] || p[2] || p[3]) {
		*why = "SNAP frame of an unknown part";
		return -EINVAL;
	}
	if (s->off > s->total || s->len > s->total - s->off) {
		*why = "SNAP frame past the end of its part";
		return -EINVAL;
	}
	return 0;
}

size_t peer_raft_entries(const uint8_t *p, size_t n)
{
	if (n < RAFT_FIXED)
		return 0;
	uint32_t members = le_get32(p + RAFT_FIXED - 4);
	if (members > RAFT_MAX_MEMBERS || n < RAFT_FIXED + 9 * (size_t)members + 4)
		return 0;
	return le_get32(p + RAFT_FIXED + 9 * (size_t)members);
}

int peer_get_raft(const uint8_t *p, size_t n, struct raft_msg *m, struct raft_entry *ents,
		  size_t max, const char **why)
{
	const uint8_t *end = p + n;

	memset(m, 0, sizeof(*m));
	if (n < RAFT_FIXED) {
		*why = "RAFT frame too short";
		return -EINVAL;
	}
	m->type = p[0];
	m->reject = p[1];
	if (m->type < RAFT_MSG_APP || m->type > RAFT_MSG_LAST || p[1] > 1 || p[2] || p[3]) {
		*why = "RAFT frame: unknown message type or bad flags";
		return -EINVAL;
	}
	p += 4;
	uint64_t *f[] = {&m->from, &m->to, &m->term, &m->index, &m->log_term, &m->commit,
			 &m->hint, &m->ctx, &m->snap.index, &m->snap.term};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++, p += 8)
		*f[i] = le_get64(p);
	m->snap.conf.n = le_get32(p);
	p += 4;
	if (m->snap.conf.n > RAFT_MAX_MEMBERS || (size_t)(end - p) < 9 * (size_t)m->snap.conf.n + 4) {
		*why = "RAFT frame: the snapshot's members run past the frame";
		return -EINVAL;
	}
	for (uint32_t i = 0; i < m->snap.conf.n; i++, p += 9) {
		m->snap.conf.id[i] = le_get64(p);
		m->snap.conf.learner[i] = p[8];
		if (p[8] > 1) {
			*why = "RAFT frame: a learner flag is neither 0 nor 1";
			return -EINVAL;
		}
	}
	uint32_t count = le_get32(p);
	p += 4;
	if (count > max || count > (size_t)(end - p) / ENTRY_FIXED) {
		*why = "RAFT frame: more entries than the frame holds";
		return -EINVAL;
	}
	for (uint32_t k = 0; k < count; k++) {
		struct raft_entry *e = &ents[k];
		if ((size_t)(end - p) < ENTRY_FIXED) {
			*why = "RAFT frame: an entry runs past the frame";
			return -EINVAL;
		}
		e->term = le_get64(p);
		e->index = le_get64(p + 8);
		e->type = p[16];
		e->len = le_get32(p + 17);
		p += ENTRY_FIXED;
		if (e->type > RAFT_ENTRY_CONF || e->len > (size_t)(end - p)) {
			*why = "RAFT frame: an entry's type is unknown or its data runs past the frame";
			return -EINVAL;
		}
		e->data = e->len ? (uint8_t *)p : NULL;
		p += e->len;
	}
	if (p != end) {
		*why = "RAFT frame: bytes after its last entry";
		return -EINVAL;
	}
	m->n_entries = count;
	m->entries = count ? ents : NULL;
	return 0;
}
