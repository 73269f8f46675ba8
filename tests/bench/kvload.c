/* A put load generator for etcd-compatible servers, modelled on etcd's own `benchmark put`
 * flags: --conns HTTP/2 connections share --clients concurrent requests; --total puts of
 * --key-size random keys (from --key-space distinct ones) with --val-size values. Prints
 * throughput and latency percentiles, one "key value" per line, for the bench script.
 * The same program drives etcd and cabind, so the comparison is the servers'. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

struct opts {
	const char *host, *port;
	int conns, clients;
	long total;
	int key_size, val_size;
	long key_space;
};

struct conn;

struct req {
	struct conn *c;
	struct req *next;	/* on the free list */
	size_t len, off;
	double t0;
	int status;	/* grpc-status seen in the trailers, -1 none */
	uint8_t body[];	/* 5 + 16 + key + value bytes */
};

struct conn {
	int fd;
	nghttp2_session *h2;
	int inflight, want;
};

static struct opts o = { "127.0.0.1", "2379", 10, 100, 10000, 8, 256, 10000 };
static long started, done, failed;
static double *lat;
static struct req *free_reqs;	/* finished requests, reused: the client's own costs stay small */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* A gRPC-framed PutRequest{key, value}. */
static void make_put(struct req *r)
{
	uint8_t *m = r->body + 5, key[256];
	size_t n = 0;
	uint64_t k = next_rand() % (uint64_t)o.key_space;
	memset(key, 0, sizeof(key));
	snprintf((char *)key, sizeof(key), "%0*llu", o.key_size, (unsigned long long)k);
	m[n++] = 0x0a;
	n += put_varint(m + n, (uint64_t)o.key_size);
	memcpy(m + n, key, (size_t)o.key_size);
	n += (size_t)o.key_size;
	m[n++] = 0x12;
	n += put_varint(m + n, (uint64_t)o.val_size);
	memset(m + n, 'v', (size_t)o.val_size);
	n += (size_t)o.val_size;
	r->body[0] = 0;
	r->body[1] = (uint8_t)(n >> 24);
	r->body[2] = (uint8_t)(n >> 16);
	r->body[3] = (uint8_t)(n >> 8);
	r->body[4] = (uint8_t)n;
	r->len = n + 5;
	r->off = 0;
}

static nghttp2_ssize read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
			       uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct req *r = src->ptr;
	(void)s;
	(void)id;
	(void)user;
	size_t n = r->len - r->off < len ? r->len - r->off : len;
	memcpy(buf, r->body + r->off, n);
	r->off += n;
	if (r->off == r->len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (nghttp2_ssize)n;
}

static int submit(struct conn *c)
{
	struct req *r = free_reqs;
	if (r)
		free_reqs = r->next;
	else if (!(r = malloc(sizeof(*r) + 5 + 16 + (size_t)o.key_size + (size_t)o.val_size)))
		return -1;
	r->c = c;
	r->status = -1;
	make_put(r);
	char authority[300];
	snprintf(authority, sizeof(authority), "%s:%s", o.host, o.port);
	nghttp2_nv hdrs[] = {
		{ (uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0 },
		{ (uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0 },
		{ (uint8_t *)":path", (uint8_t *)"/etcdserverpb.KV/Put", 5, 20, 0 },
		{ (uint8_t *)":authority", (uint8_t *)authority, 10, strlen(authority), 0 },
		{ (uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0 },
		{ (uint8_t *)"te", (uint8_t *)"trailers", 2, 8, 0 },
	};
	nghttp2_data_provider2 prd = { .source.ptr = r, .read_callback = read_body };
	r->t0 = now();
	if (nghttp2_submit_request2(c->h2, NULL, hdrs, 6, &prd, r) < 0) {
		r->next = free_reqs;
		free_reqs = r;
		return -1;
	}
	c->inflight++;
	started++;
	return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
		     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
	(void)flags;
	(void)user;
	struct req *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
	if (r && nlen == 11 && memcmp(name, "grpc-status", 11) == 0)
		r->status = vlen == 1 && value[0] == '0' ? 0 : 1;
	return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	struct conn *c = user;
	struct req *r = nghttp2_session_get_stream_user_data(s, id);
	if (!r)
		return 0;
	if (code == 0 && r->status == 0)
		lat[done++] = now() - r->t0;
	else
		failed++;
	c->inflight--;
	r->next = free_reqs;
	free_reqs = r;
	if (started < o.total)
		submit(c);
	return 0;
}

static int conn_open(struct conn *c)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	if (getaddrinfo(o.host, o.port, &hints, &res) != 0)
		return -1;
	c->fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, res->ai_addr, res->ai_addrlen) < 0) {
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	nghttp2_session_callbacks *cb;
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	nghttp2_session_client_new(&c->h2, cb, c);
	nghttp2_session_callbacks_del(cb);
	nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 24 } };
	nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 1);
	nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, 1 << 24);
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, p + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* Writes what the session has, frames gathered into one write where they fit; returns -1
 * if the connection is gone. */
