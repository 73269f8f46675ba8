/* `cabin down`, `cabin kill`, `cabin status` and `cabin console`: acting on nodes that
 * `cabin up` started, found through their state directories. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/ev.h"
#include "qemu.h"

struct ctl_opts {
	const char *state;
	unsigned timeout_s;
	int follow;
};

static void ctl_usage(const char *cmd, FILE *out)
{
	if (strcmp(cmd, "down") == 0)
		fprintf(out, "Usage: cabin down [NODE...] [--state DIR] [--timeout SECONDS]\n\n"
			"Powers nodes off cleanly: presses every node's ACPI power button through\n"
			"QMP, then waits (default 60 s); only a node that does not stop in time is\n"
			"killed.\n"
			"Exits 0 when every node stopped cleanly, 1 if one had to be killed.\n");
	else if (strcmp(cmd, "kill") == 0)
		fprintf(out, "Usage: cabin kill [NODE...] [--state DIR]\n\n"
			"Stops nodes at once (SIGKILL to QEMU), without a clean shutdown.\n");
	else if (strcmp(cmd, "status") == 0)
		fprintf(out, "Usage: cabin status [--state DIR]\n\n"
			"Lists the nodes in the state directory: running or stopped, QEMU pid,\n"
			"accelerator, the host address forwarded to the node's etcd client\n"
			"port (for etcdctl --endpoints), and the node's ready line.\n");
	else
		fprintf(out, "Usage: cabin console [NODE] [-f|--follow] [--state DIR]\n\n"
			"Prints the node's serial console log (default node1); with --follow,\n"
			"keeps printing new output until the node stops.\n");
	fprintf(out, "\n  --state DIR   state directory (default %s)\n"
		     "  -h, --help    this help\n", QEMU_DEFAULT_STATE);
}

static int ctl_parse(const char *cmd, int argc, char **argv, struct ctl_opts *o)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	char *end;
	while ((ch = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (ch) {
		case 's': o->state = optarg; break;
		case 't':
			errno = 0;
			unsigned long t = strtoul(optarg, &end, 10);
			o->timeout_s = (unsigned)t;
			if (strcmp(cmd, "down") != 0 || *end || end == optarg || errno ||
			    optarg[0] == '-' || t == 0 || t > 86400) {
				fprintf(stderr, "cabin %s: --timeout %s: expected 1-86400 seconds "
						"(down only)\n",
					cmd, optarg);
				return 2;
			}
			break;
		case 'f':
			if (strcmp(cmd, "console") != 0) {
				fprintf(stderr, "cabin %s: --follow is for cabin console\n", cmd);
				return 2;
			}
			o->follow = 1;
			break;
		case 'h': ctl_usage(cmd, stdout); return 0;
		default: fprintf(stderr, "Try 'cabin %s --help'.\n", cmd); return 2;
		}
	}
	return -1;
}

/* Resolves the NODE arguments, or every node in the state dir when there are none. */
static int ctl_nodes(const char *cmd, int argc, char **argv, const struct ctl_opts *o,
		     struct qemu_node *nodes)
{
	char names[QEMU_NODES_MAX][32];
	int n = 0;
	if (optind == argc) {
		int found = qemu_node_list(o->state, names, QEMU_NODES_MAX);
		for (int i = 0; i < found; i++)
			if (qemu_node_init(&nodes[n], o->state, names[i]) == 0)
				n++;
		return n;
	}
	for (int i = optind; i < argc && n < QEMU_NODES_MAX; i++) {
		if (qemu_node_init(&nodes[n], o->state, argv[i]) < 0 ||
		    access(nodes[n].dir, F_OK) < 0) {
			fprintf(stderr, "cabin %s: no node '%s' in %s\n", cmd, argv[i], o->state);
			return -1;
		}
		n++;
	}
	return n;
}

/* Options, then nodes: returns -1 to go on with *n nodes, else the exit status. */
static int ctl_begin(const char *cmd, int argc, char **argv, struct ctl_opts *o,
		     struct qemu_node *nodes, int *n)
{
	int rc = ctl_parse(cmd, argc, argv, o);
	if (rc >= 0)
		return rc;
	*n = ctl_nodes(cmd, argc, argv, o, nodes);
	return *n < 0 ? 1 : -1;
}

/* Presses the node's power button; returns its QEMU pid (0 if not running), with *pressed
 * saying whether QMP took the press. */
static pid_t down_press(const struct qemu_node *n, unsigned timeout_s, int *pressed)
{
	pid_t pid = qemu_node_pid(n);
	*pressed = 0;
	if (!pid) {
		printf("%s: not running\n", n->name);
		return 0;
	}
	/* QMP takes one client at a time: a busy socket gets a few more tries */
	int rc = -1;
	for (int tries = 0; tries < 5 && rc < 0; tries++) {
		if (tries)
			poll(NULL, 0, 1000);
		rc = qmp_command(n, "system_powerdown", NULL, 0);
	}
	if (rc < 0)
		fprintf(stderr, "cabin down: %s: QMP system_powerdown: %s\n", n->name,
			strerror(-rc));
	else
		printf("%s: power button pressed, waiting up to %u s\n", n->name, timeout_s);
	fflush(stdout);
	*pressed = rc == 0;
	return pid;
}

