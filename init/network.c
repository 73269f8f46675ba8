/* Bringing the node's network up at boot. Every Ethernet link is set up; links that the
 * network configuration (network_data.json, NoCloud network-config) describes get what it
 * says (MTU, static addresses and routes, DHCP or not), the others DHCP once they have a
 * carrier. The wait for leases is bounded: a link that gets no answer makes the node
 * degraded, never stuck. Then configuration over HTTP, if any, is fetched. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../net/dhcpc.h"
#include "cabind.h"
#include "config.h"

#define NET_MAX_LINKS 16
#define CARRIER_WAIT_MS 2000
#define DHCP_WAIT_MS 15000

struct net_state {
	int nlfd;
	int monfd;			/* link changes, or -1 */
	struct nl_link links[NET_MAX_LINKS];	/* every Ethernet link */
	int n_links;
	int configured[NET_MAX_LINKS];	/* links[i] is described by the network configuration */
	int n;
	struct dhcpc dhcp[NET_MAX_LINKS];
	int bound[NET_MAX_LINKS];
	int pending;
	long timeout;
	int settled;			/* network_done has run: the boot no longer waits */
	int wants_dhcp[NET_MAX_LINKS];	/* a configuration asked for DHCP on links[i] */
	struct dhcp_lease dns_lease;	/* the last lease that named DNS servers */
	int have_dns_lease;
};

static const struct net_config *net_config(const struct cabind *c)
{
	return c->config && c->config->net.present ? &c->config->net : NULL;
}

static void put_ip(FILE *f, int family, const void *addr)
{
	char txt[INET6_ADDRSTRLEN];
	if (inet_ntop(family, addr, txt, sizeof(txt)))
		fprintf(f, "nameserver %s\n", txt);
}

/* /etc/resolv.conf from the first of: the user data's resolv_conf, the network
 * configuration's DNS services, the last DHCP lease that named servers. */
static void write_resolv(struct cabind *c)
{
	struct net_state *ns = c->net;
	const struct node_config *cfg = c->config;
	const struct net_config *nc = net_config(c);
	const char *from;
	FILE *f = fopen("/etc/resolv.conf.tmp", "we");
	if (!f)
		return;
	if (cfg && cfg->resolv.nameservers.n && cfg->resolv.manage != 0) {
		from = "user data (resolv_conf)";
		for (size_t i = 0; i < cfg->resolv.nameservers.n; i++)
			fprintf(f, "nameserver %s\n", cfg->resolv.nameservers.v[i]);
		if (cfg->resolv.domain[0])
			fprintf(f, "domain %s\n", cfg->resolv.domain);
		if (cfg->resolv.search.n) {
			fprintf(f, "search");
			for (size_t i = 0; i < cfg->resolv.search.n; i++)
				fprintf(f, " %s", cfg->resolv.search.v[i]);
			fprintf(f, "\n");
		}
		if (cfg->resolv.options.n) {
			fprintf(f, "options");
			for (size_t i = 0; i < cfg->resolv.options.n; i++)
				fprintf(f, " %s", cfg->resolv.options.v[i]);
			fprintf(f, "\n");
		}
	} else if (nc && nc->n_dns) {
		from = nc->source;
		for (size_t i = 0; i < nc->n_dns; i++)
			put_ip(f, nc->dns[i].family, nc->dns[i].addr);
		if (nc->n_search) {
			fprintf(f, "search");
			for (size_t i = 0; i < nc->n_search; i++)
				fprintf(f, " %s", nc->search[i]);
			fprintf(f, "\n");
		}
	} else if (ns && ns->have_dns_lease) {
		const struct dhcp_lease *l = &ns->dns_lease;
		from = "DHCP";
		for (unsigned i = 0; i < l->n_dns; i++) {
			uint32_t a = htonl(l->dns[i]);
			put_ip(f, AF_INET, &a);
		}
		if (l->n_search) {
			fprintf(f, "search");
			for (unsigned i = 0; i < l->n_search; i++)
				fprintf(f, " %s", l->search[i]);
			fprintf(f, "\n");
		} else if (l->domain[0]) {
			fprintf(f, "search %s\n", l->domain);
		}
	} else {
		fclose(f);
		unlink("/etc/resolv.conf.tmp");
		return;
	}
	if (fclose(f) == 0 && rename("/etc/resolv.conf.tmp", "/etc/resolv.conf") == 0)
		log_info("net: /etc/resolv.conf from %s", from);
	else
		log_warn("net: /etc/resolv.conf");
}

