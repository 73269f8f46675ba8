/* Bringing the node's network up at boot: every Ethernet link is set up and, once it has
 * a carrier, configured by DHCP (static configuration from network_data.json comes
 * later). The ready line waits for the leases, bounded: a link that gets no answer makes
 * the node degraded, never stuck. */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../net/dhcpc.h"
#include "cabind.h"

#define NET_MAX_LINKS 8
#define CARRIER_WAIT_MS 2000
#define DHCP_WAIT_MS 15000

struct net_state {
	int nlfd;
	int n;
	struct dhcpc dhcp[NET_MAX_LINKS];
	int bound[NET_MAX_LINKS];
	int pending;
	long timeout;
};

/* /etc/resolv.conf from the lease's DNS servers and search list (the last lease wins). */
static void write_resolv(const struct dhcp_lease *l)
{
	FILE *f = fopen("/etc/resolv.conf.tmp", "we");
	if (!f)
		return;
	fprintf(f, "# written by cabind from DHCP\n");
	for (unsigned i = 0; i < l->n_dns; i++)
		fprintf(f, "nameserver %u.%u.%u.%u\n", l->dns[i] >> 24, (l->dns[i] >> 16) & 255,
			(l->dns[i] >> 8) & 255, l->dns[i] & 255);
	if (l->n_search) {
		fprintf(f, "search");
		for (unsigned i = 0; i < l->n_search; i++)
			fprintf(f, " %s", l->search[i]);
		fprintf(f, "\n");
	} else if (l->domain[0]) {
		fprintf(f, "search %s\n", l->domain);
	}
	if (fclose(f) == 0 && rename("/etc/resolv.conf.tmp", "/etc/resolv.conf") == 0)
		log_info("net: /etc/resolv.conf: %u name servers", l->n_dns);
}

static void on_lease(void *arg, struct dhcpc *d, const struct dhcp_lease *lease)
{
	struct cabind *c = arg;
	struct net_state *ns = c->net;
	int i = (int)(d - ns->dhcp);
	if (lease->n_dns)
		write_resolv(lease);
	if (ns->bound[i])
		return;
	ns->bound[i] = 1;
	if (--ns->pending == 0) {
		if (ns->timeout > 0)
			ev_cancel(c->loop, ns->timeout);
		boot_finish(c);
	}
}

static void on_timeout(struct ev_loop *loop, void *arg)
{
	struct cabind *c = arg;
	struct net_state *ns = c->net;
	(void)loop;
	ns->timeout = 0;
	for (int i = 0; i < ns->n; i++)
		if (!ns->bound[i] && !c->degraded[0])
			snprintf(c->degraded, sizeof(c->degraded), "%s: no DHCP answer in %d s",
				 ns->dhcp[i].ifname, DHCP_WAIT_MS / 1000);
	boot_finish(c);
}

/* Sets every Ethernet link up and waits (bounded) for carriers; returns how many links
 * have one, copied into out. */
static int links_up(int nlfd, struct nl_link *out)
{
	struct nl_link links[NET_MAX_LINKS];
	int n = nl_links(nlfd, links, NET_MAX_LINKS), want = 0;
	if (n > NET_MAX_LINKS)
		n = NET_MAX_LINKS;
	for (int i = 0; i < n; i++) {
		if ((links[i].flags & IFF_LOOPBACK) || !links[i].has_mac)
			continue;
		int rc = nl_link_set(nlfd, links[i].index, 1, 0);
		if (rc < 0)
			log_warnx("net: %s up: %s", links[i].name, strerror(-rc));
		want++;
	}
	uint64_t start = ev_now_ms();
	int have = 0;
	while (want > 0) {
		n = nl_links(nlfd, links, NET_MAX_LINKS);
		have = 0;
		for (int i = 0; i < n && i < NET_MAX_LINKS; i++)
			if (!(links[i].flags & IFF_LOOPBACK) && links[i].has_mac && links[i].carrier)
				out[have++] = links[i];
		if (have == want || ev_now_ms() - start >= CARRIER_WAIT_MS)
			break;
		poll(NULL, 0, 20);
	}
	if (have < want)
		log_warnx("net: %d of %d links have no carrier after %d ms", want - have, want,
			  CARRIER_WAIT_MS);
	return have;
}

void network_start(struct cabind *c)
{
	struct net_state *ns = calloc(1, sizeof(*ns));
	struct nl_link links[NET_MAX_LINKS];
	int rc = ns ? (ns->nlfd = nl_open()) : -ENOMEM;
	if (rc < 0) {
		log_warnx("net: rtnetlink: %s", strerror(-rc));
		free(ns);
		boot_finish(c);
		return;
	}
	c->net = ns;
	int n = links_up(ns->nlfd, links);
	for (int i = 0; i < n; i++) {
		struct dhcpc *d = &ns->dhcp[ns->n];
		rc = dhcpc_start(d, c->loop, ns->nlfd, &links[i], c->hostname,
				 ev_now_ms() ^ ((uint64_t)links[i].index << 32), on_lease, c);
		if (rc < 0) {
			log_warnx("net: %s: DHCP: %s", links[i].name,
				  rc <= -1300 && rc > -1400 ? dhcp_strerror(rc) : strerror(-rc));
			continue;
		}
		ns->n++;
		ns->pending++;
	}
	if (ns->pending == 0) {
		boot_finish(c);
		return;
	}
	ns->timeout = ev_timer(c->loop, DHCP_WAIT_MS, on_timeout, c);
}

void network_stop(struct cabind *c)
{
	struct net_state *ns = c->net;
	if (!ns)
		return;
	for (int i = 0; i < ns->n; i++)
		dhcpc_stop(&ns->dhcp[i]);
}
