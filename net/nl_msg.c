/* Netlink messages without I/O: requests built into a fixed buffer that refuses to
 * overflow, and attribute walks that check every length against an explicit end. */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>

#include "net.h"

void nl_req_init(struct nl_req *r, uint16_t type, uint16_t flags, uint32_t seq,
		 const void *hdr, size_t hdr_len)
{
	memset(r, 0, sizeof(*r));
	struct nlmsghdr *nh = (struct nlmsghdr *)r->buf;
	nh->nlmsg_type = type;
	nh->nlmsg_flags = (uint16_t)(flags | NLM_F_REQUEST);
	nh->nlmsg_seq = seq;
	r->len = NLMSG_HDRLEN;
	if (NLMSG_ALIGN(r->len + hdr_len) > sizeof(r->buf)) {
		r->overflow = 1;
		return;
	}
	memcpy(r->buf + r->len, hdr, hdr_len);
	r->len = NLMSG_ALIGN(r->len + hdr_len);
	nh->nlmsg_len = (uint32_t)r->len;
}

void nl_req_attr(struct nl_req *r, uint16_t type, const void *data, size_t len)
{
	size_t need = RTA_SPACE(len);
	if (r->overflow || len > 0xffff - RTA_LENGTH(0) || r->len + need > sizeof(r->buf)) {
		r->overflow = 1;
		return;
	}
	struct rtattr *a = (struct rtattr *)(r->buf + r->len);
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	memset((uint8_t *)RTA_DATA(a) + len, 0, need - RTA_LENGTH(len));
	r->len += need;
	((struct nlmsghdr *)r->buf)->nlmsg_len = (uint32_t)r->len;
}

void nl_req_attr_u32(struct nl_req *r, uint16_t type, uint32_t v)
{
	nl_req_attr(r, type, &v, sizeof(v));
}

int nl_attrs_walk(const void *p, const void *end, nl_attr_fn *fn, void *arg)
{
	const uint8_t *q = p, *e = end;
	while (q < e) {
		const struct rtattr *a = (const struct rtattr *)q;
		if ((size_t)(e - q) < sizeof(*a) || a->rta_len < sizeof(*a) ||
		    a->rta_len > (size_t)(e - q))
			return -EBADMSG;
		int rc = fn(a->rta_type, RTA_DATA(a), a->rta_len - RTA_LENGTH(0), arg);
		if (rc < 0)
			return rc;
		size_t step = RTA_ALIGN(a->rta_len);
		if (step > (size_t)(e - q))
			break;
		q += step;
	}
	return 0;
}
