/* The KV server's life cycle: the data directory, the client listeners and the gRPC
 * method table that joins the wire (kv/grpc.c, kv/msg*.c) to the store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/fsutil.h"
#include "../lib/log.h"
#include "gateway.h"
#include "grpc.h"
#include "kv.h"
#include "service.h"
#include "svc_int.h"
#include "tport.h"

struct kv_server {
	struct ev_loop *loop;
	struct grpc_server *grpc;
	struct gateway *gw;
	struct kv_service *svc;
	struct tport_tls *tls;		/* the https:// listeners' settings, or NULL */
	struct kv_opts o;		/* what it was started with, for a restart */
	long retry_timer;
};

/* "https://host:port" or "http://..." of a parsed URL, brackets around IPv6. */
static void url_text(const struct kv_url *u, int port, char *out, size_t len)
{
	int v6 = strchr(u->host, ':') != NULL;
	snprintf(out, len, "%s://%s%s%s:%d", u->tls ? "https" : "http", v6 ? "[" : "", u->host,
		 v6 ? "]" : "", port);
}

/* The TLS settings for the https:// URLs among urls[n] (*out stays NULL without any), with
 * etcd's checks: an https URL needs --cert-file and --key-file. Returns 0 or a negative
 * code with err set. */
static int client_tls(const struct kv_opts *o, const struct kv_url *urls, int n,
		      struct tport_tls **out, char *err, size_t errlen)
{
	const struct kv_url *https = NULL;
	for (int i = 0; i < n && !https; i++)
		if (urls[i].tls)
			https = &urls[i];
	if (!https)
		return 0;
	if (!o->cert_file[0] || !o->key_file[0]) {
		char u[300];
		url_text(https, https->port, u, sizeof(u));
		snprintf(err, errlen, "TLS key/cert (--cert-file, --key-file) must be provided for "
			 "client url %s with HTTPS scheme", u);
		return -EINVAL;
	}
	struct tport_tls_opts to = { .cert_file = o->cert_file, .key_file = o->key_file,
				     .ca_file = o->trusted_ca_file,
				     .client_cert_auth = o->client_cert_auth };
	return tport_tls_new(&to, out, err, errlen);
}

/* GET /metrics: the process, the store, and the gRPC methods, in Prometheus text. */
static int metrics(void *arg, char **text, size_t *len)
{
	struct kv_server *s = arg;
	FILE *f = open_memstream(text, len);
	if (!f)
		return -ENOMEM;
	long pages = 0, rss = 0;
	FILE *statm = fopen("/proc/self/statm", "re");
	if (statm) {
		if (fscanf(statm, "%ld %ld", &pages, &rss) != 2)
			pages = rss = 0;
		fclose(statm);
	}
	long psz = sysconf(_SC_PAGESIZE);
	fprintf(f, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
		   "# TYPE process_resident_memory_bytes gauge\n"
		   "process_resident_memory_bytes %ld\n"
		   "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
		   "# TYPE process_virtual_memory_bytes gauge\n"
		   "process_virtual_memory_bytes %ld\n", rss * psz, pages * psz);
	struct mvcc_stats st;
	mvcc_stats(s->svc->store, &st);
	fprintf(f, "# HELP etcd_mvcc_db_total_size_in_bytes Bytes the store holds.\n"
		   "# TYPE etcd_mvcc_db_total_size_in_bytes gauge\n"
		   "etcd_mvcc_db_total_size_in_bytes %zu\n"
		   "# HELP etcd_debugging_mvcc_keys_total Keys in the store.\n"
		   "# TYPE etcd_debugging_mvcc_keys_total gauge\n"
		   "etcd_debugging_mvcc_keys_total %zu\n"
		   "# HELP etcd_debugging_mvcc_current_revision The current revision.\n"
		   "# TYPE etcd_debugging_mvcc_current_revision gauge\n"
		   "etcd_debugging_mvcc_current_revision %lld\n", st.bytes, st.keys,
		(long long)mvcc_rev(s->svc->store));
	size_t streams, watchers, slow;
	svc_watch_counts(s->svc, &streams, &watchers, &slow);
	fprintf(f, "# HELP etcd_debugging_mvcc_watch_stream_total Open watch streams.\n"
		   "# TYPE etcd_debugging_mvcc_watch_stream_total gauge\n"
		   "etcd_debugging_mvcc_watch_stream_total %zu\n"
		   "# HELP etcd_debugging_mvcc_watcher_total Watchers of those streams.\n"
		   "# TYPE etcd_debugging_mvcc_watcher_total gauge\n"
		   "etcd_debugging_mvcc_watcher_total %zu\n"
		   "# HELP etcd_debugging_mvcc_slow_watcher_total Watchers catching up from history.\n"
		   "# TYPE etcd_debugging_mvcc_slow_watcher_total gauge\n"
		   "etcd_debugging_mvcc_slow_watcher_total %zu\n", streams, watchers, slow);
	uint64_t syncs, bytes, snaps;
	if (svc_wal_counters(s->svc, &syncs, &bytes, &snaps))
		fprintf(f, "# HELP cabin_wal_fsyncs_total fdatasyncs of the write-ahead log.\n"
			   "# TYPE cabin_wal_fsyncs_total counter\n"
			   "cabin_wal_fsyncs_total %llu\n"
			   "# HELP cabin_wal_written_bytes_total Record bytes written to the log.\n"
			   "# TYPE cabin_wal_written_bytes_total counter\n"
			   "cabin_wal_written_bytes_total %llu\n"
			   "# HELP cabin_snapshots_total Snapshots of the store written.\n"
			   "# TYPE cabin_snapshots_total counter\n"
			   "cabin_snapshots_total %llu\n", (unsigned long long)syncs,
			(unsigned long long)bytes, (unsigned long long)snaps);
	if (svc_raft_log_counters(s->svc, &syncs, &bytes))
		fprintf(f, "# HELP cabin_raft_log_fsyncs_total fdatasyncs of the Raft log.\n"
			   "# TYPE cabin_raft_log_fsyncs_total counter\n"
			   "cabin_raft_log_fsyncs_total %llu\n"
			   "# HELP cabin_raft_log_written_bytes_total Record bytes written to the "
			   "Raft log.\n"
			   "# TYPE cabin_raft_log_written_bytes_total counter\n"
			   "cabin_raft_log_written_bytes_total %llu\n", (unsigned long long)syncs,
			(unsigned long long)bytes);
	grpc_server_metrics(s->grpc, f);
	return fclose(f) == 0 ? 0 : -ENOMEM;
}