/* Networking is settled: fetch configuration if some source wants it, else be ready. */
static void network_done(struct cabind *c)
{
	struct net_state *ns = c->net;
	if (ns) {
		if (ns->settled)
			return;
		ns->settled = 1;
		if (ns->timeout > 0)
			ev_cancel(c->loop, ns->timeout);
		ns->timeout = 0;
	}
	write_resolv(c);
	config_fetch_start(c);
}

static void on_lease(void *arg, struct dhcpc *d, const struct dhcp_lease *lease)
{
	struct cabind *c = arg;
	struct net_state *ns = c->net;
	int i = (int)(d - ns->dhcp);
	if (lease->n_dns) {
		ns->dns_lease = *lease;
		ns->have_dns_lease = 1;
		if (ns->settled)
			write_resolv(c);
	}
	if (ns->bound[i])
		return;
	ns->bound[i] = 1;
	if (--ns->pending == 0)
		network_done(c);
}

static void on_timeout(struct ev_loop *loop, void *arg)
{
	struct cabind *c = arg;
	struct net_state *ns = c->net;
	(void)loop;
	ns->timeout = 0;
	if (ns->settled)
		return;
	for (int i = 0; i < ns->n; i++)
		if (!ns->bound[i] && !c->degraded[0])
			snprintf(c->degraded, sizeof(c->degraded), "%s: no DHCP answer in %d s",
				 ns->dhcp[i].ifname, DHCP_WAIT_MS / 1000);
	network_done(c);
}

static int is_ether(const struct nl_link *l)
{
	return !(l->flags & IFF_LOOPBACK) && l->has_mac;
}

/* Discards the link events queued so far. */
static void drain_events(int fd)
{
	struct nl_link l[NET_MAX_LINKS];
	int n;
	while (fd >= 0 && (n = nl_monitor_read(fd, l, NET_MAX_LINKS)) != -EAGAIN)
		if (n < 0 && n != -ENOBUFS && n != -EBADMSG && n != -EINTR)
			break;
}

/* Sets every Ethernet link up and waits (bounded) for carriers; ns->links gets them all,
 * with their carrier state at the end of the wait. */
static void links_up(struct net_state *ns)
{
	struct nl_link all[NET_MAX_LINKS];
	int n = nl_links(ns->nlfd, all, NET_MAX_LINKS), want = 0;
	for (int i = 0; i < n && i < NET_MAX_LINKS; i++) {
		if (!is_ether(&all[i]))
			continue;
		int rc = nl_link_set(ns->nlfd, all[i].index, 1, 0);
		if (rc < 0)
			log_warnx("net: %s up: %s", all[i].name, strerror(-rc));
		want++;
	}
	uint64_t start = ev_now_ms();
	int have = 0;
	while (want > 0) {
		drain_events(ns->monfd);	/* the snapshot below says all they said */
		n = nl_links(ns->nlfd, all, NET_MAX_LINKS);
		ns->n_links = have = 0;
		for (int i = 0; i < n && i < NET_MAX_LINKS; i++) {
			if (!is_ether(&all[i]))
				continue;
			ns->links[ns->n_links++] = all[i];
			have += all[i].carrier != 0;
		}
		if (have >= want || ev_now_ms() - start >= CARRIER_WAIT_MS)
			break;
		poll(NULL, 0, 20);
	}
	if (have < want)
		log_warnx("net: %d of %d links have no carrier after %d ms", want - have, want,
			  CARRIER_WAIT_MS);
}

static int find_link(const struct net_state *ns, const struct netcfg_link *l)
{
	for (int i = 0; i < ns->n_links; i++) {
		if (l->has_mac ? memcmp(ns->links[i].mac, l->mac, 6) == 0 :
				 strcmp(ns->links[i].name, l->name) == 0)
			return i;
	}
	return -1;
}

