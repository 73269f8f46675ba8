/* The HTTP client on the event loop, against a small HTTP/1.1 server in a child process
 * on loopback and on a unix socket: answers and statuses, bodies over the limit, timeouts,
 * refused connections, POST bodies, many requests at once, cancellation. */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../lib/ev.h"
#include "../../../lib/http.h"
#include "../testutil.h"

static int port;
static char sock_path[108];
static pid_t server_pid[2];

/* ---- the server: one child per connection, Connection: close ---- */
static void answer(int fd, const char *status, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", status, len);
	if (write(fd, head, (size_t)n) < 0)
		return;
	for (size_t done = 0; done < len;) {
		ssize_t w = write(fd, body + done, len - done);
		if (w <= 0)
			return;
		done += (size_t)w;
	}
}

static void serve_one(int fd)
{
	static char req[65536];
	size_t len = 0;
	char *end = NULL;
	while (!end && len < sizeof(req) - 1) {
		ssize_t r = read(fd, req + len, sizeof(req) - 1 - len);
		if (r <= 0)
			return;
		len += (size_t)r;
		req[len] = '\0';
		end = strstr(req, "\r\n\r\n");
	}
	if (!end)
		return;
	const char *cl = strstr(req, "Content-Length: ");
	size_t want = cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
	while ((size_t)(req + len - (end + 4)) < want && len < sizeof(req) - 1) {
		ssize_t r = read(fd, req + len, sizeof(req) - 1 - len);
		if (r <= 0)
			return;
		len += (size_t)r;
	}
	if (strncmp(req, "GET /ok ", 8) == 0) {
		answer(fd, "200 OK", "hello", 5);
	} else if (strncmp(req, "GET /big ", 9) == 0) {
		static char big[100000];
		memset(big, 'x', sizeof(big));
		answer(fd, "200 OK", big, sizeof(big));
	} else if (strncmp(req, "GET /slow ", 10) == 0) {
		pause();
	} else if (strncmp(req, "POST /echo ", 11) == 0) {
		answer(fd, "201 Created", end + 4, want);
	} else if (strncmp(req, "DELETE /thing ", 14) == 0) {
		answer(fd, "204 No Content", "", 0);
	} else {
		answer(fd, "404 Not Found", "nope", 4);
	}
}

static void serve(int lfd)
{
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		if (fork() == 0) {
			serve_one(fd);
			_exit(0);
		}
		close(fd);
	}
}

static void start_servers(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) < 0)
		TU_SKIP("no loopback TCP socket: %s", strerror(errno));
	port = ntohs(a.sin_port);
	if ((server_pid[0] = fork()) == 0)
		serve(lfd);
	close(lfd);

	snprintf(sock_path, sizeof(sock_path), "/tmp/cabin-http-test.%d", (int)getpid());
	unlink(sock_path);
	int ufd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un u = { .sun_family = AF_UNIX };
	memcpy(u.sun_path, sock_path, strlen(sock_path) + 1);
	if (ufd < 0 || bind(ufd, (struct sockaddr *)&u, sizeof(u)) < 0 || listen(ufd, 8) < 0)
		TU_SKIP("no unix socket: %s", strerror(errno));
	if ((server_pid[1] = fork()) == 0)
		serve(ufd);
	close(ufd);
}

/* ---- the client side ---- */
struct got {
	int calls;
	int code;
	long status;
	char body[64];
	size_t len;
	char error[256];
};

static void on_done(void *arg, struct http_resp *r)
{
	struct got *g = arg;
	g->calls++;
	g->code = r->code;
	g->status = r->status;
	g->len = r->len;
	snprintf(g->body, sizeof(g->body), "%s", r->body ? r->body : "(null)");
	snprintf(g->error, sizeof(g->error), "%s", r->error);
}

static struct ev_loop *loop;

/* Turns the loop until g has this many answers (bounded, so a bug fails, not hangs). */
static void run(struct got *g, int answers, unsigned limit_ms)
{
	uint64_t t0 = ev_now_ms();
	while (g->calls < answers && ev_now_ms() - t0 < limit_ms)
		ev_run_once(loop, 50);
}

static long get(struct http *h, const char *path, struct got *g, unsigned timeout_ms,
		size_t max)
{
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	struct http_req req = { .url = url, .timeout_ms = timeout_ms, .max_body = max };
	return http_start(h, &req, on_done, g);
}

static void test_ok_and_404(void)
{
	struct http *h = http_new(loop);
	struct got a = { 0 }, b = { 0 };
	TU_CHECK(get(h, "/ok", &a, 5000, 0) > 0);
	TU_CHECK(get(h, "/nothing-here", &b, 5000, 0) > 0);
	TU_EQ_INT(a.calls, 0);	/* never from inside http_start */
	TU_EQ_INT(http_pending(h), 2);
	run(&a, 1, 5000);
	run(&b, 1, 5000);
	TU_EQ_INT(a.code, 0);
	TU_EQ_INT(a.status, 200);
	TU_EQ_STR(a.body, "hello");
	TU_EQ_INT(a.len, 5);
	TU_EQ_INT(b.code, 0);
	TU_EQ_INT(b.status, 404);
	TU_EQ_STR(b.body, "nope");
	TU_EQ_INT(http_pending(h), 0);
	http_free(h);
}

