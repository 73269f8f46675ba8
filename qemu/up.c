/* `cabin up`: boot nodes from the image under QEMU in the background and wait until each
 * prints its ready line on the serial console. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../image/build.h"
#include "../lib/fsutil.h"
#include "qemu.h"

struct up_opts {
	int nodes;
	const char *image, *state, *accel, *user_data, *config_drive, *network, *cluster;
	unsigned port_base;
	int port_fixed;		/* --client-port-base given: a busy port is an error */
	unsigned memory_mb;
	unsigned timeout_s;
	int no_config_drive;
	const char *extra[QEMU_EXTRA_MAX];	/* --qemu-arg, in order */
	int n_extra;
};

static void up_usage(FILE *out)
{
	fprintf(out,
		"Usage: cabin up [-n N] [--image FILE] [--state DIR] [--memory MB]\n"
		"                [--accel auto|kvm|tcg] [--network user[,OPTS]|isolated]\n"
		"                [--user-data FILE | --config-drive FILE | --no-config-drive]\n"
		"                [--cluster NAME] [--client-port-base PORT]\n"
		"                [--qemu-arg ARG]... [--timeout SECONDS]\n"
		"\n"
		"Boots the appliance under QEMU in the background, all nodes at once, and\n"
		"waits for each node's ready line, which it prints (exit status 1 if a node\n"
		"comes up degraded). Each node gets a fresh copy of the image, a serial log\n"
		"and a QMP socket in STATE/nodeN/, and a config drive (config-2, as OpenStack\n"
		"makes it) naming the node and carrying the user data. Node K's etcd client\n"
		"port (2379) is forwarded from 127.0.0.1 on the host (with user networking);\n"
		"the endpoints are printed at the end, ready for etcdctl.\n"
		"\n"
		"With -n 2 or more the nodes form one KV cluster: each gets a second NIC on a\n"
		"private Ethernet segment shared by the cluster's VMs (a QEMU multicast socket\n"
		"on the host's loopback; no root needed) with the static address 10.99.0.K/24\n"
		"(network_data.json), and user data whose cabin: section names every member\n"
		"(nodeK, peer http://10.99.0.K:2380, client http://10.99.0.K:2379).\n"
		"\n"
		"  -n, --nodes N        number of nodes, 1-9 (default 1)\n"
		"  --image FILE         qcow2 to boot (default %s)\n"
		"  --state DIR          state directory (default %s)\n"
		"  --memory MB          guest memory (default 256)\n"
		"  --user-data FILE     cloud-init user data for the nodes' config drive; with\n"
		"                       -n 2 or more it must be #cloud-config and is sent as\n"
		"                       the first part of a MIME multipart whose second part\n"
		"                       is the cluster's (hostname, cabin.cluster, members:\n"
		"                       these win; do not give members in FILE)\n"
		"  --cluster NAME       the cluster's name, also its KV initial-cluster-token\n"
		"                       (default cabin-local; -n 2 or more)\n"
		"  --client-port-base PORT  node K's client port on the host is PORT+K\n"
		"                       (default %d, and any free port where that one is\n"
		"                       taken; given, a taken port is an error)\n"
		"  --config-drive FILE  attach this image (an OpenStack config drive or a NoCloud\n"
		"                       seed) instead of writing one: an iso9660 image as a\n"
		"                       CD-ROM, as OpenStack does, anything else as a disk\n"
		"  --no-config-drive    no config drive: the node asks the metadata service, as\n"
		"                       on a cloud without config drives\n"
		"  --accel MODE         auto (default: KVM if the guest makes progress under it\n"
		"                       within %d s, else TCG), kvm or tcg\n"
		"  --network MODE       user (default: QEMU user networking, with its DHCP\n"
		"                       server) or isolated (a NIC on a link of its own);\n"
		"                       user,OPTS adds QEMU -netdev user options, e.g.\n"
		"                       user,net=169.254.169.0/24,guestfwd=tcp:169.254.169.254:\n"
		"                       80-cmd:CMD serves a metadata service from the host (QEMU\n"
		"                       forwards only addresses inside its user network)\n"
		"  --qemu-arg ARG       pass ARG to QEMU as it is (repeat for each word), e.g.\n"
		"                       a second NIC or -smbios type=1,serial=ds=nocloud;s=URL\n"
		"  --timeout SECONDS    how long to wait for the ready line (default 300)\n"
		"  -h, --help           this help\n",
		QEMU_DEFAULT_IMAGE, QEMU_DEFAULT_STATE, QEMU_CLIENT_PORT_BASE, QEMU_KVM_PROBE_S);
}

