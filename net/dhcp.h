/* DHCPv4 client (RFC 2131/2132) as a pure core: a BOOTP/DHCP packet codec and a client
 * state machine that takes packets, ticks and link events and hands back a batch of actions
 * (packets to send, a lease to apply or remove, the next wake-up time). No I/O, no clock,
 * no randomness except the seed passed in, no allocation; the shell owns sockets and timers. */
#ifndef CABIN_DHCP_H
#define CABIN_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* IPv4 addresses are uint32_t in host byte order: 10.0.2.15 is 0x0a00020f. Times are
 * milliseconds of one monotonic clock chosen by the shell; DHCP_NEVER means no deadline. */
#define DHCP_NEVER UINT64_MAX
#define DHCP_INFINITE 0xffffffffu /* lease time meaning "never expires" (RFC 2131 §3.3) */
#define DHCP_BROADCAST 0xffffffffu

/* ---- limits ----------------------------------------------------------------------------
 * Lists longer than these are cut to their first entries, except classless routes (a route
 * table must be complete: more than DHCP_ROUTES_MAX is an error). */
#define DHCP_PKT_CAP 576	/* bytes of every packet the client builds (RFC 2131 minimum) */
#define DHCP_PKT_MAX 65535	/* longest input accepted by dhcp_decode */
#define DHCP_ROUTERS_MAX 8
#define DHCP_DNS_MAX 8
#define DHCP_ROUTES_MAX 64
#define DHCP_SEARCH_MAX 6	/* resolv.conf's classic limit */
#define DHCP_NAME_MAX 253	/* a domain name in dotted text form */
#define DHCP_HOSTNAME_MAX 63
#define DHCP_CLIENT_ID_MAX 64
#define DHCP_TEXT_MAX 255	/* text options 12, 15, 56 as received */
#define DHCP_ACTIONS_MAX 4

/* ---- errors ----------------------------------------------------------------------------
 * Functions return 0 (or a byte count) or a negative code: one of these. The codec also
 * writes a one-line reason naming the field and byte offset (struct dhcp_msg.err). */
#define DHCP_ERRORS(X)                                                              \
	X(DHCP_ETRUNC, -1300, "packet truncated")                                   \
	X(DHCP_EMALFORMED, -1301, "malformed packet")                               \
	X(DHCP_ETOOBIG, -1302, "too large")                                         \
	X(DHCP_EARG, -1303, "invalid argument")                                     \
	X(DHCP_ESTATE, -1304, "not allowed in this state")                          \
	X(DHCP_EIGNORED, -1305, "packet not for this client or not expected now")

#define DHCP_ERR_ENUM(name, value, text) name = value,
enum dhcp_code { DHCP_ERRORS(DHCP_ERR_ENUM) };
#undef DHCP_ERR_ENUM

/* Returns a static description of a DHCP_E* code ("unknown error" for anything else). */
const char *dhcp_strerror(int code);

/* ---- the codec (dhcp_pkt.c, dhcp_enc.c) ------------------------------------------------ */
enum dhcp_op { DHCP_BOOTREQUEST = 1, DHCP_BOOTREPLY = 2 };

enum dhcp_type { /* option 53 */
	DHCP_DISCOVER = 1, DHCP_OFFER, DHCP_REQUEST, DHCP_DECLINE,
	DHCP_ACK, DHCP_NAK, DHCP_RELEASE, DHCP_INFORM,
};

enum dhcp_opt { /* the option codes the codec understands */
	DHCP_OPT_PAD = 0, DHCP_OPT_SUBNET_MASK = 1, DHCP_OPT_ROUTER = 3, DHCP_OPT_DNS = 6,
	DHCP_OPT_HOSTNAME = 12, DHCP_OPT_DOMAIN = 15, DHCP_OPT_MTU = 26,
	DHCP_OPT_REQUESTED_IP = 50, DHCP_OPT_LEASE_TIME = 51, DHCP_OPT_OVERLOAD = 52,
	DHCP_OPT_MSG_TYPE = 53, DHCP_OPT_SERVER_ID = 54, DHCP_OPT_PARAM_LIST = 55,
	DHCP_OPT_MESSAGE = 56, DHCP_OPT_MAX_SIZE = 57, DHCP_OPT_T1 = 58, DHCP_OPT_T2 = 59,
	DHCP_OPT_CLIENT_ID = 61, DHCP_OPT_SEARCH = 119, DHCP_OPT_CLASSLESS = 121,
	DHCP_OPT_END = 255,
};

#define DHCP_FLAG_BROADCAST 0x8000

struct dhcp_route {
	uint32_t dst;		/* host bits beyond prefix_len are always zero */
	uint8_t prefix_len;	/* 0..32 */
	uint32_t gw;		/* 0: on-link (no gateway) */
};

