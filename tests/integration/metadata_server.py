#!/usr/bin/env python3
"""A metadata service for one connection, on stdin/stdout, as QEMU's
guestfwd=tcp:169.254.169.254:80-cmd:... runs it: each request's path is served from the
files under ROOT (404 when there is none). Every request is appended to ROOT/../requests.log.
With --fail-first N, the first N requests (counted across connections) get a 503, as a
metadata service that is still starting does."""
import argparse
import os
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--fail-first", type=int, default=0)
    args = ap.parse_args()
    root = os.path.realpath(args.root)
    log = os.path.join(os.path.dirname(root), "requests.log")
    rin, out = sys.stdin.buffer, sys.stdout.buffer
    while True:
        line = rin.readline()
        if not line:
            return
        parts = line.decode("latin-1").split()
        keep = True
        while True:  # headers
            h = rin.readline()
            if not h or h in (b"\r\n", b"\n"):
                break
            if h.lower().startswith(b"connection:") and b"close" in h.lower():
                keep = False
        path = parts[1] if len(parts) > 1 else "/"
        with open(log, "a") as f:
            n = sum(1 for _ in open(log)) if os.path.exists(log) else 0
            f.write(f"{parts[0] if parts else '?'} {path}\n")
        file = os.path.realpath(os.path.join(root, path.lstrip("/")))
        if n < args.fail_first:
            status, body = "503 Service Unavailable", b"starting\n"
        elif file.startswith(root + os.sep) and os.path.isfile(file):
            status, body = "200 OK", open(file, "rb").read()
        else:
            status, body = "404 Not Found", b"404 Not Found\n"
        out.write(f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        out.flush()
        if not keep:
            return


if __name__ == "__main__":
    main()