static void start_dhcp(struct cabind *c, int li)
{
	struct net_state *ns = c->net;
	struct nl_link *link = &ns->links[li];
	if (ns->n == NET_MAX_LINKS)
		return;
	struct dhcpc *d = &ns->dhcp[ns->n];
	int rc = dhcpc_start(d, c->loop, ns->nlfd, link, c->hostname,
			     ev_now_ms() ^ ((uint64_t)link->index << 32), on_lease, c);
	if (rc < 0) {
		log_warnx("net: %s: DHCP: %s", link->name,
			  rc <= -1300 && rc > -1400 ? dhcp_strerror(rc) : strerror(-rc));
		return;
	}
	ns->n++;
	ns->pending++;
}

static int has_dhcp(const struct net_state *ns, int li)
{
	for (int i = 0; i < ns->n; i++)
		if (ns->dhcp[i].ifindex == ns->links[li].index)
			return 1;
	return 0;
}

static void degrade(struct cabind *c, const char *fmt, const char *a, const char *b,
		    const char *d)
{
	char msg[256];
	snprintf(msg, sizeof(msg), fmt, a, b, d);
	log_warnx("net: %s", msg);
	if (!c->degraded[0])
		snprintf(c->degraded, sizeof(c->degraded), "%s", msg);
}

static void log_route(const struct netcfg_route *r, const char *ifname)
{
	char dst[INET6_ADDRSTRLEN] = "", gw[INET6_ADDRSTRLEN] = "", net[INET6_ADDRSTRLEN + 4];
	inet_ntop(r->family, r->dst, dst, sizeof(dst));
	if (r->has_gw)
		inet_ntop(r->family, r->gw, gw, sizeof(gw));
	if (r->prefix == 0)
		snprintf(net, sizeof(net), "default");
	else
		snprintf(net, sizeof(net), "%s/%d", dst, r->prefix);
	log_info("net: %s: route %s%s%s", ifname, net, r->has_gw ? " via " : " on link",
		 gw);
}

/* MTU, static addresses and routes of one described link. */
static void apply_static(struct cabind *c, const struct net_config *nc,
			 const struct netcfg_link *l, const struct nl_link *link)
{
	struct net_state *ns = c->net;
	char txt[INET6_ADDRSTRLEN], where[300];
	int rc;
	snprintf(where, sizeof(where), "%s: %s", nc->source, l->path);
	if (l->mtu) {
		if ((rc = nl_link_set(ns->nlfd, link->index, 1, l->mtu)) < 0)
			log_warnx("net: %s: MTU %u: %s", link->name, l->mtu, strerror(-rc));
		else
			log_info("net: %s: MTU %u", link->name, l->mtu);
	}
	for (size_t i = 0; i < l->n_addrs; i++) {
		const struct netcfg_addr *a = &l->addrs[i];
		inet_ntop(a->family, a->addr, txt, sizeof(txt));
		rc = nl_addr(ns->nlfd, 1, link->index, a->family, a->addr, a->prefix);
		if (rc < 0)
			degrade(c, "%s: %s: cannot add address: %s", where, txt, strerror(-rc));
		else
			log_info("net: %s: %s/%d (%s)", link->name, txt, a->prefix, nc->source);
	}
	for (size_t i = 0; i < l->n_routes; i++) {
		const struct netcfg_route *r = &l->routes[i];
		rc = nl_route(ns->nlfd, 1, r->family, r->dst, r->prefix, r->has_gw ? r->gw : NULL,
			      link->index, r->metric);
		inet_ntop(r->family, r->dst, txt, sizeof(txt));
		if (rc < 0)
			degrade(c, "%s: route to %s: %s", where, txt, strerror(-rc));
		else
			log_route(r, link->name);
	}
}

/* Applies the network configuration to the links it names: marks them in ns->configured
 * and starts DHCP where it asks for it (without a carrier yet, the client waits for one). */
static void apply_config(struct cabind *c)
{
	struct net_state *ns = c->net;
	const struct net_config *nc = net_config(c);
	for (size_t k = 0; nc && k < nc->n_links; k++) {
		const struct netcfg_link *l = &nc->links[k];
		int li = find_link(ns, l);
		if (li < 0) {
			char mac[18];
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", l->mac[0],
				 l->mac[1], l->mac[2], l->mac[3], l->mac[4], l->mac[5]);
			degrade(c, "%s: %s: no interface with %s", nc->source, l->path,
				l->has_mac ? mac : l->name);
			continue;
		}
		if (ns->configured[li])
			continue;
		ns->configured[li] = 1;
		ns->wants_dhcp[li] = l->dhcp4;
		apply_static(c, nc, l, &ns->links[li]);
		if (l->dhcp4 && !has_dhcp(ns, li))
			start_dhcp(c, li);
	}
}

