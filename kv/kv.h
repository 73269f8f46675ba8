/* The etcd-compatible key-value store as cabind runs it: its options (etcd's own flag
 * names and defaults) and the server's life cycle. */
#ifndef CABIN_KV_H
#define CABIN_KV_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/ev.h"

#define KV_URLS_MAX 8

struct kv_url {
	int tls;		/* https:// */
	char host[256];		/* as written, without brackets for IPv6 */
	int port;
};

struct kv_opts {
	char name[64];			/* --name: this member's name ("default") */
	char data_dir[256];		/* --data-dir ("<name>.etcd") */
	char listen_client[1024];	/* --listen-client-urls ("http://localhost:2379") */
	char advertise_client[1024];	/* --advertise-client-urls (same) */
	char listen_peer[1024];		/* --listen-peer-urls ("http://localhost:2380") */
	char advertise_peer[1024];	/* --initial-advertise-peer-urls */
	char initial_cluster[4096];	/* --initial-cluster ("<name>=<advertise peer>") */
	char initial_cluster_state[16];	/* --initial-cluster-state: new | existing */
	char initial_cluster_token[64];	/* --initial-cluster-token ("etcd-cluster") */
	char cert_file[256], key_file[256], trusted_ca_file[256];
	int client_cert_auth;
	char peer_cert_file[256], peer_key_file[256], peer_trusted_ca_file[256];
	int peer_client_cert_auth;
	unsigned heartbeat_ms;		/* --heartbeat-interval (100) */
	unsigned election_ms;		/* --election-timeout (1000) */
	uint64_t snapshot_count;	/* --snapshot-count (100000) */
	int64_t quota_backend_bytes;	/* --quota-backend-bytes (0: 2 GiB) */
};

/* Sets every option to etcd's default. */
void kv_opts_defaults(struct kv_opts *o);
/* Sets the option of etcd flag `flag` (without the leading dashes) from value. Returns 0,
 * 1 if flag is not a KV flag, or -EINVAL with err saying what is wrong with value. */
int kv_opts_set(struct kv_opts *o, const char *flag, const char *value, char *err,
		size_t errlen);
/* The flag names kv_opts_set knows, NULL-terminated; "client-cert-auth" and
 * "peer-client-cert-auth" also work without a value. */
extern const char *const kv_flag_names[];
/* Parses a comma-separated list of http:// or https:// URLs with a host and a port
 * ("http://127.0.0.1:2379,http://[::1]:2379"; port 0 listens on any free port). Returns how many (1..max), or -EINVAL with
 * err naming the bad one. */
int kv_parse_urls(const char *list, struct kv_url *out, int max, char *err, size_t errlen);

struct kv_server;
/* Opens the store in o->data_dir and starts serving clients on o->listen_client. Returns
 * 0 with *out set, or a negative code with err saying what failed. */
int kv_server_start(struct ev_loop *loop, const struct kv_opts *o, struct kv_server **out,
		    char *err, size_t errlen);
/* Stops serving and closes the store. */
void kv_server_stop(struct kv_server *s);

#endif
