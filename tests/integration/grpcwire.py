"""Protobuf written by hand for the watch scripts, which send requests python3-etcd3's
generated classes cannot express (unknown fields, unpacked repeats), and their one way to
fail."""
import sys


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def varint(v):
    v &= (1 << 64) - 1
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if not v:
            return out + bytes([b])
        out += bytes([b | 0x80])


def f_int(num, v):
    """A varint field; proto3 leaves out zero."""
    return varint(num << 3) + varint(v) if v else b""


def f_len(num, b):
    """A length-delimited field."""
    return varint(num << 3 | 2) + varint(len(b)) + b
