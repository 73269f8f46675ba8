/* Node directories of the local launcher, and the small facts read from them: is the
 * QEMU process alive, has the node printed its ready line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemu.h"

int qemu_node_init(struct qemu_node *node, const char *state, const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n >= sizeof(node->name) || strchr(name, '/') || name[0] == '.')
		return -EINVAL;
	memcpy(node->name, name, n + 1);
	int w = snprintf(node->dir, sizeof(node->dir), "%s/%s", state, name);
	if (w < 0 || (size_t)w >= sizeof(node->dir))
		return -ENAMETOOLONG;
	return 0;
}

int qemu_node_path(const struct qemu_node *node, const char *file, char *out, size_t len)
{
	int w = snprintf(out, len, "%s/%s", node->dir, file);
	return (w < 0 || (size_t)w >= len) ? -ENAMETOOLONG : 0;
}

/* QEMU keeps a write lock on its pid file while it runs: the lock's owner is the live
 * QEMU, and no lock means the file is stale (a pid in it may belong to anyone by now). */
pid_t qemu_node_pid(const struct qemu_node *node)
{
	char path[4200];
	if (qemu_node_path(node, "qemu.pid", path, sizeof(path)) < 0)
		return 0;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int rc = fcntl(fd, F_GETLK, &fl);
	close(fd);
	if (rc < 0 || fl.l_type == F_UNLCK || fl.l_pid <= 1)
		return 0;
	return fl.l_pid;
}

void qemu_node_forget(const struct qemu_node *node)
{
	char path[4200];
	if (qemu_node_path(node, "qemu.pid", path, sizeof(path)) == 0)
		unlink(path);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

int qemu_node_list(const char *state, char names[][32], int max)
{
	DIR *d = opendir(state);
	int n = 0;
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && n < max) {
		if (strncmp(de->d_name, "node", 4) != 0 || strlen(de->d_name) >= 32)
			continue;
		memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
	}
	closedir(d);
	qsort(names, (size_t)n, 32, name_cmp);
	return n;
}

void qemu_node_read(const struct qemu_node *node, const char *file, char *out, size_t len)
{
	char path[4200];
	out[0] = '\0';
	if (qemu_node_path(node, file, path, sizeof(path)) < 0)
		return;
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(out, (int)len, f))
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

int qemu_wait_exit(pid_t pid, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 50) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return 1;
		poll(NULL, 0, 50);
	}
	return kill(pid, 0) < 0 && errno == ESRCH;
}

/* Scans the serial log for lines containing one of needles (NULL-terminated); copies the
 * last such line, from the needle on, into out when out is non-NULL, else stops at the
 * first. Returns 1 if one was found. */
static int log_find(const struct qemu_node *node, const char *const *needles, char *out,
		    size_t len)
{
	char path[4200], line[1024];
	if (qemu_node_path(node, "serial.log", path, sizeof(path)) < 0)
		return 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	int found = 0;
	while (!(found && !out) && fgets(line, sizeof(line), f)) {
		/* QEMU writes the serial log byte by byte: a line is whole once it ends */
		if (!strchr(line, '\n'))
			continue;
		for (const char *const *n = needles; *n; n++) {
			char *p = strstr(line, *n);
			if (!p)
				continue;
			found = 1;
			if (out) {
				p[strcspn(p, "\r\n")] = '\0';
				snprintf(out, len, "%s", p);
			}
			break;
		}
	}
	fclose(f);
	return found;
}

int qemu_find_ready(const struct qemu_node *node, char *out, size_t len)
{
	static const char *const ready[] = { "cabin: ready ", "cabin: degraded ", NULL };
	return log_find(node, ready, out, len);
}

int qemu_log_has(const struct qemu_node *node, const char *needle)
{
	const char *const one[] = { needle, NULL };
	return log_find(node, one, NULL, 0);
}
