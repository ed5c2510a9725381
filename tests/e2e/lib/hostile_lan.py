#!/usr/bin/env python3
"""hostile_lan.py: what a hostile machine on the provisioning LAN sends, for the e2e tests.

  hostile_lan.py delta ADDR:PORT want-ranges      # one want: 10,000 full-chunk ranges of chunk 0
  hostile_lan.py delta ADDR:PORT sig-huge         # a signature request for 4,000,000 chunks (16 MB)
  hostile_lan.py delta ADDR:PORT sig-lie          # a signature request that claims 2^32-1 chunks
  hostile_lan.py delta ADDR:PORT promise SECONDS  # after the manifest, a header promising 256 MiB, then silence
  hostile_lan.py delta ADDR:PORT promise-first SECONDS  # the same as the very first message
  hostile_lan.py delta ADDR:PORT receipt          # a receipt (proof of receipt) for an image it never
                                                  # fetched, then guesses at the possession check
  hostile_lan.py idle ADDR:PORT COUNT SECONDS     # COUNT connections that say nothing for SECONDS
  hostile_lan.py macflood URL COUNT               # GET URL/boot/<random mac>.ipxe COUNT times
  hostile_lan.py watch-open SECONDS PATH...       # counts opens and reads of each PATH (inotify)
                                                  # until SECONDS pass or SIGTERM; says "watching"
                                                  # on stderr once the watches are set

Delta modes take --secret HEX (after the mode's arguments): the job's secret, as an attacker
holding a stolen job has it; the client then authenticates as an honest receiver does
(imaging/delta/handshake_auth.h) before it misbehaves. With --receiver-id ID (the job's
receiver_id) the hello names it and the secret is that receiver's key.

Each prints one line saying what the server did, e.g. "refused: <the server's error text>",
and exits 0 when the server refused or dropped what it should (1 otherwise: it answered a
hostile request, or something unexpected happened). The delta wire format is
imaging/delta/wire.h: a message is [u32 body length][u8 type][body], little-endian; the hello is
the magic PRVDELTA and u32 protocol version.
"""
import hashlib
import hmac
import json
import os
import random
import socket
import ssl
import struct
import sys
import time
import urllib.error
import urllib.request

MAGIC = b"PRVDELTA"
VERSION = 1
HELLO, MANIFEST, SIG_REQUEST, SIG_REPLY, WANT, FRAME, LITERALS, ERROR, DONE, CHALLENGE, AUTH = range(1, 12)
RECEIPT, RECEIPT_ACK, POSSESSION_CHALLENGE, POSSESSION = range(12, 16)


def connect(addr, timeout=10):
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)


def send(s, mtype, body):
    s.sendall(struct.pack("<IB", len(body), mtype) + body)


def recv_exact(s, n):
    out = bytearray()
    while len(out) < n:
        b = s.recv(min(n - len(out), 1 << 20))
        if not b:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += b
    return bytes(out)


def recv_msg(s, keep=1 << 20):
    """(type, length, the first `keep` bytes of the body)"""
    length, mtype = struct.unpack("<IB", recv_exact(s, 5))
    body = bytearray()
    left = length
    while left:
        b = s.recv(min(left, 1 << 20))
        if not b:
            raise EOFError("closed inside a %d-byte message" % length)
        if len(body) < keep:
            body += b[: keep - len(body)]
        left -= len(b)
    return mtype, length, bytes(body)


def hello(s, secret=None, receiver_id=None, nonces=None):
    nonce = os.urandom(32) if secret else b""
    named = bytes([len(receiver_id)]) + receiver_id.encode() if secret and receiver_id else b""
    send(s, HELLO, MAGIC + struct.pack("<I", VERSION) + nonce + named)
    mtype, _, body = recv_msg(s, keep=1 << 30)
    if mtype == CHALLENGE and secret:
        key = hmac.new(secret, b"provisioner delta handshake v1", hashlib.sha256).digest()
        proof = hmac.new(key, b"client" + nonce + body[:32], hashlib.sha256).digest()
        if nonces is not None:
            nonces.extend([nonce, body[:32]])
        send(s, AUTH, proof)
        mtype, _, body = recv_msg(s, keep=1 << 30)
    if mtype == ERROR:  # the server wants more than the public hello (an authenticated transport)
        return None, body.decode("utf-8", "replace").strip()
    if mtype != MANIFEST:
        raise RuntimeError("no manifest after hello (type %d: %r)" % (mtype, body[:200]))
    return json.loads(body), None


