/* The local cluster launcher: nodes are QEMU processes, each with a directory under the
 * state dir holding its disk, serial log, QMP socket and pid file. */
#ifndef CABIN_QEMU_H
#define CABIN_QEMU_H

#include <stddef.h>
#include <sys/types.h>

#define QEMU_DEFAULT_STATE "build/state"
#define QEMU_EXTRA_MAX 32	/* cabin up --qemu-arg */
#define QEMU_DEFAULT_IMAGE "build/cabin.qcow2"

/* Subcommands; argv[0] is the subcommand name. Return the process exit status. */
int qemu_up_main(int argc, char **argv);
int qemu_down_main(int argc, char **argv);
int qemu_kill_main(int argc, char **argv);
int qemu_status_main(int argc, char **argv);
int qemu_console_main(int argc, char **argv);

/* node.c */
struct qemu_node {
	char name[32];		/* "node1" */
	char dir[4096];		/* <state>/node1 */
};
/* Fills node for name in state; returns 0 or -ENAMETOOLONG / -EINVAL (bad name). */
int qemu_node_init(struct qemu_node *node, const char *state, const char *name);
/* Writes <dir>/<file> into out; returns 0 or -ENAMETOOLONG. */
int qemu_node_path(const struct qemu_node *node, const char *file, char *out, size_t len);
/* Returns the QEMU pid of a running node, or 0 if it is not running. */
pid_t qemu_node_pid(const struct qemu_node *node);
/* Removes the pid file of a node whose QEMU was killed (QEMU removes it only itself). */
void qemu_node_forget(const struct qemu_node *node);
/* Lists node names found under state (sorted) into names[max]; returns the count. */
int qemu_node_list(const char *state, char names[][32], int max);
/* Waits up to timeout_ms for pid to exit; returns 1 if it did, 0 if not. */
int qemu_wait_exit(pid_t pid, int timeout_ms);
/* Finds the ready (or degraded) line in the serial log; copies it into out. Returns 1 if
 * found, 0 if not yet. */
int qemu_find_ready(const struct qemu_node *node, char *out, size_t len);

/* accel.c */
/* Returns want itself if it is "kvm" or "tcg"; for "auto", "tcg" without a usable
 * /dev/kvm, the verdict remembered in state for this host boot, or "probe": try KVM and
 * fall back to TCG if the guest makes no progress. */
const char *qemu_pick_accel(const char *want, const char *state);
/* Remembers the verdict of a probe ("kvm" or "tcg") in state for this host boot. */
void qemu_remember_accel(const char *state, const char *accel);
/* Seconds a KVM guest gets to print cabind's first line before TCG takes over. */
#define QEMU_KVM_PROBE_S 20

/* Returns 1 if a line of the node's serial log contains needle. */
int qemu_log_has(const struct qemu_node *node, const char *needle);

/* configdrive.c */
/* Writes the node's config drive, STATE/nodeN/config-2.img (FAT labelled config-2, as
 * Nova makes it): openstack/latest/meta_data.json with the node's name as hostname and a
 * fresh uuid, plus user_data copied from the file user_data when not NULL. Returns 0, or
 * a negative code with a message in errbuf. */
int qemu_config_drive(const struct qemu_node *n, const char *user_data, char *errbuf,
		      size_t errlen);

/* qmp.c: one QMP command on a node's socket. */
/* Connects, negotiates capabilities, runs cmd (e.g. "system_powerdown"); copies the
 * reply line into reply (may be NULL). Returns 0, -errno on socket errors, or -EPROTO
 * when QEMU answers with an error. */
int qmp_command(const struct qemu_node *node, const char *cmd, char *reply, size_t len);

#endif
