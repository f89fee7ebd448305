// Package transport carries Brine's frames between the master and its
// minions over ZeroMQ's wire protocol (ZMTP 3.0, NULL mechanism), so that
// stock libzmq SUB and DEALER sockets interoperate with it.
//
// The master side is a [Hub]. It accepts TCP connections itself on a publish
// port (minions connect as SUB) and a request port (minions connect as
// DEALER) and runs the ZMTP handshake on each connection through
// [zmq4.Open]. After the handshake the hub frames messages itself: every
// connection has one writer goroutine fed by a bounded queue and bounded by a
// write deadline, so a peer that stops reading is disconnected instead of
// stalling the others; a broadcast is encoded once and shared by every
// queue; a direct send to the subscribers of one exact topic is a map lookup.
//
// The minion side is a [Subscriber] (publish port) and a [Requester]
// (request port). Both dial with capped, jittered exponential backoff that
// resets once a session is established, rotate through several master
// addresses, and re-send their subscriptions after every reconnect.
//
// What the package promises:
//   - no peer can make it allocate more than [Limits] allow, and malformed
//     input from the network is an error that closes that connection, never a
//     panic;
//   - a slow or stopped peer costs at most one write deadline of its own
//     writer goroutine, and never delays delivery to another peer;
//   - messages to one peer are written in the order they were queued.
//
// It does not encrypt or authenticate anything: payloads are sealed and
// signed above it (pkg/crypto, pkg/proto), as Salt does with its AES layer.
//
// Why not zmq4's PUB and ROUTER sockets: in go-zeromq/zmq4 v0.17.0 the PUB
// socket writes to subscribers one after another under one lock (one stopped
// subscriber freezes the fleet) and ROUTER.Send scans every connection to
// find one identity. Why our own framing after the handshake: zmq4's reader
// allocates whatever length a frame header announces, and its automatic PONG
// writes from the reading goroutine would interleave with our writer.
package transport
