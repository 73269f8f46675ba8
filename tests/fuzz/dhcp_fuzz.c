/* libFuzzer driver for the DHCP core: arbitrary bytes go to dhcp_decode (and whatever
 * decodes must re-encode stably), and to dhcp_input of a client driven into each state,
 * optionally patched to pass the xid/chaddr filter; every batch of actions is checked. */
#include <stdlib.h>
#include <string.h>

#include "../../net/dhcp.h"
#include "../../net/dhcp_priv.h"

#define CHECK(x)              \
	do {                  \
		if (!(x))     \
			abort(); \
	} while (0)

static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static struct dhcp_client cl;
static struct dhcp_msg m1, m2;
static struct dhcp_actions acts;
static uint32_t xid;

static void check_lease(const struct dhcp_lease *l)
{
	CHECK(dhcp_addr_usable(l->address));
	CHECK(l->prefix_len >= 1 && l->prefix_len <= 32);
	CHECK(l->t1_ms <= l->t2_ms && l->t2_ms <= l->expiry_ms);
	CHECK(l->n_routes <= DHCP_ROUTES_MAX && l->n_dns <= DHCP_DNS_MAX);
	CHECK(l->n_search <= DHCP_SEARCH_MAX);
	CHECK(!l->domain[0] || dhcp_name_valid(l->domain));
	CHECK(!l->hostname[0] || dhcp_name_valid(l->hostname));
	for (size_t i = 0; i < l->n_search; i++)
		CHECK(dhcp_name_valid(l->search[i]));
}

/* Every batch: sent packets decode as our requests; leases are sane. */
static void check(int rc)
{
	CHECK(rc <= 0 && acts.n <= DHCP_ACTIONS_MAX);
	for (size_t i = 0; i < acts.n; i++) {
		const struct dhcp_action *a = &acts.act[i];
		if (a->kind == DHCP_ACT_CONFIGURE) {
			CHECK(a->lease && a->lease == dhcp_current_lease(&cl));
			check_lease(a->lease);
		} else if (a->kind == DHCP_ACT_SEND) {
			CHECK(a->pkt.len <= DHCP_PKT_CAP);
			CHECK(dhcp_decode(a->pkt.data, a->pkt.len, &m2, NULL) > 0);
			CHECK(m2.op == DHCP_BOOTREQUEST && m2.type == a->pkt.type);
			xid = m2.xid;
		}
	}
}

static int reply(uint8_t type, uint8_t *buf, size_t cap)
{
	memset(&m1, 0, sizeof(m1));
	m1.op = DHCP_BOOTREPLY, m1.htype = 1, m1.hlen = 6, m1.xid = xid;
	memcpy(m1.chaddr, mac, 6);
	m1.yiaddr = 0x0a00020f;
	m1.type = type;
	m1.server_id = 0x0a000202;
	m1.lease_time = 600;
	dhcp_set(&m1, DHCP_OPT_MSG_TYPE);
	dhcp_set(&m1, DHCP_OPT_SERVER_ID);
	dhcp_set(&m1, DHCP_OPT_LEASE_TIME);
	return dhcp_encode(&m1, buf, cap, NULL);
}

static void feed(uint64_t now, uint8_t type)
{
	uint8_t buf[DHCP_PKT_CAP];
	int n = reply(type, buf, sizeof(buf));
	CHECK(n > 0);
	check(dhcp_input(&cl, now, buf, (size_t)n, &acts));
}

/* Drives a fresh client into one of eight situations; returns the clock. */
static uint64_t drive(unsigned target)
{
	struct dhcp_config cfg = {.hostname = "fuzz", .seed = target};
	struct dhcp_lease prev = {.address = 0x0a00020f};
	uint64_t now = 1000;

	memcpy(cfg.mac, mac, 6);
	CHECK(dhcp_init(&cl, &cfg) == 0);
	check(dhcp_start(&cl, now, target == 5 ? &prev : NULL, &acts));
	if (target >= 1 && target <= 4)
		feed(now, DHCP_OFFER);
	if (target >= 2 && target <= 4)
		feed(now, DHCP_ACK);
	if (target == 3)
		check(dhcp_tick(&cl, now += 300000, &acts)); /* T1 */
	if (target == 4)
		check(dhcp_tick(&cl, now += 530000, &acts)); /* T2 */
	if (target == 6)
		feed(now, DHCP_NAK), feed(now, DHCP_NAK);
	if (target == 7)
		check(dhcp_link(&cl, now, false, &acts));
	return now;
}

static void fuzz_codec(const uint8_t *data, size_t size)
{
	static uint8_t enc1[8192], enc2[8192];

	if (dhcp_decode(data, size, &m1, NULL) < 0)
		return;
	int n1 = dhcp_encode(&m1, enc1, sizeof(enc1), NULL);
	if (n1 < 0)
		return; /* e.g. a search name we decode but refuse to send */
	CHECK(dhcp_decode(enc1, (size_t)n1, &m2, NULL) > 0);
	int n2 = dhcp_encode(&m2, enc2, sizeof(enc2), NULL);
	CHECK(n2 == n1 && memcmp(enc1, enc2, (size_t)n1) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[4096];

	fuzz_codec(data, size);
	if (size < 1 || size - 1 > sizeof(buf))
		return 0;
	/* The last byte picks the state and the patching, so seeds are packets + 1 byte. */
	unsigned sel = data[size - 1];
	size_t n = size - 1;
	uint64_t now = drive(sel & 7);
	memcpy(buf, data, n);
	if ((sel & 8) && n >= DHCP_OPTS_OFF) { /* get past the reply filter */
		buf[0] = DHCP_BOOTREPLY, buf[1] = 1, buf[2] = 6;
		dhcp_put32(buf + 4, xid);
		memcpy(buf + BOOTP_CHADDR_OFF, mac, 6);
	}
	check(dhcp_input(&cl, now + (sel >> 4), buf, n, &acts));
	check(dhcp_tick(&cl, now + 5000, &acts));
	check(dhcp_tick(&cl, now + 700000, &acts));
	check(dhcp_link(&cl, now + 700001, false, &acts));
	check(dhcp_link(&cl, now + 700002, true, &acts));
	check(dhcp_stop(&cl, now + 700003, &acts));
	CHECK(dhcp_current_lease(&cl) == NULL);
	return 0;
}
