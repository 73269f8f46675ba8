/* The JSON gateway's streaming answers, over a real socket to a real gRPC server whose
 * methods are the test's: results streamed as they come, an error after results (an
 * {"error": ...} chunk) and before any (a plain error answer), an empty stream, a first
 * request that does not decode, keep-alive after a stream, and a client that does not
 * read: its call sees the unsent bytes, and past the cap it is cut off and the method
 * told. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../../kv/gateway.h"
#include "../../../kv/pb.h"
#include "../testutil.h"

static int n_gone;
static size_t max_pending;

/* LeaseKeepAlive as the test wants it: ID 99 fails the call, others are echoed. */
static void keepalive(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	(void)ctx;
	uint8_t out[16];
	if (len == 2 && msg[0] == 0x08 && msg[1] == 99) {
		grpc_finish(call, GRPC_NOT_FOUND, "no \"such\" lease");
		return;
	}
	out[0] = 0x10;	/* ID, field 2 of the response */
	memcpy(out + 1, msg + 1, len - 1);
	grpc_send(call, out, len);
}

static void finish_ok(struct grpc_call *call, void *ctx)
{
	(void)ctx;
	grpc_finish(call, GRPC_OK, NULL);
}

/* As the watch service: the stream stays after the client's last request. */
static void stay(struct grpc_call *call, void *ctx)
{
	(void)call;
	(void)ctx;
}

static void gone(struct grpc_call *call, void *ctx)
{
	(void)call;
	(void)ctx;
	n_gone++;
}

/* Watch: any request makes 24 responses of 1 MiB each (an event's value). */
static void flood(struct grpc_call *call, const uint8_t *msg, size_t len, void *ctx)
{
	(void)msg;
	(void)len;
	(void)ctx;
	static uint8_t value[1 << 20];
	struct pb_buf kv, ev, res;
	pb_buf_init(&kv, NULL);
	pb_buf_init(&ev, NULL);
	pb_buf_init(&res, NULL);
	pb_put_bytes_field(&kv, 5, (struct pb_bytes){ value, sizeof(value) });
	pb_put_bytes_field(&ev, 2, (struct pb_bytes){ kv.data, kv.len });
	pb_put_bytes_field(&res, 11, (struct pb_bytes){ ev.data, ev.len });
	for (int i = 0; i < 24 && grpc_send(call, res.data, res.len) == 0; i++)
		if (grpc_call_pending(call) > max_pending)
			max_pending = grpc_call_pending(call);
	pb_buf_free(&kv);
	pb_buf_free(&ev);
	pb_buf_free(&res);
}

static const struct grpc_method methods[] = {
	{ "/etcdserverpb.Lease/LeaseKeepAlive", keepalive, finish_ok, gone },
	{ "/etcdserverpb.Watch/Watch", flood, stay, gone },
};

struct peer {
	struct ev_loop *loop;
	int fd;
	char got[1 << 16];
	size_t len;
	int closed;
};

/* Turns the loop, reading what the gateway sends, until it has sent `until` (or closed
 * when until is NULL). */
static int wait_for(struct peer *p, const char *until)
{
	for (int i = 0; i < 500; i++) {
		ev_run_once(p->loop, 10);
		ssize_t n = read(p->fd, p->got + p->len, sizeof(p->got) - 1 - p->len);
		if (n > 0)
			p->len += (size_t)n;
		p->got[p->len] = '\0';
		if (n == 0 || (n < 0 && errno != EAGAIN))
			p->closed = 1;
		if (until ? strstr(p->got, until) != NULL : p->closed)
			return 1;
	}
	return 0;
}

static void ask(struct peer *p, const char *path, const char *body)
{
	char req[512];
	int n = snprintf(req, sizeof(req), "POST %s HTTP/1.1\r\nHost: t\r\nContent-Length: %zu"
			 "\r\n\r\n%s", path, strlen(body), body);
	TU_EQ_INT(write(p->fd, req, (size_t)n), n);
	p->len = 0;
	p->got[0] = '\0';
}

