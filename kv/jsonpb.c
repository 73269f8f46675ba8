/* JSON to protobuf and back for the gateway's messages, driven by descriptor tables
 * written from the field numbers: one generic walker each way instead of a converter per
 * message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../lib/jsonscan.h"
#include "jsonpb.h"

#define DEPTH_MAX 32

enum jp_type { JP_I64, JP_U64, JP_I32, JP_U32, JP_ENUM, JP_BOOL, JP_BYTES, JP_STRING, JP_MSG };

struct jp_field {
	const char *name;
	uint32_t num;
	enum jp_type type;
	int repeated;
	const struct jp_msg *msg;	/* JP_MSG */
	const char *const *enums;	/* JP_ENUM: names by value, NULL-terminated */
};

struct jp_msg {
	const char *name;
	const struct jp_field *f;
	size_t n;
};

#define MSG(id, fields) \
	static const struct jp_msg id = { #id, fields, sizeof(fields) / sizeof(*fields) }
#define F(name, num, type) { name, num, type, 0, NULL, NULL }
#define R(name, num, type) { name, num, type, 1, NULL, NULL }
#define M(name, num, msg) { name, num, JP_MSG, 0, &msg, NULL }
#define RM(name, num, msg) { name, num, JP_MSG, 1, &msg, NULL }
#define E(name, num, names) { name, num, JP_ENUM, 0, NULL, names }
#define RE(name, num, names) { name, num, JP_ENUM, 1, NULL, names }

static const char *const sort_orders[] = { "NONE", "ASCEND", "DESCEND", NULL };
static const char *const sort_targets[] = { "KEY", "VERSION", "CREATE", "MOD", "VALUE", NULL };
static const char *const cmp_results[] = { "EQUAL", "GREATER", "LESS", "NOT_EQUAL", NULL };
static const char *const cmp_targets[] = { "VERSION", "CREATE", "MOD", "VALUE", "LEASE", NULL };
static const char *const event_types[] = { "PUT", "DELETE", NULL };
static const char *const alarm_actions[] = { "GET", "ACTIVATE", "DEACTIVATE", NULL };
static const char *const alarm_types[] = { "NONE", "NOSPACE", "CORRUPT", NULL };
static const char *const watch_filters[] = { "NOPUT", "NODELETE", NULL };

static const struct jp_field f_empty[] = { F("", 0, JP_BOOL) };	/* matches nothing */
static const struct jp_msg Empty = { "Empty", f_empty, 0 };

static const struct jp_field f_header[] = {
	F("cluster_id", 1, JP_U64), F("member_id", 2, JP_U64), F("revision", 3, JP_I64),
	F("raft_term", 4, JP_U64),
};
MSG(ResponseHeader, f_header);
static const struct jp_field f_kv[] = {
	F("key", 1, JP_BYTES), F("create_revision", 2, JP_I64), F("mod_revision", 3, JP_I64),
	F("version", 4, JP_I64), F("value", 5, JP_BYTES), F("lease", 6, JP_I64),
};
MSG(KeyValue, f_kv);
static const struct jp_field f_event[] = {
	E("type", 1, event_types), M("kv", 2, KeyValue), M("prev_kv", 3, KeyValue),
};
MSG(Event, f_event);

static const struct jp_field f_range_req[] = {
	F("key", 1, JP_BYTES), F("range_end", 2, JP_BYTES), F("limit", 3, JP_I64),
	F("revision", 4, JP_I64), E("sort_order", 5, sort_orders),
	E("sort_target", 6, sort_targets), F("serializable", 7, JP_BOOL),
	F("keys_only", 8, JP_BOOL), F("count_only", 9, JP_BOOL),
	F("min_mod_revision", 10, JP_I64), F("max_mod_revision", 11, JP_I64),
	F("min_create_revision", 12, JP_I64), F("max_create_revision", 13, JP_I64),
};
MSG(RangeRequest, f_range_req);
static const struct jp_field f_range_res[] = {
	M("header", 1, ResponseHeader), RM("kvs", 2, KeyValue), F("more", 3, JP_BOOL),
	F("count", 4, JP_I64),
};
MSG(RangeResponse, f_range_res);
static const struct jp_field f_put_req[] = {
	F("key", 1, JP_BYTES), F("value", 2, JP_BYTES), F("lease", 3, JP_I64),
	F("prev_kv", 4, JP_BOOL), F("ignore_value", 5, JP_BOOL), F("ignore_lease", 6, JP_BOOL),
};
MSG(PutRequest, f_put_req);
static const struct jp_field f_put_res[] = {
	M("header", 1, ResponseHeader), M("prev_kv", 2, KeyValue),
};
MSG(PutResponse, f_put_res);
static const struct jp_field f_del_req[] = {
	F("key", 1, JP_BYTES), F("range_end", 2, JP_BYTES), F("prev_kv", 3, JP_BOOL),
};
MSG(DeleteRangeRequest, f_del_req);
static const struct jp_field f_del_res[] = {
	M("header", 1, ResponseHeader), F("deleted", 2, JP_I64), RM("prev_kvs", 3, KeyValue),
};
MSG(DeleteRangeResponse, f_del_res);
static const struct jp_field f_compare[] = {
	E("result", 1, cmp_results), E("target", 2, cmp_targets), F("key", 3, JP_BYTES),
	F("version", 4, JP_I64), F("create_revision", 5, JP_I64),
	F("mod_revision", 6, JP_I64), F("value", 7, JP_BYTES), F("lease", 8, JP_I64),
	F("range_end", 64, JP_BYTES),
};
MSG(Compare, f_compare);

/* RequestOp and TxnRequest refer to each other. */
static const struct jp_msg TxnRequest, TxnResponse;
static const struct jp_field f_req_op[] = {
	M("request_range", 1, RangeRequest), M("request_put", 2, PutRequest),
	M("request_delete_range", 3, DeleteRangeRequest), M("request_txn", 4, TxnRequest),
};
MSG(RequestOp, f_req_op);
static const struct jp_field f_res_op[] = {
	M("response_range", 1, RangeResponse), M("response_put", 2, PutResponse),
	M("response_delete_range", 3, DeleteRangeResponse), M("response_txn", 4, TxnResponse),
};
MSG(ResponseOp, f_res_op);
static const struct jp_field f_txn_req[] = {
	RM("compare", 1, Compare), RM("success", 2, RequestOp), RM("failure", 3, RequestOp),
};
static const struct jp_msg TxnRequest = { "TxnRequest", f_txn_req, 3 };
static const struct jp_field f_txn_res[] = {
	M("header", 1, ResponseHeader), F("succeeded", 2, JP_BOOL),
	RM("responses", 3, ResponseOp),
};
static const struct jp_msg TxnResponse = { "TxnResponse", f_txn_res, 3 };
static const struct jp_field f_compact_req[] = {
	F("revision", 1, JP_I64), F("physical", 2, JP_BOOL),
};
MSG(CompactionRequest, f_compact_req);
static const struct jp_field f_header_res[] = { M("header", 1, ResponseHeader) };
MSG(HeaderResponse, f_header_res);

static const struct jp_field f_lease_grant_req[] = { F("TTL", 1, JP_I64), F("ID", 2, JP_I64) };
MSG(LeaseGrantRequest, f_lease_grant_req);
static const struct jp_field f_lease_grant_res[] = {
	M("header", 1, ResponseHeader), F("ID", 2, JP_I64), F("TTL", 3, JP_I64),
	F("error", 4, JP_STRING),
};
MSG(LeaseGrantResponse, f_lease_grant_res);
static const struct jp_field f_lease_id[] = { F("ID", 1, JP_I64) };
MSG(LeaseIDRequest, f_lease_id);
static const struct jp_field f_lease_ka_res[] = {
	M("header", 1, ResponseHeader), F("ID", 2, JP_I64), F("TTL", 3, JP_I64),
};
MSG(LeaseKeepAliveResponse, f_lease_ka_res);
static const struct jp_field f_lease_ttl_req[] = { F("ID", 1, JP_I64), F("keys", 2, JP_BOOL) };
MSG(LeaseTimeToLiveRequest, f_lease_ttl_req);
static const struct jp_field f_lease_ttl_res[] = {
	M("header", 1, ResponseHeader), F("ID", 2, JP_I64), F("TTL", 3, JP_I64),
	F("grantedTTL", 4, JP_I64), R("keys", 5, JP_BYTES),
};
MSG(LeaseTimeToLiveResponse, f_lease_ttl_res);
static const struct jp_field f_lease_status[] = { F("ID", 1, JP_I64) };
MSG(LeaseStatus, f_lease_status);
static const struct jp_field f_lease_leases_res[] = {
	M("header", 1, ResponseHeader), RM("leases", 2, LeaseStatus),
};
MSG(LeaseLeasesResponse, f_lease_leases_res);

static const struct jp_field f_member[] = {
	F("ID", 1, JP_U64), F("name", 2, JP_STRING), R("peerURLs", 3, JP_STRING),
	R("clientURLs", 4, JP_STRING), F("isLearner", 5, JP_BOOL),
};
MSG(Member, f_member);
static const struct jp_field f_members_res[] = {
	M("header", 1, ResponseHeader), RM("members", 2, Member),
};
MSG(MemberListResponse, f_members_res);
static const struct jp_field f_status_res[] = {
	M("header", 1, ResponseHeader), F("version", 2, JP_STRING), F("dbSize", 3, JP_I64),
	F("leader", 4, JP_U64), F("raftIndex", 5, JP_U64), F("raftTerm", 6, JP_U64),
	F("raftAppliedIndex", 7, JP_U64), R("errors", 8, JP_STRING),
	F("dbSizeInUse", 9, JP_I64), F("isLearner", 10, JP_BOOL),
};
MSG(StatusResponse, f_status_res);
static const struct jp_field f_alarm_req[] = {
	E("action", 1, alarm_actions), F("memberID", 2, JP_U64), E("alarm", 3, alarm_types),
};
MSG(AlarmRequest, f_alarm_req);
static const struct jp_field f_alarm_member[] = {
	F("memberID", 1, JP_U64), E("alarm", 2, alarm_types),
};
MSG(AlarmMember, f_alarm_member);
static const struct jp_field f_alarm_res[] = {
	M("header", 1, ResponseHeader), RM("alarms", 2, AlarmMember),
};
MSG(AlarmResponse, f_alarm_res);
static const struct jp_field f_hashkv_req[] = { F("revision", 1, JP_I64) };
MSG(HashKVRequest, f_hashkv_req);
static const struct jp_field f_hashkv_res[] = {
	M("header", 1, ResponseHeader), F("hash", 2, JP_U32), F("compact_revision", 3, JP_I64),
};
MSG(HashKVResponse, f_hashkv_res);

static const struct jp_field f_watch_create[] = {
	F("key", 1, JP_BYTES), F("range_end", 2, JP_BYTES), F("start_revision", 3, JP_I64),
	F("progress_notify", 4, JP_BOOL), RE("filters", 5, watch_filters),
	F("prev_kv", 6, JP_BOOL), F("watch_id", 7, JP_I64), F("fragment", 8, JP_BOOL),
};
MSG(WatchCreateRequest, f_watch_create);
static const struct jp_field f_watch_cancel[] = { F("watch_id", 1, JP_I64) };
MSG(WatchCancelRequest, f_watch_cancel);
static const struct jp_msg WatchProgressRequest = { "WatchProgressRequest", f_empty, 0 };
static const struct jp_field f_watch_req[] = {
	M("create_request", 1, WatchCreateRequest), M("cancel_request", 2, WatchCancelRequest),
	M("progress_request", 3, WatchProgressRequest),
};
MSG(WatchRequest, f_watch_req);
static const struct jp_field f_watch_res[] = {
	M("header", 1, ResponseHeader), F("watch_id", 2, JP_I64), F("created", 3, JP_BOOL),
	F("canceled", 4, JP_BOOL), F("compact_revision", 5, JP_I64),
	F("cancel_reason", 6, JP_STRING), F("fragment", 7, JP_BOOL), RM("events", 11, Event),
};
MSG(WatchResponse, f_watch_res);

static const struct jp_msg *const all[] = {
	&Empty, &ResponseHeader, &KeyValue, &Event, &RangeRequest, &RangeResponse, &PutRequest,
	&PutResponse, &DeleteRangeRequest, &DeleteRangeResponse, &Compare, &RequestOp,
	&ResponseOp, &TxnRequest, &TxnResponse, &CompactionRequest, &HeaderResponse,
	&LeaseGrantRequest, &LeaseGrantResponse, &LeaseIDRequest, &LeaseKeepAliveResponse,
	&LeaseTimeToLiveRequest, &LeaseTimeToLiveResponse, &LeaseLeasesResponse, &Member,
	&MemberListResponse, &StatusResponse, &AlarmRequest, &AlarmResponse, &HashKVRequest,
	&HashKVResponse, &WatchCreateRequest, &WatchCancelRequest, &WatchProgressRequest,
	&WatchRequest, &WatchResponse,
};

const struct jp_msg *jp_find(const char *name)
{
	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

/* ---- base64 (RFC 4648; decoding also takes the URL alphabet and missing padding) ---- */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const uint8_t *p, size_t n)
{
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		*o++ = b64[v >> 18];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decodes s into a malloc'd buffer; returns its length, or -1 with *bad at the offset of
 * the first wrong character. */
static ssize_t b64_decode(const char *s, uint8_t **out, size_t *bad)
{
	size_t n = strlen(s);
	while (n && s[n - 1] == '=')
		n--;
	uint8_t *buf = malloc(n * 3 / 4 + 3);
	size_t len = 0;
	uint32_t acc = 0;
	int bits = 0;
	if (!buf)
		return -2;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(s[i]);
		if (v < 0) {
			free(buf);
			*bad = i;
			return -1;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[len++] = (uint8_t)(acc >> bits);
		}
	}
	if (n % 4 == 1) {	/* a lone sextet cannot end a byte */
		free(buf);
		*bad = n - 1;
		return -1;
	}
	*out = buf;
	return (ssize_t)len;
}

/* ---- protobuf to JSON ---- */
static cJSON *to_json(const struct jp_msg *m, const uint8_t *buf, size_t len, int depth);

static cJSON *scalar_json(const struct jp_field *f, const struct pb_field *pf, int depth)
{
	char num[24];
	uint64_t v = pf->v;
	switch (f->type) {
	case JP_I64:
		snprintf(num, sizeof(num), "%lld", (long long)(int64_t)v);
		return cJSON_CreateString(num);
	case JP_U64:
		snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
		return cJSON_CreateString(num);
	case JP_I32:
		return cJSON_CreateNumber((double)(int32_t)v);
	case JP_U32:
		return cJSON_CreateNumber((double)(uint32_t)v);
	case JP_BOOL:
		return cJSON_CreateBool(v != 0);
	case JP_ENUM: {
		size_t k = 0;
		while (f->enums[k] && k != v)
			k++;
		return f->enums[k] ? cJSON_CreateString(f->enums[k]) :
				     cJSON_CreateNumber((double)(int32_t)v);
	}
	case JP_BYTES: {
		char *s = b64_encode(pf->bytes.p, pf->bytes.len);
		cJSON *j = s ? cJSON_CreateString(s) : NULL;
		free(s);
		return j;
	}
	case JP_STRING: {
		char *s = malloc(pf->bytes.len + 1);
		if (!s)
			return NULL;
		memcpy(s, pf->bytes.p, pf->bytes.len);
		s[pf->bytes.len] = '\0';
		cJSON *j = cJSON_CreateString(s);
		free(s);
		return j;
	}
	case JP_MSG:
		return to_json(f->msg, pf->bytes.p, pf->bytes.len, depth + 1);
	}
	return NULL;
}

static int wire_ok(const struct jp_field *f, const struct pb_field *pf)
{
	int len = f->type == JP_BYTES || f->type == JP_STRING || f->type == JP_MSG;
	return len ? pf->wt == PB_LEN : pf->wt == PB_VARINT;
}

static cJSON *to_json(const struct jp_msg *m, const uint8_t *buf, size_t len, int depth)
{
	if (depth > DEPTH_MAX)
		return NULL;
	cJSON *obj = cJSON_CreateObject();
	for (size_t i = 0; obj && i < m->n; i++) {
		const struct jp_field *f = &m->f[i];
		struct pb_reader r;
		struct pb_field pf;
		pb_reader_init(&r, buf, len);
		cJSON *arr = NULL, *last = NULL;
		int rc;
		while ((rc = pb_next(&r, &pf)) > 0) {
			if (pf.num != f->num)
				continue;
			if (!wire_ok(f, &pf)) {
				rc = -1;
				break;
			}
			cJSON *v = scalar_json(f, &pf, depth);
			if (!v) {
				rc = -1;
				break;
			}
			if (f->repeated) {
				if (!arr && !(arr = cJSON_CreateArray())) {
					cJSON_Delete(v);
					rc = -1;
					break;
				}
				cJSON_AddItemToArray(arr, v);
			} else {
				cJSON_Delete(last);
				last = v;
			}
		}
		cJSON *v = f->repeated ? arr : last;
		if (rc < 0) {
			cJSON_Delete(v);
			cJSON_Delete(obj);
			return NULL;
		}
		if (v)
			cJSON_AddItemToObject(obj, f->name, v);
	}
	return obj;
}

int jp_to_json(const struct jp_msg *m, const uint8_t *buf, size_t len, char **out)
{
	cJSON *j = to_json(m, buf, len, 0);
	if (!j)
		return -EINVAL;
	*out = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	return *out ? 0 : -ENOMEM;
}

/* ---- JSON to protobuf ---- */
struct jerr {
	char *buf;
	size_t len;
};

static int fail(struct jerr *e, const char *path, const char *what)
{
	snprintf(e->buf, e->len, "%s%s%s", path, path[0] ? ": " : "", what);
	return -EINVAL;
}

/* The .proto name, or its lowerCamelCase JSON name ("range_end" -> "rangeEnd"). */
static int name_is(const char *proto, const char *given)
{
	if (strcmp(proto, given) == 0)
		return 1;
	const char *p = proto, *g = given;
	while (*p && *g) {
		if (*p == '_' && p[1]) {
			p++;
			if (*g != (*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p))
				return 0;
		} else if (*p != *g) {
			return 0;
		}
		p++;
		g++;
	}
	return !*p && !*g;
}

static int get_int(const cJSON *v, int64_t *out, int unsig)
{
	char *end;
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		/* only integers a double holds exactly; larger ones must come as strings */
		if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || d != (double)(int64_t)d)
			return -1;
		*out = (int64_t)d;
		return unsig && d < 0 ? -1 : 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return -1;
	errno = 0;
	if (unsig) {
		if (v->valuestring[0] == '-')
			return -1;
		*out = (int64_t)strtoull(v->valuestring, &end, 10);
	} else {
		*out = strtoll(v->valuestring, &end, 10);
	}
	return errno || *end ? -1 : 0;
}

