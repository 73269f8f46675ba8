/* The ACPI power button (QEMU system_powerdown, OpenStack "stop"): the kernel's button
 * driver reports it as KEY_POWER on an evdev device. Devices are found by a scan after
 * module loading and by kernel uevents for those that appear later. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"

#define BITS_PER_LONG (8 * sizeof(unsigned long))

static int has_power_key(int fd)
{
	unsigned long keys[KEY_MAX / BITS_PER_LONG + 1];
	memset(keys, 0, sizeof(keys));
	if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(keys)), keys) < 0)
		return 0;
	return (keys[KEY_POWER / BITS_PER_LONG] >> (KEY_POWER % BITS_PER_LONG)) & 1;
}

static void power_read(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct cabind *c = arg;
	struct input_event ev[16];
	ssize_t n = read(fd, ev, sizeof(ev));
	for (size_t i = 0; n > 0 && i < (size_t)n / sizeof(ev[0]); i++)
		if (ev[i].type == EV_KEY && ev[i].code == KEY_POWER && ev[i].value == 1)
			shutdown_now(c, POWER_OFF, "power button");
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0 || (events & (EPOLLERR | EPOLLHUP))) {
		/* the device went away; a new one of the same number is watched again */
		for (unsigned i = 0; i < 64; i++)
			if (((c->input_open >> i) & 1) && c->input_fd[i] == fd) {
				c->input_open &= ~(1ull << i);
				c->input_fd[i] = -1;
			}
		ev_unwatch(loop, fd);
		close(fd);
	}
}

/* Watches /dev/input/event<n> if it has a power key. */
static void power_open(struct cabind *c, unsigned n)
{
	if (n >= 64 || (c->input_open >> n) & 1)
		return;
	char path[64];
	snprintf(path, sizeof(path), "/dev/input/event%u", n);
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	char name[128] = "?";
	ioctl(fd, EVIOCGNAME(sizeof(name) - 1), name);
	if (!has_power_key(fd) || ev_watch(c->loop, fd, EPOLLIN, power_read, c) < 0) {
		close(fd);
		return;
	}
	c->input_open |= 1ull << n;
	c->input_fd[n] = fd;
	log_info("power: watching %s (%s)", path, name);
}

void power_scan(struct cabind *c)
{
	DIR *d = opendir("/dev/input");
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		unsigned n;
		if (sscanf(de->d_name, "event%u", &n) == 1)
			power_open(c, n);
	}
	closedir(d);
}

/* A uevent is "action@devpath" then NUL-separated KEY=VALUE pairs. */
static void uevent_read(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct cabind *c = arg;
	char buf[4096];
	struct sockaddr_nl from;
	socklen_t fromlen = sizeof(from);
	(void)loop;
	(void)events;
	ssize_t n;
	while ((n = recvfrom(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)&from,
			     &fromlen)) != 0) {
		if (n < 0) {
			/* the kernel dropped uevents: look at what exists instead */
			if (errno == ENOBUFS)
				power_scan(c);
			if (errno != ENOBUFS && errno != EINTR)
				return;
			continue;
		}
		buf[n] = '\0';
		fromlen = sizeof(from);
		if (from.nl_pid != 0 || strncmp(buf, "add@", 4) != 0)
			continue;	/* only the kernel's own messages */
		for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
			unsigned ev;
			if (sscanf(p, "DEVNAME=input/event%u", &ev) == 1)
				power_open(c, ev);
		}
	}
}

int power_setup(struct cabind *c)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	c->ueventfd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			     NETLINK_KOBJECT_UEVENT);
	if (c->ueventfd < 0)
		return -errno;
	if (bind(c->ueventfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(c->ueventfd);
		c->ueventfd = -1;
		return -e;
	}
	return ev_watch(c->loop, c->ueventfd, EPOLLIN, uevent_read, c);
}
