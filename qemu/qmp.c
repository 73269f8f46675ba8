/* A minimal QMP client: QEMU's machine protocol is one JSON object per line; we send
 * one command and wait for its "return" or "error", skipping asynchronous events. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "qemu.h"

#define QMP_TIMEOUT_MS 5000

/* Reads one line (without the newline) into buf; returns 0 or -errno / -ETIMEDOUT. */
static int qmp_readline(int fd, char *buf, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, QMP_TIMEOUT_MS);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0)
			return -errno;
		char ch;
		ssize_t k = read(fd, &ch, 1);
		if (k == 0)
			return -ECONNRESET;
		if (k < 0)
			return -errno;
		if (ch == '\n')
			break;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	return 0;
}

/* Sends line and reads until a reply (not an event) arrives. */
static int qmp_exchange(int fd, const char *line, char *reply, size_t len)
{
	size_t n = strlen(line);
	if (write(fd, line, n) != (ssize_t)n)
		return -errno;
	for (;;) {
		int rc = qmp_readline(fd, reply, len);
		if (rc < 0)
			return rc;
		if (strstr(reply, "\"return\""))
			return 0;
		if (strstr(reply, "\"error\""))
			return -EPROTO;
	}
}

int qmp_command(const struct qemu_node *node, const char *cmd, char *reply, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[4200], buf[4096], line[256];
	if (qemu_node_path(node, "qmp.sock", path, sizeof(path)) < 0 ||
	    strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	if (rc == 0)
		rc = qmp_readline(fd, buf, sizeof(buf));	/* the greeting */
	if (rc == 0)
		rc = qmp_exchange(fd, "{\"execute\":\"qmp_capabilities\"}\n", buf, sizeof(buf));
	if (rc == 0) {
		snprintf(line, sizeof(line), "{\"execute\":\"%s\"}\n", cmd);
		rc = qmp_exchange(fd, line, buf, sizeof(buf));
		if (reply)
			snprintf(reply, len, "%s", buf);
	}
	close(fd);
	return rc;
}
