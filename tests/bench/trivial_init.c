/* The reference init for the boot benchmark: the least a PID 1 can do. It prints one
 * ready line with the guest time since kernel start, the way cabind does, then powers off.
 * Built static with musl-gcc and packed alone into a newc cpio by tests/bench/run.sh. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Returns a descriptor for the console, mounting devtmpfs when the initramfs has no node. */
static int open_console(void)
{
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	return open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
}

int main(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	unsigned long long ms = (unsigned long long)ts.tv_sec * 1000u +
				(unsigned long long)ts.tv_nsec / 1000000u;
	char line[64];
	int len = snprintf(line, sizeof(line), "trivial: ready boot_ms=%llu\n", ms);
	int fd = open_console();
	if (fd >= 0 && len > 0)
		(void)!write(fd, line, (size_t)len);
	sync();
	reboot(RB_POWER_OFF);
	/* PID 1 must not return: the kernel would panic. */
	for (;;)
		pause();
}
