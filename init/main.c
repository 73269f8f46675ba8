/* cabind: the appliance's init process and node daemon. As PID 1 it sets up the machine,
 * then hosts every service in one epoll loop and never exits; started by hand it runs the
 * same loop as an ordinary foreground daemon. Invoked as poweroff, reboot or halt (the
 * kernel's orderly_poweroff runs /sbin/poweroff) it asks PID 1 to do that. */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../kv/kv.h"
#include "cabind.h"

#define MODULE_LIST "/lib/modules/cabin.list"
#define MODULE_LIST_DATA "/lib/modules/cabin-data.list"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: cabind [OPTIONS]\n"
		"\n"
		"The cabin node daemon. In the appliance it runs as PID 1 (the kernel starts it\n"
		"as /init); run by hand it stays in the foreground until SIGTERM or SIGINT.\n"
		"\n"
		"Options:\n"
		"  --log-level LEVEL   error, warn, info (default) or debug\n"
		"  --version           print the version and exit\n"
		"  -h, --help          print this help and exit\n"
		"\n"
		"The etcd-compatible key-value store takes etcd's flags, with etcd's defaults:\n"
		"  --name NAME (default)  --data-dir DIR (NAME.etcd)\n"
		"  --listen-client-urls URLS (http://localhost:2379; port 0: any free port)\n"
		"  --advertise-client-urls URLS  --listen-peer-urls URLS\n"
		"  --initial-advertise-peer-urls URLS  --initial-cluster NAME=URL,...\n"
		"  --initial-cluster-state new|existing  --initial-cluster-token TOKEN\n"
		"  --cert-file --key-file --trusted-ca-file FILE  --client-cert-auth\n"
		"  --peer-cert-file --peer-key-file --peer-trusted-ca-file FILE\n"
		"  --peer-client-cert-auth  --heartbeat-interval MS (100)\n"
		"  --election-timeout MS (1000)  --snapshot-count N (100000)\n"
		"  --quota-backend-bytes BYTES (2 GiB)\n"
		"  --no-kv               do not serve the key-value store\n"
		"\n"
		"Kernel command line (PID 1 only):\n"
		"  cabin.hostname=NAME          host name (default: cabin)\n"
		"  cabin.panic=poweroff|reboot  what an unrecoverable error does (default poweroff)\n"
		"  cabin.log=LEVEL              log level on the console\n"
		"  cabin.debug=panic            exercise the panic path once the node is ready\n"
		"\n"
		"Invoked as poweroff, reboot or halt, asks PID 1 for that action.\n");
}

/* The poweroff/reboot/halt personalities: signal PID 1 and leave. */
static int power_request(const char *name)
{
	enum power_action act = power_parse(name);
	int sig = act == POWER_OFF ? SIGUSR2 : act == POWER_REBOOT ? SIGTERM : SIGUSR1;
	if (kill(1, sig) < 0) {
		fprintf(stderr, "%s: cannot signal init: %s\n", name, strerror(errno));
		return 1;
	}
	return 0;
}

static void loopback_up(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			log_warn("init: lo up");
	}
	close(fd);
}

static void pid1_config(struct cabind *c)
{
	char val[128];
	if (cmdline_get(c->cmdline, "cabin.log", val, sizeof(val))) {
		enum log_level lvl;
		if (log_parse_level(val, &lvl) == 0)
			log_set_level(lvl);
		else
			log_warnx("init: cabin.log=%s: expected error, warn, info or debug", val);
	}
	c->panic_action = POWER_OFF;
	if (cmdline_get(c->cmdline, "cabin.panic", val, sizeof(val))) {
		enum power_action act = power_parse(val);
		if (act == POWER_OFF || act == POWER_REBOOT)
			c->panic_action = act;
		else
			log_warnx("init: cabin.panic=%s: expected poweroff or reboot; using poweroff",
				  val);
	}
	snprintf(c->hostname, sizeof(c->hostname), "cabin");
	if (cmdline_get(c->cmdline, "cabin.hostname", val, sizeof(val))) {
		if (hostname_valid(val))
			memcpy(c->hostname, val, strlen(val) + 1);
		else
			log_warnx("init: cabin.hostname=%s: not a valid host name (letters, "
				  "digits, '-' and '.', at most 64); using %s", val, c->hostname);
	}
	if (sethostname(c->hostname, strlen(c->hostname)) < 0)
		log_warn("init: sethostname %s", c->hostname);
}

/* Milliseconds since the kernel started, for the boot phase log (cabin.log=debug). */
static unsigned long long since_boot_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (unsigned long long)ts.tv_sec * 1000u + (unsigned long long)ts.tv_nsec / 1000000u;
}

