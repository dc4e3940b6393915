#!/usr/bin/env python3
"""Known traffic in and out of live interfaces, for tests of net_pcap ports
over veth pairs (test-kit's traffic.ts drives it and knows its frames).

Node has no raw sockets; AF_PACKET does it here (root needed).

  traffic.py exchange COUNT --in IFACE:TAG... --out IFACE... [--window W] [--lengths L,...] [--flows F]
      Sends COUNT frames into each --in interface (taking turns) while
      capturing on every --out interface, with at most W frames (default 8)
      sent but not yet seen coming out. net_pcap's live RX buffer holds only
      a few dozen frames, so a forwarder that loses the CPU for a moment on a
      busy machine would otherwise miss frames that open-loop sending
      pushed at it. Waits up to 5 s for the last frames, then prints
      {out iface: [hex frame, ...]} as one JSON object. Frame seq is
      lengths[seq % len(lengths)] bytes long with --lengths, otherwise
      60 + (seq * 37) % 941. With --flows, frames are UDP over IPv4 and frame
      seq belongs to flow seq % F (source 10.TAG.f/256.f%256, port 1024 + f).
"""
import json
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETHERTYPE = 0x88B5
PACKET_OUTGOING = 4


def frame(tag, seq, lengths, flows):
    dst = bytes([0x02, 0, 0, 0, 0xAA, tag])
    src = bytes([0x02, 0, 0, 0, 0xBB, tag])
    length = lengths[seq % len(lengths)] if lengths else 60 + (seq * 37) % 941
    marker = b"MPTS" + struct.pack("!BI", tag, seq)
    if flows:
        flow = seq % flows
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length - 14, 0, 0x4000, 64, 17, 0,
                         bytes([10, tag, flow >> 8, flow & 0xFF]), bytes([10, 99, 0, 1]))
        udp = struct.pack("!HHHH", 1024 + flow, 4789, length - 34, 0)
        head = dst + src + struct.pack("!H", 0x0800) + ip + udp + marker
    else:
        head = dst + src + struct.pack("!H", ETHERTYPE) + marker
    body = bytes((seq + i) & 0xFF for i in range(length - len(head)))
    return head + body


def open_capture(ifaces):
    socks = {}
    for iface in ifaces:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024 * 1024)
        s.bind((iface, 0))
        s.setblocking(False)
        socks[s] = iface
    return socks


def ours(data):
    """A frame this tool sent, not the kernel's own traffic."""
    if len(data) < 14:
        return False
    ethertype = struct.unpack("!H", data[12:14])[0]
    return ethertype == ETHERTYPE or (ethertype == 0x0800 and data[42:46] == b"MPTS")


def read_ready(socks, got, timeout):
    ready, _, _ = select.select(list(socks), [], [], timeout)
    seen = 0
    for r in ready:
        while True:
            try:
                data, addr = r.recvfrom(65536)
            except BlockingIOError:
                break
            if addr[2] != PACKET_OUTGOING and ours(data):
                got[socks[r]].append(data.hex())
                seen += 1
    return seen


def exchange(count, inputs, outputs, window, lengths, flows):
    senders = []
    for spec in inputs:
        iface, tag = spec.rsplit(":", 1)
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((iface, 0))
        senders.append((s, int(tag)))
    socks = open_capture(outputs)
    got = {iface: [] for iface in outputs}
    sent = 0
    seen = 0
    total = count * len(senders)
    stall = time.monotonic()
    for seq in range(count):
        for s, tag in senders:
            while sent - seen >= window:
                n = read_ready(socks, got, 0.05)
                seen += n
                if n:
                    stall = time.monotonic()
                elif time.monotonic() - stall > 2:
                    # a frame was lost: stop waiting for it, keep going
                    seen = sent
                    stall = time.monotonic()
            s.send(frame(tag, seq, lengths, flows))
            sent += 1
    deadline = time.monotonic() + 5
    while seen < total and time.monotonic() < deadline:
        seen += read_ready(socks, got, 0.05)
    time.sleep(0.2)
    read_ready(socks, got, 0)
    print(json.dumps(got), flush=True)


def main(argv):
    if len(argv) >= 2 and argv[0] == "exchange":
        count = int(argv[1])
        inputs, outputs, window, lengths, flows, mode = [], [], 8, [], 0, None
        for a in argv[2:]:
            if a in ("--in", "--out", "--window", "--lengths", "--flows"):
                mode = a
            elif mode == "--in":
                inputs.append(a)
            elif mode == "--out":
                outputs.append(a)
            elif mode == "--window":
                window = int(a)
            elif mode == "--lengths":
                lengths = [int(n) for n in a.split(",")]
            elif mode == "--flows":
                flows = int(a)
        exchange(count, inputs, outputs, window, lengths, flows)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