/* The listeners' URLs and their TLS settings, checked. */
static int client_urls(const struct kv_opts *o, struct kv_url *urls, struct tport_tls **tls,
		       char *err, size_t errlen)
{
	char why[300];
	int n = kv_parse_urls(o->listen_client, urls, KV_URLS_MAX, why, sizeof(why));
	if (n < 0) {
		snprintf(err, errlen, "--listen-client-urls: %s", why);
		return -EINVAL;
	}
	int rc = client_tls(o, urls, n, tls, err, errlen);
	return rc < 0 ? rc : n;
}

static void teardown(struct kv_server *s)
{
	gw_free(s->gw);
	grpc_server_free(s->grpc);
	tport_tls_free(s->tls);
	kv_service_free(s->svc);
	s->gw = NULL;
	s->grpc = NULL;
	s->tls = NULL;
	s->svc = NULL;
}

static void restart(void *ctx, bool again);

/* The store, Raft, and the client listeners, from s->o. */
static int serve(struct kv_server *s, char *err, size_t errlen)
{
	const struct kv_opts *o = &s->o;
	struct kv_url urls[KV_URLS_MAX];
	int n = client_urls(o, urls, &s->tls, err, errlen), rc;
	char dir[300];

	if (n < 0)
		return n;
	if (o->data_dir[0])
		snprintf(dir, sizeof(dir), "%s", o->data_dir);
	else
		snprintf(dir, sizeof(dir), "%s.etcd", o->name);
	rc = fs_mkdirs(dir, 1);
	if (rc < 0) {
		snprintf(err, errlen, "--data-dir %s: %s", dir, strerror(-rc));
		return rc;
	}
	if ((rc = kv_service_new(o, dir, &s->svc, err, errlen)) < 0)
		return rc;
	s->svc->restart = restart;
	s->svc->restart_ctx = s;
	kv_service_set_loop(s->svc, s->loop);
	kv_service_attach_wal(s->svc, s->loop);
	if ((rc = kv_service_start_raft(s->svc, s->loop, o, dir, err, errlen)) < 0)
		return rc;
	size_t nm;
	const struct grpc_method *m = kv_service_methods(&nm);
	s->grpc = grpc_server_new(s->loop, m, nm, s->svc);
	if (s->grpc)
		s->gw = gw_new(s->loop, s->grpc, metrics, s);
	if (!s->grpc || !s->gw) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		int port = grpc_server_listen(s->grpc, urls[i].host, urls[i].port,
					      urls[i].tls ? s->tls : NULL);
		if (port < 0) {
			snprintf(err, errlen, "listen on %s:%d: %s", urls[i].host, urls[i].port,
				 strerror(-port));
			return port;
		}
		char u[300];
		url_text(&urls[i], port, u, sizeof(u));
		log_info("kv: serving clients on %s", u);
	}
	return 0;
}

static void restart_timer(struct ev_loop *loop, void *arg)
{
	struct kv_server *s = arg;
	char err[300];
	int rc;
	(void)loop;

	s->retry_timer = 0;
	teardown(s);
	if ((rc = serve(s, err, sizeof(err))) == 0)
		return;
	teardown(s);
	log_warnx("kv: the member cannot start again: %s; retrying in a second", err);
	long id = ev_timer(s->loop, 1000, restart_timer, s);
	s->retry_timer = id > 0 ? id : 0;
}

/* svc->restart: the member starts again from its data directory (a snapshot taken from
 * the leader is installed on the way); the clients' connections end, as at a restart. Or,
 * removed from the cluster, it stops serving, as etcd's process ends then. */
static void restart(void *ctx, bool again)
{
	struct kv_server *s = ctx;

	if (!again) {
		log_warnx("kv: this member was removed from the cluster; the key-value store "
			  "stops serving");
		teardown(s);
		return;
	}
	log_info("kv: restarting the member from its data directory");
	restart_timer(s->loop, s);
}

int kv_server_start(struct ev_loop *loop, const struct kv_opts *o, struct kv_server **out,
		    char *err, size_t errlen)
{
	struct kv_url urls[KV_URLS_MAX];
	struct tport_tls *tls = NULL;
	int rc = client_urls(o, urls, &tls, err, errlen);

	if (rc < 0)
		return rc;
	tport_tls_free(tls);	/* checked: serve sets it up again */
	struct kv_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->loop = loop;
	s->o = *o;
	if ((rc = serve(s, err, errlen)) < 0) {
		kv_server_stop(s);
		return rc;
	}
	*out = s;
	return 0;
}

void kv_server_stop(struct kv_server *s)
{
	if (!s)
		return;
	if (s->retry_timer)
		ev_cancel(s->loop, s->retry_timer);
	teardown(s);
	free(s);
}
