/* The pure parts of the Watch service: watchers' ranges and filters, the stream's id table,
 * event records encoded once per revision, history chunks for catch-up, and fragments. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "watch.h"

#define REV_KEEP_MAX (1u << 20)	/* a revision's buffers above this are freed after it */

const char *watch_strerror(int code)
{
#define WATCH_ERR_TEXT(name, value, text) \
	case name:                        \
		return text;
	switch (code) {
	WATCH_ERRORS(WATCH_ERR_TEXT)
	}
#undef WATCH_ERR_TEXT
	return mvcc_strerror(code);
}

/* Orders bytes as the store does: memcmp, then the shorter first. */
static int bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static bool from_key(const uint8_t *end, size_t len)
{
	return len == 1 && end[0] == 0;
}

int watch_new(const struct kvm_watch_create_request *r, struct watcher **out)
{
	static const uint8_t zero = 0;
	const uint8_t *key = r->key.len ? r->key.p : &zero;
	size_t klen = r->key.len ? r->key.len : 1, elen = r->range_end.len;
	struct watcher *w;

	if (klen > UINT32_MAX || elen > UINT32_MAX)
		return -ENOMEM;
	if (elen && !from_key(r->range_end.p, elen) &&
	    bytes_cmp(key, klen, r->range_end.p, elen) >= 0)
		return WATCH_EEMPTY;
	if (!(w = calloc(1, sizeof(*w) + klen + elen)))
		return -ENOMEM;
	memcpy(w->bytes, key, klen);
	if (elen)
		memcpy(w->bytes + klen, r->range_end.p, elen);
	w->key_len = (uint32_t)klen;
	w->end_len = (uint32_t)elen;
	for (size_t i = 0; i < r->n_filters; i++) {
		if (r->filters[i] == KVM_FILTER_NOPUT)
			w->flags |= WATCH_NOPUT;
		else if (r->filters[i] == KVM_FILTER_NODELETE)
			w->flags |= WATCH_NODELETE;	/* others: ignored, as etcd does */
	}
	w->flags |= (r->prev_kv ? WATCH_PREV_KV : 0) | (r->fragment ? WATCH_FRAGMENT : 0) |
		    (r->progress_notify ? WATCH_PROGRESS : 0);
	w->idle = true;
	*out = w;
	return 0;
}

bool watch_match(const struct watcher *w, const uint8_t *key, size_t len)
{
	const uint8_t *end = w->bytes + w->key_len;
	int c = bytes_cmp(key, len, w->bytes, w->key_len);

	if (w->end_len == 0)
		return c == 0;
	if (c < 0)
		return false;
	return from_key(end, w->end_len) || bytes_cmp(key, len, end, w->end_len) < 0;
}

bool watch_filtered(const struct watcher *w, int type)
{
	return (type == MVCC_EVENT_PUT && (w->flags & WATCH_NOPUT)) ||
	       (type == MVCC_EVENT_DELETE && (w->flags & WATCH_NODELETE));
}

/* ---- ids ---- */

static size_t id_hash(int64_t id, size_t cap)
{
	uint64_t x = (uint64_t)id + 0x9e3779b97f4a7c15ull;	/* splitmix64's finaliser */
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return (size_t)(x ^ (x >> 31)) & (cap - 1);
}

struct watcher *watch_ids_find(const struct watch_ids *t, int64_t id)
{
	if (!t->cap)
		return NULL;
	for (size_t i = id_hash(id, t->cap);; i = (i + 1) & (t->cap - 1)) {
		if (!t->slot[i] || t->slot[i]->id == id)
			return t->slot[i];
	}
}

static void ids_put(struct watch_ids *t, struct watcher *w)
{
	size_t i = id_hash(w->id, t->cap);
	while (t->slot[i])
		i = (i + 1) & (t->cap - 1);
	t->slot[i] = w;
}

int watch_ids_add(struct watch_ids *t, struct watcher *w)
{
	if ((t->n + 1) * 4 > t->cap * 3) {	/* keep the load under 3/4 */
		struct watch_ids g = { .cap = t->cap ? t->cap * 2 : 16, .n = t->n };
		if (!(g.slot = calloc(g.cap, sizeof(*g.slot))))
			return -ENOMEM;
		for (size_t i = 0; i < t->cap; i++)
			if (t->slot[i])
				ids_put(&g, t->slot[i]);
		free(t->slot);
		*t = g;
	}
	ids_put(t, w);
	t->n++;
	return 0;
}

