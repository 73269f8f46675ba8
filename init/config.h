/* What a node learns from its configuration sources (user-data, OpenStack meta_data.json,
 * NoCloud meta-data), the pure parsers that fill it in, and the diagnostics they report.
 * Bytes in, a struct node_config and a list of messages out: no I/O, no clock, no logging. */
#ifndef CABIN_CONFIG_H
#define CABIN_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- limits ---------------------------------------------------------------------------- */
#define CFG_INPUT_MAX (16u << 20)	/* user data, before and after decompression */
#define CFG_META_MAX (1u << 20)		/* meta_data.json, NoCloud meta-data */
#define CFG_FILE_MAX (16u << 20)	/* one write_files entry, decoded */
#define CFG_FILES_TOTAL_MAX (64u << 20) /* all write_files entries of one parse */
#define CFG_DEPTH_MAX 64		/* YAML/JSON nesting */
#define CFG_DIAG_MAX 100		/* messages kept; further ones are only counted */
#define CFG_LABELS_MAX 256

/* Fixed-size string fields hold at most this many bytes plus a NUL; longer values are
 * errors, never truncated. "" means not set. */
#define CFG_HOSTNAME_MAX 64	/* one label, as Linux HOST_NAME_MAX */
#define CFG_FQDN_MAX 253
#define CFG_ID_MAX 128		/* instance id / uuid */
#define CFG_NAME_MAX 255	/* instance display name, availability zone */
#define CFG_TZ_MAX 64
#define CFG_TOKEN_MAX 63	/* cluster and member names: [A-Za-z0-9._-] */
#define CFG_URL_MAX 255
#define CFG_SOURCE_MAX 47
#define CFG_PATH_MAX 127
#define CFG_TEXT_MAX 255

/* ---- errors ---------------------------------------------------------------------------
 * Parsers return 0 or a negative code: -ENOMEM, or one of these. The diagnostics say what
 * was wrong and where; the code only says which kind of failure it was. */
#define CFG_ERRORS(X)                                                           \
	X(CFG_ESYNTAX, -1100, "malformed input")        /* YAML, JSON, MIME, base64, gzip */ \
	X(CFG_EINVALID, -1101, "invalid configuration") /* wrong types, bad values, unknown cabin keys */ \
	X(CFG_ETOOBIG, -1102, "input too large")

#define CFG_ERR_ENUM(name, value, text) name = value,
enum cfg_code { CFG_ERRORS(CFG_ERR_ENUM) };
#undef CFG_ERR_ENUM

/* Returns a static description of a code from this module (or of -ENOMEM). */
const char *cfg_strerror(int code);

/* ---- diagnostics ----------------------------------------------------------------------- */
enum cfg_severity {
	CFG_ERROR,	/* the source's configuration is unusable; nothing of it was applied */
	CFG_WARNING,	/* applied, but probably not what was meant */
	CFG_IGNORED,	/* a key, part or field that cabin does not act on */
};

struct cfg_msg {
	enum cfg_severity severity;
	unsigned line, col;		/* 1-based; 0 when not known */
	char source[CFG_SOURCE_MAX + 1];	/* "user_data", "user_data[2]" for an encoded part */
	char path[CFG_PATH_MAX + 1];	/* "cabin.kv.listen"; "" for the input as a whole */
	char text[CFG_TEXT_MAX + 1];	/* "cabin.kv.listen: expected string, got list" */
};

/* Messages in the order they were found. msg is an owned heap array of at most
 * CFG_DIAG_MAX entries (identical "ignored" notices are kept once); the counters include
 * the messages that were not kept. Control characters in paths and texts are replaced by
 * '?', so a message can go to the console as it is. */
struct cfg_diag {
	struct cfg_msg *msg;
	size_t n, cap;
	size_t errors, warnings, ignored;
	size_t dropped;			/* not kept: over CFG_DIAG_MAX, or out of memory */
};

/* Empties d (allocates nothing); cfg_diag_free releases msg and empties it again. */
void cfg_diag_init(struct cfg_diag *d);
void cfg_diag_free(struct cfg_diag *d);
/* Records a message (text is "path: " + the formatted text when path is non-empty). Never
 * fails: when the message cannot be kept it is counted in dropped. source may be NULL. */
