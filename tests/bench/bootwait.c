/* Times a VM boot for the benchmarks: starts a command (QEMU), polls its serial log every
 * 20 ms for a line beginning with a pattern, and prints the wall time from start to that
 * line. Polling here, rather than from bash, keeps forks out of the measured interval.
 *
 * usage: bootwait TIMEOUT_S LOG PATTERN COMMAND [ARG...]
 * Prints "wall_ms=N line=LINE" and exits 0 once the line is seen; the command is then sent
 * SIGTERM (it may also have exited by itself, as the reference VM powers off). Exits 1 on
 * timeout, or when the command exits without printing the line; 2 on bad usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_NS (20 * 1000000L)

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The log reader: bytes after the last complete line wait in buf for the next read. */
struct tail {
	int fd;
	size_t len;
	char buf[8192];
};

/* Reads what the log has gained; returns 1 and copies the first complete line starting
 * with pat into out, else 0. A line longer than the buffer is dropped. */
static int tail_scan(struct tail *t, const char *log, const char *pat, char *out, size_t outlen)
{
	if (t->fd < 0 && (t->fd = open(log, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	for (;;) {
		ssize_t n = read(t->fd, t->buf + t->len, sizeof(t->buf) - 1 - t->len);
		if (n <= 0)
			return 0;
		t->len += (size_t)n;
		t->buf[t->len] = '\0';
		char *line = t->buf, *nl;
		while ((nl = memchr(line, '\n', t->len - (size_t)(line - t->buf)))) {
			*nl = '\0';
			if (nl > line && nl[-1] == '\r')
				nl[-1] = '\0';
			if (strncmp(line, pat, strlen(pat)) == 0) {
				snprintf(out, outlen, "%s", line);
				return 1;
			}
			line = nl + 1;
		}
		t->len -= (size_t)(line - t->buf);
		memmove(t->buf, line, t->len);
		if (t->len == sizeof(t->buf) - 1)
			t->len = 0;
	}
}

/* Asks the child to stop, then insists after five seconds; always reaps it. */
static void stop_child(pid_t pid)
{
	kill(pid, SIGTERM);
	for (int i = 0; i < 250; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		nanosleep(&(struct timespec){ 0, POLL_NS }, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: bootwait TIMEOUT_S LOG PATTERN COMMAND [ARG...]\n");
		return 2;
	}
	long long limit = atoll(argv[1]) * 1000;
	const char *log = argv[2], *pat = argv[3];
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	long long t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		perror("bootwait: fork");
		return 1;
	}
	if (pid == 0) {
		/* QEMU must not outlive us, whatever kills us. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execvp(argv[4], argv + 4);
		fprintf(stderr, "bootwait: %s: %s\n", argv[4], strerror(errno));
		_exit(127);
	}

	struct tail t = { .fd = -1 };
	char line[sizeof(t.buf)];
	int exited = 0, status = 0;
	for (;;) {
		/* Scan before reaping, so a line printed just before power-off still counts. */
		if (tail_scan(&t, log, pat, line, sizeof(line))) {
			printf("wall_ms=%lld line=%s\n", now_ms() - t0, line);
			if (!exited)
				stop_child(pid);
			return 0;
		}
		if (exited) {
			fprintf(stderr, "bootwait: %s exited (status %d) before '%s' in %s\n",
				argv[4], status, pat, log);
			return 1;
		}
		if (stop_sig || now_ms() - t0 > limit) {
			if (!stop_sig)
				fprintf(stderr, "bootwait: no '%s' in %s after %s s\n", pat, log,
					argv[1]);
			stop_child(pid);
			return 1;
		}
		exited = waitpid(pid, &status, WNOHANG) == pid;
		if (!exited)
			nanosleep(&(struct timespec){ 0, POLL_NS }, NULL);
	}
}
