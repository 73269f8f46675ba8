/* The one event loop of cabind, in the manner of redis ae.c: file descriptors watched
 * with epoll, one-shot timers in milliseconds, and a hook that runs before each sleep. */
#ifndef CABIN_EV_H
#define CABIN_EV_H

#include <stdint.h>

struct ev_loop;

typedef void ev_fd_fn(struct ev_loop *loop, int fd, uint32_t events, void *arg);
typedef void ev_timer_fn(struct ev_loop *loop, void *arg);
typedef void ev_hook_fn(struct ev_loop *loop, void *arg);

/* Returns a new loop, or NULL with errno set. Freed by ev_free. */
struct ev_loop *ev_new(void);
void ev_free(struct ev_loop *loop);

/* Watches fd for events (EPOLLIN/EPOLLOUT); a second call for the same fd replaces the
 * watch. Returns 0 or -errno. The loop never closes fd. */
int ev_watch(struct ev_loop *loop, int fd, uint32_t events, ev_fd_fn *fn, void *arg);
/* Stops watching fd; safe from inside that fd's own callback. Returns 0 or -errno. */
int ev_unwatch(struct ev_loop *loop, int fd);

/* Calls fn once, after ms milliseconds, and never in the loop turn that set it: the
 * before-sleep hook runs first (0 ms means "after the next before-sleep"). Returns a
 * timer id (> 0) or -ENOMEM. */
long ev_timer(struct ev_loop *loop, uint64_t ms, ev_timer_fn *fn, void *arg);
/* Cancels a pending timer; unknown ids are ignored. */
void ev_cancel(struct ev_loop *loop, long id);

void ev_before_sleep(struct ev_loop *loop, ev_hook_fn *fn, void *arg);

/* Runs until ev_stop. Returns 0, or -errno if epoll itself fails. */
int ev_run(struct ev_loop *loop);
/* Waits at most max_ms (-1: until an event or a timer), handles what is ready, returns. */
int ev_run_once(struct ev_loop *loop, int max_ms);
void ev_stop(struct ev_loop *loop);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t ev_now_ms(void);

#endif
