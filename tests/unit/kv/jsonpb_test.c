/* The gateway's JSON<->protobuf mapping: golden conversions both ways, the accepted
 * spellings, and errors that name the field. */
#include <errno.h>
#include <stdlib.h>

#include "../../../kv/jsonpb.h"
#include "../testutil.h"

/* The JSON converted to protobuf, as hex. */
static const char *to_hex(const char *msg, const char *json, int *rc, char *err)
{
	static char hex[1024];
	struct pb_buf b;
	pb_buf_init(&b, NULL);
	*rc = jp_from_json(jp_find(msg), json, strlen(json), &b, err, 256);
	hex[0] = '\0';
	for (size_t i = 0; i < b.len && i < 500; i++)
		sprintf(hex + 2 * i, "%02x", b.data[i]);
	pb_buf_free(&b);
	return hex;
}

static void test_json_to_pb(void)
{
	char err[256];
	int rc;
	/* key "foo", range_end "fop", limit 5 (string), sort_order DESCEND, keys_only */
	TU_EQ_STR(to_hex("RangeRequest", "{\"key\":\"Zm9v\",\"rangeEnd\":\"Zm9w\",\"limit\":\"5\","
		  "\"sort_order\":\"DESCEND\",\"keysOnly\":true}", &rc, err),
		  "0a03666f6f1203666f7018052802" "4001");
	TU_EQ_INT(rc, 0);
	/* numbers for int64 and enums, null skipped, unknown fields ignored */
	TU_EQ_STR(to_hex("RangeRequest", "{\"key\":\"YQ\",\"limit\":7,\"sort_order\":1,"
		  "\"revision\":null,\"whatever\":[1,2]}", &rc, err), "0a0161180728" "01");
	/* nested txn: compare with range_end (field 64), a put in success */
	TU_EQ_STR(to_hex("TxnRequest", "{\"compare\":[{\"key\":\"YQ==\",\"target\":\"MOD\","
		  "\"mod_revision\":\"3\",\"range_end\":\"Yg==\"}],\"success\":[{\"requestPut\":"
		  "{\"key\":\"YQ==\",\"value\":\"\"}}]}", &rc, err),
		  /* compare (members in the JSON's order; range_end is tag 82 04), then
		   * RequestOp{request_put{key "a", value ""}} */
		  "0a0b" "1a0161" "1002" "3003" "82040162" "1207" "1205" "0a0161" "1200");
	TU_EQ_INT(rc, 0);
}

static void test_errors(void)
{
	char err[256];
	int rc;
	to_hex("RangeRequest", "{\"key\":\"!!\"}", &rc, err);
	TU_EQ_INT(rc, -EINVAL);
	TU_EQ_STR(err, "key: illegal base64 data at input byte 0");
	to_hex("TxnRequest", "{\"success\":[{\"request_put\":{\"key\":\"YQ==\",\"lease\":\"x\"}}]}",
	       &rc, err);
	TU_EQ_STR(err, "success[0].request_put.lease: expected an integer");
	to_hex("RangeRequest", "{\"sort_order\":\"SIDEWAYS\"}", &rc, err);
	TU_EQ_STR(err, "sort_order: unknown enum value");
	to_hex("RangeRequest", "{\"keys_only\":\"true\"}", &rc, err);
	TU_EQ_STR(err, "keys_only: expected true or false");
	to_hex("RangeRequest", "{\"limit\":1e300}", &rc, err);
	TU_EQ_STR(err, "limit: expected an integer");
	to_hex("RangeRequest", "[1]", &rc, err);
	TU_EQ_STR(err, "expected a JSON object");
	to_hex("RangeRequest", "{\"key\":", &rc, err);
	TU_EQ_INT(rc, -EINVAL);
	TU_CHECK(strncmp(err, "malformed JSON at byte", 22) == 0);
}

static void test_pb_to_json(void)
{
	/* RangeResponse{header{revision 3}, kvs[{key "foo", create 2, mod 3, version 2,
	 * value "x"}], count 1} */
	static const uint8_t res[] = { 0x0a, 0x02, 0x18, 0x03, 0x12, 0x0e, 0x0a, 0x03, 'f', 'o',
				       'o', 0x10, 0x02, 0x18, 0x03, 0x20, 0x02, 0x2a, 0x01, 'x',
				       0x20, 0x01 };
	char *json = NULL;
	TU_EQ_INT(jp_to_json(jp_find("RangeResponse"), res, sizeof(res), &json), 0);
	TU_EQ_STR(json, "{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"key\":\"Zm9v\","
			"\"create_revision\":\"2\",\"mod_revision\":\"3\",\"version\":\"2\","
			"\"value\":\"eA==\"}],\"count\":\"1\"}");
	free(json);
	/* StatusResponse keeps etcd's camelCase names; uint32 hash is a JSON number */
	static const uint8_t st[] = { 0x12, 0x05, '3', '.', '4', '.', '0', 0x18, 0x80, 0x01 };
	TU_EQ_INT(jp_to_json(jp_find("StatusResponse"), st, sizeof(st), &json), 0);
	TU_EQ_STR(json, "{\"version\":\"3.4.0\",\"dbSize\":\"128\"}");
	free(json);
	static const uint8_t hk[] = { 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f };
	TU_EQ_INT(jp_to_json(jp_find("HashKVResponse"), hk, sizeof(hk), &json), 0);
	TU_EQ_STR(json, "{\"hash\":4294967295}");
	free(json);
	/* a field with the wrong wire type is refused */
	static const uint8_t bad[] = { 0x0a, 0x01 };	/* header as a truncated LEN */
	TU_EQ_INT(jp_to_json(jp_find("RangeResponse"), bad, sizeof(bad), &json), -EINVAL);
	TU_CHECK(jp_find("NoSuchMessage") == NULL);
}