void watch_ids_del(struct watch_ids *t, int64_t id)
{
	size_t mask = t->cap - 1, i, j;

	if (!t->cap)
		return;
	for (i = id_hash(id, t->cap); t->slot[i] && t->slot[i]->id != id; i = (i + 1) & mask)
		;
	if (!t->slot[i])
		return;
	/* backward-shift deletion: pull later entries of the run into the hole when their
	 * home slot does not lie (cyclically) between the hole and them */
	for (j = (i + 1) & mask; t->slot[j]; j = (j + 1) & mask) {
		size_t home = id_hash(t->slot[j]->id, t->cap);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i] = NULL;
	t->n--;
}

void watch_ids_free(struct watch_ids *t)
{
	free(t->slot);
	*t = (struct watch_ids){ 0 };
}

int64_t watch_ids_auto(const struct watch_ids *t, int64_t *next)
{
	while (watch_ids_find(t, *next))
		(*next)++;
	return (*next)++;
}

/* ---- encoding ---- */

static struct kvm_kv wire_kv(const struct mvcc_kv *kv)
{
	return (struct kvm_kv){
		.key = { kv->key.p, kv->key.len }, .create_revision = kv->create_revision,
		.mod_revision = kv->mod_revision, .version = kv->version,
		.value = { kv->value.p, kv->value.len }, .lease = kv->lease,
	};
}

int watch_put_event(struct pb_buf *b, struct pb_buf *tmp, const struct mvcc_event *ev,
		    bool with_prev)
{
	struct kvm_kv kv = wire_kv(&ev->kv), prev = wire_kv(&ev->prev);
	struct kvm_event e = { .type = (int32_t)ev->type, .kv = &kv,
			       .prev_kv = with_prev && ev->has_prev ? &prev : NULL };
	int rc;

	tmp->len = 0;
	if ((rc = kvm_encode(tmp, KVM_EVENT, &e)) < 0)
		return rc;
	pb_put_bytes_field(b, 11, (struct pb_bytes){ tmp->data, tmp->len });
	return b->err;
}

void watch_put_head(struct pb_buf *b, struct pb_bytes hdr, int64_t id, bool fragment)
{
	pb_put_bytes_field(b, 1, hdr);
	pb_put_i64(b, 2, id);
	pb_put_bool(b, 7, fragment);
}

size_t watch_fragment(size_t head, const struct pb_bytes *recs, size_t n, bool started,
		      bool *fragment)
{
	size_t sum = 0, k;

	if (!started) {
		for (size_t i = 0; i < n; i++)
			sum += recs[i].len;
		if (n < 2 || head + sum < WATCH_FRAGMENT_MAX) {
			*fragment = false;
			return n;
		}
		sum = 0;
	}
	head += 2;	/* the fragment flag */
	for (k = 0; k < n; k++) {
		if (k >= 1 && head + sum + recs[k].len >= WATCH_FRAGMENT_MAX)
			break;
		sum += recs[k].len;
	}
	*fragment = k < n;
	return k;
}

/* ---- one revision's events ---- */

void watch_rev_init(struct watch_rev *r)
{
	*r = (struct watch_rev){ 0 };
	pb_buf_init(&r->keys, NULL);
	pb_buf_init(&r->enc, NULL);
}

int watch_rev_add(struct watch_rev *r, const struct mvcc_event *ev, struct pb_buf *tmp)
{
	struct watch_rev_ev *e;
	int rc;

	if (r->err)
		return r->err;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		if (!(e = realloc(r->ev, cap * sizeof(*e))))
			return r->err = -ENOMEM;
		r->ev = e;
		r->cap = cap;
	}
	e = &r->ev[r->n];
	r->rev = ev->kv.mod_revision;
	e->type = (uint8_t)ev->type;
	e->key = r->keys.len;
	e->key_len = ev->kv.key.len;
	pb_put_raw(&r->keys, ev->kv.key.p, ev->kv.key.len);
	e->plain = r->enc.len;
	if ((rc = r->keys.err) < 0 || (rc = watch_put_event(&r->enc, tmp, ev, false)) < 0)
		return r->err = rc;
	e->plain_len = r->enc.len - e->plain;
	e->prev = e->plain;
	e->prev_len = e->plain_len;
	if (ev->has_prev) {
		e->prev = r->enc.len;
		if ((rc = watch_put_event(&r->enc, tmp, ev, true)) < 0)
			return r->err = rc;
		e->prev_len = r->enc.len - e->prev;
	}
	r->n++;
	return 0;
}

