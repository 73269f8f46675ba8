/* The DHCP client's shell: a packet socket per link for the broadcast exchange (we have
 * no address yet), a UDP socket for unicast renewals, a timer for the core's wake-ups,
 * and rtnetlink to apply what the core decides. The core (dhcp.c) decides everything. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/log.h"
#include "dhcpc.h"

/* Only UDP to port 68, unfragmented: the socket sees IP packets (SOCK_DGRAM). */
static struct sock_filter dhcpc_bpf[] = {
	BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),			/* protocol */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 6),
	BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6),			/* flags, fragment */
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x1fff, 4, 0),
	BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),			/* x = header length */
	BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),			/* UDP destination port */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 68, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, 0xffff),
	BPF_STMT(BPF_RET | BPF_K, 0),
};

static int open_packet_socket(int ifindex)
{
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_IP));
	if (fd < 0)
		return -errno;
	struct sock_fprog prog = { sizeof(dhcpc_bpf) / sizeof(dhcpc_bpf[0]), dhcpc_bpf };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = ifindex };
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Broadcast: IPv4 + UDP headers by hand (from 0.0.0.0 or our address) to ff:ff:ff:ff:ff:ff. */
static int send_broadcast(struct dhcpc *d, const struct dhcp_packet *pkt)
{
	uint8_t buf[28 + DHCP_PKT_CAP];
	size_t total = 28 + pkt->len;
	memset(buf, 0, 28);
	buf[0] = 0x45;
	buf[2] = (uint8_t)(total >> 8);
	buf[3] = (uint8_t)total;
	buf[8] = 64;
	buf[9] = IPPROTO_UDP;
	uint32_t src = htonl(pkt->src), dst = htonl(DHCP_BROADCAST);
	memcpy(buf + 12, &src, 4);
	memcpy(buf + 16, &dst, 4);
	uint16_t ck = ip_checksum(buf, 20);
	buf[10] = (uint8_t)(ck >> 8);
	buf[11] = (uint8_t)ck;
	buf[21] = 68;	/* source port */
	buf[23] = 67;	/* destination port */
	buf[24] = (uint8_t)((8 + pkt->len) >> 8);
	buf[25] = (uint8_t)(8 + pkt->len);	/* UDP checksum 0: none, allowed for IPv4 */
	memcpy(buf + 28, pkt->data, pkt->len);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = d->ifindex, .sll_halen = 6 };
	memset(sll.sll_addr, 0xff, 6);
	if (sendto(d->pfd, buf, total, 0, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return -errno;
	return 0;
}

/* Unicast renewals go through the stack: we have an address and a route by then. */
static int send_unicast(struct dhcpc *d, const struct dhcp_packet *pkt)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(68),
				  .sin_addr.s_addr = htonl(pkt->src) };
	struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons(67),
				   .sin_addr.s_addr = htonl(pkt->dst) };
	int rc = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, d->ifname, strlen(d->ifname)) < 0 ||
	    bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    sendto(fd, pkt->data, pkt->len, 0, (struct sockaddr *)&srv, sizeof(srv)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static void apply_lease(struct dhcpc *d, const struct dhcp_lease *l)
{
	uint32_t a = htonl(l->address);
	int rc = nl_addr(d->nlfd, 1, d->ifindex, AF_INET, &a, l->prefix_len);
	if (rc < 0)
		log_warnx("dhcp: %s: add address: %s", d->ifname, strerror(-rc));
	if (l->mtu && (rc = nl_link_set(d->nlfd, d->ifindex, 1, l->mtu)) < 0)
		log_warnx("dhcp: %s: mtu %u: %s", d->ifname, l->mtu, strerror(-rc));
	for (unsigned i = 0; i < l->n_routes; i++) {
		uint32_t dst = htonl(l->routes[i].dst), gw = htonl(l->routes[i].gw);
		rc = nl_route(d->nlfd, 1, AF_INET, &dst, l->routes[i].prefix_len,
			      l->routes[i].gw ? &gw : NULL, d->ifindex, 0);
		if (rc < 0)
			log_warnx("dhcp: %s: route %u: %s", d->ifname, i, strerror(-rc));
	}
	char addr[16];
	inet_ntop(AF_INET, &a, addr, sizeof(addr));
	log_info("dhcp: %s: %s/%u from %u.%u.%u.%u, lease %u s", d->ifname, addr, l->prefix_len,
		 l->server_id >> 24, (l->server_id >> 16) & 255, (l->server_id >> 8) & 255,
		 l->server_id & 255, l->lease_s);
}

static void dhcpc_tick(struct ev_loop *loop, void *arg);

/* Carries out a batch, in order, then sets the timer for the next wake-up. */
static void dhcpc_do(struct dhcpc *d, const struct dhcp_actions *a)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct dhcp_action *act = &a->act[i];
		int rc = 0;
		if (act->kind == DHCP_ACT_SEND)
			rc = act->pkt.dst == DHCP_BROADCAST ? send_broadcast(d, &act->pkt) :
							      send_unicast(d, &act->pkt);
		else if (act->kind == DHCP_ACT_CONFIGURE)
			apply_lease(d, act->lease);
		else {
			uint32_t addr = htonl(act->address);
			rc = nl_addr(d->nlfd, 0, d->ifindex, AF_INET, &addr, act->prefix_len);
			log_info("dhcp: %s: lease gone, address removed", d->ifname);
		}
		if (rc < 0)
			log_warnx("dhcp: %s: %s", d->ifname, strerror(-rc));
		if (act->kind == DHCP_ACT_CONFIGURE && d->on_lease)
			d->on_lease(d->arg, d, act->lease);
	}
	if (d->timer > 0)
		ev_cancel(d->loop, d->timer);
	d->timer = 0;
	if (a->wake_ms != DHCP_NEVER) {
		uint64_t now = ev_now_ms();
		d->timer = ev_timer(d->loop, a->wake_ms > now ? a->wake_ms - now : 0, dhcpc_tick, d);
	}
}