/* Waits for a pressed node until deadline_ms (ev_now_ms); kills it if it is still up.
 * Returns 0 if it stopped by itself, 1 if it had to be killed. */
static int down_wait(const struct qemu_node *n, pid_t pid, int pressed, uint64_t t0,
		     uint64_t deadline_ms)
{
	uint64_t now = ev_now_ms();
	int left = deadline_ms > now ? (int)(deadline_ms - now) : 0;
	if (pressed && qemu_wait_exit(pid, left)) {
		uint64_t ms = ev_now_ms() - t0;
		printf("%s: powered off cleanly in %.1f s\n", n->name, (double)ms / 1000.0);
		return 0;
	}
	fprintf(stderr, "cabin down: %s: did not power off; killing QEMU (pid %d)\n", n->name,
		(int)pid);
	kill(pid, SIGKILL);
	qemu_wait_exit(pid, 5000);
	qemu_node_forget(n);
	return 1;
}

/* Every power button is pressed first, so that the nodes shut down side by side. */
int qemu_down_main(int argc, char **argv)
{
	struct ctl_opts o = { QEMU_DEFAULT_STATE, 60, 0 };
	struct qemu_node nodes[QEMU_NODES_MAX];
	pid_t pids[QEMU_NODES_MAX];
	int pressed[QEMU_NODES_MAX];
	int n, forced = 0, rc = ctl_begin("down", argc, argv, &o, nodes, &n);
	if (rc >= 0)
		return rc;
	if (n == 0)
		printf("no nodes in %s\n", o.state);
	uint64_t t0 = ev_now_ms();
	for (int i = 0; i < n; i++)
		pids[i] = down_press(&nodes[i], o.timeout_s, &pressed[i]);
	for (int i = 0; i < n; i++)
		if (pids[i])
			forced |= down_wait(&nodes[i], pids[i], pressed[i], t0,
					    t0 + (uint64_t)o.timeout_s * 1000u);
	return forced;
}

int qemu_kill_main(int argc, char **argv)
{
	struct ctl_opts o = { QEMU_DEFAULT_STATE, 0, 0 };
	struct qemu_node nodes[QEMU_NODES_MAX];
	int n, rc = ctl_begin("kill", argc, argv, &o, nodes, &n);
	if (rc >= 0)
		return rc;
	for (int i = 0; i < n; i++) {
		pid_t pid = qemu_node_pid(&nodes[i]);
		if (!pid) {
			printf("%s: not running\n", nodes[i].name);
			continue;
		}
		kill(pid, SIGKILL);
		qemu_wait_exit(pid, 5000);
		qemu_node_forget(&nodes[i]);
		printf("%s: killed (pid %d)\n", nodes[i].name, (int)pid);
	}
	return 0;
}

int qemu_status_main(int argc, char **argv)
{
	struct ctl_opts o = { QEMU_DEFAULT_STATE, 0, 0 };
	struct qemu_node nodes[QEMU_NODES_MAX];
	int n, rc = ctl_begin("status", argc, argv, &o, nodes, &n);
	if (rc >= 0)
		return rc;
	if (n == 0) {
		printf("no nodes in %s\n", o.state);
		return 0;
	}
	printf("%-8s %-8s %-8s %-6s %-16s %s\n", "NODE", "STATE", "PID", "ACCEL", "CLIENT",
	       "READY");
	for (int i = 0; i < n; i++) {
		char accel[16], client[64], ready[1024] = "-", pidtxt[16] = "-";
		pid_t pid = qemu_node_pid(&nodes[i]);
		qemu_node_read(&nodes[i], "accel", accel, sizeof(accel));
		qemu_node_read(&nodes[i], "client", client, sizeof(client));
		if (pid) {
			snprintf(pidtxt, sizeof(pidtxt), "%d", (int)pid);
			if (!qemu_find_ready(&nodes[i], ready, sizeof(ready)))
				snprintf(ready, sizeof(ready), "booting");
		}
		printf("%-8s %-8s %-8s %-6s %-16s %s\n", nodes[i].name,
		       pid ? "running" : "stopped", pidtxt, accel[0] ? accel : "-",
		       client[0] ? client : "-", ready);
	}
	return 0;
}

int qemu_console_main(int argc, char **argv)
{
	struct ctl_opts o = { QEMU_DEFAULT_STATE, 0, 0 };
	struct qemu_node node;
	char path[4200], buf[4096];
	int rc = ctl_parse("console", argc, argv, &o);
	if (rc >= 0)
		return rc;
	const char *name = optind < argc ? argv[optind] : "node1";
	if (optind + 1 < argc) {
		fprintf(stderr, "cabin console: one node at a time\n");
		return 2;
	}
	if (qemu_node_init(&node, o.state, name) < 0 || access(node.dir, F_OK) < 0) {
		fprintf(stderr, "cabin console: no node '%s' in %s\n", name, o.state);
		return 1;
	}
	qemu_node_path(&node, "serial.log", path, sizeof(path));
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "cabin console: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (;;) {
		size_t k;
		while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, k, stdout);
		fflush(stdout);
		if (!o.follow || !qemu_node_pid(&node))
			break;
		clearerr(f);
		poll(NULL, 0, 200);
	}
	fclose(f);
	return 0;
}
