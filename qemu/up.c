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

#include "../lib/fsutil.h"
#include "qemu.h"

struct up_opts {
	int nodes;
	const char *image, *state, *accel, *user_data, *config_drive, *network;
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
		"                [--qemu-arg ARG]... [--timeout SECONDS]\n"
		"\n"
		"Boots the appliance under QEMU in the background and waits for each node's\n"
		"ready line, which it prints (exit status 1 if a node comes up degraded).\n"
		"Each node gets a fresh copy of the image, a serial log and a QMP socket in\n"
		"STATE/nodeN/, and a config drive (config-2, as OpenStack makes it) naming\n"
		"the node and carrying the user data.\n"
		"\n"
		"  -n, --nodes N        number of nodes (default 1; clusters come later)\n"
		"  --image FILE         qcow2 to boot (default %s)\n"
		"  --state DIR          state directory (default %s)\n"
		"  --memory MB          guest memory (default 256)\n"
		"  --user-data FILE     cloud-init user data for the nodes' config drive\n"
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
		QEMU_DEFAULT_IMAGE, QEMU_DEFAULT_STATE, QEMU_KVM_PROBE_S);
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

/* Starts QEMU daemonized; returns 0 once it has forked into the background. */
static int node_spawn(const struct qemu_node *n, const struct up_opts *o, const char *accel)
{
	char disk[4200], serial[4200], qmp[4200], pid[4200], drive[4300], ser[4300],
		qmparg[4300], machine[64], mem[16], cfg[4200], cfgdrive[4300];
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
	char netdev[1024];
	snprintf(netdev, sizeof(netdev), "%s%s", strcmp(o->network, "isolated") ?
		 "user,id=net0" : "hubport,id=net0,hubid=0",
		 strncmp(o->network, "user,", 5) ? "" : o->network + 4);
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
	for (int i = 0; i < o->n_extra; i++)
		argv[argc++] = o->extra[i];
	argv[argc] = NULL;
	pid_t child = fork();
	if (child < 0)
		return -errno;
	if (child == 0) {
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cabin up: cannot run qemu-system-x86_64: %s\n",
			strerror(errno));
		_exit(127);
	}
	int status;
	if (waitpid(child, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

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

static int node_wait_ready(const struct qemu_node *n, unsigned timeout_s)
{
	char line[1024];
	for (unsigned t = 0; t < timeout_s * 10u; t++) {
		if (qemu_find_ready(n, line, sizeof(line))) {
			printf("%s: %s\n", n->name, line);
			if (strstr(line, "cabin: ready "))
				return 0;
			fprintf(stderr, "cabin up: %s is up but degraded (cabin console %s)\n",
				n->name, n->name);
			return 1;
		}
		if (!qemu_node_pid(n)) {
			fprintf(stderr, "cabin up: %s: QEMU exited before the node was ready\n",
				n->name);
			print_log_tail(n);
			return 1;
		}
		poll(NULL, 0, 100);
	}
	fprintf(stderr, "cabin up: %s: no ready line after %u s; it is still running "
			"(cabin console %s, cabin down)\n", n->name, timeout_s, n->name);
	print_log_tail(n);
	return 1;
}

static void write_accel(const struct qemu_node *n, const char *accel)
{
	char path[4200];
	qemu_node_path(n, "accel", path, sizeof(path));
	FILE *f = fopen(path, "we");
	if (f) {
		fprintf(f, "%s\n", accel);
		fclose(f);
	}
}

static int node_prepare(const struct up_opts *o, const struct qemu_node *n)
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
	if ((rc = qemu_config_drive(n, o->user_data, why, sizeof(why))) < 0)
		fprintf(stderr, "cabin up: %s: %s\n", n->name, why);
	return rc;
}

static int node_start(const struct up_opts *o, const struct qemu_node *n, const char *accel)
{
	if (node_prepare(o, n) < 0)
		return -1;
	write_accel(n, accel);
	printf("%s: booting %s (%s, %u MiB)\n", n->name, o->image, accel, o->memory_mb);
	fflush(stdout);
	if (node_spawn(n, o, accel) < 0) {
		fprintf(stderr, "cabin up: %s: QEMU failed to start\n", n->name);
		return -1;
	}
	return 0;
}

/* Boots under KVM; if cabind says nothing in time, restarts the node under TCG. Returns
 * the accelerator the node ends up with, or NULL if QEMU would not start. */
static const char *node_start_probing(const struct up_opts *o, const struct qemu_node *n)
{
	if (node_start(o, n, "kvm") < 0) {
		printf("%s: QEMU does not start under KVM; using TCG instead\n", n->name);
		qemu_remember_accel(o->state, "tcg");
		return node_start(o, n, "tcg") < 0 ? NULL : "tcg";
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
	return node_start(o, n, "tcg") < 0 ? NULL : "tcg";
}

static int node_up(const struct up_opts *o, int i)
{
	struct qemu_node n;
	char name[32];
	snprintf(name, sizeof(name), "node%d", i);
	if (qemu_node_init(&n, o->state, name) < 0) {
		fprintf(stderr, "cabin up: state dir path too long: %s\n", o->state);
		return 1;
	}
	pid_t running = qemu_node_pid(&n);
	if (running) {
		fprintf(stderr, "cabin up: %s is already running (pid %d); run 'cabin down' "
				"first\n", n.name, (int)running);
		return 1;
	}
	const char *accel = qemu_pick_accel(o->accel, o->state);
	if (strcmp(accel, "probe") == 0) {
		if (!node_start_probing(o, &n))
			return 1;
	} else if (node_start(o, &n, accel) < 0) {
		return 1;
	}
	return node_wait_ready(&n, o->timeout_s);
}

int qemu_up_main(int argc, char **argv)
{
	struct up_opts o = { .nodes = 1, .image = QEMU_DEFAULT_IMAGE, .state = QEMU_DEFAULT_STATE,
			     .accel = "auto", .memory_mb = 256, .timeout_s = 300, .network = "user" };
	int rc = up_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	if (o.nodes > 1) {
		fprintf(stderr, "cabin up: -n %d: only single-node clusters (-n 1) are "
				"supported so far\n", o.nodes);
		return 2;
	}
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
	for (int i = 1; i <= o.nodes; i++)
		if (node_up(&o, i) != 0)
			return 1;
	return 0;
}
