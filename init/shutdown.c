/* Ending the node: the orderly path (stop services, stop children, sync, unmount, power
 * off) and the panic path (say why on the console, sync, power off or reboot as
 * cabin.panic= says). PID 1 never returns from either and never exits. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"

#define STOP_GRACE_MS 3000

int reap_children(void)
{
	int n = 0, status;
	while (waitpid(-1, &status, WNOHANG) > 0)
		n++;
	return n;
}

/* As PID 1 every process is our child or was re-parented to us, so ECHILD means none
 * is left (kill(-1, 0) cannot tell: it counts kernel threads). */
static int children_left(void)
{
	int status;
	pid_t pid = waitpid(-1, &status, WNOHANG);
	return !(pid < 0 && errno == ECHILD);
}

/* Sends SIGTERM to every other process, then SIGKILL to what is left after the grace
 * period. Only PID 1 may do this: kill(-1) from a daemon would hit the whole host. */
static void stop_children(void)
{
	if (!children_left())
		return;
	kill(-1, SIGTERM);
	for (int waited = 0; waited < STOP_GRACE_MS; waited += 20) {
		reap_children();
		if (!children_left())
			return;
		poll(NULL, 0, 20);
	}
	log_warnx("shutdown: children still running after %d ms, killing them", STOP_GRACE_MS);
	kill(-1, SIGKILL);
	reap_children();
}

/* Unmounts everything but the initramfs root, newest mount first; busy ones are
 * remounted read-only, then detached. */
static void unmount_all(void)
{
	char *dirs[64];
	int n = 0;
	FILE *f = fopen("/proc/mounts", "re");
	if (!f)
		return;
	char line[512];
	while (n < 64 && fgets(line, sizeof(line), f)) {
		char dir[256];
		if (sscanf(line, "%*s %255s", dir) == 1 && strcmp(dir, "/") != 0)
			dirs[n++] = strdup(dir);
	}
	fclose(f);
	while (n-- > 0) {
		if (!dirs[n])
			continue;
		if (umount2(dirs[n], 0) < 0) {
			mount(NULL, dirs[n], NULL, MS_REMOUNT | MS_RDONLY, NULL);
			umount2(dirs[n], MNT_DETACH);
		}
		free(dirs[n]);
	}
}

static void power_final(enum power_action act) __attribute__((noreturn));
static void power_final(enum power_action act)
{
	int cmd = act == POWER_REBOOT ? RB_AUTOBOOT :
		  act == POWER_HALT ? RB_HALT_SYSTEM : RB_POWER_OFF;
	sync();
	reboot(cmd);
	/* reboot(2) failed: there is nothing left to try. Stay alive, quietly. */
	log_warn("shutdown: reboot(%s)", power_name(act));
	for (;;)
		pause();
}

void shutdown_now(struct cabind *c, enum power_action act, const char *why)
{
	c->stopping = act;
	log_raw("shutdown action=%s reason=\"%s\"", power_name(act), why);
	if (!c->pid1) {
		/* Services stop here once there are any; nothing is shared with the host. */
		reap_children();
		log_info("stopped");
		exit(0);
	}
	network_stop(c);
	kv_server_stop(c->kv);
	c->kv = NULL;
	stop_children();
	sync();
	unmount_all();
	log_raw("shutdown complete, %s", power_name(act));
	power_final(act);
}

void cabind_panic(struct cabind *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	enum power_action act = c->panic_action == POWER_NONE ? POWER_OFF : c->panic_action;
	log_raw("panic: %s (action=%s)", msg, power_name(act));
	if (!c->pid1)
		exit(70);
	power_final(act);
}
