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
int qemu_start_main(int argc, char **argv);

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
/* Reads the first line of the node's file into out ("" when absent). */
void qemu_node_read(const struct qemu_node *node, const char *file, char *out, size_t len);
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
 * fresh uuid, plus user_data and network_data.json copied from those files when not NULL.
 * Returns 0, or a negative code with a message in errbuf. */
int qemu_config_drive(const struct qemu_node *n, const char *user_data,
		      const char *network_data, char *errbuf, size_t errlen);

/* cluster.c: the private segment and the files that make N nodes one cluster. */
#define QEMU_SEGMENT_NET "10.99.0."	/* node K is 10.99.0.K/24 on the segment */
#define QEMU_SEGMENT_MAC "52:54:00:99:00:"	/* node K's NIC there: ...:0K (hex) */
#define QEMU_SEGMENT_PORT 23789		/* UDP port of the multicast groups */
#define QEMU_CLIENT_PORT_BASE 23790	/* node K's KV client port on the host: base + K */
/* The segment of the cluster in state, "230.99.X.Y:PORT": a multicast group chosen by a
 * hash of the state dir's real path, so that clusters in different state dirs do not
 * share a segment. */
void qemu_segment(const char *state, char *out, size_t len);
/* A free TCP port on 127.0.0.1 for node k: base + k if free; else, unless fixed (the user
 * chose the base), any free port. Returns 0 with *out set, or -EADDRINUSE with err. */
int qemu_pick_port(unsigned base, int k, int fixed, unsigned *out, char *err, size_t errlen);
/* Writes node k's (of nodes) user-data (the cabin: section naming every member, with
 * hostname nodeK and the cluster name; with user_data, that file's #cloud-config first
 * and this section second, as MIME multipart) and network_data.json (10.99.0.K/24 on the
 * segment NIC) into its directory. Returns 0 or a negative code with err. */
int qemu_cluster_files(const struct qemu_node *n, int k, int nodes, const char *cluster,
		       const char *user_data, char *err, size_t errlen);

/* spawn.c */
/* Saves argv (NULL-terminated) as the node's qemu.args, then runs it (QEMU daemonizes).
 * Returns 0 once QEMU is in the background, or a negative code. */
int qemu_spawn(const struct qemu_node *n, const char *const *argv);
/* Runs the node's saved qemu.args again (the previous serial log kept as serial.log.prev).
 * Returns 0, or a negative code with err saying why. */
int qemu_respawn(const struct qemu_node *n, char *err, size_t errlen);

/* wait.c */
#define QEMU_NODES_MAX 16
/* Waits up to timeout_s for the ready line of each of nodes[0..n), printing each as it
 * comes; cmd names the command in messages. Returns 0 when all are ready, 1 when one is
 * degraded, gone or late (said on stderr, with the tail of its log). */
int qemu_wait_ready(const struct qemu_node *nodes, int n, unsigned timeout_s,
		    const char *cmd);

/* qmp.c: one QMP command on a node's socket. */
/* Connects, negotiates capabilities, runs cmd (e.g. "system_powerdown"); copies the
 * reply line into reply (may be NULL). Returns 0, -errno on socket errors, or -EPROTO
 * when QEMU answers with an error. */
int qmp_command(const struct qemu_node *node, const char *cmd, char *reply, size_t len);

#endif