static int pump_out(struct conn *c)
{
	static uint8_t out[1 << 16];
	size_t have = 0;
	for (;;) {
		const uint8_t *p;
		nghttp2_ssize n = nghttp2_session_mem_send2(c->h2, &p);
		if (n < 0)
			return -1;
		if (n == 0 || have + (size_t)n > sizeof(out)) {
			if (have && write_all(c->fd, out, have) < 0)
				return -1;
			have = 0;
		}
		if (n == 0)
			return 0;
		if ((size_t)n > sizeof(out)) {
			if (write_all(c->fd, p, (size_t)n) < 0)
				return -1;
			continue;
		}
		memcpy(out + have, p, (size_t)n);
		have += (size_t)n;
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void usage(void)
{
	printf("usage: kvload [--endpoint HOST:PORT] [--conns N] [--clients N] [--total N]\n"
	       "              [--key-size N] [--val-size N] [--key-space N]\n"
	       "Puts --total values through --clients concurrent gRPC calls spread over --conns\n"
	       "HTTP/2 connections; prints throughput and latency percentiles.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "endpoint", 1, 0, 'e' }, { "conns", 1, 0, 'c' }, { "clients", 1, 0, 'l' },
		{ "total", 1, 0, 't' }, { "key-size", 1, 0, 'k' }, { "val-size", 1, 0, 'v' },
		{ "key-space", 1, 0, 's' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	static char ep[300];
	int ch;
	while ((ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (ch) {
		case 'e': {
			snprintf(ep, sizeof(ep), "%s", optarg);
			char *colon = strrchr(ep, ':');
			if (!colon) {
				fprintf(stderr, "kvload: --endpoint %s: expected HOST:PORT\n", optarg);
				return 2;
			}
			*colon = '\0';
			o.host = ep;
			o.port = colon + 1;
			break;
		}
		case 'c': o.conns = atoi(optarg); break;
		case 'l': o.clients = atoi(optarg); break;
		case 't': o.total = atol(optarg); break;
		case 'k': o.key_size = atoi(optarg); break;
		case 'v': o.val_size = atoi(optarg); break;
		case 's': o.key_space = atol(optarg); break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (o.conns < 1 || o.clients < o.conns || o.total < 1 || o.key_size < 1 ||
	    o.key_size > 255 || o.val_size < 0 || o.val_size > 65536 || o.key_space < 1) {
		fprintf(stderr, "kvload: bad option values\n");
		return 2;
	}
	lat = calloc((size_t)o.total, sizeof(*lat));
	struct conn *cs = calloc((size_t)o.conns, sizeof(*cs));
	struct pollfd *pf = calloc((size_t)o.conns, sizeof(*pf));
	if (!lat || !cs || !pf)
		return 1;
	for (int i = 0; i < o.conns; i++) {
		if (conn_open(&cs[i]) < 0) {
			fprintf(stderr, "kvload: cannot connect to %s:%s: %s\n", o.host, o.port,
				strerror(errno));
			return 1;
		}
	}
	double t0 = now();
	for (int i = 0; i < o.clients && started < o.total; i++)
		submit(&cs[i % o.conns]);
	static uint8_t buf[1 << 16];
	while (done + failed < o.total) {
		for (int i = 0; i < o.conns; i++) {
			if (pump_out(&cs[i]) < 0) {
				fprintf(stderr, "kvload: connection lost\n");
				return 1;
			}
			pf[i] = (struct pollfd){ .fd = cs[i].fd, .events = POLLIN };
		}
		if (poll(pf, (nfds_t)o.conns, 10000) <= 0) {
			fprintf(stderr, "kvload: no answer for 10 s\n");
			return 1;
		}
		for (int i = 0; i < o.conns; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(cs[i].fd, buf, sizeof(buf));
			if (n <= 0 || nghttp2_session_mem_recv2(cs[i].h2, buf, (size_t)n) < 0) {
				fprintf(stderr, "kvload: connection lost\n");
				return 1;
			}
		}
	}
	double secs = now() - t0;
	qsort(lat, (size_t)done, sizeof(*lat), cmp);
#define PCT(p) (done ? lat[(size_t)((double)(done - 1) * (p))] * 1000 : 0)
	printf("requests %ld\nfailed %ld\nseconds %.3f\nthroughput %.0f\n"
	       "p50_ms %.3f\np90_ms %.3f\np99_ms %.3f\nmax_ms %.3f\n", done, failed, secs,
	       (double)done / secs, PCT(0.5), PCT(0.9), PCT(0.99), PCT(1.0));
	return failed ? 1 : 0;
}