void cfg_diag_add(struct cfg_diag *d, enum cfg_severity sev, const char *source,
		  unsigned line, unsigned col, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* Formats one message as "SOURCE[:LINE[:COL]]: [warning: |ignored: ]TEXT" (errors carry no
 * prefix: "user_data:7: hostname: expected string, got list"), NUL-terminated and
 * truncated to len. Returns the length it wanted, as snprintf. */
int cfg_msg_format(const struct cfg_msg *m, char *buf, size_t len);
/* The first error, or NULL: what cabind puts into "cabin: degraded reason=...". */
const struct cfg_msg *cfg_diag_first_error(const struct cfg_diag *d);

/* ---- the configuration ----------------------------------------------------------------
 * Fixed-size char arrays for short bounded strings ("" = not set); owned heap copies
 * (malloc'd, freed by node_config_free) for lists, file contents and PEM text. */
struct cfg_strlist {
	char **v;			/* owned strings */
	size_t n, cap;
};

/* One write_files entry. The owner key is not kept: cabind writes files as root (a
 * different owner gets an "ignored" notice). */
struct cfg_file {
	char *path;			/* owned; absolute */
	uint8_t *content;		/* owned; decoded bytes, plus a NUL not counted in len */
	size_t len;
	unsigned mode;			/* permission bits, 0644 when not given */
	int append;			/* 1: append to an existing file instead of replacing it */
};

struct cfg_resolv {
	struct cfg_strlist nameservers;	/* IPv4/IPv6 literals */
	struct cfg_strlist search;	/* searchdomains */
	char domain[CFG_FQDN_MAX + 1];
	struct cfg_strlist options;	/* resolv.conf words: "rotate", "timeout:1" */
	int manage;			/* manage_resolv_conf: -1 not given, 0, 1 */
};

struct cfg_ntp {
	int enabled;			/* -1 not given, 0, 1 */
	struct cfg_strlist servers, pools;
};

/* ---- the cabin: section (cluster configuration) ---------------------------------------
 * Schema, validated strictly: an unknown key or a wrong type is an error naming its path.
 *
 *   cabin:
 *     cluster: STRING            # cluster name, [A-Za-z0-9._-]{1,63}; also the KV
 *                                # initial-cluster-token
 *     members:                   # the initial cluster: a list of maps
 *       - name: STRING           # required, [A-Za-z0-9._-]{1,63}, unique
 *         peer_url: URL          # required, http:// or https://
 *         client_url: URL        # optional, http:// or https://
 *     kv:
 *       listen: STRING           # IP address or host name to serve clients on; 0.0.0.0
 *       client_port: INT         # 1-65535; 2379
 *       peer_port: INT           # 1-65535; 2380
 *       external: [URL, ...]     # use these etcd endpoints instead of the embedded store
 *       snapshot_count: INT      # >= 1; etcd's default when not given
 *       quota_backend_bytes: INT # >= 0; etcd's default when not given
 *     overlay:
 *       network: CIDR            # IPv4, host bits zero, e.g. 10.244.0.0/16
 *       subnet_len: INT          # 8-30, longer than the network's prefix; 24
 *       backend: vxlan|host-gw|udp  # vxlan
 *     docker:
 *       endpoint: STRING         # unix:///absolute/path or tcp://host:port
 *       tls_ca: STRING           # PEM text; tls_cert and tls_key likewise, given together
 *       tls_cert: STRING
 *       tls_key: STRING
 *     labels: {KEY: STRING}      # node labels; KEY [a-z0-9./-]{1,253}, value <= 255 bytes,
 *                                # at most 256 labels
 *
 * STRING means a YAML string or a number as written; booleans (yes, true, on...) and null
 * are not strings. INT means an unquoted integer. Sections may be empty. Values shown after
 * ';' are the defaults node_config_defaults fills in. */
enum cabin_backend { CABIN_BACKEND_UNSET, CABIN_BACKEND_VXLAN, CABIN_BACKEND_HOST_GW,
		     CABIN_BACKEND_UDP };

struct cabin_member {
	char name[CFG_TOKEN_MAX + 1];
	char peer_url[CFG_URL_MAX + 1];
	char client_url[CFG_URL_MAX + 1];	/* "" when not given */
};

struct cabin_label {
	char *key, *value;		/* owned */
};

struct cabin_config {
	int present;			/* a cabin: section was given */
	char cluster[CFG_TOKEN_MAX + 1];
	struct cabin_member *members;	/* owned array */
	size_t n_members, cap_members;
	struct {
		char listen[CFG_URL_MAX + 1];
		int client_port, peer_port;	/* 0: not given */
		struct cfg_strlist external;
		int64_t snapshot_count;		/* 0: not given */
		int64_t quota_backend_bytes;	/* -1: not given */
	} kv;
	struct {
		char network[19];		/* "10.244.0.0/16" as given; "" not given */
		uint32_t addr;			/* the network, host byte order */
		int prefix_len;			/* -1: not given */
		int subnet_len;			/* 0: not given */
		enum cabin_backend backend;
	} overlay;
	struct {
		char endpoint[CFG_URL_MAX + 1];
		char *tls_ca, *tls_cert, *tls_key;	/* owned PEM text, NULL not given */
	} docker;
	struct cabin_label *labels;	/* owned array, keys unique */
	size_t n_labels, cap_labels;
};

/* ---- network configuration ------------------------------------------------------------
 * From OpenStack network_data.json or NoCloud network-config (v1 or v2): how each link is
 * to be configured. Fixed-size, nothing owned. Links named here are configured as said;
 * links not named get DHCPv4. Matching a link to a real interface (by MAC, else by name)
 * is cabind's job, not the parser's. */
#define NETCFG_LINKS_MAX 16
#define NETCFG_ADDRS_MAX 8		/* per link */
#define NETCFG_ROUTES_MAX 16		/* per link */
#define NETCFG_DNS_MAX 8
#define NETCFG_SEARCH_MAX 6

struct netcfg_addr {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];		/* network byte order; AF_INET uses the first 4 */
	int prefix;
};

