/* Choosing QEMU's accelerator. /dev/kvm can exist and still hang a guest (nested
 * virtualisation here), so KVM is proven by booting a one-sector guest that writes to
 * QEMU's isa-debug-exit port; if it does not exit in time, TCG it is. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qemu.h"

#define PROBE_TIMEOUT_MS 4000
#define PROBE_EXIT 0x21		/* isa-debug-exit: (0x10 << 1) | 1 */

static int probe_write_disk(const char *path)
{
	unsigned char sec[512] = {
		0xb0, 0x10,		/* mov al, 0x10 */
		0xe6, 0xf4,		/* out 0xf4, al */
		0xf4,			/* hlt */
		0xeb, 0xfd,		/* jmp back to hlt */
	};
	sec[510] = 0x55;
	sec[511] = 0xaa;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc = write(fd, sec, sizeof(sec)) == (ssize_t)sizeof(sec) ? 0 : -EIO;
	close(fd);
	return rc;
}

static int probe_run(const char *disk)
{
	char drive[4200];
	snprintf(drive, sizeof(drive), "file=%s,format=raw,if=ide", disk);
	pid_t pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execlp("qemu-system-x86_64", "qemu-system-x86_64", "-machine", "pc,accel=kvm",
		       "-m", "16", "-nodefaults", "-no-user-config", "-display", "none",
		       "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		       "-drive", drive, (char *)NULL);
		_exit(127);
	}
	int status;
	for (int t = 0; t < PROBE_TIMEOUT_MS; t += 20) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return WIFEXITED(status) && WEXITSTATUS(status) == PROBE_EXIT;
		poll(NULL, 0, 20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 0;
}

const char *qemu_pick_accel(const char *want, const char *state)
{
	if (strcmp(want, "kvm") == 0 || strcmp(want, "tcg") == 0)
		return want;
	if (access("/dev/kvm", R_OK | W_OK) < 0)
		return "tcg";
	char disk[4200];
	snprintf(disk, sizeof(disk), "%s/kvm-probe.img", state);
	if (probe_write_disk(disk) < 0)
		return "tcg";
	int ok = probe_run(disk);
	unlink(disk);
	return ok ? "kvm" : "tcg";
}
