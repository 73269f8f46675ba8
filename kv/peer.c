/* The peers' transport (see peer.h): non-blocking sockets on the loop. A dialled
 * connection carries HELLO and then this member's frames to its peer; an accepted one
 * carries a peer's frames here, each checked before Raft sees it. A peer that cannot be
 * reached is dialled again at the next message after a growing pause (100 ms to 1 s). */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/log.h"
#include "peer.h"
#include "peer_codec.h"
#include "tport.h"

#define QUEUE_MAX ((size_t)64 << 20)	/* bytes waiting to a peer before messages drop */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000
#define LISTEN_MAX 4
#define READ_CHUNK ((size_t)64 << 10)
#define SNAP_QUEUE ((size_t)4 << 20)	/* bytes waiting before a snapshot piece waits */
#define HELLO_MS 5000			/* an accepted connection's time to say HELLO */

struct pconn {
	struct peer_net *pn;
	struct pconn *next;		/* accepted connections */
	int fd;
	struct tport *t;		/* plain or TLS over fd (owns it) */
	bool dialled, connected;
	uint64_t peer;			/* dialled: the peer; accepted: its HELLO's sender */
	uint64_t since;			/* accepted: when (ms) */
	uint8_t *in;
	size_t in_len, in_cap;
	struct peer_buf q;		/* dialled: bytes for the peer */
	size_t q_off;
};

struct peer {
	uint64_t id;
	char host[256];
	int port;
	struct pconn *c;		/* the connection dialled to it */
	unsigned backoff;
	uint64_t next_try;
};

struct peer_net {
	struct ev_loop *loop;
	uint64_t cluster, self;
	peer_recv_fn *recv;
	peer_down_fn *down, *gone;
	peer_snap_fn *snap;
	void *ctx;
	struct peer peers[RAFT_MAX_MEMBERS];
	unsigned n;
	int lfd[LISTEN_MAX];
	int n_lfd;
	struct pconn *accepted;
	struct raft_entry *ents;
	size_t ents_cap;
	struct tport_tls *server_tls, *client_tls;	/* NULL: plain TCP */
	long hello_timer;		/* while accepted connections have not said HELLO */
};

static struct peer *find(struct peer_net *pn, uint64_t id)
{
	for (unsigned i = 0; i < pn->n; i++)
		if (pn->peers[i].id == id)
			return &pn->peers[i];
	return NULL;
}

static void on_conn(struct ev_loop *loop, int fd, uint32_t events, void *arg);

static void conn_free(struct pconn *c)
{
	ev_unwatch(c->pn->loop, c->fd);
	if (c->t)
		tport_free(c->t);	/* closes fd */
	else
		close(c->fd);
	free(c->in);
	peer_buf_free(&c->q);
	free(c);
}

/* A dialled connection went down: what was queued is lost; the next message dials again,
 * after a pause. */
static void dialled_down(struct peer_net *pn, struct peer *p, const char *why)
{
	if (p->c) {
		if (p->c->connected)
			log_info("kv: peer %016llx (%s:%d): connection lost: %s",
				 (unsigned long long)p->id, p->host, p->port, why);
		conn_free(p->c);
		p->c = NULL;
	}
	p->backoff = p->backoff ? p->backoff * 2 : BACKOFF_MIN_MS;
	if (p->backoff > BACKOFF_MAX_MS)
		p->backoff = BACKOFF_MAX_MS;
	p->next_try = ev_now_ms() + p->backoff;
	if (pn->down)
		pn->down(pn->ctx, p->id);
}

static void accepted_close(struct peer_net *pn, struct pconn *c)
{
	uint64_t id = c->peer;

	for (struct pconn **pp = &pn->accepted; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	conn_free(c);
	if (id && pn->gone)
		pn->gone(pn->ctx, id);
}

static void watch(struct pconn *c)
{
	uint32_t ev = c->connected || !c->dialled ? tport_read_events(c->t) : 0;
	if (c->dialled && (!c->connected || c->q.len > c->q_off))
		ev |= EPOLLOUT;
	ev_watch(c->pn->loop, c->fd, ev | EPOLLIN, on_conn, c);
}

static int dial(struct peer_net *pn, struct peer *p)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV}, *res;
	char port[8];
	struct pconn *c;
	int fd, one = 1;

	snprintf(port, sizeof(port), "%d", p->port);
	if (getaddrinfo(p->host, port, &hints, &res) != 0)
		return -EHOSTUNREACH;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		return -errno;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS) {
		int rc = -errno;
		freeaddrinfo(res);
		close(fd);
		return rc;
	}
	freeaddrinfo(res);
	struct tport *t = tport_dial(fd, pn->client_tls, p->host);
	if (!t || !(c = calloc(1, sizeof(*c)))) {
		if (t)
			tport_free(t);
		else
			close(fd);
		return -ENOMEM;
	}
	*c = (struct pconn){.pn = pn, .fd = fd, .t = t, .dialled = true, .peer = p->id};
	struct peer_hello h = {PEER_VERSION, pn->cluster, pn->self, p->id};
	if (peer_put_hello(&c->q, &h) < 0) {
		conn_free(c);
		return -ENOMEM;
	}
	p->c = c;
	watch(c);
	return 0;
}

