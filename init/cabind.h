/* Private interface of cabind, the appliance's PID 1 and node daemon: the state shared
 * by start-up, the signal and power-button handlers, shutdown and the panic path. */
#ifndef CABIND_H
#define CABIND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/ev.h"
#include "../lib/version.h"
#include "../kv/kv.h"

struct http;

/* Where configuration comes from over the network, when it does. */
enum remote_kind {
	REMOTE_NONE,
	REMOTE_CABIN_CONFIG,	/* cabin.config=URL: user data */
	REMOTE_NOCLOUD,		/* ds=nocloud;s=URL: meta-data, user-data, network-config */
	REMOTE_METADATA,	/* the OpenStack (or EC2) metadata service */
};

enum power_action { POWER_NONE, POWER_OFF, POWER_REBOOT, POWER_HALT };

struct cabind {
	struct ev_loop *loop;
	int pid1;		/* running as the init process of a machine */
	int sigfd;
	int ueventfd;		/* kernel uevents, for input devices appearing late */
	uint64_t input_open;	/* bit n: /dev/input/event<n> is watched */
	int input_fd[64];	/* its fd, or -1 */
	enum power_action panic_action;
	enum power_action stopping;
	const char *cmdline;	/* kernel command line, "" outside the appliance */
	char hostname[65];
	const char *source;	/* where the configuration came from */
	char degraded[256];	/* why configuration failed; "" when it did not */
	int config_error;	/* a configuration source had an error (not applied) */
	struct net_state *net;	/* network.c's; NULL before network_start */
	struct node_config *config;	/* what the configuration sources said; NULL if none */
	enum remote_kind remote;	/* configuration to fetch once the network is up */
	char remote_url[1024];		/* its URL (the seed's base for nocloud) */
	struct http *http;		/* the HTTP client, once something needs one */
	struct kv_opts kv_opts;		/* the KV store's options (etcd's flags) */
	int kv_enabled;
	struct kv_server *kv;		/* the KV store, when it runs */
	int ready;		/* the ready (or degraded) line has been printed */
	pid_t data_modules;	/* the child loading the data disk's modules, 0 when none */
	uint64_t start_ms;	/* ev_now_ms() when the process started */
};

/* cmdline.c: the kernel command line, a pure parser. */
/* Finds the last "key=value" (or bare "key") word in cmdline; double quotes group a value
 * with spaces. Copies the value, unquoted, into out (NUL-terminated, truncated to outlen).
 * Returns 1 if found, 0 if not. */
int cmdline_get(const char *cmdline, const char *key, char *out, size_t outlen);
/* Parses "poweroff|reboot|halt"; returns POWER_NONE for anything else. */
enum power_action power_parse(const char *word);
const char *power_name(enum power_action act);
/* Returns 1 if name is a usable host name: 1-64 of [A-Za-z0-9.-], no leading '-' or
 * '.', no empty label. */
int hostname_valid(const char *name);
/* The value of cloud-init's ds= (from the kernel command line or the SMBIOS serial):
 * "nocloud;s=URL" or "nocloud-net;seedfrom=URL". Returns 1 with the seed URL copied into
 * url ("" when there is none; truncated to urllen), 0 when ds names another data source. */
int ds_nocloud_url(const char *ds, char *url, size_t urllen);

/* probe.c: which filesystem a block device holds, from its first bytes (pure). */
enum fs_type { FS_UNKNOWN, FS_ISO9660, FS_VFAT, FS_EXT4 };
struct fs_probe {
	enum fs_type type;
	char label[33];
};
/* How many leading bytes fs_probe wants (iso9660 keeps its label at 32 KiB). */
#define FS_PROBE_BYTES 36864
/* Identifies the filesystem whose first len bytes are buf. Returns 0 with out filled
 * (label "" when none), or -EINVAL when it is none of iso9660, FAT, ext2/3/4. */
int fs_probe(const uint8_t *buf, size_t len, struct fs_probe *out);
const char *fs_type_name(enum fs_type t);
/* Compares the label without regard to case (config-2 / CONFIG-2). */
int fs_label_is(const struct fs_probe *p, const char *label);

/* blockdev.c */
struct blk_found {
	char dev[64];		/* name under /dev, e.g. "vdb" or "sr0" */
	struct fs_probe probe;
};
/* Looks on every block device for a filesystem with one of labels (NULL-terminated; case
 * ignored), waiting until devices stop appearing (bounded by max_wait_ms; 0: one look,
 * for devices already settled). Returns 1 with found filled, 0 if none carries such a
 * label, or -errno if /sys cannot be read. */
int blk_find_label(const char *const *labels, unsigned max_wait_ms, struct blk_found *found);

/* config.c: finds and applies the node's configuration before the ready line. */
struct cfg_files;
/* Looks for a config drive or NoCloud seed and applies it; when there is none (or the
 * command line names a URL) sets c->remote for config_fetch_start. */
void config_load(struct cabind *c);
/* Parses the files of one source (meta data first, then network data, then user data)
 * and applies them: c->config is set. */
void config_use(struct cabind *c, const struct cfg_files *f);

/* configfetch.c: configuration over HTTP, once the network is up. Fetches what
 * c->remote names (retrying with backoff while the network has an address, bounded),
 * applies it, then calls boot_finish. With nothing to fetch, calls boot_finish at once. */
void config_fetch_start(struct cabind *c);
/* configapply.c: logs the parsers' diagnostics (the first error makes the node degraded),
 * sets the host name and writes write_files. */
