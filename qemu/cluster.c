/* What makes `cabin up -n N` nodes one cluster: a private Ethernet segment (a QEMU
 * multicast socket on the host's loopback, so no root is needed), a static address on it
 * for each node (network_data.json), the cabin: section naming every member (user data),
 * and a host port forwarded to each node's client port. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qemu.h"

void qemu_segment(const char *state, char *out, size_t len)
{
	char real[PATH_MAX];
	const char *p = realpath(state, real) ? real : state;
	uint32_t h = 2166136261u;	/* FNV-1a of the state dir: one group per cluster */
	for (; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	snprintf(out, len, "230.99.%u.%u:%d", (h >> 8) & 255, 1 + (h & 255) % 254,
		 QEMU_SEGMENT_PORT);
}

/* 1 if nothing listens on 127.0.0.1:port (now). */
static int port_free(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* A port the kernel picks as free on loopback, or 0. */
static unsigned any_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	unsigned port = 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

int qemu_pick_port(unsigned base, int k, int fixed, unsigned *out, char *err, size_t errlen)
{
	unsigned want = base + (unsigned)k;
	if (want <= 65535 && port_free(want)) {
		*out = want;
		return 0;
	}
	if (fixed) {
		snprintf(err, errlen, "host port 127.0.0.1:%u (--client-port-base %u + %d) is "
			 "in use; choose another base", want, base, k);
		return -EADDRINUSE;
	}
	if (!(*out = any_free_port())) {
		snprintf(err, errlen, "no free host port on 127.0.0.1");
		return -EADDRINUSE;
	}
	return 0;
}

static FILE *open_tmp(const char *path, char *tmp, size_t len)
{
	snprintf(tmp, len, "%s.tmp", path);
	return fopen(tmp, "we");
}

static int close_tmp(FILE *f, const char *tmp, const char *path)
{
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return -e;
	}
	return 0;
}

/* The node's second NIC, on the segment: a static address, nothing else (the first NIC,
 * not named, keeps DHCP from QEMU's user network). */
static int write_network_data(const struct qemu_node *n, int k)
{
	char path[4200], tmp[4300];
	qemu_node_path(n, "network_data.json", path, sizeof(path));
	FILE *f = open_tmp(path, tmp, sizeof(tmp));
	if (!f)
		return -errno;
	fprintf(f, "{\"links\": [{\"id\": \"segment\", \"type\": \"phy\", "
		   "\"ethernet_mac_address\": \"" QEMU_SEGMENT_MAC "%02x\"}],\n"
		   " \"networks\": [{\"id\": \"segment-ipv4\", \"link\": \"segment\", "
		   "\"type\": \"ipv4\", \"ip_address\": \"" QEMU_SEGMENT_NET "%d\", "
		   "\"netmask\": \"255.255.255.0\"}],\n \"services\": []}\n", k, k);
	return close_tmp(f, tmp, path);
}

static void write_cabin_section(FILE *f, int k, int nodes, const char *cluster)
{
	fprintf(f, "#cloud-config\n# written by cabin up: this cluster's members\n"
		   "hostname: node%d\ncabin:\n  cluster: %s\n  members:\n", k, cluster);
	for (int i = 1; i <= nodes; i++)
		fprintf(f, "    - name: node%d\n      peer_url: http://" QEMU_SEGMENT_NET "%d:2380\n"
			   "      client_url: http://" QEMU_SEGMENT_NET "%d:2379\n", i, i, i);
}

/* Copies the user's file into f; it must be #cloud-config (YAML or JSON) to be merged. */
static int copy_user(FILE *f, const char *user_data, const char *boundary, char *err,
		     size_t errlen)
{
	FILE *in = fopen(user_data, "re");
	char line[4096];
	int first = 1;
	if (!in) {
		snprintf(err, errlen, "user data %s: %s", user_data, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), in)) {
		if (first && strncmp(line, "#cloud-config", 13) && line[0] != '{') {
			snprintf(err, errlen, "user data %s: a cluster's nodes get it merged with "
				 "their cabin: section, so it must be #cloud-config (YAML or JSON); "
				 "use -n 1 for other kinds", user_data);
			fclose(in);
			return -EINVAL;
		}
		if (strstr(line, boundary)) {
			snprintf(err, errlen, "user data %s: contains the MIME boundary %s",
				 user_data, boundary);
			fclose(in);
			return -EINVAL;
		}
		first = 0;
		fputs(line, f);
	}
	fclose(in);
	return 0;
}

/* Without a file of the user's, the cabin: section alone; with one, both as MIME
 * multipart, the user's part first so that the cluster's part (host name, cluster,
 * members) wins where both set a value. */
static int write_user_data(const struct qemu_node *n, int k, int nodes, const char *cluster,
			   const char *user_data, char *err, size_t errlen)
{
	static const char boundary[] = "==cabin-up-7f3a9c1e==";
	char path[4200], tmp[4300];
	qemu_node_path(n, "user-data", path, sizeof(path));
	FILE *f = open_tmp(path, tmp, sizeof(tmp));
	if (!f) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -errno;
	}
	int rc = 0;
	if (user_data) {
		fprintf(f, "Content-Type: multipart/mixed; boundary=\"%s\"\nMIME-Version: 1.0\n\n"
			   "--%s\nContent-Type: text/cloud-config\n\n", boundary, boundary);
		rc = copy_user(f, user_data, boundary, err, errlen);
		fprintf(f, "\n--%s\nContent-Type: text/cloud-config\n\n", boundary);
	}
	write_cabin_section(f, k, nodes, cluster);
	if (user_data)
		fprintf(f, "\n--%s--\n", boundary);
	if (rc < 0) {
		fclose(f);
		unlink(tmp);
		return rc;
	}
	if ((rc = close_tmp(f, tmp, path)) < 0)
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	return rc;
}

int qemu_cluster_files(const struct qemu_node *n, int k, int nodes, const char *cluster,
		       const char *user_data, char *err, size_t errlen)
{
	int rc = write_user_data(n, k, nodes, cluster, user_data, err, errlen);
	if (rc < 0)
		return rc;
	if ((rc = write_network_data(n, k)) < 0)
		snprintf(err, errlen, "%s/network_data.json: %s", n->dir, strerror(-rc));
	return rc;
}
