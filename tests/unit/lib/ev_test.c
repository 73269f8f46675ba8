/* The event loop: fd callbacks, timers in due order, cancellation, removal of a watch
 * from inside a callback, and the before-sleep hook. */
#include <unistd.h>

#include "../../../lib/ev.h"
#include "../testutil.h"

#include <sys/epoll.h>

struct rec {
	char log[64];
	int n;
	int fds[2];
	long cancel_id;
};

static void rec_push(struct rec *r, char ch)
{
	if (r->n < 63)
		r->log[r->n++] = ch;
	r->log[r->n] = '\0';
}

static void on_timer_a(struct ev_loop *l, void *arg) { (void)l; rec_push(arg, 'a'); }
static void on_timer_b(struct ev_loop *l, void *arg) { (void)l; rec_push(arg, 'b'); }
static void on_timer_stop(struct ev_loop *l, void *arg) { rec_push(arg, 's'); ev_stop(l); }

static void test_timers_in_order(void)
{
	struct ev_loop *l = ev_new();
	struct rec r = { 0 };
	TU_CHECK(l != NULL);
	TU_CHECK(ev_timer(l, 30, on_timer_b, &r) > 0);
	TU_CHECK(ev_timer(l, 10, on_timer_a, &r) > 0);
	long c = ev_timer(l, 20, on_timer_b, &r);
	ev_cancel(l, c);
	ev_cancel(l, 9999);	/* unknown ids are ignored */
	TU_CHECK(ev_timer(l, 50, on_timer_stop, &r) > 0);
	uint64_t t0 = ev_now_ms();
	TU_EQ_INT(ev_run(l), 0);
	TU_EQ_STR(r.log, "abs");
	TU_CHECK(ev_now_ms() - t0 >= 50);
	ev_free(l);
}

static void on_read(struct ev_loop *l, int fd, uint32_t events, void *arg)
{
	struct rec *r = arg;
	char buf[8];
	TU_CHECK(events & EPOLLIN);
	ssize_t n = read(fd, buf, sizeof(buf));
	for (ssize_t i = 0; i < n; i++)
		rec_push(r, buf[i]);
	/* removing our own watch from the callback must be safe */
	TU_EQ_INT(ev_unwatch(l, fd), 0);
	ev_stop(l);
}

static int hook_calls;
static void on_hook(struct ev_loop *l, void *arg) { (void)l; (void)arg; hook_calls++; }

static void test_fd_and_hook(void)
{
	struct ev_loop *l = ev_new();
	struct rec r = { 0 };
	TU_EQ_INT(pipe(r.fds), 0);
	TU_EQ_INT(ev_watch(l, r.fds[0], EPOLLIN, on_read, &r), 0);
	ev_before_sleep(l, on_hook, NULL);
	TU_EQ_INT(write(r.fds[1], "xy", 2), 2);
	TU_EQ_INT(ev_run(l), 0);
	TU_EQ_STR(r.log, "xy");
	TU_CHECK(hook_calls >= 1);
	TU_EQ_INT(ev_unwatch(l, r.fds[0]), -2);	/* -ENOENT: already gone */
	TU_EQ_INT(ev_watch(l, -1, EPOLLIN, on_read, &r), -22);	/* -EINVAL */
	/* a timeout with nothing ready returns */
	TU_EQ_INT(ev_run_once(l, 10), 0);
	close(r.fds[0]);
	close(r.fds[1]);
	ev_free(l);
}

/* A timer set in a turn (here by an fd callback, 0 ms) fires only after the next
 * before-sleep hook: what a request queues goes out after the hook made it durable. */
static struct rec order;
static void order_hook(struct ev_loop *l, void *arg) { (void)l; (void)arg; rec_push(&order, 'h'); }
static void order_timer(struct ev_loop *l, void *arg) { (void)arg; rec_push(&order, 't'); ev_stop(l); }
static void order_read(struct ev_loop *l, int fd, uint32_t ev, void *arg)
{
	char buf[8];
	(void)ev;
	(void)arg;
	if (read(fd, buf, sizeof(buf)) > 0) {
		rec_push(&order, 'r');
		ev_timer(l, 0, order_timer, NULL);
		ev_unwatch(l, fd);
	}
}

static void test_timer_after_hook(void)
{
	struct ev_loop *l = ev_new();
	TU_EQ_INT(pipe(order.fds), 0);
	TU_EQ_INT(ev_watch(l, order.fds[0], EPOLLIN, order_read, NULL), 0);
	ev_before_sleep(l, order_hook, NULL);
	TU_EQ_INT(write(order.fds[1], "x", 1), 1);
	TU_EQ_INT(ev_run(l), 0);
	TU_EQ_STR(order.log, "hrht");	/* hook, read (sets the timer), hook, timer */
	close(order.fds[0]);
	close(order.fds[1]);
	ev_free(l);
}

int main(void)
{
	TU_RUN(test_timers_in_order);
	TU_RUN(test_fd_and_hook);
	TU_RUN(test_timer_after_hook);
	return TU_EXIT();
}