static int from_json(const struct jp_msg *m, const cJSON *obj, struct pb_buf *b,
		     struct jerr *e, const char *path, int depth);

static int put_value(const struct jp_field *f, const cJSON *v, struct pb_buf *b,
		     struct jerr *e, const char *path, int depth)
{
	int64_t n;
	switch (f->type) {
	case JP_I64: case JP_U64: case JP_I32: case JP_U32:
		if (get_int(v, &n, f->type == JP_U64 || f->type == JP_U32) < 0 ||
		    ((f->type == JP_I32) && (n < INT32_MIN || n > INT32_MAX)) ||
		    ((f->type == JP_U32) && n > (int64_t)UINT32_MAX))
			return fail(e, path, "expected an integer");
		pb_put_varint_field(b, f->num, (uint64_t)n);
		return 0;
	case JP_BOOL:
		if (!cJSON_IsBool(v))
			return fail(e, path, "expected true or false");
		pb_put_varint_field(b, f->num, cJSON_IsTrue(v));
		return 0;
	case JP_ENUM:
		if (cJSON_IsString(v)) {
			for (size_t k = 0; f->enums[k]; k++)
				if (strcmp(f->enums[k], v->valuestring) == 0) {
					pb_put_varint_field(b, f->num, k);
					return 0;
				}
			return fail(e, path, "unknown enum value");
		}
		if (get_int(v, &n, 0) < 0 || n < INT32_MIN || n > INT32_MAX)
			return fail(e, path, "expected an enum name or number");
		pb_put_varint_field(b, f->num, (uint64_t)n);
		return 0;
	case JP_BYTES: {
		if (!cJSON_IsString(v))
			return fail(e, path, "expected a base64 string");
		uint8_t *raw = NULL;
		size_t bad = 0;
		ssize_t len = b64_decode(v->valuestring, &raw, &bad);
		if (len == -2)
			return -ENOMEM;
		if (len < 0) {
			char why[80];
			snprintf(why, sizeof(why), "illegal base64 data at input byte %zu", bad);
			return fail(e, path, why);
		}
		pb_put_bytes_field(b, f->num, (struct pb_bytes){ raw, (size_t)len });
		free(raw);
		return 0;
	}
	case JP_STRING:
		if (!cJSON_IsString(v))
			return fail(e, path, "expected a string");
		pb_put_bytes_field(b, f->num, (struct pb_bytes){ (const uint8_t *)v->valuestring,
								  strlen(v->valuestring) });
		return 0;
	case JP_MSG: {
		if (!cJSON_IsObject(v))
			return fail(e, path, "expected an object");
		struct pb_buf sub;
		pb_buf_init(&sub, NULL);
		int rc = from_json(f->msg, v, &sub, e, path, depth + 1);
		if (rc == 0 && sub.err)
			rc = sub.err;
		if (rc == 0)
			pb_put_bytes_field(b, f->num, (struct pb_bytes){ sub.data, sub.len });
		pb_buf_free(&sub);
		return rc;
	}
	}
	return fail(e, path, "unsupported field");
}