struct node_config;
struct cfg_diag;
void config_apply(struct cabind *c, struct node_config *cfg, struct cfg_diag *diag);

/* configsrc.c: configuration from a config drive or NoCloud seed. */
struct cfg_files {
	const char *kind;	/* "config-drive", "nocloud", "metadata-service",
				 * "nocloud-net" or "cabin.config" */
	int openstack;		/* meta and network data are OpenStack's JSON */
	char dev[64];		/* the device it came from */
	char version[32];	/* config drive: the openstack/<version> read */
	char *meta, *user, *network;	/* NUL-terminated, or NULL when absent */
	size_t meta_len, user_len, network_len;
	char error[256];	/* why reading failed */
};
/* Finds a config-2 or cidata filesystem (waiting at most max_wait_ms for devices to
 * settle), mounts it read-only, reads its files (16 MiB each at most) and unmounts it.
 * Returns 1 with out filled, 0 when there is no such drive, or a negative code with
 * out->error saying what failed. The buffers are freed with cfgsrc_free. */
int cfgsrc_read_drive(struct cfg_files *out, unsigned max_wait_ms);
void cfgsrc_free(struct cfg_files *f);

/* datadisk.c: the data filesystem (label cabin-data) at /var/lib/cabin. */
#define DATA_LABEL "cabin-data"
#define DATA_DIR "/var/lib/cabin"
/* Grows MBR partition partno (1-4) of the 512-byte sector sec0 to end at the last of
 * disk_sectors, if it is the last partition on the disk. Returns 1 if changed (with the
 * old and new sector counts), 0 if it already fills the disk, or -EINVAL when sec0 is no
 * MBR, the entry is empty or a partition lies after it. Pure. */
int mbr_grow(uint8_t sec0[512], int partno, uint64_t disk_sectors, uint32_t *old_count,
	     uint32_t *new_count);
/* Finds the data filesystem, grows its partition and the ext4 on it to the end of the
 * disk, and mounts it at DATA_DIR; without one, mounts a tmpfs there and sets
 * c->degraded. */
void datadisk_setup(struct cabind *c);

/* kvconf.c: the KV store's options from the cabin: section (pure). */
struct cabin_config;
#define KV_DATA_DIR DATA_DIR "/kv"
/* Fills o (etcd's flags) for this node from cc (NULL: no cabin: section): with members,
 * this node is the one whose name is hostname, the initial cluster is every member, it
 * listens for peers on 0.0.0.0 (kv.peer_port, else its peer URL's port) and for clients
 * on kv.listen:kv.client_port, and advertises its client_url (else its peer host with
 * the client port); without members, a cluster of one named hostname. The token is
 * cabin.cluster (etcd's default without it); data in data_dir. Returns 1 to start the
 * embedded store, 0 when kv.external names another etcd, or -EINVAL with err saying what
 * (e.g. no member named after the host). */
int kvconf_from_cabin(const struct cabin_config *cc, const char *hostname,
		      const char *data_dir, struct kv_opts *o, char *err, size_t errlen);

/* early.c: what only PID 1 does, before the loop exists. */
/* Mounts proc, sys, devtmpfs, /run and /tmp and reopens fds 0-2 on /dev/console.
 * Returns 0, or -errno of the first mount that failed (the rest are still tried). */
int early_mounts(void);
/* Reads /proc/cmdline into a static buffer; returns "" when it cannot. */
const char *early_read_cmdline(void);
/* Hands Ctrl-Alt-Del to us as SIGINT instead of an immediate reboot. */
void early_disable_cad(void);

/* modules.c */
/* Loads every module named in the list file (one path per line, dependency order),
 * with finit_module. Returns the number that failed; each failure is logged. */
int modules_load_list(const char *list_path);
/* Runs modules_load_list in a child process (signals unblocked, so shutdown can stop
 * it); PID 1 reaps it like any child. Returns its pid or -errno. */
pid_t modules_load_background(const char *list_path);

/* signals.c */
/* Blocks the signals cabind handles and watches them as a signalfd in the loop. */
int signals_setup(struct cabind *c);

/* power.c: the ACPI power button, seen as KEY_POWER on an evdev device. */
int power_setup(struct cabind *c);
/* Opens any /dev/input/event* with a power key not already watched. */
void power_scan(struct cabind *c);

/* shutdown.c */
/* Stops services and children, syncs, unmounts, then powers off / reboots / halts (PID 1)
 * or exits 0 (daemon). Never returns. */
void shutdown_now(struct cabind *c, enum power_action act, const char *why)
	__attribute__((noreturn));
/* Logs the cause on the console and ends the node as cabin.panic= says. Never returns. */
void cabind_panic(struct cabind *c, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* Collects every exited child; returns how many. */
int reap_children(void);

/* network.c */
/* Sets links up and starts DHCP on each; calls boot_finish once every link has a lease
 * or the wait ran out (then c->degraded names the link). */
void network_start(struct cabind *c);
/* Applies a network configuration that arrived over the network (static addresses,
 * routes, DNS of the links it names; links on DHCP keep it). */
void network_config_late(struct cabind *c);
/* Releases leases before shutdown. */
void network_stop(struct cabind *c);

/* main.c: prints the ready line and starts what follows it, once. */
void boot_finish(struct cabind *c);

/* ready.c */
/* Prints "cabin: ready version=... hostname=... source=... addrs=... boot_ms=...", or,
 * when c->degraded is set, "cabin: degraded reason="..." version=..." with the same
 * fields. */
void ready_announce(struct cabind *c);

#endif