/* One BOOTP/DHCP message. An option is present iff its code's bit is set in `has` (see
 * dhcp_has/dhcp_set); fields of absent options are zero. Strings are NUL-terminated. */
struct dhcp_msg {
	uint8_t op, htype, hlen, hops;
	uint32_t xid;
	uint16_t secs, flags;
	uint32_t ciaddr, yiaddr, siaddr, giaddr;
	uint8_t chaddr[16];
	char sname[65], file[129];	/* "" when overloaded with options (option 52) */

	uint8_t has[32];		/* bitmap of present option codes */
	uint8_t type;			/* 53 */
	uint8_t overload;		/* 52: 1 file, 2 sname, 3 both */
	uint32_t subnet_mask, requested_ip, server_id;	/* 1, 50, 54 */
	uint32_t lease_time, t1, t2;	/* 51, 58, 59: seconds */
	uint16_t mtu, max_size;		/* 26, 57 */
	uint32_t routers[DHCP_ROUTERS_MAX];	/* 3 */
	uint8_t n_routers;
	uint32_t dns[DHCP_DNS_MAX];	/* 6 */
	uint8_t n_dns;
	struct dhcp_route routes[DHCP_ROUTES_MAX];	/* 121 */
	uint8_t n_routes;
	char search[DHCP_SEARCH_MAX][DHCP_NAME_MAX + 1];	/* 119 */
	uint8_t n_search;
	char hostname[DHCP_TEXT_MAX + 1];	/* 12 */
	char domain[DHCP_TEXT_MAX + 1];		/* 15 */
	char message[DHCP_TEXT_MAX + 1];	/* 56 */
	uint8_t param_list[255];		/* 55 */
	uint8_t n_params;
	uint8_t client_id[255];			/* 61: type byte, then the id */
	uint8_t client_id_len;

	char err[160];		/* why the last dhcp_decode into this msg failed */
};

static inline bool dhcp_has(const struct dhcp_msg *m, unsigned code)
{
	return code < 256 && (m->has[code >> 3] >> (code & 7)) & 1;
}
static inline void dhcp_set(struct dhcp_msg *m, unsigned code)
{
	if (code < 256)
		m->has[code >> 3] |= (uint8_t)(1u << (code & 7));
}

/* Decodes len bytes at buf (borrowed) into *m (caller-owned; fully overwritten). Handles
 * pad/end, option overload (52: options continue in file, then sname) and long options
 * split into several instances (RFC 3396, concatenated in that order), and RFC 1035
 * compression in option 119 (pointers must point backwards, so loops are impossible).
 * Never reads outside buf. Unknown options are skipped; options the codec knows must have
 * valid lengths and contents. Returns the bytes the message occupies (through the end
 * option of the options field, or len if it has none), or DHCP_ETRUNC / DHCP_EMALFORMED /
 * DHCP_ETOOBIG with *err (may be NULL) pointing at m->err: "option 121 at offset 250:
 * data byte 6: prefix width 33 > 32". */
int dhcp_decode(const uint8_t *buf, size_t len, struct dhcp_msg *m, const char **err);

/* Encodes *m (borrowed) into buf (cap bytes, caller-owned): the header, the magic cookie,
 * option 53 first, then every present option in code order (longer than 255 bytes: split
 * per RFC 3396; 119 written without compression), end, zero padding to 300 bytes (the BOOTP
 * minimum). Never uses overload. Returns the length written, or DHCP_ETOOBIG when cap is too
 * small or DHCP_EARG for an unencodable field (a route with host bits past its width, an
 * invalid search name, an empty option), with *err (may be NULL) set to a static reason. */
int dhcp_encode(const struct dhcp_msg *m, uint8_t *buf, size_t cap, const char **err);

/* Returns a static name: "DISCOVER".."INFORM", or "?". */
const char *dhcp_type_name(unsigned type);

/* ---- the client (dhcp.c) --------------------------------------------------------------- */
enum dhcp_state {
	DHCP_STOPPED,		/* before dhcp_start, after dhcp_stop */
	DHCP_INIT,		/* DISCOVER pending (after a NAK, or while the link is down) */
	DHCP_SELECTING,		/* DISCOVER sent, waiting for the first usable OFFER */
	DHCP_REQUESTING,	/* REQUEST for the chosen offer sent, waiting for ACK/NAK */
	DHCP_BOUND,
	DHCP_RENEWING,		/* past T1: REQUEST unicast to the leasing server */
	DHCP_REBINDING,		/* past T2: REQUEST broadcast to any server */
	DHCP_INIT_REBOOT,	/* about to confirm a remembered address */
	DHCP_REBOOTING,		/* REQUEST for the remembered address sent */
};