static void dhcpc_tick(struct ev_loop *loop, void *arg)
{
	struct dhcpc *d = arg;
	struct dhcp_actions a;
	(void)loop;
	d->timer = 0;
	if (dhcp_tick(&d->core, ev_now_ms(), &a) == 0)
		dhcpc_do(d, &a);
}

/* A datagram from the packet socket: an IPv4 header, UDP, then the DHCP message. */
static void dhcpc_read(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
	struct dhcpc *d = arg;
	uint8_t buf[1600];
	ssize_t n;
	(void)loop;
	(void)events;
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
		if (n < 28 || (buf[0] >> 4) != 4 || ihl < 20 || (size_t)n < ihl + 8)
			continue;
		size_t ulen = (size_t)buf[ihl + 4] << 8 | buf[ihl + 5];
		if (ulen < 8 || ihl + ulen > (size_t)n)
			continue;
		struct dhcp_actions a;
		if (dhcp_input(&d->core, ev_now_ms(), buf + ihl + 8, ulen - 8, &a) == 0)
			dhcpc_do(d, &a);
	}
}

int dhcpc_start(struct dhcpc *d, struct ev_loop *loop, int nlfd, const struct nl_link *link,
		const char *hostname, uint64_t seed, dhcpc_lease_fn *on_lease, void *arg)
{
	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->nlfd = nlfd;
	d->ifindex = link->index;
	snprintf(d->ifname, sizeof(d->ifname), "%s", link->name);
	d->on_lease = on_lease;
	d->arg = arg;
	struct dhcp_config cfg = { .hostname = hostname, .seed = seed,
				   .max_size = (uint16_t)(link->mtu > 576 ? link->mtu - 28 : 576) };
	memcpy(cfg.mac, link->mac, 6);
	int rc = dhcp_init(&d->core, &cfg);
	if (rc < 0)
		return rc;
	d->pfd = open_packet_socket(link->index);
	if (d->pfd < 0)
		return d->pfd;
	if ((rc = ev_watch(loop, d->pfd, EPOLLIN, dhcpc_read, d)) < 0) {
		close(d->pfd);
		return rc;
	}
	struct dhcp_actions a;
	if (!link->carrier)	/* quiet until the carrier comes (dhcpc_link) */
		dhcp_link(&d->core, ev_now_ms(), false, &a);
	if ((rc = dhcp_start(&d->core, ev_now_ms(), NULL, &a)) < 0) {
		ev_unwatch(loop, d->pfd);
		close(d->pfd);
		d->pfd = -1;
		return rc;
	}
	dhcpc_do(d, &a);
	return 0;
}

void dhcpc_link(struct dhcpc *d, int up)
{
	struct dhcp_actions a;
	if (d->pfd <= 0 || d->core.link_up == !!up)
		return;
	log_info("dhcp: %s: carrier %s%s", d->ifname, up ? "up" : "lost",
		 !up ? "" : d->core.configured ? "; confirming the lease" : "; asking again");
	if (dhcp_link(&d->core, ev_now_ms(), up, &a) == 0)
		dhcpc_do(d, &a);
}

void dhcpc_stop(struct dhcpc *d)
{
	struct dhcp_actions a;
	if (d->pfd <= 0)
		return;
	if (dhcp_stop(&d->core, ev_now_ms(), &a) == 0)
		dhcpc_do(d, &a);
	ev_unwatch(d->loop, d->pfd);
	close(d->pfd);
	d->pfd = -1;
}
