/* Leases with etcd 3.4's rules: grant (a TTL raised to the minimum, capped at the maximum;
 * server-chosen ids), renew, time-to-live, list, expiry, and the keys attached to each
 * lease. Pure: no clock (times are milliseconds passed in), no I/O, randomness only from
 * the seed given; memory only through the allocator given. Deleting a lease's keys from the
 * store is the caller's: this core only remembers which keys they are.
 *
 * For persistence (a WAL): lease_list enumerates (id, granted TTL); lease_grant with the
 * id and TTL re-creates a lease at recovery (its whole TTL counts from then, as etcd gives
 * leases their whole TTL again when a member starts); lease_attach re-attaches the keys. */
#ifndef CABIN_KV_LEASE_H
#define CABIN_KV_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Functions return 0 (or a count) or a negative code: -ENOMEM, -EINVAL, or one of these,
 * whose texts are exactly what etcd's gRPC errors carry. */
#define LEASE_ERRORS(X)                                                          \
	X(LEASE_ENOTFOUND, -1700, "etcdserver: requested lease not found")       \
	X(LEASE_EEXIST, -1701, "etcdserver: lease already exists")               \
	X(LEASE_ETOOLARGE, -1702, "etcdserver: too large lease TTL")

#define LEASE_ERR_ENUM(name, value, text) name = value,
enum lease_code { LEASE_ERRORS(LEASE_ERR_ENUM) };
#undef LEASE_ERR_ENUM

/* A static description of a LEASE_E* code, -ENOMEM or -EINVAL ("unknown error" else). */
const char *lease_strerror(int code);

#define LEASE_TTL_MAX 9000000000LL	/* seconds: etcd's MaxLeaseTTL */

/* The minimum TTL etcd 3.4 gives a lease, in seconds, for its --heartbeat-interval and
 * --election-timeout: 1.5 election timeouts counted in whole heartbeats, rounded up to a
 * second (2 s with the defaults 100 and 1000 ms). Never less than 1. */
int64_t lease_min_ttl(unsigned heartbeat_ms, unsigned election_ms);

/* Memory: realloc semantics, as kv/mvcc.h's allocator: fn(ctx, NULL, n) allocates,
 * fn(ctx, p, n) resizes, fn(ctx, p, 0) frees (returns NULL). */
struct lease_alloc {
	void *(*fn)(void *ctx, void *ptr, size_t size);
	void *ctx;
};

struct lease_set;

/* A set without leases. a (copied; NULL = libc) serves every allocation; seed picks the
 * server-chosen ids; min_ttl (seconds, >= 1) is what shorter TTLs are raised to. Returns 0
 * with *out set (the caller's: lease_set_free), or -ENOMEM. */
int lease_set_new(const struct lease_alloc *a, uint64_t seed, int64_t min_ttl,
		  struct lease_set **out);
/* Frees the set, its leases and their key references. NULL is a no-op. */
void lease_set_free(struct lease_set *ls);

/* A lease as seen at a time now_ms. */
struct lease_info {
	int64_t id;
	int64_t ttl;		/* granted, in seconds (after the minimum was applied) */
	int64_t remaining;	/* whole seconds until expiry, truncated toward zero as etcd
				 * reports them (99 just after a grant of 100) */
	uint64_t expiry_ms;	/* when it expires */
	uint32_t touch;		/* orders leases expiring in the same millisecond: the one
				 * granted or renewed first comes first */
	size_t keys;		/* keys attached */
};

/* Grants lease id (0: the set picks a positive id nobody holds) for ttl seconds from now:
 * a ttl below the minimum (zero and negative ones too) becomes the minimum. out (may be
 * NULL) gets the lease. Returns 0, LEASE_ETOOLARGE (ttl > LEASE_TTL_MAX; checked first, as
 * etcd does), LEASE_EEXIST, -ENOMEM (nothing changed). */
int lease_grant(struct lease_set *ls, int64_t id, int64_t ttl, uint64_t now_ms,
		struct lease_info *out);
/* Renews lease id: it expires its granted TTL after now. *ttl (may be NULL) gets the
 * granted TTL. Returns 0 or LEASE_ENOTFOUND. */
int lease_renew(struct lease_set *ls, int64_t id, uint64_t now_ms, int64_t *ttl);
/* Fills *out for lease id. Returns 0 or LEASE_ENOTFOUND. */
int lease_get(const struct lease_set *ls, int64_t id, uint64_t now_ms, struct lease_info *out);
bool lease_exists(const struct lease_set *ls, int64_t id);
/* Forgets lease id and its key references: a revoke, once the caller has deleted the
 * keys. Returns 0 or LEASE_ENOTFOUND. Never allocates. */
int lease_remove(struct lease_set *ls, int64_t id);

/* The number of leases. */
size_t lease_count(const struct lease_set *ls);
/* Fills out (room for lease_count entries, the caller's) with every lease, earliest expiry
 * first, as etcd's LeaseLeases lists them. Returns lease_count. */
size_t lease_list(const struct lease_set *ls, uint64_t now_ms, struct lease_info *out);
/* Fills ids with up to max leases that have expired at now_ms (expiry <= now), the
 * returned ones earliest first. Returns how many (0 when none is due); they stay until the
 * caller removes them (after deleting their keys). Never allocates. */
size_t lease_expired(const struct lease_set *ls, uint64_t now_ms, int64_t *ids, size_t max);
/* When the next lease expires; UINT64_MAX without leases. */
uint64_t lease_next_expiry(const struct lease_set *ls);

/* ---- attached keys ---------------------------------------------------------------------
 * A key is attached to at most one lease by the caller's discipline: the store says which
 * lease each key carries, and the caller attaches and detaches as it writes. The set keeps
 * its own copy of each key's bytes (the store's bytes move at compaction). */

/* Attaches key (copied; len < 4 GiB) to lease id; attaching a key twice is one key.
 * Returns 0, LEASE_ENOTFOUND, -EINVAL (len), -ENOMEM (nothing changed). */
int lease_attach(struct lease_set *ls, int64_t id, const uint8_t *key, size_t len);
/* Detaches key from lease id; a key or lease it does not hold is ignored. Never fails. */
void lease_detach(struct lease_set *ls, int64_t id, const uint8_t *key, size_t len);

/* Called for each key of a lease (bytes valid during the call); returning non-zero stops
 * the walk and is returned by lease_keys. */
typedef int lease_key_fn(void *ctx, const uint8_t *key, size_t len);
/* Walks the keys attached to lease id in key order (bytewise, shorter first). fn must not
 * change the set. Returns 0, fn's non-zero value, or LEASE_ENOTFOUND. */
int lease_keys(const struct lease_set *ls, int64_t id, lease_key_fn *fn, void *ctx);

#endif