static void buf_reset(struct pb_buf *b)
{
	if (b->cap > REV_KEEP_MAX)
		pb_buf_free(b);
	b->len = 0;
	b->err = 0;
}

void watch_rev_reset(struct watch_rev *r)
{
	buf_reset(&r->keys);
	buf_reset(&r->enc);
	if (r->cap > 4096) {
		free(r->ev);
		r->ev = NULL;
		r->cap = 0;
	}
	r->n = 0;
	r->err = 0;
	r->rev = 0;
}

void watch_rev_free(struct watch_rev *r)
{
	pb_buf_free(&r->keys);
	pb_buf_free(&r->enc);
	free(r->ev);
	watch_rev_init(r);
}

size_t watch_rev_select(const struct watch_rev *r, const struct watcher *w,
			struct pb_bytes *out)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct watch_rev_ev *e = &r->ev[i];
		if (watch_filtered(w, e->type) || !watch_match(w, r->keys.data + e->key, e->key_len))
			continue;
		if (w->flags & WATCH_PREV_KV)
			out[n++] = (struct pb_bytes){ r->enc.data + e->prev, e->prev_len };
		else
			out[n++] = (struct pb_bytes){ r->enc.data + e->plain, e->plain_len };
	}
	return n;
}

/* ---- catch-up ---- */

static void chunk_event(void *ctx, const struct mvcc_event *ev)
{
	struct watch_chunk *c = ctx;
	int64_t rev = ev->kv.mod_revision;
	size_t at;

	if (c->full || c->err)
		return;
	if (rev != c->at) {	/* a new revision: is there room for it? */
		if (c->revs == WATCH_BATCH_REVS || c->ev.len >= WATCH_CHUNK_BYTES) {
			c->full = true;
			c->next = rev;
			return;
		}
		c->at = rev;
		c->revs++;
	}
	if (watch_filtered(c->w, ev->type))
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64, *p = realloc(c->size, cap * sizeof(*p));
		if (!p) {
			c->err = -ENOMEM;
			return;
		}
		c->size = p;
		c->cap = cap;
	}
	at = c->ev.len;
	if ((c->err = watch_put_event(&c->ev, c->tmp, ev, c->w->flags & WATCH_PREV_KV)) == 0)
		c->size[c->n++] = c->ev.len - at;
}

void watch_chunk_init(struct watch_chunk *c)
{
	*c = (struct watch_chunk){ 0 };
	pb_buf_init(&c->ev, NULL);
}

int watch_catch_up(struct mvcc *s, const struct watcher *w, struct watch_chunk *c,
		   struct pb_buf *tmp)
{
	int64_t next = w->next_rev, rc;

	if (c->ev.cap > 2 * WATCH_CHUNK_BYTES + REV_KEEP_MAX)
		pb_buf_free(&c->ev);	/* a huge revision passed: do not keep its memory */
	c->ev.len = 0;
	c->ev.err = 0;
	c->n = 0;
	c->w = w;
	c->tmp = tmp;
	c->at = 0;
	c->revs = 0;
	c->full = false;
	c->err = 0;
	if (next < 1 && mvcc_compacted(s) > 0)
		return MVCC_ECOMPACTED;	/* etcd: a negative start is below any compaction */
	rc = mvcc_history(s, watch_key(w), watch_range_end(w), next < 1 ? 1 : next,
			  WATCH_CHUNK_EVENTS, chunk_event, c, &next);
	if (rc < 0)
		return (int)rc;
	if (c->err)
		return c->err;
	if (!c->full)
		c->next = next;
	c->done = c->next > mvcc_rev(s);
	return (int)c->n;
}

void watch_chunk_records(const struct watch_chunk *c, struct pb_bytes *out)
{
	size_t off = 0;

	for (size_t i = 0; i < c->n; i++) {
		out[i] = (struct pb_bytes){ c->ev.data + off, c->size[i] };
		off += c->size[i];
	}
}

void watch_chunk_free(struct watch_chunk *c)
{
	pb_buf_free(&c->ev);
	free(c->size);
	watch_chunk_init(c);
}
