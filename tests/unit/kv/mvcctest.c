/* Helpers for the MVCC store's unit tests (see mvcctest.h). */
#include "mvcctest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mvcct_alloc mvcct_mem;

static void *fn(void *ctx, void *p, size_t size)
{
	struct mvcct_alloc *m = ctx;
	void *n;

	if (!size) {
		if (p) {
			m->outstanding--;
			free(p);
		}
		return NULL;
	}
	m->calls++;
	if (m->fail_at && (m->calls == m->fail_at || (m->fail_all && m->calls > m->fail_at))) {
		m->failed++;
		return NULL;
	}
	n = realloc(p, size);
	if (n && !p)
		m->outstanding++;
	return n;
}

const struct mvcc_alloc mvcct_alloc = { fn, &mvcct_mem, false };
const struct mvcc_alloc mvcct_alloc_slab = { fn, &mvcct_mem, true };
bool mvcct_slab;

void mvcct_fail(long nth, bool all)
{
	mvcct_mem.calls = 0;
	mvcct_mem.failed = 0;
	mvcct_mem.fail_at = nth;
	mvcct_mem.fail_all = all;
}

struct mvcc *mvcct_new(void)
{
	struct mvcc *s;

	mvcct_fail(0, false);
	if (mvcc_new(mvcct_slab ? &mvcct_alloc_slab : &mvcct_alloc, &s)) {
		fprintf(stderr, "mvcc_new failed\n");
		exit(1);
	}
	return s;
}

struct mvcc_bytes mvcct_b(const char *s)
{
	struct mvcc_bytes b = { (const uint8_t *)s, s ? strlen(s) : 0 };
	return b;
}

int mvcct_put_lease(struct mvcc *s, const char *key, const char *value, int64_t lease)
{
	struct mvcc_put_req q = { .key = mvcct_b(key), .value = mvcct_b(value), .lease = lease };
	struct mvcc_put_res r;

	return mvcc_put(s, &q, &r);
}

int mvcct_put(struct mvcc *s, const char *key, const char *value)
{
	return mvcct_put_lease(s, key, value, 0);
}

int64_t mvcct_del(struct mvcc *s, const char *key, const char *end)
{
	struct mvcc_delete_req q = { .key = mvcct_b(key), .range_end = mvcct_b(end) };
	struct mvcc_delete_res r;
	int rc = mvcc_delete(s, &q, &r);

	int64_t n = r.deleted;

	if (rc)
		return rc;
	mvcc_delete_res_free(s, &r);
	return n;
}

int mvcct_get(struct mvcc *s, const char *key, int64_t rev, struct mvcc_kv *kv)
{
	struct mvcc_range_req q = { .key = mvcct_b(key), .revision = rev };
	struct mvcc_range_res r;
	int rc = mvcc_range(s, &q, &r);

	if (rc)
		return rc;
	rc = r.n == 1;
	if (rc)
		*kv = r.kvs[0];
	mvcc_range_res_free(s, &r);
	return rc;
}

const char *mvcct_val(struct mvcc *s, const char *key)
{
	static char buf[4096];
	struct mvcc_kv kv;

	if (mvcct_get(s, key, 0, &kv) != 1)
		return NULL;
	snprintf(buf, sizeof(buf), "%.*s", (int)kv.value.len, (const char *)kv.value.p);
	return buf;
}

int mvcct_cmp(struct mvcc_bytes a, struct mvcc_bytes b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n ? memcmp(a.p, b.p, n) : 0;

	if (c)
		return c;
	return a.len < b.len ? -1 : a.len > b.len;
}

bool mvcct_eq(struct mvcc_bytes b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return b.len == n && (!n || memcmp(b.p, s, n) == 0);
}

static void copy(char *dst, struct mvcc_bytes b)
{
	snprintf(dst, 64, "%.*s", (int)b.len, b.p ? (const char *)b.p : "");
}

void mvcct_record(void *ctx, const struct mvcc_event *ev)
{
	struct mvcct_evlog *l = ctx;
	struct mvcct_ev *e;

	if (l->n >= MVCCT_EV_MAX)
		return;
	e = &l->ev[l->n++];
	memset(e, 0, sizeof(*e));
	e->type = ev->type;
	copy(e->key, ev->kv.key);
	copy(e->value, ev->kv.value);
	e->create = ev->kv.create_revision;
	e->mod = ev->kv.mod_revision;
	e->version = ev->kv.version;
	e->lease = ev->kv.lease;
	e->has_prev = ev->has_prev;
	e->last = ev->last;
	if (ev->has_prev) {
		copy(e->prev_value, ev->prev.value);
		e->prev_mod = ev->prev.mod_revision;
	}
}