/* ---- writing ----------------------------------------------------------------------------- */

static int flush_out(struct pconn *c)
{
	int rc = tport_write_out(c->t, c->q.p, &c->q_off, c->q.len);

	if (rc < 0)
		return rc;
	if (c->q_off == c->q.len) {
		c->q.len = c->q_off = 0;
		if (c->q.cap > ((size_t)1 << 20))
			peer_buf_free(&c->q);
	}
	watch(c);
	return 0;
}

/* The connection to member id with room for more than `room` bytes queued (dialled if
 * need be): 0 with *out, -ENOENT, -ENOBUFS (full, or a redial's pause), or a dial's error. */
static int queue_of(struct peer_net *pn, uint64_t id, size_t room, struct peer **out)
{
	struct peer *p = find(pn, id);
	int rc;

	if (!p)
		return -ENOENT;
	if (!p->c) {
		if (ev_now_ms() < p->next_try)
			return -ENOBUFS;
		if ((rc = dial(pn, p)) < 0) {
			dialled_down(pn, p, strerror(-rc));
			return rc;
		}
	}
	if (p->c->q.len - p->c->q_off > room)
		return -ENOBUFS;
	*out = p;
	return 0;
}

/* After a frame was queued: out it goes if the connection is up. A connection lost then
 * loses the frame too (taken, then lost: Raft sends again). */
static void push(struct peer_net *pn, struct peer *p)
{
	int rc;

	if (p->c->connected && (rc = flush_out(p->c)) < 0)
		dialled_down(pn, p, strerror(-rc));
}

int peer_net_send(struct peer_net *pn, const struct raft_msg *m)
{
	struct peer *p;
	int rc = queue_of(pn, m->to, QUEUE_MAX, &p);

	if (!rc && !(rc = peer_put_raft(&p->c->q, m)))
		push(pn, p);
	return rc;
}

int peer_net_send_snap(struct peer_net *pn, uint64_t id, const struct peer_snap *s)
{
	struct peer *p;
	int rc = queue_of(pn, id, SNAP_QUEUE, &p);

	if (!rc && !(rc = peer_put_snap(&p->c->q, s)))
		push(pn, p);
	return rc;
}

bool peer_net_up(const struct peer_net *pn, uint64_t id)
{
	for (unsigned i = 0; i < pn->n; i++)
		if (pn->peers[i].id == id)
			return pn->peers[i].c && pn->peers[i].c->connected;
	return false;
}

/* ---- reading ----------------------------------------------------------------------------- */

/* One frame from an accepted connection. Returns 0, or -1 to close it (logged). */
static int take_frame(struct pconn *c, uint8_t type, const uint8_t *pl, size_t n)
{
	struct peer_net *pn = c->pn;
	const char *why = "";

	if (type == PEER_HELLO) {
		struct peer_hello h;
		if (c->peer || peer_get_hello(pl, n, &h, &why) < 0) {
			log_warnx("kv: peer connection: %s", c->peer ? "a second HELLO" : why);
			return -1;
		}
		if (h.version != PEER_VERSION || h.cluster != pn->cluster || h.to != pn->self ||
		    !find(pn, h.from)) {
			log_warnx("kv: peer connection refused: member %016llx of cluster %016llx "
				  "(version %u) for member %016llx is not a member here",
				  (unsigned long long)h.from, (unsigned long long)h.cluster,
				  h.version, (unsigned long long)h.to);
			return -1;
		}
		c->peer = h.from;
		return 0;
	}
	if (type == PEER_SNAP && c->peer) {
		struct peer_snap sn;
		if (peer_get_snap(pl, n, &sn, &why) < 0) {
			log_warnx("kv: peer %016llx: %s", (unsigned long long)c->peer, why);
			return -1;
		}
		if (pn->snap)
			pn->snap(pn->ctx, c->peer, &sn);
		return 0;
	}
	if (type != PEER_RAFT || !c->peer) {
		log_warnx("kv: peer connection: frame type %u %s", type,
			  c->peer ? "unknown" : "before HELLO");
		return -1;
	}
	size_t want = peer_raft_entries(pl, n);
	if (want > n / 21) {	/* more entries than 21-byte entry heads the frame can hold */
		log_warnx("kv: peer %016llx: a RAFT frame claims more entries than it holds",
			  (unsigned long long)c->peer);
		return -1;
	}
	if (want > pn->ents_cap) {
		struct raft_entry *e = realloc(pn->ents, want * sizeof(*e));
		if (!e)
			return 0;	/* dropped: Raft sends again */
		pn->ents = e;
		pn->ents_cap = want;
	}
	struct raft_msg m;
	if (peer_get_raft(pl, n, &m, pn->ents, pn->ents_cap, &why) < 0) {
		log_warnx("kv: peer %016llx: %s", (unsigned long long)c->peer, why);
		return -1;
	}
	if (m.from != c->peer || m.to != pn->self) {
		log_warnx("kv: peer %016llx: a message from %016llx to %016llx on its connection",
			  (unsigned long long)c->peer, (unsigned long long)m.from,
			  (unsigned long long)m.to);
		return -1;
	}
	pn->recv(pn->ctx, &m);
	return 0;
}

