/* The end of boot: the appliance's KV store, the ready (or degraded) line, then what
 * starts once the node is ready: the after-ready modules, and the panic drill when the
 * command line asks for one. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "cabind.h"
#include "config.h"

#define MODULE_LIST_LATE "/lib/modules/cabin-late.list"

/* /etc/hosts naming this node, as cloud-init's manage_etc_hosts does: the host name
 * resolves without DNS, to a loopback address that no interface change can take away. */
static void write_hosts(const struct cabind *c)
{
	const char *fqdn = c->config && c->config->fqdn[0] ? c->config->fqdn : "";
	FILE *f = fopen("/etc/hosts.tmp", "we");
	if (!f)
		return;
	fprintf(f, "# written by cabind\n127.0.0.1 localhost\n::1 localhost ip6-localhost "
		   "ip6-loopback\n127.0.1.1 %s%s%s\n", fqdn, fqdn[0] ? " " : "", c->hostname);
	if (fclose(f) != 0 || rename("/etc/hosts.tmp", "/etc/hosts") != 0)
		log_warn("init: /etc/hosts");
}

#define KV_RETRY_FIRST_MS 1000u
#define KV_RETRY_MAX_MS 60000u

static void kv_degraded(struct cabind *c, const char *why)
{
	log_warnx("kv: %s", why);
	if (!c->degraded[0])
		snprintf(c->degraded, sizeof(c->degraded), "kv: %s", why);
}

/* A store that would not start (a busy port, a data dir that cannot be read yet) is
 * tried again, with backoff up to a minute. The node has said it is degraded; a later
 * start is logged. */
static void kv_retry(struct ev_loop *loop, void *arg)
{
	static unsigned delay_ms = KV_RETRY_FIRST_MS;
	struct cabind *c = arg;
	char err[300];
	if (c->kv)
		return;
	if (kv_server_start(loop, &c->kv_opts, &c->kv, err, sizeof(err)) == 0) {
		log_info("kv: started on a later try");
		return;
	}
	delay_ms = delay_ms * 2 > KV_RETRY_MAX_MS ? KV_RETRY_MAX_MS : delay_ms * 2;
	log_warnx("kv: %s; trying again in %u s", err, delay_ms / 1000);
	ev_timer(loop, delay_ms, kv_retry, c);
}

/* The appliance serves the KV store as its cabin: section says, once the network is up
 * (peers and clients reach it from the first moment). A failure is the node's degraded
 * reason; the node stays up either way, and a store that fails to start is tried again. */
static void kv_appliance_start(struct cabind *c)
{
	const struct cabin_config *cc = c->config && c->config->cabin.present ?
					&c->config->cabin : NULL;
	char err[300];
	if (c->config_error) {
		/* a store started from a misread configuration could found the wrong cluster,
		 * and its data dir would keep it there */
		log_warnx("kv: not started: the configuration has an error");
		return;
	}
	int rc = kvconf_from_cabin(cc, c->hostname, KV_DATA_DIR, &c->kv_opts, err, sizeof(err));
	if (rc < 0) {
		kv_degraded(c, err);
		return;
	}
	if (rc == 0) {
		log_info("kv: cabin.kv.external names %s (and %zu more): the embedded store is "
			 "not started", cc->kv.external.v[0], cc->kv.external.n - 1);
		return;
	}
	log_info("kv: member %s of %s (token %s), data in %s", c->kv_opts.name,
		 c->kv_opts.initial_cluster, c->kv_opts.initial_cluster_token,
		 c->kv_opts.data_dir);
	if (kv_server_start(c->loop, &c->kv_opts, &c->kv, err, sizeof(err)) < 0) {
		kv_degraded(c, err);
		ev_timer(c->loop, KV_RETRY_FIRST_MS, kv_retry, c);
	}
}

void boot_finish(struct cabind *c)
{
	char val[32];
	int rc;
	if (c->ready)
		return;
	c->ready = 1;
	if (c->pid1) {
		write_hosts(c);
		kv_appliance_start(c);
	}
	ready_announce(c);
	if (c->pid1 && access(MODULE_LIST_LATE, R_OK) == 0 &&
	    (rc = modules_load_background(MODULE_LIST_LATE)) < 0)
		log_warnx("modules: cannot start after-ready loading: %s", strerror(-rc));
	if (c->pid1 && cmdline_get(c->cmdline, "cabin.debug", val, sizeof(val)) &&
	    strcmp(val, "panic") == 0)
		cabind_panic(c, "cabin.debug=panic on the kernel command line");
}