static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi || s[0] == '-')
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int up_parse(int argc, char **argv, struct up_opts *o)
{
	static const struct option opts[] = {
		{ "nodes", required_argument, NULL, 'n' },
		{ "image", required_argument, NULL, 'i' },
		{ "state", required_argument, NULL, 's' },
		{ "memory", required_argument, NULL, 'm' },
		{ "accel", required_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "user-data", required_argument, NULL, 'u' },
		{ "config-drive", required_argument, NULL, 'c' },
		{ "network", required_argument, NULL, 'N' },
		{ "no-config-drive", no_argument, NULL, 'C' },
		{ "qemu-arg", required_argument, NULL, 'q' },
		{ "cluster", required_argument, NULL, 'k' },
		{ "client-port-base", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned v;
	int ch;
	while ((ch = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			if (parse_uint(optarg, 1, 9, &v) < 0) {
				fprintf(stderr, "cabin up: -n %s: expected a number 1-9\n", optarg);
				return 2;
			}
			o->nodes = (int)v;
			break;
		case 'i': o->image = optarg; break;
		case 'u': o->user_data = optarg; break;
		case 'c': o->config_drive = optarg; break;
		case 'N':
			if (strcmp(optarg, "user") && strcmp(optarg, "isolated") &&
			    strncmp(optarg, "user,", 5)) {
				fprintf(stderr, "cabin up: --network %s: expected user, user,OPTS or "
					"isolated\n", optarg);
				return 2;
			}
			o->network = optarg;
			break;
		case 'C': o->no_config_drive = 1; break;
		case 'q':
			if (o->n_extra == QEMU_EXTRA_MAX) {
				fprintf(stderr, "cabin up: more than %d --qemu-arg\n", QEMU_EXTRA_MAX);
				return 2;
			}
			o->extra[o->n_extra++] = optarg;
			break;
		case 's': o->state = optarg; break;
		case 'k':
			if (!optarg[0] || strlen(optarg) > 63 ||
			    strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					   "0123456789._-") != strlen(optarg)) {
				fprintf(stderr, "cabin up: --cluster %s: expected 1-63 of "
						"[A-Za-z0-9._-]\n", optarg);
				return 2;
			}
			o->cluster = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 1024, 65535 - 9, &o->port_base) < 0) {
				fprintf(stderr, "cabin up: --client-port-base %s: expected 1024-%d\n",
					optarg, 65535 - 9);
				return 2;
			}
			o->port_fixed = 1;
			break;
		case 'a':
			if (strcmp(optarg, "auto") && strcmp(optarg, "kvm") && strcmp(optarg, "tcg")) {
				fprintf(stderr, "cabin up: --accel %s: expected auto, kvm or tcg\n",
					optarg);
				return 2;
			}
			o->accel = optarg;
			break;
		case 'm':
			if (parse_uint(optarg, 64, 65536, &o->memory_mb) < 0) {
				fprintf(stderr, "cabin up: --memory %s: expected 64-65536 (MiB)\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			if (parse_uint(optarg, 1, 86400, &o->timeout_s) < 0) {
				fprintf(stderr, "cabin up: --timeout %s: expected seconds\n", optarg);
				return 2;
			}
			break;
		case 'h': up_usage(stdout); return 0;
		default: fprintf(stderr, "Try 'cabin up --help'.\n"); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cabin up: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!!o->user_data + !!o->config_drive + o->no_config_drive > 1) {
		fprintf(stderr, "cabin up: --user-data, --config-drive and --no-config-drive "
			"exclude each other\n");
		return 2;
	}
	if (o->nodes > 1 && (o->config_drive || o->no_config_drive)) {
		fprintf(stderr, "cabin up: -n %d: a cluster's nodes each need a config drive of "
				"their own; --config-drive and --no-config-drive are for -n 1\n",
			o->nodes);
		return 2;
	}
	return -1;
}

/* Copies the image to the node's own disk; written to a temporary name, then renamed. */
static int copy_image(const char *src, const char *dst)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		int e = errno;
		close(in);
		return -e;
	}
	char buf[1 << 16];
	ssize_t n;
	int rc = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = errno ? -errno : -EIO;
			break;
		}
	if (n < 0)
		rc = -errno;
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, dst) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* An iso9660 image has "CD001" in its first volume descriptor, at 32 KiB. */
static int is_iso(const char *path)
{
	char magic[5];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = pread(fd, magic, sizeof(magic), 32769);
	close(fd);
	return n == 5 && memcmp(magic, "CD001", 5) == 0;
}

