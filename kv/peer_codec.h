/* The peers' wire format (port 2380): frames of a u32 length (of what follows, at most
 * PEER_FRAME_MAX), a u8 type and a payload, integers little-endian.
 *   HELLO (1):  u32 version (1), u64 cluster id, u64 sender member id, u64 receiver
 *               member id. First on every connection, from the side that dialled.
 *   RAFT (2):   u8 message type, u8 reject, 2 zero bytes, u64 from, to, term, index,
 *               log term, commit, hint, ctx; the snapshot: u64 index, u64 term, u32 n
 *               (<= 32), n times (u64 member id, u8 learner); u32 entry count, then each
 *               entry: u64 term, u64 index, u8 type, u32 length, its data.
 *   SNAP (3):   u8 part (0: the member list, 1: the store's snapshot file), 3 zero bytes,
 *               u64 the part's whole length, u64 this piece's offset in it, then the
 *               piece's bytes (at most PEER_SNAP_PIECE). A leader sends a snapshot as the
 *               pieces of both parts in order, then the RAFT MsgSnap that says what it covers.
 * Pure: bytes in, structures out, every length checked against the frame's end. */
#ifndef CABIN_KV_PEER_CODEC_H
#define CABIN_KV_PEER_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "raft.h"

#define PEER_VERSION 1
#define PEER_FRAME_MAX ((size_t)64 << 20)
#define PEER_HEAD 5		/* u32 length, u8 type */

enum peer_frame { PEER_HELLO = 1, PEER_RAFT = 2, PEER_SNAP = 3 };

#define PEER_SNAP_HEAD 20
#define PEER_SNAP_PIECE ((size_t)1 << 20)
enum peer_snap_part { PEER_SNAP_MEMBERS = 0, PEER_SNAP_STORE = 1 };

/* One piece of a snapshot's part (bytes borrowed). */
struct peer_snap {
	uint8_t part;
	uint64_t total, off;
	const uint8_t *data;
	size_t len;
};

struct peer_hello {
	uint32_t version;
	uint64_t cluster, from, to;
};

/* Growing output bytes (libc memory). */
struct peer_buf {
	uint8_t *p;
	size_t len, cap;
};
void peer_buf_free(struct peer_buf *b);

/* Append one whole frame; 0, -ENOMEM (b as it was), -E2BIG (over PEER_FRAME_MAX). */
int peer_put_hello(struct peer_buf *b, const struct peer_hello *h);
int peer_put_raft(struct peer_buf *b, const struct raft_msg *m);
/* -EINVAL: a piece over PEER_SNAP_PIECE, or past the part's length. */
int peer_put_snap(struct peer_buf *b, const struct peer_snap *s);

/* The frame at the start of p[0, n): returns its whole length (PEER_HEAD + payload) with
 * *type set, 0 if more bytes are needed, or -EMSGSIZE (a length over PEER_FRAME_MAX),
 * *why saying so. */
long peer_frame(const uint8_t *p, size_t n, uint8_t *type, const char **why);
/* Decodes a frame's payload. For RAFT, m's entries are written into ents (room for max)
 * and their data point into payload. Return 0 or -EINVAL with *why. */
int peer_get_hello(const uint8_t *payload, size_t n, struct peer_hello *h, const char **why);
int peer_get_snap(const uint8_t *payload, size_t n, struct peer_snap *s, const char **why);
int peer_get_raft(const uint8_t *payload, size_t n, struct raft_msg *m, struct raft_entry *ents,
		  size_t max, const char **why);
/* The number of entries a RAFT payload says it holds (0 if it is too short to say). */
size_t peer_raft_entries(const uint8_t *payload, size_t n);

#endif