def expect_refusal(s, what):
    """Reads until the server sends an error or closes; counts what it answers instead."""
    answered = 0
    try:
        while True:
            mtype, length, body = recv_msg(s)
            if mtype == ERROR:
                text = body.decode("utf-8", "replace").strip()
                if answered:
                    print("%s: answered %d bytes, then refused: %s" % (what, answered, text))
                    return 1
                print("%s: refused: %s" % (what, text))
                return 0
            answered += length
    except (EOFError, ConnectionResetError) as e:
        print("%s: %s (answered %d bytes, no error message)" % (what, e, answered))
        return 0 if answered == 0 else 1
    except socket.timeout:
        print("%s: no answer within the timeout, connection still open (answered %d bytes)" % (what, answered))
        return 1


def delta(addr, mode, *args):
    args = list(args)
    secret = None
    receiver_id = None
    if "--secret" in args:
        i = args.index("--secret")
        secret = bytes.fromhex(args[i + 1]) if args[i + 1] else None
        del args[i:i + 2]
    if "--receiver-id" in args:
        i = args.index("--receiver-id")
        receiver_id = args[i + 1] or None
        del args[i:i + 2]
    s = connect(addr, timeout=20)
    if mode == "promise-first":
        return promise(s, float(args[0]), "promise before hello")
    nonces = []
    manifest, refusal = hello(s, secret, receiver_id, nonces)
    if manifest is None:
        print("%s: refused at the hello: %s" % (mode, refusal))
        return 0
    chunk = manifest["chunk_size"]
    if mode == "want-ranges":
        ranges = 10000
        body = struct.pack("<IIBI", 1, 0, 0, ranges) + struct.pack("<II", 0, chunk) * ranges
        send(s, WANT, body)
        return expect_refusal(s, "want of %d full-chunk ranges (%d bytes asking %d MiB)"
                              % (ranges, len(body), ranges * chunk >> 20))
    if mode == "sig-huge":
        n = 4000000
        send(s, SIG_REQUEST, struct.pack("<I", n) + bytes(4 * n))
        return expect_refusal(s, "signature request for %d chunks" % n)
    if mode == "sig-lie":
        send(s, SIG_REQUEST, struct.pack("<I", 0xFFFFFFFF) + bytes(64))
        return expect_refusal(s, "signature request claiming 2^32-1 chunks")
    if mode == "promise":
        return promise(s, float(args[0]), "promise after hello")
    if mode == "receipt":
        return forged_receipt(s, manifest, secret, nonces)
    raise SystemExit("unknown delta mode " + mode)


def forged_receipt(s, manifest, secret, nonces):
    """What the holder of a host's job can say without the image: a receipt proved with the job's
    key over the job's sha256, then, asked for chunks it does not hold, their manifest hashes."""
    if len(nonces) != 2:
        print("receipt: the session is not authenticated (no receiver key)")
        return 1
    sha = bytes.fromhex(manifest["sha256"])
    key = hmac.new(secret, b"provisioner delta receipt v1", hashlib.sha256).digest()
    send(s, RECEIPT, sha + hmac.new(key, nonces[0] + nonces[1] + sha, hashlib.sha256).digest())
    mtype, _, body = recv_msg(s)
    if mtype == ERROR:
        print("receipt without the image: refused at once: %s" % body.decode("utf-8", "replace").strip())
        return 0
    if mtype != POSSESSION_CHALLENGE:
        print("receipt without the image: answered type %d" % mtype)
        return 1
    nonce, n = body[:32], struct.unpack("<I", body[32:36])[0]
    chunks = struct.unpack("<%dI" % n, body[36:36 + 4 * n])
    guesses = b"".join(hashlib.sha256(nonce + struct.pack("<I", c) +
                                      bytes.fromhex(manifest["chunks"][c][0])).digest()
                       for c in chunks)
    send(s, POSSESSION, guesses)
    return expect_refusal(s, "receipt without the image, possession check of chunks %s" % list(chunks))


