/* The peers' transport (port 2380, kv/peer_codec.h's frames over TCP): one connection
 * dialled to each peer for what this member sends, and the connections the peers dialled
 * for what they send. A connection starts with HELLO; this member takes a peer's frames
 * only when the HELLO names this cluster, this member and a member it knows, and each
 * RAFT frame only when it comes from the member that said HELLO and is meant for this
 * one. Messages that cannot go out (a peer down, a full queue) are dropped: Raft sends
 * again. */
#ifndef CABIN_KV_PEER_H
#define CABIN_KV_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "../lib/ev.h"
#include "raft.h"

struct peer_net;

/* A message from a peer, checked (borrowed for the call). */
typedef void peer_recv_fn(void *ctx, const struct raft_msg *m);
/* A peer could not be reached (the message to it was dropped); or (gone) the
 * connection it dialled here ended. */
typedef void peer_down_fn(void *ctx, uint64_t id);
/* Sets the callback for a peer's own connection ending (NULL: none). */
struct peer_net;
void peer_net_on_gone(struct peer_net *pn, peer_down_fn *gone);
/* A piece of a snapshot from member `from` (checked as peer_codec.h says; borrowed for
 * the call). Without this callback, SNAP frames are dropped. */
struct peer_snap;
typedef void peer_snap_fn(void *ctx, uint64_t from, const struct peer_snap *s);
void peer_net_on_snap(struct peer_net *pn, peer_snap_fn *snap);

/* Returns 0 with *out, or -ENOMEM. */
int peer_net_new(struct ev_loop *loop, uint64_t cluster, uint64_t self, peer_recv_fn *recv,
		 peer_down_fn *down, void *ctx, struct peer_net **out);
/* TLS for the peers (both from the --peer-* flags; they must outlive pn): server for
 * the connections peers dial, client for the ones this member dials. */
struct tport_tls;
void peer_net_set_tls(struct peer_net *pn, struct tport_tls *server, struct tport_tls *client);
/* Listens on host:port (0: any free port). Returns the port or -errno. */
int peer_net_listen(struct peer_net *pn, const char *host, int port);
/* Sets where member id is reached (a new member, or new address); remove forgets it and
 * closes its connections. Returns 0, -ENOMEM, -EINVAL (host too long). */
int peer_net_set(struct peer_net *pn, uint64_t id, const char *host, int port);
void peer_net_remove(struct peer_net *pn, uint64_t id);
/* Queues m for its peer. Returns 0, -ENOENT (an unknown member), -ENOBUFS (the queue to
 * it is full: dropped), -ENOMEM, -E2BIG. */
int peer_net_send(struct peer_net *pn, const struct raft_msg *m);
/* Queues a piece of a snapshot for member id, after what is queued to it: 0, -ENOENT,
 * -ENOBUFS (more than a few pieces wait already: try again later), -ENOMEM, -EINVAL.
 * A connection lost meanwhile calls down (the stream must start again). */
int peer_net_send_snap(struct peer_net *pn, uint64_t id, const struct peer_snap *s);
/* Whether a connection to member id is up (dialled and HELLO sent). */
bool peer_net_up(const struct peer_net *pn, uint64_t id);
void peer_net_free(struct peer_net *pn);

#endif
