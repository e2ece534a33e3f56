#!/usr/bin/env python3
"""Bounded spoofed-source TCP SYN sender for sesame's benchmarks (run inside a lab namespace).

Node has no raw sockets, so the benchmarks use this small sender. It only ever sends
`--count` packets, stops after `--max-seconds`, and refuses any address outside the lab
range 198.18.0.0/15. Sources are `--sources` consecutive addresses from each `--src` block,
destination ports cycle through `--ports`; every (source, port) pair is one prebuilt packet,
sent in a shuffled order (seeded) so no source walks the ports in sequence. With
`--fresh-sport` every packet is its own connection instead (source port 1024 upwards per
pass over the pairs), so a receiver that ignores a repeated address . port . source port
(a retransmit) counts each one.

Prints one JSON line: {"sent": N, "seconds": S, "pps": P, "errors": E, "began": epoch seconds}.
"""
import argparse
import ipaddress
import json
import random
import socket
import struct
import time

LAB = ipaddress.ip_network("198.18.0.0/15")


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src: bytes, dst: bytes, sport: int, dport: int, seq: int) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    # total length, id and IP checksum are filled in by the kernel (raw(7), IP_HDRINCL)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0, 0, 0x4000, 64, socket.IPPROTO_TCP, 0, src, dst)
    return ip + tcp


def lab_address(text: str) -> ipaddress.IPv4Address:
    a = ipaddress.ip_address(text)
    if a not in LAB:
        raise SystemExit(f"spoof-syn: {a} is outside the lab range {LAB}; refusing")
    return a


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--dst", required=True)
    p.add_argument("--ports", required=True, help="comma-separated destination ports")
    p.add_argument("--src", required=True, action="append", help="first source address of a block (repeatable)")
    p.add_argument("--sources", type=int, required=True, help="addresses per --src block")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--rate", type=int, default=0, help="packets per second, 0 = as fast as possible")
    p.add_argument("--max-seconds", type=float, default=60)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--batch", type=int, default=64, help="packets sent back to back between rate checks")
    p.add_argument("--start-at", type=float, default=0, help="wall-clock time (epoch s) to start sending at")
    p.add_argument("--fresh-sport", action="store_true", help="a new source port for each pass over the pairs")
    a = p.parse_args()

    dst = lab_address(a.dst).packed
    ports = [int(x) for x in a.ports.split(",")]
    sources = []
    for block in a.src:
        first = lab_address(block)
        lab_address(str(first + a.sources - 1))  # the whole block must be in the lab range
        sources += [(first + i).packed for i in range(a.sources)]
    rnd = random.Random(a.seed)
    packets = [syn(s, dst, rnd.randint(1024, 65535), port, rnd.getrandbits(32)) for s in sources for port in ports]
    rnd.shuffle(packets)
    if a.fresh_sport:
        # packet i: pair i % n of the shuffled order, on source port 1024 + pass number
        pairs = [(p[12:16], struct.unpack("!H", p[22:24])[0]) for p in packets]
        passes = -(-min(a.count, len(pairs) * 64512) // len(pairs))
        packets = [syn(s, dst, 1024 + k, port, rnd.getrandbits(32)) for k in range(passes) for s, port in pairs]

    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    target = (a.dst, 0)
    sent = errors = 0
    # several senders started together begin at the same moment, whatever their start-up took
    wait = a.start_at - time.time()
    if wait > 0:
        time.sleep(min(wait, 60))
    began = time.time()
    started = time.monotonic()
    deadline = started + a.max_seconds
    batch = max(1, a.batch)
    n = len(packets)
    while sent < a.count:
        now = time.monotonic()
        if now > deadline:
            break
        if a.rate and sent > a.rate * (now - started):
            time.sleep(min(0.002, batch / a.rate))
            continue
        for _ in range(min(batch, a.count - sent)):
            try:
                sock.sendto(packets[sent % n], target)
            except OSError:  # ENOBUFS under load: count it, back off a little
                errors += 1
                time.sleep(0.0005)
            sent += 1
    seconds = time.monotonic() - started
    print(json.dumps({"sent": sent, "seconds": round(seconds, 3), "pps": round(sent / seconds), "errors": errors, "began": began}))


if __name__ == "__main__":
    main()
