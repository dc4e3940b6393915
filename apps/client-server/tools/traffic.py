#!/usr/bin/env python3
"""Known traffic in and out of live interfaces, for the client-server tests.

Node has no raw sockets; AF_PACKET does it here (root needed).

  traffic.py send IFACE COUNT TAG [--pace N]
      COUNT frames on IFACE, ethertype 0x88b5 (local experimental), each
      carrying the magic b"MPTS", TAG (0-255), its sequence number and a
      length that varies with it (60..1000 bytes), so that a byte-identical
      comparison means something. Pauses 1 ms every N frames (default 16).
  traffic.py capture IFACE...
      Records every 0x88b5 frame arriving on the interfaces until a line
      arrives on stdin (or stdin closes), then prints one JSON object
      {iface: [hex frame, ...]} and exits. Prints "ready" once listening.
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


def frame(tag, seq):
    dst = bytes([0x02, 0, 0, 0, 0xAA, tag])
    src = bytes([0x02, 0, 0, 0, 0xBB, tag])
    head = dst + src + struct.pack("!H", ETHERTYPE) + b"MPTS" + struct.pack("!BI", tag, seq)
    length = 60 + (seq * 37) % 941
    body = bytes((seq + i) & 0xFF for i in range(length - len(head)))
    return head + body


def send(iface, count, tag, pace):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for seq in range(count):
        s.send(frame(tag, seq))
        if pace and (seq + 1) % pace == 0:
            time.sleep(0.001)
    s.close()


def capture(ifaces):
    socks = {}
    for iface in ifaces:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024 * 1024)
        s.bind((iface, 0))
        socks[s] = iface
    got = {iface: [] for iface in ifaces}
    print("ready", flush=True)
    stop = False
    while not stop:
        ready, _, _ = select.select(list(socks) + [sys.stdin], [], [])
        for r in ready:
            if r is sys.stdin:
                stop = True
                continue
            data, addr = r.recvfrom(65536)
            if addr[2] == PACKET_OUTGOING or len(data) < 14:
                continue
            if struct.unpack("!H", data[12:14])[0] == ETHERTYPE:
                got[socks[r]].append(data.hex())
    # drain what is already queued before reporting
    for s, iface in socks.items():
        s.setblocking(False)
        while True:
            try:
                data, addr = s.recvfrom(65536)
            except BlockingIOError:
                break
            if addr[2] != PACKET_OUTGOING and len(data) >= 14 and struct.unpack("!H", data[12:14])[0] == ETHERTYPE:
                got[iface].append(data.hex())
    print(json.dumps(got), flush=True)


def main(argv):
    if len(argv) >= 4 and argv[0] == "send":
        pace = 16
        if len(argv) >= 6 and argv[4] == "--pace":
            pace = int(argv[5])
        send(argv[1], int(argv[2]), int(argv[3]), pace)
        return 0
    if len(argv) >= 2 and argv[0] == "capture":
        capture(argv[1:])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
