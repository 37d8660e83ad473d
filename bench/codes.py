#!/usr/bin/env python3
"""Reads "token base32-secret" lines, writes "token code" lines: RFC 6238 (SHA-1, 6 digits,
30 s) codes for the current time step, so a benchmark run can start at once."""
import base64, hmac, struct, sys, time

step = int(time.time()) // 30
msg = struct.pack(">Q", step)
out = []
for line in open(sys.argv[1]):
    token, secret = line.split()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    h = hmac.new(key, msg, "sha1").digest()
    o = h[-1] & 15
    code = (struct.unpack(">I", h[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000
    out.append(f"{token} {code:06d}\n")
open(sys.argv[2], "w").writelines(out)
