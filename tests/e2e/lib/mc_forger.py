#!/usr/bin/env python3
"""Injects forged and malformed datagrams into a multicast imaging session (e2e tests).

Listens on the group; for the first real DATA it overhears (up to --spoof-limit), sends
copies with corrupted payloads spoofed from the sender's address (raw socket), so they pass
every header check and only chunk verification can catch them. (Bounded: an attacker who
spoofs the sender without end can delay completion, see PROTOCOL.md; the test checks that
what is forged is never written.) Also sends, from its own address: datagrams of another
session, truncated and garbage datagrams, DATA with lengths that do not fit, a NACK for
fragments that do not exist, and END/POLL that only the sender may send. Runs until killed.

usage: mc_forger.py GROUP PORT SENDER_IP [SPOOF_LIMIT]
"""
import random
import socket
import struct
import sys
import time

MAGIC = 0x504D4331
DATA, POLL, NACK, END = 2, 3, 4, 6


def header(kind, session):
    return struct.pack("!IBBHI", MAGIC, 1, kind, 0, session)


def ip_udp(src, dst, sport, dport, payload):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 1, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip + udp


def main():
    group, port, sender_ip = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    spoof_limit = int(sys.argv[4]) if len(sys.argv) > 4 else 400
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    rx.bind(("", port))
    rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                  socket.inet_aton(group) + socket.inet_aton("0.0.0.0"))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    sent = {"spoofed": 0, "junk": 0}
    last_junk = 0.0
    rng = random.Random(7)
    while True:
        data, (src, _) = rx.recvfrom(65535)
        if len(data) < 24 or src != sender_ip:
            continue
        magic, version, kind, _, session = struct.unpack("!IBBHI", data[:12])
        if magic != MAGIC or kind != DATA:
            continue
        obj, frag, size = struct.unpack("!III", data[12:24])
        if obj >= 1 and sent["spoofed"] < spoof_limit and rng.random() < 0.5:
            bad = bytes(b ^ 0x5A for b in data[24:])
            raw.sendto(ip_udp(sender_ip, group, port, port, data[:24] + bad), (group, 0))
            sent["spoofed"] += 1
        now = time.monotonic()
        if now - last_junk < 0.01:
            continue
        last_junk = now
        junk = [
            header(DATA, session ^ 0xFFFF) + data[12:],                   # another session
            data[:10],                                                    # truncated header
            bytes(rng.getrandbits(8) for _ in range(200)),               # garbage
            header(DATA, session) + struct.pack("!III", obj, frag, size) + b"x" * 3,  # bad length
            header(DATA, session) + struct.pack("!III", 0xFFFFFF, 0, 10) + b"y" * 10,  # no such object
            header(NACK, session) + struct.pack("!IIHH", 0xBAD, 1, 0, 1) + struct.pack("!II", 0xFFFFFF00, 0xFF),
            header(END, session) + bytes([1]),                            # END not from the sender
            header(POLL, session) + struct.pack("!IIH", 0xFFFFFFF0, 1, 1),   # POLL not from the sender
        ]
        for j in junk:
            tx.sendto(j, (group, port))
            sent["junk"] += 1
        raw.sendto(ip_udp(sender_ip, group, port, port, data[:8]), (group, 0))  # spoofed, truncated


if __name__ == "__main__":
    main()