struct netcfg_route {
	int family;
	uint8_t dst[16];		/* all zero with prefix 0: the default route */
	int prefix;
	uint8_t gw[16];
	int has_gw;			/* 0: on-link */
	uint32_t metric;		/* 0: not given */
};

struct netcfg_link {
	char id[CFG_NAME_MAX + 1];	/* network_data link id, v1 name, v2 key */
	char name[16];			/* interface name to match when there is no MAC ("eth0") */
	uint8_t mac[6];
	int has_mac;
	unsigned mtu;			/* 0: not given */
	int dhcp4;			/* configure IPv4 by DHCP */
	int ipv6_auto;			/* dhcp6 / slaac asked for: left to the kernel's SLAAC */
	struct netcfg_addr addrs[NETCFG_ADDRS_MAX];
	size_t n_addrs;
	struct netcfg_route routes[NETCFG_ROUTES_MAX];	/* a subnet's gateway is a default route */
	size_t n_routes;
	unsigned line;			/* where the link is defined, for messages; 0 unknown */
	char path[CFG_PATH_MAX + 1];	/* "links[1]", "config[0]", "ethernets.eth0" */
};

struct net_config {
	int present;			/* a network configuration was parsed */
	char source[CFG_SOURCE_MAX + 1];	/* "network_data.json", "network-config" */
	struct netcfg_link links[NETCFG_LINKS_MAX];
	size_t n_links;
	struct netcfg_addr dns[NETCFG_DNS_MAX];
	size_t n_dns;
	char search[NETCFG_SEARCH_MAX][CFG_FQDN_MAX + 1];
	size_t n_search;
};

struct node_config {
	char hostname[CFG_HOSTNAME_MAX + 1];	/* one label: "node-1" */
	char fqdn[CFG_FQDN_MAX + 1];		/* "node-1.example.org" */
	char instance_id[CFG_ID_MAX + 1];	/* OpenStack uuid, NoCloud instance-id */
	char instance_name[CFG_NAME_MAX + 1];	/* OpenStack display name */
	char availability_zone[CFG_NAME_MAX + 1];
	char timezone[CFG_TZ_MAX + 1];		/* "Europe/Berlin" */
	struct cfg_file *files;			/* owned array, in document order */
	size_t n_files, cap_files;
	struct cfg_resolv resolv;
	struct cfg_ntp ntp;
	struct cabin_config cabin;
	struct net_config net;		/* a later source's replaces an earlier one's whole */
};

