#!/usr/bin/env python3
"""Sends the commands given as arguments to a DPDK primary's telemetry
socket (the protocol of DPDK's dpdk-telemetry.py, so it works without
Debian's dpdk-dev) and prints one JSON reply per command.

  telemetry.py SOCKET COMMAND...     e.g. /var/run/dpdk/X/dpdk_telemetry.v2 /mp/clients
"""
import socket
import sys


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(argv[0])
    info = s.recv(1024).decode()
    size = 16384
    if '"max_output_len"' in info:
        size = int(info.split('"max_output_len":')[1].split("}")[0])
    for cmd in argv[1:]:
        s.send(cmd.encode())
        print(s.recv(size).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