static void pid1_start(struct cabind *c)
{
	int rc = early_mounts();
	c->cmdline = early_read_cmdline();
	pid1_config(c);
	log_info("init: cabind %s starting", cabin_version);
	if (rc < 0)
		cabind_panic(c, "cannot mount the kernel filesystems: %s", strerror(-rc));
	early_disable_cad();
	if ((rc = power_setup(c)) < 0)
		log_warnx("power: uevent socket: %s", strerror(-rc));
	log_debug("boot: init at %llu ms", since_boot_ms());
	modules_load_list(MODULE_LIST);
	/* the data filesystem's modules load while block devices settle */
	if (access(MODULE_LIST_DATA, R_OK) == 0 &&
	    (c->data_modules = modules_load_background(MODULE_LIST_DATA)) < 0) {
		log_warnx("modules: background loading: %s", strerror(-c->data_modules));
		c->data_modules = 0;
		modules_load_list(MODULE_LIST_DATA);
	}
	power_scan(c);
	loopback_up();
	log_debug("boot: modules at %llu ms", since_boot_ms());
	config_load(c);
	log_debug("boot: configuration at %llu ms", since_boot_ms());
	datadisk_setup(c);
	log_debug("boot: data disk at %llu ms", since_boot_ms());
}

/* Daemon mode: cabind's own options and etcd's KV flags (long options with values, as
 * etcd spells them). Returns an exit status, or -1 to go on running. */
static int daemon_options(struct cabind *c, int argc, char **argv)
{
	enum { OPT_KV = 1000 };
	static struct option opts[64] = {
		{ "log-level", required_argument, NULL, 'l' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "no-kv", no_argument, NULL, 'K' },
	};
	int base = 4, n = 0;
	for (; kv_flag_names[n] && base + n < 63; n++) {
		int optional = strstr(kv_flag_names[n], "cert-auth") != NULL;
		opts[base + n] = (struct option){ kv_flag_names[n], optional ? optional_argument :
						  required_argument, NULL, OPT_KV + n };
	}
	int ch;
	enum log_level lvl;
	char err[300];
	kv_opts_defaults(&c->kv_opts);
	c->kv_enabled = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch >= OPT_KV && ch < OPT_KV + n) {
			if (kv_opts_set(&c->kv_opts, kv_flag_names[ch - OPT_KV], optarg, err,
					sizeof(err)) != 0) {
				fprintf(stderr, "cabind: %s\n", err);
				return 2;
			}
			continue;
		}
		switch (ch) {
		case 'l':
			if (log_parse_level(optarg, &lvl) < 0) {
				fprintf(stderr, "cabind: --log-level %s: expected error, warn, "
						"info or debug\n", optarg);
				return 2;
			}
			log_set_level(lvl);
			break;
		case 'K':
			c->kv_enabled = 0;
			break;
		case 'V':
			printf("cabind %s\n", cabin_version);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'cabind --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cabind: unexpected argument '%s'\nTry 'cabind --help'.\n",
			argv[optind]);
		return 2;
	}
	return -1;
}

int main(int argc, char **argv)
{
	static struct cabind c = { .sigfd = -1, .ueventfd = -1, .source = "none" };
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (power_parse(base) != POWER_NONE)
		return power_request(base);

	c.start_ms = ev_now_ms();
	log_init("cabin", 2);
	/* The appliance's init is /init from the initramfs, started before /proc exists. A
	 * container's entrypoint is PID 1 too, but with /proc mounted: a daemon there. */
	c.pid1 = getpid() == 1 && (strcmp(argv[0], "/init") == 0 || access("/proc/self", F_OK) < 0);
	c.cmdline = "";
	c.panic_action = POWER_OFF;
	if (!c.pid1) {
		int rc = daemon_options(&c, argc, argv);
		if (rc >= 0)
			return rc;
		if (gethostname(c.hostname, sizeof(c.hostname) - 1) < 0)
			snprintf(c.hostname, sizeof(c.hostname), "localhost");
	}
	c.loop = ev_new();
	if (!c.loop)
		cabind_panic(&c, "event loop: %s", strerror(errno));
	int rc = signals_setup(&c);
	if (rc < 0)
		cabind_panic(&c, "signals: %s", strerror(-rc));
	if (c.pid1) {
		pid1_start(&c);
		network_start(&c);	/* calls boot_finish when networking is done */
	} else {
		char err[300];
		if (c.kv_enabled && (rc = kv_server_start(c.loop, &c.kv_opts, &c.kv, err,
							  sizeof(err))) < 0) {
			log_warnx("kv: %s", err);
			return 1;
		}
		boot_finish(&c);
	}
	rc = ev_run(c.loop);
	cabind_panic(&c, "event loop failed: %s", strerror(-rc));
}
