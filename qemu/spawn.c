/* Running a node's QEMU, and running it again: the command line `cabin up` built is kept
 * in the node's qemu.args (one word a line), so `cabin start` boots the node the same way
 * from the same disk and config drive. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qemu.h"

#define ARGS_MAX 128

/* Writes argv to qemu.args through a temporary name. */
static int save_args(const struct qemu_node *n, const char *const *argv)
{
	char path[4200], tmp[4300];
	qemu_node_path(n, "qemu.args", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return -errno;
	for (int i = 0; argv[i]; i++) {
		if (strchr(argv[i], '\n')) {
			fclose(f);
			unlink(tmp);
			return -EINVAL;	/* a word with a newline cannot be kept one per line */
		}
		fprintf(f, "%s\n", argv[i]);
	}
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

/* Forks QEMU, which daemonizes: returns 0 once the parent it leaves behind exits 0. */
static int run(const char *const *argv)
{
	pid_t child = fork();
	if (child < 0)
		return -errno;
	if (child == 0) {
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cabin: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int status;
	if (waitpid(child, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

int qemu_spawn(const struct qemu_node *n, const char *const *argv)
{
	int rc = save_args(n, argv);
	if (rc < 0)
		return rc;
	return run(argv);
}

int qemu_respawn(const struct qemu_node *n, char *err, size_t errlen)
{
	char path[4200], serial[4200], old[4300], line[8192];
	static char words[ARGS_MAX][8192];
	const char *argv[ARGS_MAX + 1];
	int argc = 0;
	qemu_node_path(n, "qemu.args", path, sizeof(path));
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s (was the node made by 'cabin up'?)", path,
			 strerror(errno));
		return -ENOENT;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\n");
		if (line[len] != '\n' || argc == ARGS_MAX) {
			fclose(f);
			snprintf(err, errlen, "%s: line %d: %s", path, argc + 1,
				 argc == ARGS_MAX ? "more than 128 words" : "too long or unterminated");
			return -EINVAL;
		}
		line[len] = '\0';
		memcpy(words[argc], line, len + 1);
		argv[argc] = words[argc];
		argc++;
	}
	fclose(f);
	argv[argc] = NULL;
	if (argc == 0) {
		snprintf(err, errlen, "%s: empty", path);
		return -EINVAL;
	}
	/* QEMU truncates the serial log: the previous boot's is kept beside it */
	qemu_node_path(n, "serial.log", serial, sizeof(serial));
	snprintf(old, sizeof(old), "%s.prev", serial);
	rename(serial, old);
	qemu_node_path(n, "qmp.sock", path, sizeof(path));
	unlink(path);
	int rc = run(argv);
	if (rc < 0)
		snprintf(err, errlen, "QEMU failed to start");
	return rc;
}