static void connect_to(struct peer *p, struct ev_loop *loop, int port, int rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(p, 0, sizeof(*p));
	p->loop = loop;
	p->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (rcvbuf)
		setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	TU_EQ_INT(connect(p->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	fcntl(p->fd, F_SETFL, O_NONBLOCK);
}

static struct ev_loop *loop;
static int port;

static void test_streams(void)
{
	struct peer p;
	connect_to(&p, loop, port, 0);
	ask(&p, "/v3/lease/keepalive", "{\"ID\":\"1\"} {\"ID\":2}");
	TU_CHECK(wait_for(&p, "\r\n0\r\n\r\n"));
	TU_CHECK(strstr(p.got, "HTTP/1.1 200 OK\r\n") == p.got);
	TU_CHECK(strstr(p.got, "\r\nGrpc-Metadata-Content-Type: application/grpc\r\n"));
	TU_CHECK(strstr(p.got, "\r\nTransfer-Encoding: chunked\r\n\r\n"
			       "16\r\n{\"result\":{\"ID\":\"1\"}}\n\r\n"
			       "16\r\n{\"result\":{\"ID\":\"2\"}}\n\r\n0\r\n\r\n"));
	/* the connection goes on: an error after a result */
	ask(&p, "/v3/lease/keepalive", "{\"ID\":\"1\"}\n{\"ID\":\"99\"}\n{\"ID\":\"3\"}");
	TU_CHECK(wait_for(&p, "\r\n0\r\n\r\n"));
	TU_CHECK(strstr(p.got, "16\r\n{\"result\":{\"ID\":\"1\"}}\n\r\n61\r\n{\"error\":{"
			       "\"grpc_code\":5,\"http_code\":404,\"message\":\"no \\\"such\\\" "
			       "lease\",\"http_status\":\"Not Found\"}}\r\n0\r\n\r\n"));
	TU_CHECK(!strstr(p.got, "\"3\""));	/* nothing after the call ended */
	/* an error before any result: a plain answer */
	ask(&p, "/v3beta/lease/keepalive", "{\"ID\":99}");
	TU_CHECK(wait_for(&p, "lease\",\"code\":5}"));
	TU_CHECK(strstr(p.got, "HTTP/1.1 404 Not Found\r\n") == p.got);
	TU_CHECK(strstr(p.got, "Content-Length: 68\r\n\r\n{\"error\":\"no \\\"such\\\" lease\""));
	/* no request, no result: a chunked answer with nothing in it */
	ask(&p, "/v3/lease/keepalive", "");
	TU_CHECK(wait_for(&p, "\r\n\r\n0\r\n\r\n"));
	TU_CHECK(!strstr(p.got, "Grpc-Metadata"));
	/* a chunked body still open: each request answered as it arrives */
	static const char h[] = "POST /v3/lease/keepalive HTTP/1.1\r\nTransfer-Encoding: chunked"
				"\r\n\r\na\r\n{\"ID\":\"7\"}\r\n5\r\n{\"ID\"";
	ask(&p, "/v3/nothing", "");	/* (a 404 between: the connection goes on) */
	TU_CHECK(wait_for(&p, "Not Found\n"));
	p.len = 0;
	TU_EQ_INT(write(p.fd, h, sizeof(h) - 1), sizeof(h) - 1);
	TU_CHECK(wait_for(&p, "{\"result\":{\"ID\":\"7\"}}\n"));
	TU_CHECK(!strstr(p.got, "\r\n0\r\n"));
	static const char t[] = "\r\n5\r\n:\"8\"}\r\n0\r\n\r\n";
	TU_EQ_INT(write(p.fd, t, sizeof(t) - 1), sizeof(t) - 1);
	TU_CHECK(wait_for(&p, "{\"result\":{\"ID\":\"8\"}}\n\r\n0\r\n\r\n"));
	/* pipelined: a stream, then plain requests, answered in order */
	static const char pipe[] = "POST /v3/lease/keepalive HTTP/1.1\r\nContent-Length: 8\r\n\r\n"
				   "{\"ID\":4}GET /health HTTP/1.1\r\n\r\nGET /version HTTP/1.1\r\n\r\n";
	p.len = 0;
	TU_EQ_INT(write(p.fd, pipe, sizeof(pipe) - 1), sizeof(pipe) - 1);
	TU_CHECK(wait_for(&p, "\"etcdcluster\":\"3.4.0\"}"));
	char *a = strstr(p.got, "{\"ID\":\"4\"}"), *b = strstr(p.got, "\r\n0\r\n\r\n");
	char *hl = strstr(p.got, "{\"health\":\"true\"}");
	TU_CHECK(a && b && hl && a < b && b < hl);
	/* HTTP/1.0: not chunked, and the end of the answer is the end of the connection */
	struct peer q;
	connect_to(&q, loop, port, 0);
	static const char old[] = "POST /v3/lease/keepalive HTTP/1.0\r\nConnection: keep-alive\r\n"
				  "Content-Length: 16\r\n\r\n{\"ID\":5}{\"ID\":6}";
	TU_EQ_INT(write(q.fd, old, sizeof(old) - 1), sizeof(old) - 1);
	TU_CHECK(wait_for(&q, NULL));
	TU_CHECK(strstr(q.got, "HTTP/1.0 200 OK\r\n") == q.got);
	TU_CHECK(strstr(q.got, " GMT\r\n\r\n{\"result\":{\"ID\":\"5\"}}\n"
			       "{\"result\":{\"ID\":\"6\"}}\n") && !strstr(q.got, "chunked"));
	close(q.fd);
	/* a first request that does not decode fails the call as grpc-gateway does */
	ask(&p, "/v3/lease/keepalive", "nonsense");
	TU_CHECK(wait_for(&p, "\"code\":2}"));
	TU_CHECK(strstr(p.got, "HTTP/1.1 500 Internal Server Error\r\n") == p.got);
	TU_EQ_INT(n_gone, 1);	/* that call was ended under the method */
	close(p.fd);
}

static void test_slow_reader(void)
{
	struct peer p;
	connect_to(&p, loop, port, 4096);
	n_gone = 0;
	ask(&p, "/v3/watch", "{\"create_request\":{\"key\":\"YQ==\"}}");
	for (int i = 0; i < 100 && !n_gone; i++)
		ev_run_once(loop, 10);	/* the client reads nothing */
	TU_EQ_INT(n_gone, 1);
	TU_CHECK(max_pending > ((size_t)1 << 20));	/* what the watch service looks at */
	char sink[65536];
	ssize_t n = 1;
	for (int i = 0; i < 10000 && n != 0 && !(n < 0 && errno != EAGAIN); i++) {
		ev_run_once(loop, 1);
		n = read(p.fd, sink, sizeof(sink));
	}
	TU_CHECK(n <= 0 && (n == 0 || errno == ECONNRESET));	/* cut off */
	close(p.fd);
}

int main(void)
{
	loop = ev_new();
	struct grpc_server *s = grpc_server_new(loop, methods, 2, NULL);
	TU_CHECK(loop && s);
	port = grpc_server_listen(s, "127.0.0.1", 0, NULL);
	TU_CHECK(port > 0);
	struct gateway *gw = gw_new(loop, s, NULL, NULL);
	TU_CHECK(gw != NULL);
	TU_RUN(test_streams);
	TU_RUN(test_slow_reader);
	gw_free(gw);
	grpc_server_free(s);
	ev_free(loop);
	return TU_EXIT();
}