static void test_body_limit(void)
{
	struct http *h = http_new(loop);
	struct got a = { 0 }, b = { 0 };
	TU_CHECK(get(h, "/big", &a, 5000, 1000) > 0);
	TU_CHECK(get(h, "/big", &b, 5000, 100000) > 0);
	run(&a, 1, 5000);
	run(&b, 1, 5000);
	TU_EQ_INT(a.code, -EMSGSIZE);
	TU_EQ_STR(a.error, "answer longer than 1000 bytes");
	TU_EQ_INT(b.code, 0);
	TU_EQ_INT(b.len, 100000);
	http_free(h);
}

static void test_timeout_and_refused(void)
{
	struct http *h = http_new(loop);
	struct got a = { 0 }, b = { 0 };
	uint64_t t0 = ev_now_ms();
	TU_CHECK(get(h, "/slow", &a, 300, 0) > 0);
	run(&a, 1, 5000);
	TU_EQ_INT(a.code, -ETIMEDOUT);
	TU_EQ_INT(a.status, 0);
	TU_CHECK(ev_now_ms() - t0 >= 250);
	TU_CHECK(a.error[0] != '\0');

	/* a port with nobody listening */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	TU_CHECK(bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	TU_CHECK(getsockname(s, (struct sockaddr *)&sa, &sl) == 0);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(sa.sin_port));
	struct http_req req = { .url = url, .timeout_ms = 5000 };
	TU_CHECK(http_start(h, &req, on_done, &b) > 0);
	run(&b, 1, 5000);
	close(s);
	TU_EQ_INT(b.code, -ECONNREFUSED);
	http_free(h);
}

static void test_post_and_method(void)
{
	struct http *h = http_new(loop);
	struct got a = { 0 }, b = { 0 };
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", port);
	const char *hdrs[] = { "Content-Type: application/json", NULL };
	struct http_req req = { .url = url, .body = "{\"k\":1}", .body_len = 7, .headers = hdrs,
				.timeout_ms = 5000 };
	TU_CHECK(http_start(h, &req, on_done, &a) > 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/thing", port);
	struct http_req del = { .method = "DELETE", .url = url, .timeout_ms = 5000 };
	TU_CHECK(http_start(h, &del, on_done, &b) > 0);
	run(&a, 1, 5000);
	run(&b, 1, 5000);
	TU_EQ_INT(a.status, 201);
	TU_EQ_STR(a.body, "{\"k\":1}");
	TU_EQ_INT(b.status, 204);
	TU_EQ_STR(b.body, "");
	http_free(h);
}

static void test_many_at_once_and_cancel(void)
{
	struct http *h = http_new(loop);
	struct got g = { 0 }, slow = { 0 };
	for (int i = 0; i < 40; i++)
		TU_CHECK(get(h, "/ok", &g, 10000, 0) > 0);
	long s1 = get(h, "/slow", &slow, 0, 0);
	TU_CHECK(s1 > 0);
	run(&g, 40, 10000);
	TU_EQ_INT(g.calls, 40);
	TU_EQ_INT(g.status, 200);
	TU_EQ_INT(http_pending(h), 1);
	http_cancel(h, s1);
	http_cancel(h, 12345);
	TU_EQ_INT(http_pending(h), 0);
	for (int i = 0; i < 5; i++)
		ev_run_once(loop, 20);
	TU_EQ_INT(slow.calls, 0);
	/* freeing with requests in flight calls nothing and leaks nothing (ASan) */
	TU_CHECK(get(h, "/slow", &slow, 0, 0) > 0);
	ev_run_once(loop, 20);
	http_free(h);
	TU_EQ_INT(slow.calls, 0);
}

static void test_unix_socket(void)
{
	struct http *h = http_new(loop);
	struct got a = { 0 };
	struct http_req req = { .url = "http://localhost/ok", .unix_socket = sock_path,
				.timeout_ms = 5000 };
	TU_CHECK(http_start(h, &req, on_done, &a) > 0);
	run(&a, 1, 5000);
	TU_EQ_INT(a.code, 0);
	TU_EQ_INT(a.status, 200);
	TU_EQ_STR(a.body, "hello");
	struct http_req bad = { .url = NULL };
	TU_EQ_INT(http_start(h, &bad, on_done, &a), -EINVAL);
	http_free(h);
}

int main(void)
{
	start_servers();
	loop = ev_new();
	TU_RUN(test_ok_and_404);
	TU_RUN(test_body_limit);
	TU_RUN(test_timeout_and_refused);
	TU_RUN(test_post_and_method);
	TU_RUN(test_many_at_once_and_cancel);
	TU_RUN(test_unix_socket);
	ev_free(loop);
	kill(server_pid[0], SIGKILL);
	kill(server_pid[1], SIGKILL);
	waitpid(server_pid[0], NULL, 0);
	waitpid(server_pid[1], NULL, 0);
	unlink(sock_path);
	return TU_EXIT();
}
