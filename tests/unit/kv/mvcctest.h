/* Helpers for the MVCC store's unit tests: an allocator that counts and can fail the Nth
 * call, and short forms of the common calls on C strings. */
#ifndef CABIN_TEST_MVCCTEST_H
#define CABIN_TEST_MVCCTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../../kv/mvcc.h"

/* Counts allocations; with fail_at > 0 the fail_at-th allocating call (counted from the last
 * reset, resizes included) returns NULL, and so do all later ones if fail_all. */
struct mvcct_alloc {
	long outstanding;	/* blocks held */
	long calls;		/* allocating calls since the last mvcct_fail */
	long fail_at;
	bool fail_all;
	long failed;		/* calls refused */
};
extern struct mvcct_alloc mvcct_mem;
extern const struct mvcc_alloc mvcct_alloc;	/* backed by mvcct_mem */
extern const struct mvcc_alloc mvcct_alloc_slab;	/* the same, small blocks in chunks */

/* Arms the failure: the nth allocating call from now fails (0: none). */
void mvcct_fail(long nth, bool all);

/* The tests' pseudo-random numbers (xorshift64): the next value of the sequence *state
 * (nonzero) seeds, which it advances. */
static inline uint64_t mvcct_xorshift(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/* A store on the counting allocator (aborts the test program if that fails); with
 * mvcct_slab set, with its small blocks carved from chunks (mvcct_alloc_slab). */
extern bool mvcct_slab;
struct mvcc *mvcct_new(void);

struct mvcc_bytes mvcct_b(const char *s);	/* NULL: empty */
/* Put key=value (value NULL: empty). Returns the rc. */
int mvcct_put(struct mvcc *s, const char *key, const char *value);
int mvcct_put_lease(struct mvcc *s, const char *key, const char *value, int64_t lease);
/* Deletes [key, end) (end NULL: the key). Returns deleted count or a negative rc. */
int64_t mvcct_del(struct mvcc *s, const char *key, const char *end);
/* Gets one key at rev (0: current) into *kv; returns 1 found, 0 not, or a negative rc.
 * The bytes borrow from the store. */
int mvcct_get(struct mvcc *s, const char *key, int64_t rev, struct mvcc_kv *kv);
/* The value of key now as a static C string ("" empty), or NULL if missing. */
const char *mvcct_val(struct mvcc *s, const char *key);
/* Orders bytes as the store does (memcmp, then length). */
int mvcct_cmp(struct mvcc_bytes a, struct mvcc_bytes b);
/* Compares bytes to a C string. */
bool mvcct_eq(struct mvcc_bytes b, const char *s);

/* An event recorder for mvcc_set_observer and mvcc_history. */
#define MVCCT_EV_MAX 256
struct mvcct_ev {
	int type;
	char key[64], value[64], prev_value[64];
	int64_t create, mod, version, lease;
	int64_t prev_mod;
	bool has_prev, last;
};
struct mvcct_evlog {
	struct mvcct_ev ev[MVCCT_EV_MAX];
	int n;
};
void mvcct_record(void *ctx, const struct mvcc_event *ev);

#endif
