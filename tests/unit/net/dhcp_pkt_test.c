/* The DHCP packet codec: encode/decode round trips, packets written byte by byte from
 * RFC 2131/2132/3396/3397/3442, and malformed input that must fail with a reason and offset. */
#include "../../../net/dhcp.h"
#include "../../../net/dhcp_priv.h"
#include "../testutil.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* A packet under construction: the 240-byte header with cookie, then raw option bytes. */
struct pkt {
	uint8_t b[4096];
	size_t n;
};

static void pkt_reply(struct pkt *p, uint32_t xid, uint32_t yiaddr)
{
	memset(p, 0, sizeof(*p));
	p->b[0] = 2; /* BOOTREPLY */
	p->b[1] = 1;
	p->b[2] = 6;
	dhcp_put32(p->b + 4, xid);
	dhcp_put32(p->b + 16, yiaddr);
	dhcp_put32(p->b + 20, IP(10, 0, 2, 2)); /* siaddr */
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
	memcpy(p->b + 28, mac, 6);
	dhcp_put32(p->b + 236, 0x63825363);
	p->n = 240;
}

static void add(struct pkt *p, const uint8_t *bytes, size_t n)
{
	memcpy(p->b + p->n, bytes, n);
	p->n += n;
}
#define ADD(p, ...)                                              \
	do {                                                     \
		static const uint8_t bytes_[] = {__VA_ARGS__};   \
		add((p), bytes_, sizeof(bytes_));                \
	} while (0)

static struct dhcp_msg m; /* large: keep it off the stack */

/* Decodes p; expects rc and, for errors, both fragments in the reason. */
static void expect_fail(const struct pkt *p, int rc, const char *frag1, const char *frag2)
{
	const char *err = NULL;
	int got = dhcp_decode(p->b, p->n, &m, &err);
	TU_EQ_INT(got, rc);
	TU_CHECK(err != NULL);
	if (!err)
		return;
	if (!strstr(err, frag1) || (frag2 && !strstr(err, frag2))) {
		tu_failures++;
		fprintf(stderr, "FAIL reason \"%s\" lacks \"%s\" / \"%s\"\n", err, frag1,
			frag2 ? frag2 : "");
	}
}

/* An OFFER as QEMU's slirp sends it, written from RFC 2131 §2 and RFC 2132. */
static void test_decode_offer(void)
{
	struct pkt p;
	const char *err = NULL;

	pkt_reply(&p, 0x3903f326, IP(10, 0, 2, 15));
	ADD(&p, 53, 1, 2,				/* OFFER */
	    54, 4, 10, 0, 2, 2,				/* server id */
	    51, 4, 0x00, 0x01, 0x51, 0x80,		/* lease 86400 */
	    1, 4, 255, 255, 255, 0,			/* mask */
	    3, 4, 10, 0, 2, 2,				/* router */
	    6, 8, 10, 0, 2, 3, 8, 8, 8, 8,		/* DNS x2 */
	    26, 2, 0x05, 0xaa,				/* MTU 1450 */
	    15, 9, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, /* trailing NULs dropped */
	    0, 0,					/* pad */
	    255,					/* end */
	    0, 0, 0);					/* padding after end */
	int rc = dhcp_decode(p.b, p.n, &m, &err);
	TU_EQ_INT(rc, (int)p.n - 3);
	TU_EQ_INT(m.op, 2);
	TU_EQ_INT(m.xid, 0x3903f326);
	TU_EQ_INT(m.yiaddr, IP(10, 0, 2, 15));
	TU_EQ_INT(m.siaddr, IP(10, 0, 2, 2));
	TU_EQ_INT(m.type, DHCP_OFFER);
	TU_EQ_INT(m.server_id, IP(10, 0, 2, 2));
	TU_EQ_INT(m.lease_time, 86400);
	TU_EQ_INT(m.subnet_mask, IP(255, 255, 255, 0));
	TU_EQ_INT(m.n_routers, 1);
	TU_EQ_INT(m.routers[0], IP(10, 0, 2, 2));
	TU_EQ_INT(m.n_dns, 2);
	TU_EQ_INT(m.dns[1], IP(8, 8, 8, 8));
	TU_EQ_INT(m.mtu, 1450);
	TU_EQ_STR(m.domain, "example");
	TU_CHECK(dhcp_has(&m, DHCP_OPT_MTU));
	TU_CHECK(!dhcp_has(&m, DHCP_OPT_T1));
	TU_CHECK(!dhcp_has(&m, DHCP_OPT_CLASSLESS));
	TU_EQ_INT(m.chaddr[5], 0x56);
}