static int from_json(const struct jp_msg *m, const cJSON *obj, struct pb_buf *b,
		     struct jerr *e, const char *path, int depth)
{
	if (depth > DEPTH_MAX)
		return fail(e, path, "nested too deeply");
	for (const cJSON *v = obj->child; v; v = v->next) {
		const struct jp_field *f = NULL;
		for (size_t i = 0; i < m->n && !f; i++)
			if (name_is(m->f[i].name, v->string))
				f = &m->f[i];
		char sub[256];
		snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", v->string);
		if (!f || cJSON_IsNull(v))
			continue;	/* etcd's gateway ignores fields it does not know */
		if (!f->repeated) {
			int rc = put_value(f, v, b, e, sub, depth);
			if (rc < 0)
				return rc;
			continue;
		}
		if (!cJSON_IsArray(v))
			return fail(e, sub, "expected a list");
		size_t k = 0;
		for (const cJSON *x = v->child; x; x = x->next, k++) {
			char item[300];
			snprintf(item, sizeof(item), "%s[%zu]", sub, k);
			int rc = put_value(f, x, b, e, item, depth);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static int convert(const struct jp_msg *m, const char *json, size_t len, struct pb_buf *b,
		   char *err, size_t errlen, size_t *used)
{
	struct jerr e = { err, errlen };
	const char *end = NULL;
	cJSON *obj = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (obj) {
		while (end < json + len && (*end == ' ' || *end == '\n' || *end == '\r' ||
					    *end == '\t'))
			end++;
		if (used) {
			*used = (size_t)(end - json);
		} else if (end != json + len) {	/* one value, nothing after it */
			cJSON_Delete(obj);
			obj = NULL;
		}
	}
	if (!obj) {
		snprintf(err, errlen, "malformed JSON at byte %zu",
			 end && end >= json ? (size_t)(end - json) : (size_t)0);
		return -EINVAL;
	}
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		snprintf(err, errlen, "expected a JSON object");
		return -EINVAL;
	}
	size_t before = b->len;
	int rc = from_json(m, obj, b, &e, "", 0);
	cJSON_Delete(obj);
	if (rc == 0 && b->err)
		rc = b->err == -ENOMEM ? -ENOMEM : -EINVAL;
	if (rc < 0) {
		b->len = before;
		b->err = 0;
		if (rc != -EINVAL)
			snprintf(err, errlen, "out of memory");
	}
	return rc;
}

int jp_from_json(const struct jp_msg *m, const char *json, size_t len, struct pb_buf *b,
		 char *err, size_t errlen)
{
	return convert(m, json, len, b, err, errlen, NULL);
}

int jp_from_json_next(const struct jp_msg *m, const char *json, size_t len, struct pb_buf *b,
		      char *err, size_t errlen, size_t *used)
{
	return convert(m, json, len, b, err, errlen, used);
}

size_t jp_object_len(const char *json, size_t len)
{
	size_t i = 0;
	int depth = 0, in_str = 0;
	while (i < len && (json[i] == ' ' || json[i] == '\n' || json[i] == '\r' || json[i] == '\t'))
		i++;
	if (i == len || (json[i] != '{' && json[i] != '['))
		return i == len ? 0 : len;	/* not an object: the parser says what is wrong */
	for (; i < len; i++)
		if ((depth += json_bracket_step(json, len, &i, &in_str)) == 0)
			return i + 1;
	return 0;
}