/* Reads what there is; returns 0, or a negative code when the connection is done. */
static int read_in(struct pconn *c)
{
	for (;;) {
		if (c->in_cap - c->in_len < READ_CHUNK) {
			size_t cap = c->in_cap ? c->in_cap * 2 : READ_CHUNK * 2;
			if (cap > PEER_FRAME_MAX + PEER_HEAD + READ_CHUNK)
				cap = PEER_FRAME_MAX + PEER_HEAD + READ_CHUNK;
			if (cap <= c->in_len)
				return -EMSGSIZE;
			uint8_t *p = realloc(c->in, cap);
			if (!p)
				return -ENOMEM;
			c->in = p;
			c->in_cap = cap;
		}
		ssize_t r = tport_read(c->t, c->in + c->in_len, c->in_cap - c->in_len);
		if (r == -EAGAIN)
			return 0;
		if (r <= 0)
			return r < 0 ? (int)r : -EPIPE;
		if (c->dialled) {	/* nothing is expected back: just notice the end */
			c->in_len = 0;
			continue;
		}
		c->in_len += (size_t)r;
		/* before HELLO only a HELLO may come: no buffering a stranger's big frame */
		if (!c->peer && c->in_len >= PEER_HEAD &&
		    (c->in[0] != 28 || c->in[1] || c->in[2] || c->in[3] || c->in[4] != PEER_HELLO)) {
			log_warnx("kv: peer connection: the first frame is not a HELLO");
			return -EPROTO;
		}
		size_t off = 0;
		for (;;) {
			uint8_t type;
			const char *why = "";
			long n = peer_frame(c->in + off, c->in_len - off, &type, &why);
			if (n < 0) {
				log_warnx("kv: peer connection: %s", why);
				return -EPROTO;
			}
			if (n == 0)
				break;
			if (take_frame(c, type, c->in + off + PEER_HEAD, (size_t)n - PEER_HEAD))
				return -EPROTO;
			off += (size_t)n;
		}
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
}

static void on_conn(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct pconn *c = arg;
	struct peer_net *pn = c->pn;
	int rc = 0;
	(void)loop;
	(void)fd;

	if (c->dialled && !c->connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			dialled_down(pn, find(pn, c->peer), strerror(err));
			return;
		}
		c->connected = true;
		struct peer *p = find(pn, c->peer);
		p->backoff = 0;
		log_debug("kv: peer %016llx: connected", (unsigned long long)c->peer);
	}
	if (c->dialled && !c->connected) {
		watch(c);
		return;
	}
	/* a dialled connection reads too: its TLS handshake runs in reads, and the end */
	if (c->dialled || (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		rc = read_in(c);
	if (!rc && c->dialled)
		rc = flush_out(c);
	else if (!rc)
		watch(c);
	if (!rc)
		return;
	if (c->dialled)
		dialled_down(pn, find(pn, c->peer), strerror(-rc));
	else
		accepted_close(pn, c);
}

/* Closes the accepted connections that said no HELLO in HELLO_MS: a stranger holding
 * sockets open gets no more than that. */
static void hello_sweep(struct ev_loop *loop, void *arg)
{
	struct peer_net *pn = arg;
	uint64_t now = ev_now_ms();
	bool waiting = false;
	(void)loop;

	pn->hello_timer = 0;
	for (struct pconn *c = pn->accepted, *next; c; c = next) {
		next = c->next;
		if (c->peer)
			continue;
		if (now - c->since < HELLO_MS) {
			waiting = true;
			continue;
		}
		log_warnx("kv: a peer connection closed: no HELLO in %d s", HELLO_MS / 1000);
		accepted_close(pn, c);
	}
	if (waiting) {
		long id = ev_timer(pn->loop, HELLO_MS / 5, hello_sweep, pn);
		pn->hello_timer = id > 0 ? id : 0;
	}
}

static void on_accept(struct ev_loop *loop, int lfd, uint32_t events, void *arg)
{
	struct peer_net *pn = arg;
	(void)loop;
	(void)events;

	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		if (fd < 0)
			return;
		struct pconn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct tport *t = tport_new(fd, pn->server_tls);
		if (!t) {
			close(fd);
			free(c);
			continue;
		}
		*c = (struct pconn){.pn = pn, .fd = fd, .t = t, .next = pn->accepted,
				    .since = ev_now_ms()};
		pn->accepted = c;
		watch(c);
		if (!pn->hello_timer) {
			long id = ev_timer(pn->loop, HELLO_MS / 5, hello_sweep, pn);
			pn->hello_timer = id > 0 ? id : 0;
		}
	}
}

/* ---- set-up ------------------------------------------------------------------------------ */

int peer_net_new(struct ev_loop *loop, uint64_t cluster, uint64_t self, peer_recv_fn *recv,
		 peer_down_fn *down, void *ctx, struct peer_net **out)
{
	struct peer_net *pn = calloc(1, sizeof(*pn));

	if (!pn)
		return -ENOMEM;
	*pn = (struct peer_net){.loop = loop, .cluster = cluster, .self = self, .recv = recv,
				.down = down, .ctx = ctx};
	*out = pn;
	return 0;
}

void peer_net_on_gone(struct peer_net *pn, peer_down_fn *gone)
{
	pn->gone = gone;
}

void peer_net_on_snap(struct peer_net *pn, peer_snap_fn *snap)
{
	pn->snap = snap;
}

void peer_net_set_tls(struct peer_net *pn, struct tport_tls *server, struct tport_tls *client)
{
	pn->server_tls = server;
	pn->client_tls = client;
}

int peer_net_listen(struct peer_net *pn, const char *host, int port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *res, *ai;
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	char ps[8];
	int fd, one = 1, rc;

	if (pn->n_lfd == LISTEN_MAX)
		return -EMFILE;
	snprintf(ps, sizeof(ps), "%d", port);
	if ((rc = getaddrinfo(host, ps, &hints, &res)) != 0)
		return rc == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
	ai = res;
	for (struct addrinfo *i = res; i; i = i->ai_next)
		if (i->ai_family == AF_INET) {
			ai = i;
			break;
		}
	if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		freeaddrinfo(res);
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		rc = -errno;
		close(fd);
		freeaddrinfo(res);
		return rc;
	}
	freeaddrinfo(res);
	if ((rc = ev_watch(pn->loop, fd, EPOLLIN, on_accept, pn)) < 0) {
		close(fd);
		return rc;
	}
	pn->lfd[pn->n_lfd++] = fd;
	return sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
					: ntohs(((struct sockaddr_in *)&sa)->sin_port);
}

