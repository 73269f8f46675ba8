/* The proto3 JSON mapping for the etcd messages the JSON gateway carries, as etcd 3.4's
 * gateway writes it: field names as in the .proto (snake_case; "ID", "TTL", "dbSize" as
 * etcd spells them), 64-bit integers as decimal strings, bytes as base64, enums by name,
 * zero values left out, fields in field-number order. Input accepts the lowerCamelCase
 * names too, and numbers for 64-bit integers and enums; unknown fields are ignored, as
 * etcd's gateway does. Pure: no I/O. */
#ifndef CABIN_KV_JSONPB_H
#define CABIN_KV_JSONPB_H

#include <stddef.h>
#include <stdint.h>

#include "pb.h"

struct jp_msg;	/* a message's descriptor (jsonpb.c has one for each gateway message) */

/* The descriptor of the message named as in the .proto ("RangeRequest",
 * "etcdserverpb.RangeRequest" is not accepted), or NULL. */
const struct jp_msg *jp_find(const char *name);

/* Converts JSON text (len bytes, not necessarily NUL-terminated) holding message m into
 * its protobuf encoding, appended to b. Returns 0, or -EINVAL with err saying what and
 * where ("kvs[0].key: illegal base64 data"), or -ENOMEM. b is unchanged on failure. */
int jp_from_json(const struct jp_msg *m, const char *json, size_t len, struct pb_buf *b,
		 char *err, size_t errlen);

/* Like jp_from_json for the first JSON value of a stream of them (a streaming route's
 * body: objects one after another, whitespace between): *used gets the bytes it took,
 * trailing whitespace included. */
int jp_from_json_next(const struct jp_msg *m, const char *json, size_t len, struct pb_buf *b,
		      char *err, size_t errlen, size_t *used);

/* Where the first JSON value of a stream of them ends, seen from its brackets only, for
 * a body that is still arriving: the bytes up to its closing bracket (leading whitespace
 * included), 0 when it is not all there yet, or len when it does not open with a bracket
 * (let jp_from_json_next say what is wrong). */
size_t jp_object_len(const char *json, size_t len);

/* Converts the protobuf encoding of m into JSON text: a malloc'd NUL-terminated string
 * in *out. Returns 0, -EINVAL (the bytes are not a valid m) or -ENOMEM. */
int jp_to_json(const struct jp_msg *m, const uint8_t *buf, size_t len, char **out);

#endif