def promise(s, seconds, what):
    """A header promising 256 MiB, 1000 bytes of it, then silence for `seconds`."""
    s.sendall(struct.pack("<IB", 256 << 20, WANT) + bytes(1000))
    s.settimeout(seconds)
    t0 = time.monotonic()
    try:
        mtype, _, body = recv_msg(s)
        text = body.decode("utf-8", "replace").strip() if mtype == ERROR else "message type %d" % mtype
        print("%s of 256 MiB: refused after %.1f s: %s" % (what, time.monotonic() - t0, text))
        return 0 if mtype == ERROR else 1
    except (EOFError, ConnectionResetError):
        print("%s of 256 MiB: closed after %.1f s" % (what, time.monotonic() - t0))
        return 0
    except socket.timeout:
        print("%s of 256 MiB: still open after %.0f s of silence" % (what, seconds))
        return 1


def idle(addr, count, seconds):
    """COUNT connections saying nothing; how many the server turned away and how many it kept."""
    conns, failed = [], 0
    for _ in range(count):
        try:
            conns.append(connect(addr, timeout=5))
        except OSError:
            failed += 1
    deadline = time.monotonic() + seconds
    turned_away, reasons = 0, set()
    open_conns = list(conns)
    while open_conns and time.monotonic() < deadline:
        still = []
        for c in open_conns:
            c.settimeout(0.01)
            try:
                b = c.recv(4096)
                if b:
                    reasons.add(b[5:].decode("utf-8", "replace").strip()[:120])
                turned_away += 1
                c.close()
            except socket.timeout:
                still.append(c)
            except OSError:
                turned_away += 1
        open_conns = still
        time.sleep(0.2)
    print(json.dumps({"connections": len(conns), "connect_failed": failed, "turned_away": turned_away,
                      "held_open": len(open_conns), "reasons": sorted(reasons)}))
    for c in conns:
        c.close()
    return 0


def macflood(url, count):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # an attacker does not check who answers
    codes = {}
    t0 = time.monotonic()
    rnd = random.Random()
    for _ in range(count):
        mac = "-".join("%02x" % b for b in [0x52, 0x54, 0x01] + [rnd.randrange(256) for _ in range(3)])
        try:
            with urllib.request.urlopen("%s/boot/%s.ipxe" % (url, mac), timeout=10, context=ctx) as r:
                r.read()
                code = r.status
        except urllib.error.HTTPError as e:
            code = e.code
        except OSError as e:
            code = "error: %s" % e
        codes[str(code)] = codes.get(str(code), 0) + 1
    print(json.dumps({"requests": count, "seconds": round(time.monotonic() - t0, 2), "codes": codes}))
    return 0


def watch_open(seconds, paths):
    """Opens (IN_OPEN) and reads (IN_ACCESS) of each path, by anyone, while it runs."""
    import ctypes
    import select
    import signal
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1")
    in_access, in_open = 0x1, 0x20
    watches = {}
    for p in paths:
        wd = libc.inotify_add_watch(fd, p.encode(), in_access | in_open)
        if wd < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch " + p)
        watches[wd] = p
    counts = {p: {"opened": 0, "read": 0} for p in paths}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    sys.stderr.write("watching %s\n" % " ".join(paths))
    sys.stderr.flush()
    deadline = time.monotonic() + seconds
    while not stop and time.monotonic() < deadline:
        try:
            ready, _, _ = select.select([fd], [], [], 0.1)
        except InterruptedError:
            continue
        if not ready:
            continue
        buf = os.read(fd, 65536)
        off = 0
        while off + 16 <= len(buf):
            wd, mask, _, length = struct.unpack_from("iIII", buf, off)
            off += 16 + length
            p = watches.get(wd)
            if p:
                if mask & in_open:
                    counts[p]["opened"] += 1
                if mask & in_access:
                    counts[p]["read"] += 1
    print(json.dumps(counts))
    return 0


def main(argv):
    if len(argv) < 3:
        raise SystemExit(__doc__)
    if argv[1] == "delta":
        return delta(argv[2], argv[3], *argv[4:])
    if argv[1] == "idle":
        return idle(argv[2], int(argv[3]), float(argv[4]))
    if argv[1] == "macflood":
        return macflood(argv[2], int(argv[3]))
    if argv[1] == "watch-open":
        return watch_open(float(argv[2]), argv[3:])
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