/* A packet without an end option still decodes; it occupies the whole buffer. */
static void test_decode_no_end(void)
{
	struct pkt p;
	pkt_reply(&p, 1, IP(10, 0, 2, 15));
	ADD(&p, 53, 1, 5, 0, 0);
	TU_EQ_INT(dhcp_decode(p.b, p.n, &m, NULL), (int)p.n);
	TU_EQ_INT(m.type, DHCP_ACK);
}

/* Option 52 = 3: options continue in file, then sname (RFC 2131 §4.1); option 15 is split
 * between the options field and the file field and concatenated (RFC 3396). */
static void test_decode_overload(void)
{
	struct pkt p;
	const char *err = NULL;

	pkt_reply(&p, 7, IP(192, 168, 1, 10));
	/* file field (offset 108): mask, the rest of the domain, end */
	static const uint8_t file[] = {1, 4, 255, 255, 0, 0, 15, 4, 'm', 'p', 'l', 'e', 255};
	memcpy(p.b + 108, file, sizeof(file));
	/* sname field (offset 44): pads, routers, end */
	static const uint8_t sname[] = {0, 0, 3, 4, 192, 168, 1, 1, 255};
	memcpy(p.b + 44, sname, sizeof(sname));
	ADD(&p, 53, 1, 5, 52, 1, 3, 15, 3, 'e', 'x', 'a', 54, 4, 192, 168, 1, 1, 255);
	int rc = dhcp_decode(p.b, p.n, &m, &err);
	TU_EQ_INT(rc, (int)p.n);
	TU_EQ_INT(m.overload, 3);
	TU_EQ_INT(m.subnet_mask, IP(255, 255, 0, 0));
	TU_EQ_STR(m.domain, "example");
	TU_EQ_INT(m.n_routers, 1);
	TU_EQ_INT(m.routers[0], IP(192, 168, 1, 1));
	TU_EQ_STR(m.sname, "");
	TU_EQ_STR(m.file, "");

	/* without overload, the same bytes are the sname and file strings, not options */
	p.b[240 + 5] = 0; /* 52's value 3 -> 0 is invalid ... */
	expect_fail(&p, DHCP_EMALFORMED, "option 52 at offset 243", NULL);
	p.b[240 + 3] = 0; /* ... so turn 52 into pads: 0, 0, 0 */
	p.b[240 + 4] = 0;
	TU_CHECK(dhcp_decode(p.b, p.n, &m, &err) > 0);
	TU_EQ_STR(m.domain, "exa");
	TU_EQ_INT(m.n_routers, 0);
	TU_EQ_INT(strlen(m.file), 4); /* 1, 4, 255, 255 up to the first NUL */
}