/* Returns a static name: "STOPPED", "INIT", ... "INIT-REBOOT", "REBOOTING". */
const char *dhcp_state_name(enum dhcp_state s);

/* What the shell applies. Times are absolute on the shell's clock; for an infinite lease
 * t1_ms, t2_ms and expiry_ms are DHCP_NEVER. */
struct dhcp_lease {
	uint32_t address;
	uint8_t prefix_len;		/* from option 1, or the address class when absent */
	uint32_t server_id;
	/* Routes to install, in order. From option 121 when the server sent it (option 3 is
	 * then ignored, RFC 3442 §1); else one default route via routers[0]. A gateway outside
	 * the subnet needs an on-link route to it first (RFC 3442 §3): install with "onlink". */
	struct dhcp_route routes[DHCP_ROUTES_MAX];
	uint8_t n_routes;
	uint32_t routers[DHCP_ROUTERS_MAX];	/* option 3 as sent; empty when 121 was sent */
	uint8_t n_routers;
	uint32_t dns[DHCP_DNS_MAX];
	uint8_t n_dns;
	/* Names are checked: letters, digits, '-', '_' and '.' only; invalid ones are left out. */
	char domain[DHCP_NAME_MAX + 1];
	char search[DHCP_SEARCH_MAX][DHCP_NAME_MAX + 1];
	uint8_t n_search;
	char hostname[DHCP_HOSTNAME_MAX + 1];	/* the server's name for us; "" if none */
	uint16_t mtu;			/* 0: not sent (or below 68, which is ignored) */
	uint32_t lease_s, t1_s, t2_s;	/* as granted; T1/T2 defaulted to 1/2 and 7/8 */
	uint64_t acquired_ms;		/* when the REQUEST that got this ACK was first sent */
	uint64_t t1_ms, t2_ms, expiry_ms;
};

struct dhcp_config {
	uint8_t mac[6];			/* Ethernet chaddr */
	const char *hostname;		/* option 12 to send; NULL or "" for none (copied) */
	const uint8_t *client_id;	/* option 61, type byte first (copied); NULL: 0x01 + mac */
	size_t client_id_len;		/* <= DHCP_CLIENT_ID_MAX */
	uint16_t max_size;		/* option 57: interface MTU - 28; 0: 576 */
	bool broadcast_flag;		/* ask servers to broadcast replies (rarely needed) */
	uint64_t seed;			/* seeds the xid and retransmission jitter PRNG */
};

enum dhcp_action_kind {
	DHCP_ACT_SEND,		/* send pkt */
	DHCP_ACT_CONFIGURE,	/* apply *lease, replacing anything applied before */
	DHCP_ACT_DECONFIGURE,	/* remove everything the last CONFIGURE applied */
};

struct dhcp_packet {
	uint8_t type;		/* DHCP_DISCOVER, DHCP_REQUEST or DHCP_RELEASE */
	uint32_t src;		/* IP source: 0.0.0.0, or our leased address (ciaddr) */
	uint32_t dst;		/* DHCP_BROADCAST, or the server's address (unicast) */
	size_t len;
	uint8_t data[DHCP_PKT_CAP];	/* the UDP payload, 68 -> 67 */
};

struct dhcp_action {
	enum dhcp_action_kind kind;
	struct dhcp_packet pkt;		/* DHCP_ACT_SEND */
	const struct dhcp_lease *lease;	/* DHCP_ACT_CONFIGURE: borrowed from the client,
					 * valid until the next call on it */
	uint32_t address;		/* DHCP_ACT_DECONFIGURE: the address to remove */
	uint8_t prefix_len;
};

/* The result of one call. The shell carries the actions out IN ORDER and completely before
 * it calls into the client again; the order is the contract:
 *  - CONFIGURE: apply the lease at once, before anything later in the batch and before the
 *    next call into the client: address, then routes (in order), MTU, resolv.conf/hosts.
 *    Only then may the node report ready. The client never sends in the batch that
 *    configures; its next packet (the RENEWING unicast) assumes the address is in place.
 *  - DECONFIGURE: remove the address and everything the last CONFIGURE installed. It comes
 *    first when it precedes a SEND (lease expired, then DISCOVER from 0.0.0.0), and before
 *    the CONFIGURE that follows it (ACK for another address).
 *  - SEND before DECONFIGURE (the RELEASE at stop): send while the address still exists,
 *    since the unicast leaves from it.
 * Packets with dst DHCP_BROADCAST go out through a packet socket to ff:ff:ff:ff:ff:ff with
 * IP source src (0.0.0.0, or the leased address when REBINDING); unicast ones (RENEWING,
 * RELEASE) through a UDP socket bound to src, port 68, so the kernel routes them. A lost or
 * failed send needs no report: retransmission covers it. Finally the shell (re)arms one
 * timer for wake_ms and calls dhcp_tick when it fires; early or late ticks are harmless. */