int peer_net_set(struct peer_net *pn, uint64_t id, const char *host, int port)
{
	struct peer *p = find(pn, id);

	if (strlen(host) >= sizeof(p->host))
		return -EINVAL;
	if (!p) {
		if (pn->n == RAFT_MAX_MEMBERS)
			return -ENOMEM;
		p = &pn->peers[pn->n++];
		memset(p, 0, sizeof(*p));
		p->id = id;
	} else if (strcmp(p->host, host) != 0 || p->port != port) {
		if (p->c)
			conn_free(p->c);
		p->c = NULL;
	}
	snprintf(p->host, sizeof(p->host), "%s", host);
	p->port = port;
	return 0;
}

void peer_net_remove(struct peer_net *pn, uint64_t id)
{
	struct peer *p = find(pn, id);

	if (!p)
		return;
	if (p->c)
		conn_free(p->c);
	*p = pn->peers[--pn->n];
	for (struct pconn *c = pn->accepted, *next; c; c = next) {
		next = c->next;
		if (c->peer == id)
			accepted_close(pn, c);
	}
}

void peer_net_free(struct peer_net *pn)
{
	if (!pn)
		return;
	pn->gone = NULL;	/* no callbacks while it goes */
	if (pn->hello_timer)
		ev_cancel(pn->loop, pn->hello_timer);
	for (unsigned i = 0; i < pn->n; i++)
		if (pn->peers[i].c)
			conn_free(pn->peers[i].c);
	while (pn->accepted)
		accepted_close(pn, pn->accepted);
	for (int i = 0; i < pn->n_lfd; i++) {
		ev_unwatch(pn->loop, pn->lfd[i]);
		close(pn->lfd[i]);
	}
	free(pn->ents);
	free(pn);
}