/* RFC 3442 destinations of several widths, one with stray host bits (masked). */
static void test_decode_classless(void)
{
	struct pkt p;
	const char *err = NULL;

	pkt_reply(&p, 7, IP(10, 0, 2, 15));
	ADD(&p, 53, 1, 5, 121, 37,
	    0, 10, 0, 2, 2,			/* 0.0.0.0/0 via 10.0.2.2 */
	    8, 10, 10, 0, 2, 3,			/* 10.0.0.0/8 via 10.0.2.3 */
	    20, 172, 16, 0x1f, 10, 0, 2, 4,	/* 172.16.16.0/20 (host bits 0x0f dropped) */
	    25, 192, 168, 1, 128, 0, 0, 0, 0,	/* 192.168.1.128/25 on-link */
	    32, 169, 254, 169, 254, 10, 0, 2, 2, /* metadata host route */
	    3, 4, 10, 0, 2, 1, 255);
	TU_CHECK(dhcp_decode(p.b, p.n, &m, &err) > 0);
	TU_EQ_INT(m.n_routes, 5);
	TU_EQ_INT(m.routes[0].prefix_len, 0);
	TU_EQ_INT(m.routes[0].gw, IP(10, 0, 2, 2));
	TU_EQ_INT(m.routes[1].dst, IP(10, 0, 0, 0));
	TU_EQ_INT(m.routes[1].prefix_len, 8);
	TU_EQ_INT(m.routes[2].dst, IP(172, 16, 16, 0));
	TU_EQ_INT(m.routes[2].prefix_len, 20);
	TU_EQ_INT(m.routes[3].dst, IP(192, 168, 1, 128));
	TU_EQ_INT(m.routes[3].gw, 0);
	TU_EQ_INT(m.routes[4].dst, IP(169, 254, 169, 254));
	TU_EQ_INT(m.routes[4].prefix_len, 32);
	TU_EQ_INT(m.n_routers, 1);
}

/* The RFC 3397 §3 example: two names, the second pointing into the first, and the option
 * split into two instances whose data is concatenated before the pointers are followed. */
static void test_decode_search(void)
{
	struct pkt p;
	const char *err = NULL;

	pkt_reply(&p, 7, IP(10, 0, 2, 15));
	ADD(&p, 53, 1, 5,
	    119, 9, 3, 'e', 'n', 'g', 5, 'a', 'p', 'p', 'l',
	    119, 18, 'e', 3, 'c', 'o', 'm', 0,
	    9, 'm', 'a', 'r', 'k', 'e', 't', 'i', 'n', 'g', 0xc0, 4,
	    119, 8, 2, 'x', '!', 0xc0, 4, /* a name with an unusable label: skipped */
	    1, 'q', 0xc0, /* a pointer split between two instances */
	    119, 1, 15, 255);
	TU_CHECK(dhcp_decode(p.b, p.n, &m, &err) > 0);
	TU_EQ_INT(m.n_search, 3);
	TU_EQ_STR(m.search[0], "eng.apple.com");
	TU_EQ_STR(m.search[1], "marketing.apple.com");
	TU_EQ_STR(m.search[2], "q.marketing.apple.com");
}

static void fill_msg(struct dhcp_msg *x)
{
	static const uint8_t cid[] = {1, 0x52, 0x54, 0, 0x12, 0x34, 0x56};
	memset(x, 0, sizeof(*x));
	x->op = 2, x->htype = 1, x->hlen = 6, x->xid = 0xdeadbeef, x->secs = 9;
	x->flags = DHCP_FLAG_BROADCAST, x->yiaddr = IP(10, 1, 2, 3), x->giaddr = IP(10, 1, 0, 1);
	memcpy(x->chaddr, cid + 1, 6);
	strcpy(x->sname, "boot-server");
	strcpy(x->file, "pxelinux.0");
#define SET(code, stmt) (dhcp_set(x, code), stmt)
	SET(DHCP_OPT_MSG_TYPE, x->type = DHCP_ACK);
	SET(DHCP_OPT_SUBNET_MASK, x->subnet_mask = IP(255, 255, 252, 0));
	SET(DHCP_OPT_SERVER_ID, x->server_id = IP(10, 1, 0, 1));
	SET(DHCP_OPT_REQUESTED_IP, x->requested_ip = IP(10, 1, 2, 3));
	SET(DHCP_OPT_LEASE_TIME, x->lease_time = 3600);
	SET(DHCP_OPT_T1, x->t1 = 1000);
	SET(DHCP_OPT_T2, x->t2 = 3000);
	SET(DHCP_OPT_MTU, x->mtu = 9000);
	SET(DHCP_OPT_MAX_SIZE, x->max_size = 1472);
	SET(DHCP_OPT_ROUTER, (x->routers[0] = IP(10, 1, 0, 1), x->n_routers = 1));
	SET(DHCP_OPT_DNS, (x->dns[0] = IP(1, 1, 1, 1), x->dns[1] = IP(9, 9, 9, 9), x->n_dns = 2));
	SET(DHCP_OPT_HOSTNAME, strcpy(x->hostname, "node-1"));
	SET(DHCP_OPT_DOMAIN, strcpy(x->domain, "cluster.example"));
	SET(DHCP_OPT_MESSAGE, strcpy(x->message, "welcome"));
	SET(DHCP_OPT_PARAM_LIST, (x->param_list[0] = 1, x->param_list[1] = 121, x->n_params = 2));
	SET(DHCP_OPT_CLIENT_ID, (memcpy(x->client_id, cid, 7), x->client_id_len = 7));
	dhcp_set(x, DHCP_OPT_SEARCH);
	for (int i = 0; i < DHCP_SEARCH_MAX; i++) /* 6 x 54 bytes: longer than 255, split */
		snprintf(x->search[x->n_search++], DHCP_NAME_MAX + 1,
			 "a%d.abcdefghijklmnopqrstuvwxyz.abcdefghijklmnopqrstu.net", i);
	dhcp_set(x, DHCP_OPT_CLASSLESS);
	for (int i = 0; i <= 32; i++) /* 33 routes, every width: 297 bytes, split */
		x->routes[x->n_routes++] = (struct dhcp_route){
			i ? 0xffffffffu << (32 - i) & IP(10, 255, 255, 255) : 0, (uint8_t)i,
			i % 2 ? IP(10, 1, 0, 1) : 0};
#undef SET
}

