/* Waiting for nodes booting side by side: each is done when its ready (or degraded) line
 * is on its serial console, when its QEMU has exited, or when the time is up. */
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "qemu.h"

static void print_log_tail(const struct qemu_node *n)
{
	char path[4200], line[1024];
	qemu_node_path(n, "serial.log", path, sizeof(path));
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char lines[15][1024];
	int count = 0;
	while (fgets(line, sizeof(line), f))
		snprintf(lines[count++ % 15], sizeof(lines[0]), "%s", line);
	fclose(f);
	int first = count > 15 ? count - 15 : 0;
	fprintf(stderr, "--- last lines of %s ---\n", path);
	for (int i = first; i < count; i++)
		fputs(lines[i % 15], stderr);
}

/* One look at a node: 0 still booting, 1 ready, -1 degraded or gone (said why). */
static int look(const struct qemu_node *n, const char *cmd)
{
	char line[1024];
	if (qemu_find_ready(n, line, sizeof(line))) {
		printf("%s: %s\n", n->name, line);
		fflush(stdout);
		if (strstr(line, "cabin: ready "))
			return 1;
		fprintf(stderr, "cabin %s: %s is up but degraded (cabin console %s)\n", cmd,
			n->name, n->name);
		return -1;
	}
	if (!qemu_node_pid(n)) {
		fprintf(stderr, "cabin %s: %s: QEMU exited before the node was ready\n", cmd,
			n->name);
		print_log_tail(n);
		return -1;
	}
	return 0;
}

int qemu_wait_ready(const struct qemu_node *nodes, int n, unsigned timeout_s,
		    const char *cmd)
{
	int state[QEMU_NODES_MAX] = { 0 }, left = n, failed = 0;
	for (unsigned t = 0; left > 0 && t < timeout_s * 10u; t++) {
		for (int i = 0; i < n; i++) {
			if (state[i])
				continue;
			if ((state[i] = look(&nodes[i], cmd)) != 0) {
				left--;
				failed |= state[i] < 0;
			}
		}
		if (left > 0)
			poll(NULL, 0, 100);
	}
	for (int i = 0; i < n; i++) {
		if (state[i])
			continue;
		fprintf(stderr, "cabin %s: %s: no ready line after %u s; it is still running "
				"(cabin console %s, cabin down)\n", cmd, nodes[i].name, timeout_s,
			nodes[i].name);
		print_log_tail(&nodes[i]);
		failed = 1;
	}
	return failed;
}
