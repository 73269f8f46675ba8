/* rtnetlink: the request builder and attribute walker on crafted bytes, then the shell
 * against the real kernel inside a private network namespace (links, MTU, addresses,
 * routes), checked with iproute2's `ip`. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../net/net.h"
#include "../testutil.h"

static int count_attr(uint16_t type, const void *data, size_t len, void *arg)
{
	(void)type;
	(void)data;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

static void test_builder_and_walker(void)
{
	struct nl_req r;
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
	nl_req_init(&r, RTM_NEWLINK, NLM_F_ACK, 7, &ifi, sizeof(ifi));
	nl_req_attr_u32(&r, IFLA_MTU, 1450);
	nl_req_attr(&r, IFLA_IFNAME, "eth0", 5);
	TU_EQ_INT(r.overflow, 0);
	TU_EQ_INT(((struct nlmsghdr *)r.buf)->nlmsg_len, r.len);
	TU_EQ_INT(r.len, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifi)) + RTA_SPACE(4) + RTA_SPACE(5));
	int n = 0;
	const uint8_t *attrs = r.buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifi));
	TU_EQ_INT(nl_attrs_walk(attrs, r.buf + r.len, count_attr, &n), 0);
	TU_EQ_INT(n, 2);
	/* an attribute claiming more bytes than there are */
	uint8_t bad[8] = { 0xff, 0x00, 0x03, 0x00, 'x', 0, 0, 0 };
	n = 0;
	TU_EQ_INT(nl_attrs_walk(bad, bad + sizeof(bad), count_attr, &n), -EBADMSG);
	TU_EQ_INT(n, 0);
	/* shorter than its own header, and a truncated header */
	uint8_t tiny[4] = { 0x02, 0x00, 0x01, 0x00 };
	TU_EQ_INT(nl_attrs_walk(tiny, tiny + 4, count_attr, &n), -EBADMSG);
	TU_EQ_INT(nl_attrs_walk(tiny, tiny + 2, count_attr, &n), -EBADMSG);
	/* a request that would overflow refuses, and stays refused */
	char big[600] = { 0 };
	nl_req_attr(&r, IFLA_IFALIAS, big, sizeof(big));
	nl_req_attr(&r, IFLA_IFALIAS, big, sizeof(big));
	TU_EQ_INT(r.overflow, 1);
}

static int sh_has(const char *cmd, const char *needle)
{
	char line[512];
	int found = 0;
	FILE *p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p))
		found |= strstr(line, needle) != NULL;
	pclose(p);
	return found;
}

static int find_lo(int fd, struct nl_link *lo)
{
	struct nl_link links[16];
	int n = nl_links(fd, links, 16);
	for (int i = 0; i < n && i < 16; i++)
		if (strcmp(links[i].name, "lo") == 0) {
			*lo = links[i];
			return 1;
		}
	return 0;
}

