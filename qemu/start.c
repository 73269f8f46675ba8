/* `cabin start`: boots stopped nodes again (killed or powered off) as `cabin up` made them,
 * keeping their disks (their data) and config drives, and waits for their ready lines. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemu.h"

static void start_usage(FILE *out)
{
	fprintf(out, "Usage: cabin start [NODE...] [--state DIR] [--timeout SECONDS]\n\n"
		"Boots stopped nodes again (after cabin kill or cabin down) from their state\n"
		"directories, with the disk, config drive and QEMU command line that\n"
		"cabin up gave them: their data is kept. Without NODE, every stopped node.\n"
		"Boots them all at once and waits for each ready line (exit status 1 if a\n"
		"node is degraded or not ready in time).\n\n"
		"  --state DIR         state directory (default %s)\n"
		"  --timeout SECONDS   how long to wait for the ready lines (default 300)\n"
		"  -h, --help          this help\n", QEMU_DEFAULT_STATE);
}

static int start_parse(int argc, char **argv, const char **state, unsigned *timeout_s)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	char *end;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's': *state = optarg; break;
		case 't':
			errno = 0;
			unsigned long t = strtoul(optarg, &end, 10);
			if (*end || end == optarg || errno || optarg[0] == '-' || t == 0 ||
			    t > 86400) {
				fprintf(stderr, "cabin start: --timeout %s: expected 1-86400 "
						"seconds\n", optarg);
				return 2;
			}
			*timeout_s = (unsigned)t;
			break;
		case 'h': start_usage(stdout); return 0;
		default: fprintf(stderr, "Try 'cabin start --help'.\n"); return 2;
		}
	}
	return -1;
}

/* The nodes named, or every stopped one; -1 on a name that is not a node. */
static int start_nodes(int argc, char **argv, const char *state, struct qemu_node *nodes)
{
	char names[QEMU_NODES_MAX][32];
	int n = 0;
	if (optind == argc) {
		int found = qemu_node_list(state, names, QEMU_NODES_MAX);
		for (int i = 0; i < found; i++)
			if (qemu_node_init(&nodes[n], state, names[i]) == 0 &&
			    !qemu_node_pid(&nodes[n]))
				n++;
		if (found == 0)
			fprintf(stderr, "cabin start: no nodes in %s (cabin up makes them)\n",
				state);
		return found == 0 ? -1 : n;
	}
	for (int i = optind; i < argc; i++) {
		if (n == QEMU_NODES_MAX) {
			fprintf(stderr, "cabin start: more than %d nodes\n", QEMU_NODES_MAX);
			return -1;
		}
		if (qemu_node_init(&nodes[n], state, argv[i]) < 0 ||
		    access(nodes[n].dir, F_OK) < 0) {
			fprintf(stderr, "cabin start: no node '%s' in %s\n", argv[i], state);
			return -1;
		}
		n++;
	}
	return n;
}

int qemu_start_main(int argc, char **argv)
{
	const char *state = QEMU_DEFAULT_STATE;
	unsigned timeout_s = 300;
	struct qemu_node nodes[QEMU_NODES_MAX], booting[QEMU_NODES_MAX];
	char why[512];
	int rc = start_parse(argc, argv, &state, &timeout_s);
	if (rc >= 0)
		return rc;
	int n = start_nodes(argc, argv, state, nodes), nb = 0, failed = 0;
	if (n < 0)
		return 1;
	if (n == 0)
		printf("every node in %s is running\n", state);
	for (int i = 0; i < n; i++) {
		pid_t pid = qemu_node_pid(&nodes[i]);
		if (pid) {
			printf("%s: already running (pid %d)\n", nodes[i].name, (int)pid);
			continue;
		}
		if (qemu_respawn(&nodes[i], why, sizeof(why)) < 0) {
			fprintf(stderr, "cabin start: %s: %s\n", nodes[i].name, why);
			failed = 1;
			continue;
		}
		printf("%s: booting again from %s\n", nodes[i].name, nodes[i].dir);
		fflush(stdout);
		booting[nb++] = nodes[i];
	}
	if (qemu_wait_ready(booting, nb, timeout_s, "start") != 0)
		failed = 1;
	for (int i = 0; i < nb; i++) {
		char client[64];
		qemu_node_read(&booting[i], "client", client, sizeof(client));
		if (client[0])
			printf("%s: etcd client endpoint %s\n", booting[i].name, client);
	}
	return failed;
}