static void test_round_trip(void)
{
	static struct dhcp_msg in, out;
	uint8_t buf[1500];
	const char *err = NULL;

	fill_msg(&in);
	int n = dhcp_encode(&in, buf, sizeof(buf), &err);
	TU_CHECK(n > 255 + 255 + 240);
	TU_EQ_INT(buf[240], 53); /* message type comes first */
	int rc = dhcp_decode(buf, (size_t)n, &out, &err);
	TU_EQ_INT(rc, n);
	TU_CHECK(memcmp(in.has, out.has, sizeof(in.has)) == 0);
	TU_EQ_INT(out.xid, in.xid);
	TU_EQ_INT(out.flags, in.flags);
	TU_EQ_INT(out.giaddr, in.giaddr);
	TU_EQ_STR(out.sname, in.sname);
	TU_EQ_STR(out.file, in.file);
	TU_EQ_INT(out.t2, 3000);
	TU_EQ_INT(out.max_size, 1472);
	TU_EQ_INT(out.n_dns, 2);
	TU_EQ_STR(out.message, "welcome");
	TU_EQ_INT(out.client_id_len, 7);
	TU_EQ_INT(out.n_search, DHCP_SEARCH_MAX);
	TU_EQ_STR(out.search[5], in.search[5]);
	TU_EQ_INT(out.n_routes, 33);
	for (int i = 0; i < 33; i++) {
		TU_EQ_INT(out.routes[i].dst, in.routes[i].dst);
		TU_EQ_INT(out.routes[i].prefix_len, in.routes[i].prefix_len);
		TU_EQ_INT(out.routes[i].gw, in.routes[i].gw);
	}
	/* what decodes re-encodes to the same bytes */
	uint8_t again[1500];
	TU_EQ_INT(dhcp_encode(&out, again, sizeof(again), &err), n);
	TU_CHECK(memcmp(buf, again, (size_t)n) == 0);

	/* a small message is padded to the 300-byte BOOTP minimum */
	memset(&in, 0, sizeof(in));
	dhcp_set(&in, DHCP_OPT_MSG_TYPE);
	in.type = DHCP_DISCOVER;
	TU_EQ_INT(dhcp_encode(&in, buf, sizeof(buf), &err), 300);
	TU_EQ_INT(dhcp_encode(&in, buf, 243, &err), DHCP_ETOOBIG);

	/* unencodable: host bits past the width */
	fill_msg(&in);
	in.routes[3].dst |= 1;
	TU_EQ_INT(dhcp_encode(&in, buf, sizeof(buf), &err), DHCP_EARG);
	TU_CHECK(strstr(err, "121") != NULL);
}