static void test_kernel(void)
{
	int fd = nl_open();
	TU_CHECK(fd >= 0);
	struct nl_link lo;
	TU_CHECK(find_lo(fd, &lo));
	TU_EQ_INT(lo.flags & IFF_UP, 0);	/* a new namespace starts with lo down */
	TU_EQ_INT(nl_link_set(fd, lo.index, 1, 60000), 0);
	TU_CHECK(find_lo(fd, &lo));
	TU_CHECK(lo.flags & IFF_UP);
	TU_EQ_INT(lo.mtu, 60000);

	uint8_t a[4], net[4], gw[4];
	inet_pton(AF_INET, "10.9.8.7", a);
	inet_pton(AF_INET, "10.9.9.0", net);
	inet_pton(AF_INET, "10.9.8.1", gw);
	TU_EQ_INT(nl_addr(fd, 1, lo.index, AF_INET, a, 24), 0);
	TU_EQ_INT(nl_addr(fd, 1, lo.index, AF_INET, a, 24), 0);	/* again: not an error */
	TU_CHECK(sh_has("ip -4 -o addr show dev lo", "inet 10.9.8.7/24"));
	TU_EQ_INT(nl_route(fd, 1, AF_INET, net, 24, gw, lo.index, 10), 0);
	TU_CHECK(sh_has("ip -4 route show", "10.9.9.0/24 via 10.9.8.1 dev lo"));
	TU_EQ_INT(nl_route(fd, 1, AF_INET, NULL, 0, gw, lo.index, 0), 0);	/* default */
	TU_CHECK(sh_has("ip -4 route show", "default via 10.9.8.1 dev lo"));
	uint8_t a6[16];
	inet_pton(AF_INET6, "fd00::7", a6);
	TU_EQ_INT(nl_addr(fd, 1, lo.index, AF_INET6, a6, 64), 0);
	TU_CHECK(sh_has("ip -6 -o addr show dev lo", "inet6 fd00::7/64"));

	TU_EQ_INT(nl_route(fd, 0, AF_INET, net, 24, gw, lo.index, 10), 0);
	TU_CHECK(!sh_has("ip -4 route show", "10.9.9.0/24"));
	TU_EQ_INT(nl_addr(fd, 0, lo.index, AF_INET, a, 24), 0);
	TU_CHECK(!sh_has("ip -4 -o addr show dev lo", "10.9.8.7"));

	/* the kernel's refusals come back as its errno */
	TU_EQ_INT(nl_link_set(fd, 9999, 1, 0), -ENODEV);
	TU_EQ_INT(nl_addr(fd, 0, lo.index, AF_INET, a, 24), -EADDRNOTAVAIL);
	TU_EQ_INT(nl_addr(fd, 1, lo.index, AF_INET, a, 33), -EINVAL);
	TU_EQ_INT(nl_route(fd, 1, 12345, net, 24, gw, 0, 0), -EINVAL);
	close(fd);
}

/* Link changes reach a monitor socket: a veth pair made by ip, then its carrier coming
 * up when both ends are up. */
static void test_monitor(void)
{
	int fd = nl_open(), mon = nl_open_monitor();
	TU_CHECK(mon >= 0);
	struct nl_link l[16];
	TU_EQ_INT(nl_monitor_read(mon, l, 16), -EAGAIN);	/* nothing yet */
	TU_EQ_INT(system("ip link add cabt0 type veth peer name cabt1"), 0);
	int seen_new = 0, seen_carrier = 0, n;
	while ((n = nl_monitor_read(mon, l, 16)) != -EAGAIN)
		for (int i = 0; i < n; i++)
			seen_new |= strcmp(l[i].name, "cabt0") == 0 && l[i].has_mac &&
				    !l[i].carrier;
	TU_CHECK(seen_new);
	TU_EQ_INT(system("ip link set cabt1 up"), 0);
	struct nl_link all[16];
	int k = nl_links(fd, all, 16), idx = 0;
	for (int i = 0; i < k && i < 16; i++)
		if (strcmp(all[i].name, "cabt0") == 0)
			idx = all[i].index;
	TU_EQ_INT(nl_link_set(fd, idx, 1, 0), 0);
	for (int tries = 0; tries < 100 && !seen_carrier; tries++) {
		while ((n = nl_monitor_read(mon, l, 16)) > 0 || n == -EBADMSG)
			for (int i = 0; i < n; i++)
				seen_carrier |= l[i].index == idx && l[i].carrier;
		usleep(10000);
	}
	TU_CHECK(seen_carrier);
	TU_EQ_INT(system("ip link del cabt0"), 0);
	close(mon);
	close(fd);
}

int main(void)
{
	TU_RUN(test_builder_and_walker);
	if (unshare(CLONE_NEWNET) < 0)
		TU_SKIP("cannot make a network namespace: %s", strerror(errno));
	if (system("ip -V >/dev/null 2>&1") != 0)
		TU_SKIP("iproute2's ip is not installed");
	TU_RUN(test_kernel);
	TU_RUN(test_monitor);
	return TU_EXIT();
}
