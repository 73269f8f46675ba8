/* The DHCP client's shell: drives a dhcp.c core for one link from the event loop. */
#ifndef CABIN_DHCPC_H
#define CABIN_DHCPC_H

#include "../lib/ev.h"
#include "dhcp.h"
#include "net.h"

struct dhcpc;
/* Called after a lease has been applied to the link (address, routes, MTU). */
typedef void dhcpc_lease_fn(void *arg, struct dhcpc *d, const struct dhcp_lease *lease);

struct dhcpc {
	struct dhcp_client core;
	struct ev_loop *loop;
	int nlfd, pfd, ifindex;
	char ifname[16];
	long timer;
	dhcpc_lease_fn *on_lease;
	void *arg;
};

/* Starts DHCP on link (which must be up) and sends the first DISCOVER. d is caller-owned
 * and must stay put while running; nlfd is borrowed. Returns 0 or a negative code. */
int dhcpc_start(struct dhcpc *d, struct ev_loop *loop, int nlfd, const struct nl_link *link,
		const char *hostname, uint64_t seed, dhcpc_lease_fn *on_lease, void *arg);
/* Tells the client the link's carrier changed: down, it stays quiet; up, it confirms its
 * lease (INIT-REBOOT) or starts over, at once. */
void dhcpc_link(struct dhcpc *d, int up);
/* Releases the lease (if any) and closes the link's socket. */
void dhcpc_stop(struct dhcpc *d);

#endif
