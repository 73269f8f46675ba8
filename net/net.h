/* Networking for cabind: rtnetlink (links, addresses, routes) and, later, the DHCP client
 * and the overlay. This header is the rtnetlink part: a small request builder and reply
 * walker (pure, bounds-checked) and a synchronous shell over a NETLINK_ROUTE socket. */
#ifndef CABIN_NET_H
#define CABIN_NET_H

#include <stddef.h>
#include <stdint.h>

/* ---- nl_msg.c: building and walking netlink messages (pure) ------------------------- */
struct nl_req {
	uint8_t buf[1024];
	size_t len;		/* bytes used, always NLMSG_ALIGNed */
	int overflow;		/* an append did not fit: the request must not be sent */
};

/* Starts a request: nlmsghdr of type with flags (NLM_F_REQUEST is added) and seq, then the
 * fixed family header of hdr_len bytes copied from hdr. */
void nl_req_init(struct nl_req *r, uint16_t type, uint16_t flags, uint32_t seq,
		 const void *hdr, size_t hdr_len);
/* Appends attribute type with len bytes of data; sets r->overflow if it does not fit. */
void nl_req_attr(struct nl_req *r, uint16_t type, const void *data, size_t len);
void nl_req_attr_u32(struct nl_req *r, uint16_t type, uint32_t v);

/* Walks the attributes in [p, end): calls fn for each well-formed one; stops with
 * -EBADMSG at a malformed one (length past end, shorter than its header). Returns 0. */
typedef int nl_attr_fn(uint16_t type, const void *data, size_t len, void *arg);
int nl_attrs_walk(const void *p, const void *end, nl_attr_fn *fn, void *arg);

/* ---- nl.c: the rtnetlink shell ---------------------------------------------------- */
struct nl_link {
	int index;
	char name[16];
	uint8_t mac[6];
	int has_mac;
	unsigned flags;		/* IFF_* */
	int carrier;		/* IFF_LOWER_UP */
	unsigned mtu;
};

/* Opens a NETLINK_ROUTE socket (close(2) it). Returns the fd or -errno. */
int nl_open(void);
/* Opens a non-blocking NETLINK_ROUTE socket that hears of every link change (close(2)
 * it). Returns the fd or -errno. */
int nl_open_monitor(void);
/* Reads one datagram from a monitor socket: the links it announces (RTM_NEWLINK) go to
 * out[max]. Returns how many were stored, -EAGAIN when nothing is queued, -ENOBUFS when
 * the kernel dropped events (list the links again), -EBADMSG, or another -errno. */
int nl_monitor_read(int fd, struct nl_link *out, int max);
/* Lists links into out[max]; returns how many there are (may exceed max) or -errno. */
int nl_links(int fd, struct nl_link *out, int max);
/* Sets a link up or down and, if mtu is not 0, its MTU. Returns 0 or -errno. */
int nl_link_set(int fd, int index, int up, unsigned mtu);
/* Adds (add != 0) or removes an address (AF_INET: 4 bytes, AF_INET6: 16) with its prefix
 * length on a link. Adding one that exists is not an error. Returns 0 or -errno. */
int nl_addr(int fd, int add, int index, int family, const void *addr, int prefix);
/* Adds or removes a route to dst/dst_len (dst_len 0: the default route) via gw (NULL: on
 * link), out of link oif (0: any), with metric. Adding one that exists is not an error.
 * Returns 0 or -errno. */
int nl_route(int fd, int add, int family, const void *dst, int dst_len, const void *gw,
	     int oif, uint32_t metric);

#endif