struct dhcp_actions {
	size_t n;
	struct dhcp_action act[DHCP_ACTIONS_MAX];
	uint64_t wake_ms;		/* next dhcp_tick; DHCP_NEVER: none needed */
	enum dhcp_state state;		/* after the call */
	const char *note;		/* why an input was ignored, for debug logs; or NULL.
					 * Points into the client: valid until the next call. */
};

/* The whole client state: caller-allocated (it holds no pointers to free; the core never
 * allocates), about 7 KiB. Treat the members as private. */
struct dhcp_client {
	struct dhcp_config cfg;
	char hostname[DHCP_HOSTNAME_MAX + 1];
	uint8_t client_id[DHCP_CLIENT_ID_MAX];
	enum dhcp_state state;
	bool link_up, configured;
	uint64_t rng;
	uint32_t xid;
	uint32_t offer_addr, offer_server;	/* the chosen offer (REQUESTING) */
	uint32_t reboot_addr;			/* INIT-REBOOT / REBOOTING */
	uint64_t wake_ms;
	uint64_t started_ms;		/* start of this acquisition: the 'secs' field */
	uint64_t request_ms;		/* first REQUEST of this exchange */
	uint16_t discover_secs;
	unsigned tries;			/* sends of the current message */
	unsigned naks;			/* consecutive NAKs: the delay before DISCOVER */
	struct dhcp_lease lease;	/* valid iff configured */
	struct dhcp_msg in;		/* decode scratch */
	char note[200];
};

/* Initialises *c (caller-owned) from *cfg (borrowed; strings and client id are copied).
 * The client starts STOPPED with the link assumed up. Returns 0, or DHCP_EARG for a host
 * name that is too long or not a valid name, a client id of fewer than 2 or more than
 * DHCP_CLIENT_ID_MAX bytes, or a max_size below 576. */
int dhcp_init(struct dhcp_client *c, const struct dhcp_config *cfg);

/* The calls below take the client and fill *out (both caller-owned; out is overwritten).
 * now_ms is the shell's monotonic clock and must not go backwards. */

/* Starts acquisition. With prev (borrowed; only prev->address is used) the client first
 * asks to keep that address (INIT-REBOOT, RFC 2131 §3.2) and falls back to DISCOVER if no
 * server answers after two tries; otherwise it sends DISCOVER at once. Returns 0 or
 * DHCP_ESTATE when not STOPPED. */
int dhcp_start(struct dhcp_client *c, uint64_t now_ms, const struct dhcp_lease *prev,
	       struct dhcp_actions *out);

/* Feeds one received UDP payload (port 67 -> 68; buf borrowed for the call). Replies whose
 * op, chaddr or xid are not ours are dropped; so are unusable OFFERs/ACKs (no server id or
 * lease time, a lease of 0 s, an address that is not unicast). SELECTING takes the first
 * usable OFFER; an ACK configures; a NAK drops any lease and DISCOVER follows after 1 s,
 * doubling to 64 s while NAKs repeat. Returns 0 when the packet was acted on,
 * DHCP_EIGNORED when not, or a decode error; out->note says why. */
int dhcp_input(struct dhcp_client *c, uint64_t now_ms, const uint8_t *buf, size_t len,
	       struct dhcp_actions *out);

/* Runs the timers: retransmission (DISCOVER forever, every 4, 8, ... 64 s +-1 s; REQUEST
 * four times, or twice when REBOOTING, then DISCOVER again; RENEWING and REBINDING after
 * half the time left, at least 60 s, RFC 2131 §4.4.5), T1 (RENEWING), T2 (REBINDING) and
 * lease expiry (DECONFIGURE, then DISCOVER). Returns 0. */
int dhcp_tick(struct dhcp_client *c, uint64_t now_ms, struct dhcp_actions *out);

/* Reports carrier. Down: nothing is sent until up again; a configured lease stays until it
 * expires (deconfigured then, link or not). Up: acquisition restarts: INIT-REBOOT for the
 * lease still held (the link may now lead elsewhere), else DISCOVER at once. Returns 0. */
int dhcp_link(struct dhcp_client *c, uint64_t now_ms, bool up, struct dhcp_actions *out);

/* Stops the client: when a lease is configured, sends RELEASE (unicast to the server; only
 * if the link is up) and then DECONFIGURE. The client is STOPPED afterwards and can be
 * started again. Returns 0. */
int dhcp_stop(struct dhcp_client *c, uint64_t now_ms, struct dhcp_actions *out);

/* Returns the configured lease (borrowed from c), or NULL if none. */
const struct dhcp_lease *dhcp_current_lease(const struct dhcp_client *c);

#endif
