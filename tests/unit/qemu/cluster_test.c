/* What `cabin up -n N` writes for each node (user data, network_data.json), the segment
 * each state dir gets, and the host ports it picks, against real files and sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../../qemu/qemu.h"
#include "../testutil.h"

static char dir[64];

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static void test_segment(void)
{
	char a[64], b[64], c[64];
	qemu_segment("/nonexistent/state-a", a, sizeof(a));
	qemu_segment("/nonexistent/state-a", b, sizeof(b));
	qemu_segment("/nonexistent/state-b", c, sizeof(c));
	TU_EQ_STR(a, b);
	TU_CHECK(strcmp(a, c) != 0);
	unsigned x, y, port;
	TU_EQ_INT(sscanf(a, "230.99.%u.%u:%u", &x, &y, &port), 3);
	TU_CHECK(x <= 255 && y >= 1 && y <= 254);
	TU_EQ_INT(port, QEMU_SEGMENT_PORT);
}

static void test_ports(void)
{
	char err[200];
	unsigned got;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	TU_CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		 listen(fd, 1) == 0 && getsockname(fd, (struct sockaddr *)&sa, &sl) == 0);
	unsigned taken = ntohs(sa.sin_port);
	/* a base the user chose: the taken port is an error naming it */
	TU_EQ_INT(qemu_pick_port(taken - 2, 2, 1, &got, err, sizeof(err)), -EADDRINUSE);
	char want[200];
	snprintf(want, sizeof(want), "host port 127.0.0.1:%u (--client-port-base %u + 2) is in "
		 "use; choose another base", taken, taken - 2);
	TU_EQ_STR(err, want);
	/* the default base: another port, free */
	TU_EQ_INT(qemu_pick_port(taken - 2, 2, 0, &got, err, sizeof(err)), 0);
	TU_CHECK(got != taken && got > 0);
	close(fd);
}

static void test_files(void)
{
	struct qemu_node n;
	char err[300], path[200];
	TU_EQ_INT(qemu_node_init(&n, dir, "node2"), 0);
	TU_EQ_INT(mkdir(n.dir, 0755), 0);
	TU_EQ_INT(qemu_cluster_files(&n, 2, 3, "lab", NULL, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/user-data", n.dir);
	TU_EQ_STR(slurp(path),
		  "#cloud-config\n# written by cabin up: this cluster's members\n"
		  "hostname: node2\ncabin:\n  cluster: lab\n  members:\n"
		  "    - name: node1\n      peer_url: http://10.99.0.1:2380\n"
		  "      client_url: http://10.99.0.1:2379\n"
		  "    - name: node2\n      peer_url: http://10.99.0.2:2380\n"
		  "      client_url: http://10.99.0.2:2379\n"
		  "    - name: node3\n      peer_url: http://10.99.0.3:2380\n"
		  "      client_url: http://10.99.0.3:2379\n");
	snprintf(path, sizeof(path), "%s/network_data.json", n.dir);
	const char *nd = slurp(path);
	TU_CHECK(strstr(nd, "\"ethernet_mac_address\": \"52:54:00:99:00:02\"") != NULL);
	TU_CHECK(strstr(nd, "\"ip_address\": \"10.99.0.2\", \"netmask\": \"255.255.255.0\"") != NULL);
}

static void test_user_data_merge(void)
{
	struct qemu_node n;
	char err[300], path[200], ud[200];
	TU_EQ_INT(qemu_node_init(&n, dir, "node1"), 0);
	TU_EQ_INT(mkdir(n.dir, 0755), 0);
	snprintf(ud, sizeof(ud), "%s/mine.yaml", dir);
	FILE *f = fopen(ud, "w");
	fputs("#cloud-config\nwrite_files: []\n", f);
	fclose(f);
	TU_EQ_INT(qemu_cluster_files(&n, 1, 2, "c", ud, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/user-data", n.dir);
	const char *text = slurp(path);
	const char *mine = strstr(text, "write_files: []"), *ours = strstr(text, "hostname: node1");
	TU_CHECK(strncmp(text, "Content-Type: multipart/mixed; boundary=", 40) == 0);
	TU_CHECK(mine && ours && mine < ours);	/* the cluster's part last: it wins */
	/* a shell script cannot be merged with YAML */
	f = fopen(ud, "w");
	fputs("#!/bin/sh\necho hi\n", f);
	fclose(f);
	TU_EQ_INT(qemu_cluster_files(&n, 1, 2, "c", ud, err, sizeof(err)), -EINVAL);
	TU_CHECK(strstr(err, "must be #cloud-config (YAML or JSON)") != NULL);
	/* what was there stays: no half-written file */
	TU_CHECK(strstr(slurp(path), "write_files: []") != NULL);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/cabin-cluster-test.XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	TU_RUN(test_segment);
	TU_RUN(test_ports);
	TU_RUN(test_files);
	TU_RUN(test_user_data_merge);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return TU_EXIT();
}