/* The first NIC: QEMU user networking (its DHCP server; the node's client port forwarded
 * from the host) or a link of its own. */
static void netdev_arg(const struct up_opts *o, unsigned port, char *out, size_t len)
{
	if (strcmp(o->network, "isolated") == 0) {
		snprintf(out, len, "hubport,id=net0,hubid=0");
		return;
	}
	snprintf(out, len, "user,id=net0%s%s,hostfwd=tcp:127.0.0.1:%u-:2379",
		 strncmp(o->network, "user,", 5) ? "" : ",", strncmp(o->network, "user,", 5) ?
		 "" : o->network + 5, port);
}

/* Starts QEMU daemonized; returns 0 once it has forked into the background. */
static int node_spawn(const struct qemu_node *n, const struct up_opts *o, const char *accel,
		      int k, unsigned port)
{
	char disk[4200], serial[4200], qmp[4200], pid[4200], drive[4300], ser[4300],
		qmparg[4300], machine[64], mem[16], cfg[4200], cfgdrive[4300], seg[64],
		segdev[128], segnic[128], netdev[1024];
	qemu_node_path(n, "disk.qcow2", disk, sizeof(disk));
	qemu_node_path(n, "serial.log", serial, sizeof(serial));
	qemu_node_path(n, "qmp.sock", qmp, sizeof(qmp));
	qemu_node_path(n, "qemu.pid", pid, sizeof(pid));
	qemu_node_path(n, "config-2.img", cfg, sizeof(cfg));
	snprintf(drive, sizeof(drive), "file=%s,format=qcow2,if=none,id=disk0", disk);
	/* an ISO goes in a CD-ROM drive, as OpenStack attaches config drives */
	int cd = is_iso(cfg);
	snprintf(cfgdrive, sizeof(cfgdrive), "file=%s,format=raw,if=none,id=cfg0,readonly=on%s",
		 cfg, cd ? ",media=cdrom" : "");
	snprintf(ser, sizeof(ser), "file:%s", serial);
	snprintf(qmparg, sizeof(qmparg), "unix:%s,server=on,wait=off", qmp);
	snprintf(machine, sizeof(machine), "q35,accel=%s", accel);
	snprintf(mem, sizeof(mem), "%u", o->memory_mb);
	unlink(qmp);
	unlink(serial);
	netdev_arg(o, port, netdev, sizeof(netdev));
	const char *argv[64 + QEMU_EXTRA_MAX] = {
		"qemu-system-x86_64", "-name", n->name, "-machine", machine, "-m", mem,
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", ser,
		"-qmp", qmparg, "-drive", drive,
		"-device", "virtio-blk-pci,drive=disk0,bootindex=1",
		"-netdev", netdev, "-device", "virtio-net-pci,netdev=net0",
		"-device", "virtio-rng-pci", "-daemonize", "-pidfile", pid,
	};
	int argc = 0;
	while (argv[argc])
		argc++;
	if (!o->no_config_drive) {
		argv[argc++] = "-drive";
		argv[argc++] = cfgdrive;
		argv[argc++] = "-device";
		argv[argc++] = cd ? "ide-cd,drive=cfg0" : "virtio-blk-pci,drive=cfg0";
	}
	if (o->nodes > 1) {
		qemu_segment(o->state, seg, sizeof(seg));
		snprintf(segdev, sizeof(segdev), "socket,id=net1,mcast=%s,localaddr=127.0.0.1",
			 seg);
		snprintf(segnic, sizeof(segnic), "virtio-net-pci,netdev=net1,mac="
			 QEMU_SEGMENT_MAC "%02x", k);
		argv[argc++] = "-netdev";
		argv[argc++] = segdev;
		argv[argc++] = "-device";
		argv[argc++] = segnic;
	}
	for (int i = 0; i < o->n_extra; i++)
		argv[argc++] = o->extra[i];
	argv[argc] = NULL;
	return qemu_spawn(n, argv);
}

