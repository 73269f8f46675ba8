/* Turns a server's OFFER or ACK into the lease the shell applies: checks the address and
 * times, derives the prefix, T1/T2 and deadlines, picks routes (option 121 over option 3,
 * RFC 3442) and keeps only names fit for resolv.conf and /etc/hosts. */
#include <string.h>

#include "dhcp_priv.h"

int dhcp_addr_usable(uint32_t a)
{
	uint8_t first = (uint8_t)(a >> 24);
	return first != 0 && first != 127 && first < 224;
}

/* Prefix length of a contiguous mask, or -1. */
static int mask_prefix(uint32_t mask)
{
	int n = 0;
	while (n < 32 && (mask & (0x80000000u >> n)))
		n++;
	uint32_t expect = n ? ~0u << (32 - n) : 0;
	return mask == expect ? n : -1;
}

/* The historical class default (RFC 2131 §3.3 leaves it to the client). */
static int class_prefix(uint32_t a)
{
	return a < 0x80000000u ? 8 : a < 0xc0000000u ? 16 : 24;
}

static uint64_t deadline(uint64_t base, uint32_t s)
{
	return s == DHCP_INFINITE ? DHCP_NEVER : base + (uint64_t)s * 1000;
}

/* T1/T2 default to 1/2 and 7/8 of the lease (RFC 2131 §4.4.5) and must satisfy
 * T1 <= T2 <= lease; servers that send nonsense get the defaults. */
static void lease_times(const struct dhcp_msg *m, uint64_t base, struct dhcp_lease *l)
{
	uint32_t lt = m->lease_time;

	l->lease_s = lt;
	if (lt == DHCP_INFINITE) {
		l->t1_s = l->t2_s = DHCP_INFINITE;
	} else {
		uint32_t t2 = (uint32_t)((uint64_t)lt * 7 / 8), t1 = lt / 2;
		if (dhcp_has(m, DHCP_OPT_T2) && m->t2 <= lt)
			t2 = m->t2;
		if (dhcp_has(m, DHCP_OPT_T1) && m->t1 <= t2)
			t1 = m->t1;
		if (t1 > t2)
			t1 = t2;
		l->t1_s = t1;
		l->t2_s = t2;
	}
	l->acquired_ms = base;
	l->t1_ms = deadline(base, l->t1_s);
	l->t2_ms = deadline(base, l->t2_s);
	l->expiry_ms = deadline(base, l->lease_s);
}

static void lease_routes(const struct dhcp_msg *m, struct dhcp_lease *l)
{
	if (dhcp_has(m, DHCP_OPT_CLASSLESS)) {
		for (size_t i = 0; i < m->n_routes; i++)
			if (m->routes[i].gw == 0 || dhcp_addr_usable(m->routes[i].gw))
				l->routes[l->n_routes++] = m->routes[i];
		return;
	}
	for (size_t i = 0; i < m->n_routers; i++)
		if (dhcp_addr_usable(m->routers[i]))
			l->routers[l->n_routers++] = m->routers[i];
	if (l->n_routers)
		l->routes[l->n_routes++] = (struct dhcp_route){0, 0, l->routers[0]};
}

static void lease_names(const struct dhcp_msg *m, struct dhcp_lease *l)
{
	if (dhcp_name_valid(m->domain))
		memcpy(l->domain, m->domain, strlen(m->domain) + 1);
	for (size_t i = 0; i < m->n_search; i++)
		if (dhcp_name_valid(m->search[i]))
			memcpy(l->search[l->n_search++], m->search[i], strlen(m->search[i]) + 1);
	if (strlen(m->hostname) <= DHCP_HOSTNAME_MAX && dhcp_name_valid(m->hostname))
		memcpy(l->hostname, m->hostname, strlen(m->hostname) + 1);
}

static int addr_check(const struct dhcp_msg *m, struct dhcp_lease *l, const char **why)
{
	int prefix = dhcp_has(m, DHCP_OPT_SUBNET_MASK) ? mask_prefix(m->subnet_mask)
						       : class_prefix(m->yiaddr);
	if (!dhcp_addr_usable(m->yiaddr)) {
		*why = "yiaddr is not a usable unicast address";
		return DHCP_EIGNORED;
	}
	if (prefix < 0 || prefix == 0) {
		*why = "subnet mask (option 1) is not contiguous or is 0.0.0.0";
		return DHCP_EIGNORED;
	}
	uint32_t host = prefix == 32 ? 0 : m->yiaddr & ~(~0u << (32 - prefix));
	if (prefix <= 30 && (host == 0 || host == ~(~0u << (32 - prefix)))) {
		*why = "yiaddr is the subnet's network or broadcast address";
		return DHCP_EIGNORED;
	}
	l->address = m->yiaddr;
	l->prefix_len = (uint8_t)prefix;
	return 0;
}

int dhcp_lease_build(const struct dhcp_msg *m, uint64_t base_ms, struct dhcp_lease *l,
		     const char **why)
{
	memset(l, 0, sizeof(*l));
	if (!dhcp_has(m, DHCP_OPT_SERVER_ID) || !dhcp_addr_usable(m->server_id)) {
		*why = "no usable server identifier (option 54)";
		return DHCP_EIGNORED;
	}
	if (!dhcp_has(m, DHCP_OPT_LEASE_TIME) || m->lease_time == 0) {
		*why = "no lease time (option 51), or a lease of 0 seconds";
		return DHCP_EIGNORED;
	}
	if (addr_check(m, l, why) < 0)
		return DHCP_EIGNORED;
	l->server_id = m->server_id;
	lease_times(m, base_ms, l);
	lease_routes(m, l);
	for (size_t i = 0; i < m->n_dns; i++)
		if (dhcp_addr_usable(m->dns[i]))
			l->dns[l->n_dns++] = m->dns[i];
	lease_names(m, l);
	if (dhcp_has(m, DHCP_OPT_MTU) && m->mtu >= 68)
		l->mtu = m->mtu;
	return 0;
}
