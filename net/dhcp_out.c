/* The messages the client sends, shaped by its state as in RFC 2131 Table 5 (ciaddr,
 * requested IP, server identifier, destination), and the seeded PRNG behind xids and
 * retransmission jitter. */
#include <stddef.h>
#include <string.h>

#include "dhcp_priv.h"

/* Options a client of an appliance needs; 121 is asked for alongside 3 (RFC 3442 §4). */
static const uint8_t param_list[] = {
	DHCP_OPT_SUBNET_MASK, DHCP_OPT_ROUTER, DHCP_OPT_DNS, DHCP_OPT_HOSTNAME,
	DHCP_OPT_DOMAIN, DHCP_OPT_MTU, DHCP_OPT_SEARCH, DHCP_OPT_CLASSLESS,
};

uint64_t dhcp_rand(struct dhcp_client *c)
{
	uint64_t z = (c->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint16_t secs_since(uint64_t start, uint64_t now)
{
	uint64_t s = now > start ? (now - start) / 1000 : 0;
	return (uint16_t)(s > 0xffff ? 0xffff : s);
}

static void common(struct dhcp_client *c, struct dhcp_msg *m, uint8_t type, int identify)
{
	memset(m, 0, sizeof(*m));
	m->op = DHCP_BOOTREQUEST;
	m->htype = 1;
	m->hlen = 6;
	m->xid = c->xid;
	memcpy(m->chaddr, c->cfg.mac, 6);
	m->type = type;
	dhcp_set(m, DHCP_OPT_MSG_TYPE);
	memcpy(m->client_id, c->client_id, c->cfg.client_id_len);
	m->client_id_len = (uint8_t)c->cfg.client_id_len;
	dhcp_set(m, DHCP_OPT_CLIENT_ID);
	if (!identify)
		return;
	m->max_size = c->cfg.max_size ? c->cfg.max_size : DHCP_PKT_CAP;
	dhcp_set(m, DHCP_OPT_MAX_SIZE);
	memcpy(m->param_list, param_list, sizeof(param_list));
	m->n_params = sizeof(param_list);
	dhcp_set(m, DHCP_OPT_PARAM_LIST);
	if (c->hostname[0]) {
		memcpy(m->hostname, c->hostname, strlen(c->hostname) + 1);
		dhcp_set(m, DHCP_OPT_HOSTNAME);
	}
}

static void set_addr_opt(struct dhcp_msg *m, unsigned code, uint32_t a)
{
	if (code == DHCP_OPT_REQUESTED_IP)
		m->requested_ip = a;
	else
		m->server_id = a;
	dhcp_set(m, code);
}

/* Fills the state-dependent fields of a REQUEST (RFC 2131 §4.3.2, Table 5). */
static void shape_request(struct dhcp_client *c, struct dhcp_msg *m, struct dhcp_packet *p,
			  uint64_t now)
{
	switch (c->state) {
	case DHCP_REQUESTING:
		m->secs = c->discover_secs;
		set_addr_opt(m, DHCP_OPT_REQUESTED_IP, c->offer_addr);
		set_addr_opt(m, DHCP_OPT_SERVER_ID, c->offer_server);
		break;
	case DHCP_REBOOTING:
		m->secs = secs_since(c->started_ms, now);
		set_addr_opt(m, DHCP_OPT_REQUESTED_IP, c->reboot_addr);
		break;
	case DHCP_RENEWING:
		p->dst = c->lease.server_id;
		/* fall through */
	default: /* REBINDING */
		m->secs = secs_since(c->started_ms, now);
		m->ciaddr = p->src = c->lease.address;
		break;
	}
}

int dhcp_emit(struct dhcp_client *c, uint64_t now_ms, uint8_t type, struct dhcp_actions *out)
{
	struct dhcp_msg m;
	struct dhcp_action *a = &out->act[out->n];

	if (out->n == DHCP_ACTIONS_MAX)
		return DHCP_ETOOBIG;
	memset(&a->pkt, 0, offsetof(struct dhcp_packet, data));
	a->kind = DHCP_ACT_SEND;
	a->lease = NULL;
	a->address = 0;
	a->prefix_len = 0;
	a->pkt.type = type;
	a->pkt.dst = DHCP_BROADCAST;
	common(c, &m, type, type != DHCP_RELEASE);
	if (type == DHCP_DISCOVER) {
		m.secs = c->discover_secs = secs_since(c->started_ms, now_ms);
	} else if (type == DHCP_REQUEST) {
		shape_request(c, &m, &a->pkt, now_ms);
	} else { /* RELEASE: unicast from the leased address (§4.4.6) */
		m.ciaddr = a->pkt.src = c->lease.address;
		a->pkt.dst = c->lease.server_id;
		set_addr_opt(&m, DHCP_OPT_SERVER_ID, c->lease.server_id);
	}
	if (c->cfg.broadcast_flag && m.ciaddr == 0)
		m.flags = DHCP_FLAG_BROADCAST;
	int n = dhcp_encode(&m, a->pkt.data, sizeof(a->pkt.data), NULL);
	if (n < 0)
		return n;
	a->pkt.len = (size_t)n;
	out->n++;
	return 0;
}