static void write_small(const struct qemu_node *n, const char *file, const char *text)
{
	char path[4200];
	qemu_node_path(n, file, path, sizeof(path));
	if (!text[0]) {
		unlink(path);
		return;
	}
	FILE *f = fopen(path, "we");
	if (f) {
		fprintf(f, "%s\n", text);
		fclose(f);
	}
}

static int node_prepare(const struct up_opts *o, const struct qemu_node *n, int k)
{
	char disk[4200], why[512];
	int rc = fs_mkdirs(n->dir, 1);
	if (rc == 0) {
		qemu_node_path(n, "disk.qcow2", disk, sizeof(disk));
		rc = copy_image(o->image, disk);
	}
	if (rc < 0) {
		fprintf(stderr, "cabin up: %s: preparing %s: %s\n", n->name, n->dir, strerror(-rc));
		return rc;
	}
	if (o->no_config_drive)
		return 0;
	if (o->config_drive) {
		char cfg[4200];
		qemu_node_path(n, "config-2.img", cfg, sizeof(cfg));
		if ((rc = copy_image(o->config_drive, cfg)) < 0)
			fprintf(stderr, "cabin up: %s: config drive %s: %s\n", n->name,
				o->config_drive, strerror(-rc));
		return rc;
	}
	if (o->nodes == 1)
		rc = qemu_config_drive(n, o->user_data, NULL, why, sizeof(why));
	else {
		char ud[4200], nd[4200];
		qemu_node_path(n, "user-data", ud, sizeof(ud));
		qemu_node_path(n, "network_data.json", nd, sizeof(nd));
		rc = qemu_cluster_files(n, k, o->nodes, o->cluster, o->user_data, why,
					sizeof(why));
		if (rc == 0)
			rc = qemu_config_drive(n, ud, nd, why, sizeof(why));
	}
	if (rc < 0)
		fprintf(stderr, "cabin up: %s: %s\n", n->name, why);
	return rc;
}

static int node_start(const struct up_opts *o, const struct qemu_node *n, int k,
		      const char *accel)
{
	char why[300], client[64] = "";
	unsigned port = 0;
	if (node_prepare(o, n, k) < 0)
		return -1;
	if (strcmp(o->network, "isolated") != 0) {
		if (qemu_pick_port(o->port_base, k, o->port_fixed, &port, why, sizeof(why)) < 0) {
			fprintf(stderr, "cabin up: %s: %s\n", n->name, why);
			return -1;
		}
		snprintf(client, sizeof(client), "127.0.0.1:%u", port);
	}
	write_small(n, "accel", accel);
	write_small(n, "client", client);
	printf("%s: booting %s (%s, %u MiB)\n", n->name, o->image, accel, o->memory_mb);
	fflush(stdout);
	if (node_spawn(n, o, accel, k, port) < 0) {
		fprintf(stderr, "cabin up: %s: QEMU failed to start\n", n->name);
		return -1;
	}
	return 0;
}

/* Boots under KVM; if cabind says nothing in time, restarts the node under TCG. Returns
 * the accelerator the node ends up with, or NULL if QEMU would not start. */
static const char *node_start_probing(const struct up_opts *o, const struct qemu_node *n,
				      int k)
{
	if (node_start(o, n, k, "kvm") < 0) {
		printf("%s: QEMU does not start under KVM; using TCG instead\n", n->name);
		qemu_remember_accel(o->state, "tcg");
		return node_start(o, n, k, "tcg") < 0 ? NULL : "tcg";
	}
	for (int t = 0; t < QEMU_KVM_PROBE_S * 10; t++) {
		if (qemu_log_has(n, "cabin: ")) {
			qemu_remember_accel(o->state, "kvm");
			return "kvm";
		}
		if (!qemu_node_pid(n))
			break;
		poll(NULL, 0, 100);
	}
	printf("%s: no output from the guest under KVM in %d s; using TCG instead\n", n->name,
	       QEMU_KVM_PROBE_S);
	pid_t pid = qemu_node_pid(n);
	if (pid) {
		kill(pid, SIGKILL);
		qemu_wait_exit(pid, 5000);
		qemu_node_forget(n);
	}
	qemu_remember_accel(o->state, "tcg");
	return node_start(o, n, k, "tcg") < 0 ? NULL : "tcg";
}

