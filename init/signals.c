/* Signals arrive as a signalfd in the loop: SIGCHLD reaps, the others ask for power
 * actions. As PID 1 the meanings follow sysvinit/busybox: SIGUSR2 or SIGPWR power off,
 * SIGTERM reboots, SIGINT (Ctrl-Alt-Del) reboots cleanly, SIGUSR1 halts. As a daemon,
 * SIGTERM and SIGINT stop it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"

static const char *signal_name(int signo)
{
	switch (signo) {
	case SIGTERM: return "SIGTERM";
	case SIGINT: return "SIGINT";
	case SIGUSR1: return "SIGUSR1";
	case SIGUSR2: return "SIGUSR2";
	case SIGPWR: return "SIGPWR";
	default: return "signal";
	}
}

static enum power_action signal_action(const struct cabind *c, int signo)
{
	if (!c->pid1)	/* a daemon stops on SIGTERM and SIGINT, as its --help says */
		return signo == SIGTERM || signo == SIGINT ? POWER_OFF : POWER_NONE;
	switch (signo) {
	case SIGUSR2:
	case SIGPWR:
		return POWER_OFF;
	case SIGTERM:
	case SIGINT:
		return POWER_REBOOT;
	case SIGUSR1:
		return POWER_HALT;
	default:
		return POWER_NONE;
	}
}

static void signals_read(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct cabind *c = arg;
	struct signalfd_siginfo si;
	(void)loop;
	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			reap_children();
			continue;
		}
		enum power_action act = signal_action(c, (int)si.ssi_signo);
		if (act == POWER_NONE)
			continue;
		char why[64];
		snprintf(why, sizeof(why), "%s from pid %u", signal_name((int)si.ssi_signo),
			 si.ssi_pid);
		shutdown_now(c, act, why);
	}
}

int signals_setup(struct cabind *c)
{
	static const int handled[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1,
				       SIGUSR2, SIGPWR, SIGQUIT };
	sigset_t set;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaddset(&set, handled[i]);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	c->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (c->sigfd < 0)
		return -errno;
	return ev_watch(c->loop, c->sigfd, EPOLLIN, signals_read, c);
}
