"""Stock libzmq peers for the transport interop test.

usage: interop.py sub  PUB_ENDPOINT COUNT       print COUNT messages received
       interop.py dealer REQ_ENDPOINT IDENTITY  run the two-step hello exchange
       interop.py req REQ_ENDPOINT IDENTITY     the same through a REQ socket

Every message is printed as one line: the frames, hex-encoded, joined by
spaces. Heartbeats are on (ZMQ_HEARTBEAT_IVL), so libzmq PINGs the Go side.
"""
import sys

import zmq


def line(frames):
    print(" ".join(f.hex() for f in frames), flush=True)


def main():
    mode, endpoint = sys.argv[1], sys.argv[2]
    ctx = zmq.Context()
    if mode == "sub":
        s = ctx.socket(zmq.SUB)
        s.setsockopt(zmq.HEARTBEAT_IVL, 50)
        s.setsockopt(zmq.SUBSCRIBE, b"")
        s.setsockopt(zmq.RCVTIMEO, 20000)
        s.connect(endpoint)
        for _ in range(int(sys.argv[3])):
            line(s.recv_multipart())
    elif mode in ("dealer", "req"):
        s = ctx.socket(zmq.DEALER if mode == "dealer" else zmq.REQ)
        s.setsockopt(zmq.IDENTITY, sys.argv[3].encode())
        s.setsockopt(zmq.HEARTBEAT_IVL, 50)
        s.setsockopt(zmq.RCVTIMEO, 20000)
        s.connect(endpoint)
        s.send_multipart([b"hello", sys.argv[3].encode()])
        challenge = s.recv_multipart()
        line(challenge)
        s.send_multipart([b"answer", challenge[1]])
        line(s.recv_multipart())
    else:
        raise SystemExit("unknown mode " + mode)
    s.close(linger=0)
    ctx.term()


if __name__ == "__main__":
    main()
