/* The first things PID 1 does on a bare kernel: mount the kernel filesystems, put the
 * console on fds 0-2, read the command line, take over Ctrl-Alt-Del. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"

struct early_mount {
	const char *src, *dir, *type;
	unsigned long flags;
	const char *data;
};

static const struct early_mount early_table[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755" },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
	{ "tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
};

static void console_open(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;	/* keep whatever the kernel gave us */
	for (int i = 0; i < 3; i++)
		dup2(fd, i);
	if (fd > 2)
		close(fd);
}

int early_mounts(void)
{
	int first_err = 0;
	for (size_t i = 0; i < sizeof(early_table) / sizeof(early_table[0]); i++) {
		const struct early_mount *m = &early_table[i];
		mkdir(m->dir, 0755);
		if (mount(m->src, m->dir, m->type, m->flags, m->data) < 0 && errno != EBUSY) {
			int e = errno;
			log_warn("init: mount %s on %s", m->type, m->dir);
			if (!first_err)
				first_err = -e;
		}
		if (strcmp(m->dir, "/dev") == 0)
			console_open();
	}
	return first_err;
}

const char *early_read_cmdline(void)
{
	static char buf[4096];
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return "";
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return buf;
}

void early_disable_cad(void)
{
	if (reboot(RB_DISABLE_CAD) < 0)
		log_warn("init: disable ctrl-alt-del");
}