/* Starts node k; with accel "probe" (the first node), finds out whether KVM works. */
static int node_up(const struct up_opts *o, const struct qemu_node *n, int k)
{
	const char *accel = qemu_pick_accel(o->accel, o->state);
	if (strcmp(accel, "probe") == 0)
		return node_start_probing(o, n, k) ? 0 : -1;
	return node_start(o, n, k, accel);
}

/* What to give etcdctl: every node's forwarded client port. */
static void print_endpoints(const struct qemu_node *nodes, int n)
{
	char client[64], all[QEMU_NODES_MAX * 24] = "";
	size_t len = 0;
	for (int i = 0; i < n; i++) {
		qemu_node_read(&nodes[i], "client", client, sizeof(client));
		if (!client[0])
			return;	/* no user networking: nothing forwarded */
		if (n > 1)
			printf("%s: etcd client endpoint %s (" QEMU_SEGMENT_NET "%d:2379 on the "
			       "cluster segment)\n", nodes[i].name, client, i + 1);
		else
			printf("%s: etcd client endpoint %s\n", nodes[i].name, client);
		len += (size_t)snprintf(all + len, sizeof(all) - len, "%s%s", i ? "," : "", client);
	}
	printf("export ETCDCTL_ENDPOINTS=%s\n", all);
}

/* Nodes of an earlier, larger cluster in the same state dir would join the new one's
 * segment with a stale disk: any running node stops cabin up, the stopped ones beyond N
 * are removed. Returns 0, or 1 when a node is running. */
static int clear_state(const struct up_opts *o)
{
	char names[QEMU_NODES_MAX][32];
	int found = qemu_node_list(o->state, names, QEMU_NODES_MAX);
	for (int i = 0; i < found; i++) {
		struct qemu_node n;
		if (qemu_node_init(&n, o->state, names[i]) < 0)
			continue;
		pid_t running = qemu_node_pid(&n);
		if (running) {
			fprintf(stderr, "cabin up: %s is already running (pid %d); run 'cabin "
					"down' first\n", n.name, (int)running);
			return 1;
		}
	}
	for (int i = 0; i < found; i++) {
		char *end;
		long k = strtol(names[i] + 4, &end, 10);
		if (*end || end == names[i] + 4 || (k >= 1 && k <= o->nodes))
			continue;
		struct qemu_node n;
		struct img_err err = { "" };
		if (qemu_node_init(&n, o->state, names[i]) < 0)
			continue;
		char *rm[] = { "rm", "-rf", n.dir, NULL };
		if (img_run(rm, NULL, -1, &err) == 0)
			printf("%s: removed (left by an earlier cabin up in %s)\n", n.name, o->state);
	}
	return 0;
}

int qemu_up_main(int argc, char **argv)
{
	struct up_opts o = { .nodes = 1, .image = QEMU_DEFAULT_IMAGE, .state = QEMU_DEFAULT_STATE,
			     .accel = "auto", .memory_mb = 256, .timeout_s = 300, .network = "user",
			     .cluster = "cabin-local", .port_base = QEMU_CLIENT_PORT_BASE };
	struct qemu_node nodes[QEMU_NODES_MAX];
	int rc = up_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	struct stat st;
	if (stat(o.image, &st) < 0) {
		fprintf(stderr, "cabin up: image %s: %s (build it with 'make')\n", o.image,
			strerror(errno));
		return 1;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "cabin up: image %s: not a regular file\n", o.image);
		return 1;
	}
	if ((rc = fs_mkdirs(o.state, 1)) < 0) {
		fprintf(stderr, "cabin up: state dir %s: %s\n", o.state, strerror(-rc));
		return 1;
	}
	for (int i = 0; i < o.nodes; i++) {
		char name[32];
		snprintf(name, sizeof(name), "node%d", i + 1);
		if (qemu_node_init(&nodes[i], o.state, name) < 0) {
			fprintf(stderr, "cabin up: state dir path too long: %s\n", o.state);
			return 1;
		}
	}
	if (clear_state(&o) != 0)
		return 1;
	/* every node boots at once; only then is there any waiting */
	for (int i = 0; i < o.nodes; i++)
		if (node_up(&o, &nodes[i], i + 1) < 0)
			return 1;
	if (qemu_wait_ready(nodes, o.nodes, o.timeout_s, "up") != 0)
		return 1;
	print_endpoints(nodes, o.nodes);
	return 0;
}