static void test_stream_of_objects(void)
{
	const char *body = "{\"ID\":\"5\"}\n {\"ID\":7}\n";
	char err[256];
	size_t used = 0, off = 0;
	struct pb_buf b;
	pb_buf_init(&b, NULL);
	TU_EQ_INT(jp_from_json_next(jp_find("LeaseIDRequest"), body, strlen(body), &b, err,
				    sizeof(err), &used), 0);
	off += used;
	TU_EQ_INT(jp_from_json_next(jp_find("LeaseIDRequest"), body + off, strlen(body) - off,
				    &b, err, sizeof(err), &used), 0);
	off += used;
	TU_EQ_INT(off, strlen(body));
	TU_EQ_INT(b.len, 4);	/* 08 05, 08 07 */
	TU_EQ_INT(b.data[1], 5);
	TU_EQ_INT(b.data[3], 7);
	pb_buf_free(&b);
	/* one value only, for a plain route: trailing bytes are an error, whitespace is not */
	pb_buf_init(&b, NULL);
	TU_EQ_INT(jp_from_json(jp_find("LeaseIDRequest"), "{} \n", 4, &b, err, sizeof(err)), 0);
	TU_EQ_INT(jp_from_json(jp_find("LeaseIDRequest"), "{}{}", 4, &b, err, sizeof(err)),
		  -EINVAL);
	pb_buf_free(&b);
}

/* The watch stream's messages: the oneof members (an empty progress_request still
 * present), filters by name, and a response with created, an event and a prev_kv. */
static void test_watch(void)
{
	char err[256];
	int rc;
	TU_EQ_STR(to_hex("WatchRequest", "{\"create_request\":{\"key\":\"YQ==\",\"range_end\":"
		  "\"Yg==\",\"start_revision\":\"7\",\"filters\":[\"NODELETE\",\"NOPUT\"],"
		  "\"prevKv\":true,\"watchId\":3}}", &rc, err),
		  "0a10" "0a0161" "120162" "1807" "2801" "2800" "3001" "3803");
	TU_EQ_INT(rc, 0);
	TU_EQ_STR(to_hex("WatchRequest", "{\"progress_request\":{}}", &rc, err), "1a00");
	TU_EQ_STR(to_hex("WatchRequest", "{\"cancel_request\":{\"watch_id\":\"9\"}}", &rc, err),
		  "12020809");
	to_hex("WatchRequest", "{\"create_request\":{\"filters\":[\"NOPE\"]}}", &rc, err);
	TU_EQ_INT(rc, -EINVAL);
	TU_EQ_STR(err, "create_request.filters[0]: unknown enum value");
	/* WatchResponse{header{revision 4}, watch_id 2, created, events[{type DELETE,
	 * kv{key "a", mod 4}, prev_kv{key "a", value "x"}}]} */
	static const uint8_t res[] = { 0x0a, 0x02, 0x18, 0x04, 0x10, 0x02, 0x18, 0x01, 0x5a, 0x11,
				       0x08, 0x01, 0x12, 0x05, 0x0a, 0x01, 'a', 0x18, 0x04, 0x1a,
				       0x06, 0x0a, 0x01, 'a', 0x2a, 0x01, 'x' };
	char *json = NULL;
	TU_EQ_INT(jp_to_json(jp_find("WatchResponse"), res, sizeof(res), &json), 0);
	TU_EQ_STR(json, "{\"header\":{\"revision\":\"4\"},\"watch_id\":\"2\",\"created\":true,"
			"\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"YQ==\",\"mod_revision\":"
			"\"4\"},\"prev_kv\":{\"key\":\"YQ==\",\"value\":\"eA==\"}}]}");
	free(json);
}

/* Where the first object of a body still arriving ends: brackets inside strings and
 * escaped quotes do not count; an incomplete or blank one is 0. */
static void test_object_len(void)
{
	static const char a[] = " {\"k\":\"}{\\\"\",\"l\":[1,{}]}\n{\"x\"";
	TU_EQ_INT(jp_object_len(a, strlen(a)), strlen(a) - 5);	/* up to the newline */
	TU_EQ_INT(jp_object_len(a, strlen(a) - 8), 0);
	TU_EQ_INT(jp_object_len(" \r\n\t", 4), 0);
	TU_EQ_INT(jp_object_len("", 0), 0);
	TU_EQ_INT(jp_object_len("{\"a\":\"}", 7), 0);
	TU_EQ_INT(jp_object_len("  nonsense", 10), 10);	/* the parser says what is wrong */
}

int main(void)
{
	TU_RUN(test_json_to_pb);
	TU_RUN(test_errors);
	TU_RUN(test_pb_to_json);
	TU_RUN(test_stream_of_objects);
	TU_RUN(test_watch);
	TU_RUN(test_object_len);
	return TU_EXIT();
}