/* Sets cfg to "nothing configured". Allocates nothing; cannot fail. */
void node_config_init(struct node_config *cfg);
/* Frees everything cfg owns and leaves it as node_config_init does. */
void node_config_free(struct node_config *cfg);
/* Fills in the defaults of settings not given: kv.listen 0.0.0.0, client_port 2379,
 * peer_port 2380, overlay subnet_len 24 and backend vxlan. Call once after every source
 * has been parsed. */
void node_config_defaults(struct node_config *cfg);
/* Writes cfg as deterministic "key: value" lines (unset fields omitted; strings escaped so
 * that no control character reaches the output; file contents shown up to 256 bytes, with
 * their length and CRC-32). For golden tests and cabind's debug log. */
void node_config_dump(FILE *out, const struct node_config *cfg);
/* Writes each message as cfg_msg_format does, one per line, then a line counting the
 * messages not kept, if any. */
void cfg_diag_dump(FILE *out, const struct cfg_diag *d);

/* ---- parsers ---------------------------------------------------------------------------
 * Each parses one source's bytes (data need not be NUL-terminated) and merges what it
 * found into cfg: values it sets replace earlier ones, lists are appended to, labels with
 * the same key are replaced. Parse the metadata first and the user data last, so that the
 * user's values win. Messages go to diag, tagged with source (e.g. "user_data").
 *
 * On success (0; warnings and notices allowed) cfg holds the merge. On any failure cfg is
 * left exactly as it was: CFG_ESYNTAX (malformed YAML/JSON/MIME/encoding), CFG_EINVALID
 * (well-formed but wrong), CFG_ETOOBIG (over the input limit), -ENOMEM. Every failure other
 * than -ENOMEM adds at least one CFG_ERROR message. The caller owns all pointers. */

/* User data: #cloud-config YAML, the same document as JSON ('{' first), MIME multipart
 * (the text/cloud-config parts, merged in order), gzip-compressed forms of these. Anything
 * else (a shell script, an empty file) configures nothing and gets a warning; it is not a
 * failure. Keys honoured: hostname, fqdn, write_files, resolv_conf, manage_resolv_conf,
 * ntp, timezone, cabin; every other key gets one CFG_IGNORED notice. At most
 * CFG_INPUT_MAX bytes. */
int ud_parse(const char *data, size_t len, const char *source, struct node_config *cfg,
	     struct cfg_diag *diag);
/* openstack/latest/meta_data.json: uuid, name, hostname (a dotted one also sets fqdn; when
 * absent, a host name is made from name), availability_zone; public_keys gets one notice;
 * other keys are skipped silently (admin_pass is never echoed). At most CFG_META_MAX. */
int meta_parse_openstack(const char *json, size_t len, const char *source,
			 struct node_config *cfg, struct cfg_diag *diag);
/* NoCloud meta-data (YAML or JSON): instance-id, local-hostname; other keys get a notice.
 * At most CFG_META_MAX. */
int meta_parse_nocloud(const char *data, size_t len, const char *source,
		       struct node_config *cfg, struct cfg_diag *diag);

/* OpenStack network_data.json: links (ethernet_mac_address, mtu; bond and vlan links get a
 * notice and are skipped, unknown types a warning and are taken as Ethernet), networks (ipv4 / ipv6 static with ip_address, netmask, routes;
 * ipv4_dhcp; ipv6_dhcp / ipv6_slaac), services of type dns. A network naming an unknown
 * link is an error. At most CFG_META_MAX. Sets cfg->net whole. */
int net_parse_openstack(const char *json, size_t len, const char *source,
			struct node_config *cfg, struct cfg_diag *diag);
/* NoCloud network-config, YAML or JSON, version 1 (config: physical, nameserver, route) or
 * version 2 (ethernets), optionally under a top-level "network:" key. Bonds, VLANs and
 * bridges get a notice. At most CFG_META_MAX. Sets cfg->net whole. */
int net_parse_nocloud(const char *data, size_t len, const char *source,
		      struct node_config *cfg, struct cfg_diag *diag);

/* ---- allocation ------------------------------------------------------------------------
 * Every allocation this module makes (not libyaml's or cJSON's own) goes through one
 * function, so tests can fail the Nth. fn(ctx, ptr, size) behaves as realloc, and frees
 * when size is 0. NULL restores the C library. Process-wide; not for use while parsing. */
typedef void *(*cfg_realloc_fn)(void *ctx, void *ptr, size_t size);
void cfg_set_allocator(cfg_realloc_fn fn, void *ctx);

#endif
