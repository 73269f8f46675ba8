/* The rtnetlink shell: one synchronous request at a time on a NETLINK_ROUTE socket, each
 * reply checked for its sender (the kernel), sequence number and length before use. */
#include <errno.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000	/* carrier; glibc's <net/if.h> lacks it, <linux/if.h> clashes */
#endif

static uint32_t nl_seq = 1;

int nl_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

typedef int nl_msg_fn(const struct nlmsghdr *nh, void *arg);

/* Sends r and reads replies until the ACK (or, for a dump, NLMSG_DONE), passing each data
 * message to fn. Returns 0, the kernel's -errno, or -EBADMSG for a malformed reply. */
static int nl_talk(int fd, struct nl_req *r, nl_msg_fn *fn, void *arg)
{
	if (r->overflow)
		return -EMSGSIZE;
	struct nlmsghdr *req = (struct nlmsghdr *)r->buf;
	req->nlmsg_seq = nl_seq++;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	if (sendto(fd, r->buf, r->len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	static uint8_t buf[32768];
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (from.nl_pid != 0)
			continue;	/* not from the kernel */
		size_t left = (size_t)n;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left);
		     nh = NLMSG_NEXT(nh, left)) {
			if (nh->nlmsg_seq != req->nlmsg_seq)
				continue;	/* a late reply to an earlier request */
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
					return -EBADMSG;
				const struct nlmsgerr *e = NLMSG_DATA(nh);
				return e->error;	/* 0 is the ACK */
			}
			int rc = fn ? fn(nh, arg) : 0;
			if (rc < 0)
				return rc;
		}
		if (left != 0)
			return -EBADMSG;
	}
}

struct links_ctx {
	struct nl_link *out;
	int max, count;
	struct nl_link cur;
};

static int link_attr(uint16_t type, const void *data, size_t len, void *arg)
{
	struct nl_link *l = arg;
	if (type == IFLA_IFNAME && len > 0) {
		size_t n = strnlen(data, len);
		if (n >= sizeof(l->name))
			n = sizeof(l->name) - 1;
		memcpy(l->name, data, n);
		l->name[n] = '\0';
	} else if (type == IFLA_ADDRESS && len == 6) {
		memcpy(l->mac, data, 6);
		l->has_mac = 1;
	} else if (type == IFLA_MTU && len == 4) {
		memcpy(&l->mtu, data, 4);
	}
	return 0;
}

static int link_msg(const struct nlmsghdr *nh, void *arg)
{
	struct links_ctx *c = arg;
	if (nh->nlmsg_type != RTM_NEWLINK || nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return -EBADMSG;
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	struct nl_link l = { .index = ifi->ifi_index, .flags = ifi->ifi_flags,
			     .carrier = !!(ifi->ifi_flags & IFF_LOWER_UP) };
	const uint8_t *attrs = (const uint8_t *)ifi + NLMSG_ALIGN(sizeof(*ifi));
	int rc = nl_attrs_walk(attrs, (const uint8_t *)nh + nh->nlmsg_len, link_attr, &l);
	if (rc < 0)
		return rc;
	if (c->count < c->max)
		c->out[c->count] = l;
	c->count++;
	return 0;
}

int nl_open_monitor(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int nl_monitor_read(int fd, struct nl_link *out, int max)
{
	static uint8_t buf[16384];
	struct sockaddr_nl from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	if (n < 0)
		return -errno;
	if (from.nl_pid != 0)
		return 0;	/* not from the kernel */
	struct links_ctx c = { .out = out, .max = max };
	size_t left = (size_t)n;
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, left);
	     nh = NLMSG_NEXT(nh, left))
		if (nh->nlmsg_type == RTM_NEWLINK && link_msg(nh, &c) < 0)
			return -EBADMSG;
	return c.count < max ? c.count : max;
}

int nl_links(int fd, struct nl_link *out, int max)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	struct nl_req r;
	nl_req_init(&r, RTM_GETLINK, NLM_F_DUMP, 0, &ifi, sizeof(ifi));
	struct links_ctx c = { .out = out, .max = max };
	int rc = nl_talk(fd, &r, link_msg, &c);
	return rc < 0 ? rc : c.count;
}

int nl_link_set(int fd, int index, int up, unsigned mtu)
{
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index,
				 .ifi_change = IFF_UP, .ifi_flags = up ? IFF_UP : 0 };
	struct nl_req r;
	nl_req_init(&r, RTM_NEWLINK, NLM_F_ACK, 0, &ifi, sizeof(ifi));
	if (mtu)
		nl_req_attr_u32(&r, IFLA_MTU, mtu);
	return nl_talk(fd, &r, NULL, NULL);
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int nl_addr(int fd, int add, int index, int family, const void *addr, int prefix)
{
	size_t alen = addr_len(family);
	if (!alen || prefix < 0 || (size_t)prefix > alen * 8 || index <= 0)
		return -EINVAL;
	struct ifaddrmsg ifa = { .ifa_family = (uint8_t)family, .ifa_prefixlen = (uint8_t)prefix,
				 .ifa_index = (unsigned)index };
	struct nl_req r;
	nl_req_init(&r, add ? RTM_NEWADDR : RTM_DELADDR,
		    NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0), 0, &ifa, sizeof(ifa));
	nl_req_attr(&r, IFA_LOCAL, addr, alen);
	nl_req_attr(&r, IFA_ADDRESS, addr, alen);
	int rc = nl_talk(fd, &r, NULL, NULL);
	return (add && rc == -EEXIST) ? 0 : rc;
}

int nl_route(int fd, int add, int family, const void *dst, int dst_len, const void *gw,
	     int oif, uint32_t metric)
{
	size_t alen = addr_len(family);
	if (!alen || dst_len < 0 || (size_t)dst_len > alen * 8 || (dst_len && !dst))
		return -EINVAL;
	struct rtmsg rtm = { .rtm_family = (uint8_t)family, .rtm_dst_len = (uint8_t)dst_len,
			     .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
			     .rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK,
			     .rtm_type = RTN_UNICAST };
	struct nl_req r;
	nl_req_init(&r, add ? RTM_NEWROUTE : RTM_DELROUTE,
		    NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0), 0, &rtm, sizeof(rtm));
	if (dst_len)
		nl_req_attr(&r, RTA_DST, dst, alen);
	if (gw)
		nl_req_attr(&r, RTA_GATEWAY, gw, alen);
	if (oif)
		nl_req_attr_u32(&r, RTA_OIF, (uint32_t)oif);
	if (metric)
		nl_req_attr_u32(&r, RTA_PRIORITY, metric);
	int rc = nl_talk(fd, &r, NULL, NULL);
	return (add && rc == -EEXIST) ? 0 : rc;
}