static void test_malformed_header(void)
{
	struct pkt p;

	pkt_reply(&p, 1, IP(10, 0, 2, 15));
	p.n = 239;
	expect_fail(&p, DHCP_ETRUNC, "239 bytes", "240-byte header+cookie");
	p.n = 0;
	expect_fail(&p, DHCP_ETRUNC, "0 bytes", NULL);
	pkt_reply(&p, 1, IP(10, 0, 2, 15));
	p.b[239] = 0x64;
	expect_fail(&p, DHCP_EMALFORMED, "magic cookie at offset 236", "0x63825364");
	pkt_reply(&p, 1, IP(10, 0, 2, 15));
	p.b[2] = 17;
	expect_fail(&p, DHCP_EMALFORMED, "hlen at offset 2", NULL);
	static uint8_t big[DHCP_PKT_MAX + 1];
	const char *err;
	TU_EQ_INT(dhcp_decode(big, sizeof(big), &m, &err), DHCP_ETOOBIG);
}

static void test_malformed_options(void)
{
	struct pkt p;

	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* length past the end */
	ADD(&p, 53, 1, 2, 54, 4, 10, 0, 2, 2, 51, 4, 0, 1);
	expect_fail(&p, DHCP_ETRUNC, "option 51 at offset 249", "length 4 runs past");
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* no length byte */
	ADD(&p, 53, 1, 2, 0, 6);
	expect_fail(&p, DHCP_ETRUNC, "option 6 at offset 244", "no length byte");
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* zero-length lease */
	ADD(&p, 53, 1, 5, 51, 0, 255);
	expect_fail(&p, DHCP_EMALFORMED, "option 51 at offset 243", "length 0, expected 4");
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* routers not a multiple of 4 */
	ADD(&p, 3, 5, 10, 0, 2, 2, 1, 255);
	expect_fail(&p, DHCP_EMALFORMED, "option 3 at offset 240", "multiple of 4");
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* message type 0 */
	ADD(&p, 53, 1, 0, 255);
	expect_fail(&p, DHCP_EMALFORMED, "option 53", "type 0");
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* NUL inside a name */
	ADD(&p, 12, 3, 'a', 0, 'b', 255);
	expect_fail(&p, DHCP_EMALFORMED, "option 12 at offset 240", "NUL");
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* client id too short */
	ADD(&p, 61, 1, 1, 255);
	expect_fail(&p, DHCP_EMALFORMED, "option 61 at offset 240", NULL);
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* an option running out of the sname field */
	p.b[44 + 60] = 3;
	p.b[44 + 61] = 8;
	ADD(&p, 52, 1, 2, 255);
	expect_fail(&p, DHCP_ETRUNC, "option 3 at offset 104", "sname field");
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* overload of 2 bytes */
	ADD(&p, 52, 2, 1, 1, 255);
	expect_fail(&p, DHCP_EMALFORMED, "option 52 at offset 240", NULL);
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* one option over 2048 bytes in all */
	for (int i = 0; i < 9; i++) {
		ADD(&p, 6, 252);
		memset(p.b + p.n, 8, 252);
		p.n += 252;
	}
	expect_fail(&p, DHCP_ETOOBIG, "option 6 at offset 240", "2048");
}

static void test_malformed_routes(void)
{
	struct pkt p;

	pkt_reply(&p, 1, IP(10, 0, 2, 15));
	ADD(&p, 121, 10, 8, 10, 10, 0, 2, 2, 33, 1, 2, 3, 255);
	expect_fail(&p, DHCP_EMALFORMED, "option 121 at offset 240: data byte 6", "width 33 > 32");
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* /24 needs 3 destination bytes + 4: 8, has 7 */
	ADD(&p, 121, 7, 24, 192, 168, 10, 0, 2, 2, 255);
	expect_fail(&p, DHCP_EMALFORMED, "data byte 0", "needs 8 bytes, 7 left");
	pkt_reply(&p, 1, IP(10, 0, 2, 15));
	ADD(&p, 121, 4, 0, 10, 0, 2, 255);
	expect_fail(&p, DHCP_EMALFORMED, "option 121 at offset 240", "at least 5");
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* 65 routes: more than the table holds */
	for (int i = 0; i < 65; i++)
		ADD(&p, 121, 5, 0, 10, 0, 2, 2);
	expect_fail(&p, DHCP_ETOOBIG, "more than 64 routes", NULL);
}

