/* The JSON gateway's conversions: the input's first byte picks a message; the rest is
 * given as JSON (must convert or fail cleanly, and what converts must come back as JSON,
 * and be found whole by jp_object_len, the streaming routes' framing) and as protobuf
 * bytes (must become JSON or be refused). */
#include <stdlib.h>
#include <string.h>

#include "../../kv/jsonpb.h"

static const char *const names[] = {
	"RangeRequest", "PutRequest", "DeleteRangeRequest", "TxnRequest", "CompactionRequest",
	"LeaseGrantRequest", "LeaseIDRequest", "LeaseTimeToLiveRequest", "AlarmRequest",
	"HashKVRequest", "RangeResponse", "TxnResponse", "StatusResponse", "MemberListResponse",
	"LeaseTimeToLiveResponse", "HashKVResponse", "Event", "Empty", "WatchRequest",
	"WatchResponse",
};

static int blank(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++, n--;
	return n == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct jp_msg *m = jp_find(names[data[0] % (sizeof(names) / sizeof(*names))]);
	if (!m)
		abort();
	char err[256];
	struct pb_buf b;
	pb_buf_init(&b, NULL);
	const char *text = (const char *)data + 1;
	size_t end = jp_object_len(text, size - 1);
	if (end > size - 1)
		abort();
	if (jp_from_json(m, text, size - 1, &b, err, sizeof(err)) == 0) {
		if (end == 0 || !blank(text + end, size - 1 - end))
			abort();	/* one whole object: the framing must see it end there */
		char *json = NULL;
		if (jp_to_json(m, b.data, b.len, &json) != 0)
			abort();	/* what we encoded we must be able to show */
		free(json);
	} else if (b.len != 0) {
		abort();	/* a failed conversion leaves the buffer as it was */
	}
	pb_buf_free(&b);
	char *json = NULL;
	if (jp_to_json(m, data + 1, size - 1, &json) == 0 && !json)
		abort();
	free(json);
	return 0;
}