/* A link changed: carrier news goes to its DHCP client; a link that gains a carrier late,
 * or appears, and that nothing configures yet, gets DHCP. */
static void link_changed(struct cabind *c, const struct nl_link *l)
{
	struct net_state *ns = c->net;
	int li = 0;
	if (!is_ether(l))
		return;
	while (li < ns->n_links && ns->links[li].index != l->index)
		li++;
	if (li == ns->n_links) {
		if (li == NET_MAX_LINKS)
			return;
		ns->n_links++;
		ns->links[li] = *l;
		ns->links[li].carrier = 0;
		log_info("net: new link %s", l->name);
		if (!(l->flags & IFF_UP))
			nl_link_set(ns->nlfd, l->index, 1, 0);
	}
	int was = ns->links[li].carrier;
	ns->links[li] = *l;
	if (was == l->carrier)
		return;
	for (int i = 0; i < ns->n; i++)
		if (ns->dhcp[i].ifindex == l->index) {
			dhcpc_link(&ns->dhcp[i], l->carrier);
			return;
		}
	if (l->carrier && (!ns->configured[li] || ns->wants_dhcp[li]) && !has_dhcp(ns, li)) {
		log_info("net: %s has a carrier now", l->name);
		start_dhcp(c, li);
	}
}

static void on_link_event(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct cabind *c = arg;
	struct net_state *ns = c->net;
	struct nl_link l[NET_MAX_LINKS];
	int n;
	(void)loop;
	(void)events;
	while ((n = nl_monitor_read(fd, l, NET_MAX_LINKS)) != -EAGAIN) {
		if (n == -ENOBUFS)	/* events were lost: look at every link again */
			n = nl_links(ns->nlfd, l, NET_MAX_LINKS);
		if (n < 0) {
			if (n != -EBADMSG && n != -EINTR) {
				log_warnx("net: link events: %s", strerror(-n));
				return;
			}
			continue;
		}
		for (int i = 0; i < n && i < NET_MAX_LINKS; i++)
			link_changed(c, &l[i]);
	}
}

void network_start(struct cabind *c)
{
	struct net_state *ns = calloc(1, sizeof(*ns));
	int rc = ns ? (ns->nlfd = nl_open()) : -ENOMEM;
	if (rc < 0) {
		log_warnx("net: rtnetlink: %s", strerror(-rc));
		free(ns);
		config_fetch_start(c);
		return;
	}
	c->net = ns;
	/* opened before links are set up, so that no carrier change is missed */
	ns->monfd = nl_open_monitor();
	if (ns->monfd < 0)
		log_warnx("net: link events: %s", strerror(-ns->monfd));
	else if ((rc = ev_watch(c->loop, ns->monfd, EPOLLIN, on_link_event, c)) < 0)
		log_warnx("net: link events: %s", strerror(-rc));
	links_up(ns);
	apply_config(c);
	for (int i = 0; i < ns->n_links; i++)
		if (!ns->configured[i] && ns->links[i].carrier)
			start_dhcp(c, i);
	if (ns->pending == 0) {
		network_done(c);
		return;
	}
	ns->timeout = ev_timer(c->loop, DHCP_WAIT_MS, on_timeout, c);
	if (ns->timeout < 0) {	/* cannot wait bounded: do not wait */
		ns->timeout = 0;
		network_done(c);
	}
}

void network_config_late(struct cabind *c)
{
	struct net_state *ns = c->net;
	if (ns && net_config(c))
		apply_config(c);
	write_resolv(c);	/* the user data's resolv_conf, if it has one */
}

void network_stop(struct cabind *c)
{
	struct net_state *ns = c->net;
	if (!ns)
		return;
	for (int i = 0; i < ns->n; i++)
		dhcpc_stop(&ns->dhcp[i]);
}