static void test_malformed_search(void)
{
	struct pkt p;

	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* a pointer to itself */
	ADD(&p, 119, 2, 0xc0, 0, 255);
	expect_fail(&p, DHCP_EMALFORMED, "option 119 at offset 240: data byte 0",
		    "does not point back");
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* a loop: name 2 -> name 1 -> name 2 */
	ADD(&p, 119, 8, 1, 'a', 0xc0, 4, 1, 'b', 0xc0, 0, 255);
	expect_fail(&p, DHCP_EMALFORMED, "data byte 2", "pointer to 4");
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* a forward pointer */
	ADD(&p, 119, 5, 0xc0, 2, 1, 'a', 0, 255);
	expect_fail(&p, DHCP_EMALFORMED, "pointer to 2", NULL);
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* a label past the end of the data */
	ADD(&p, 119, 3, 5, 'a', 'b', 255);
	expect_fail(&p, DHCP_ETRUNC, "option 119", "label of 5 bytes");
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* no terminating root label */
	ADD(&p, 119, 2, 1, 'a', 255);
	expect_fail(&p, DHCP_ETRUNC, "data byte 2", "past the end");
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* reserved label type 0x40 */
	ADD(&p, 119, 2, 0x41, 'a', 255);
	expect_fail(&p, DHCP_EMALFORMED, "label type 0x40", NULL);
	pkt_reply(&p, 1, IP(10, 0, 2, 15)); /* a name of 5 x 63 > 253 characters */
	for (int i = 0; i < 4; i++) { /* two instances of two labels each */
		if (i % 2 == 0) {
			p.b[p.n++] = 119;
			p.b[p.n++] = i ? 129 : 128; /* the second holds the root label too */
		}
		p.b[p.n++] = 63;
		memset(p.b + p.n, 'x', 63);
		p.n += 63;
	}
	ADD(&p, 0, 255);
	expect_fail(&p, DHCP_EMALFORMED, "data byte 192", "longer than 253");
}

static void test_names(void)
{
	uint8_t b[300];
	TU_CHECK(dhcp_name_valid("node-1.example.com"));
	TU_CHECK(dhcp_name_valid("a."));
	TU_CHECK(!dhcp_name_valid(""));
	TU_CHECK(!dhcp_name_valid("a..b"));
	TU_CHECK(!dhcp_name_valid(".a"));
	TU_CHECK(!dhcp_name_valid("a b"));
	TU_CHECK(!dhcp_name_valid("evil\nnameserver"));
	TU_CHECK(!dhcp_name_valid("x1234567890123456789012345678901234567890"
				  "12345678901234567890123")); /* 64 */
	TU_EQ_INT(dhcp_name_encode("ab.c", b, sizeof(b)), 6);
	TU_CHECK(memcmp(b, "\2ab\1c\0", 6) == 0);
	TU_EQ_INT(dhcp_name_encode("ab.c", b, 5), -1);
	TU_EQ_STR(dhcp_strerror(DHCP_ETRUNC), "packet truncated");
	TU_EQ_STR(dhcp_type_name(DHCP_NAK), "NAK");
	TU_EQ_STR(dhcp_type_name(200), "?");
	TU_EQ_STR(dhcp_state_name(DHCP_REBOOTING), "REBOOTING");
}

int main(void)
{
	TU_RUN(test_decode_offer);
	TU_RUN(test_decode_no_end);
	TU_RUN(test_decode_overload);
	TU_RUN(test_decode_classless);
	TU_RUN(test_decode_search);
	TU_RUN(test_round_trip);
	TU_RUN(test_malformed_header);
	TU_RUN(test_malformed_options);
	TU_RUN(test_malformed_routes);
	TU_RUN(test_malformed_search);
	TU_RUN(test_names);
	return TU_EXIT();
}
