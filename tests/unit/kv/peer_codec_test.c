/* The peers' wire format: HELLO and RAFT frames round-trip; a frame is recognised only
 * once whole; every truncation of a RAFT payload, a count past its bytes, bad flags and
 * trailing bytes are refused. */
#include <errno.h>
#include <string.h>

#include "../../../kv/peer_codec.h"
#include "../testutil.h"

static void test_hello(void)
{
	struct peer_buf b = {0};
	struct peer_hello h = {PEER_VERSION, 0x1122334455667788ULL, 7, 9}, g;
	uint8_t type = 0;
	const char *why = "";

	TU_EQ_INT(peer_put_hello(&b, &h), 0);
	TU_EQ_INT(peer_frame(b.p, b.len - 1, &type, &why), 0);
	TU_EQ_INT(peer_frame(b.p, b.len, &type, &why), (long)b.len);
	TU_EQ_INT(type, PEER_HELLO);
	TU_EQ_INT(peer_get_hello(b.p + PEER_HEAD, b.len - PEER_HEAD, &g, &why), 0);
	TU_CHECK(g.version == 1 && g.cluster == h.cluster && g.from == 7 && g.to == 9);
	TU_EQ_INT(peer_get_hello(b.p + PEER_HEAD, b.len - PEER_HEAD - 1, &g, &why), -EINVAL);
	/* a length past the maximum is refused before waiting for the bytes */
	uint8_t big[5] = {0xff, 0xff, 0xff, 0x7f, 2};
	TU_EQ_INT(peer_frame(big, sizeof(big), &type, &why), -EMSGSIZE);
	peer_buf_free(&b);
}

static void test_raft(void)
{
	struct peer_buf b = {0};
	struct raft_entry e[3] = {
		{.term = 2, .index = 5, .type = RAFT_ENTRY_NORMAL, .len = 3, .data = (uint8_t *)"abc"},
		{.term = 2, .index = 6, .type = RAFT_ENTRY_NORMAL, .len = 0},
		{.term = 3, .index = 7, .type = RAFT_ENTRY_CONF, .len = 9, .data = (uint8_t *)"123456789"},
	};
	struct raft_msg m = {.type = RAFT_MSG_APP, .reject = true, .from = 1, .to = 2, .term = 3,
			     .index = 4, .log_term = 2, .commit = 4, .hint = 11, .ctx = 12,
			     .snap = {.index = 3, .term = 1, .conf = {.n = 2, .id = {1, 2},
									.learner = {0, 1}}},
			     .n_entries = 3, .entries = e}, g;
	struct raft_entry ge[3];
	uint8_t type;
	const char *why = "";

	TU_EQ_INT(peer_put_raft(&b, &m), 0);
	long n = peer_frame(b.p, b.len, &type, &why);
	TU_EQ_INT(n, (long)b.len);
	TU_EQ_INT(type, PEER_RAFT);
	const uint8_t *pl = b.p + PEER_HEAD;
	size_t pn = b.len - PEER_HEAD;
	TU_EQ_INT(peer_raft_entries(pl, pn), 3);
	TU_EQ_INT(peer_get_raft(pl, pn, &g, ge, 3, &why), 0);
	TU_CHECK(g.type == RAFT_MSG_APP && g.reject && g.from == 1 && g.to == 2 && g.term == 3);
	TU_CHECK(g.index == 4 && g.log_term == 2 && g.commit == 4 && g.hint == 11 && g.ctx == 12);
	TU_CHECK(g.snap.index == 3 && g.snap.conf.n == 2 && g.snap.conf.learner[1] == 1);
	TU_EQ_INT(g.n_entries, 3);
	TU_CHECK(ge[0].len == 3 && memcmp(ge[0].data, "abc", 3) == 0 && ge[1].len == 0);
	TU_CHECK(ge[2].type == RAFT_ENTRY_CONF && ge[2].index == 7 && memcmp(ge[2].data, "123456789", 9) == 0);
	/* room for fewer entries than sent: refused */
	TU_EQ_INT(peer_get_raft(pl, pn, &g, ge, 2, &why), -EINVAL);
	/* every truncation fails, and so does a trailing byte */
	for (size_t cut = 0; cut < pn; cut++)
		if (peer_get_raft(pl, cut, &g, ge, 3, &why) == 0)
			TU_CHECK(!"a truncated payload decoded");
	uint8_t more[1024];
	memcpy(more, pl, pn);
	more[pn] = 0;
	TU_EQ_INT(peer_get_raft(more, pn + 1, &g, ge, 3, &why), -EINVAL);
	/* an unknown message type and a reject flag of 2 */
	more[0] = 99;
	TU_EQ_INT(peer_get_raft(more, pn, &g, ge, 3, &why), -EINVAL);
	more[0] = RAFT_MSG_APP;
	more[1] = 2;
	TU_EQ_INT(peer_get_raft(more, pn, &g, ge, 3, &why), -EINVAL);
	peer_buf_free(&b);
}

int main(void)
{
	TU_RUN(test_hello);
	TU_RUN(test_raft);
	TU_EXIT();
}
