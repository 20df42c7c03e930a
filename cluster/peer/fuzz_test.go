package peer

import (
	"net/netip"
	"testing"

	"venue/cluster/consensus"
	"venue/transport"
)

// FuzzReceive feeds arbitrary bytes to the receive path as a message that
// arrived from member 1's host, whole and in fragments of chunk bytes: it
// must never panic, and whatever it delivers must decode, come from member
// 1 and (with a secret) carry member 1's valid MAC for member 0.
func FuzzReceive(f *testing.F) {
	commit := encode(&consensus.Message{Type: consensus.MsgCommitPosition, From: 1, Term: 2, Position: 64})
	appendLog := encode(&consensus.Message{Type: consensus.MsgAppendLog, From: 1, Term: 2, LogTerm: 2, PrevLogTerm: 1,
		Position: 64, Data: []byte("entries")})
	f.Add(commit, false, uint16(0))                                                       // valid, unfragmented
	f.Add(tagged(testSecret, commit, 1, 0), true, uint16(0))                              // valid with MAC
	f.Add(tagged(testSecret, appendLog, 1, 0), true, uint16(16))                          // valid with MAC, fragmented
	f.Add(appendLog, false, uint16(7))                                                    // valid, odd fragments
	f.Add(commit[:12], false, uint16(0))                                                  // truncated
	f.Add(tagged(testSecret, commit, 1, 2), true, uint16(0))                              // MAC for another member
	f.Add(encode(&consensus.Message{Type: consensus.MsgVote, From: 0}), false, uint16(0)) // claims self
	f.Add([]byte{}, true, uint16(1))                                                      // empty
	f.Fuzz(func(t *testing.T, wire []byte, mac bool, chunk uint16) {
		var secret []byte
		if mac {
			secret = testSecret
		}
		p, st := offline(t, secret, "10.0.0.2")
		delivered := 0
		p.recv.handler = func(from consensus.MemberID, b []byte) {
			delivered++
			var m consensus.Message
			if from != 1 || consensus.DecodeMessage(b, &m) != nil || m.From != 1 {
				t.Fatalf("delivered from %d: % x", from, b)
			}
			if mac && !newMACer(testSecret).verify(b, wire[len(b):], 1, 0) {
				t.Fatal("delivered without a valid MAC")
			}
		}
		p.recv.deliver(st, wire)
		if chunk == 0 || len(wire) == 0 {
			return
		}
		for off := 0; off < len(wire); off += int(chunk) {
			flags := uint8(0)
			if off == 0 {
				flags |= transport.FlagBegin
			}
			if off+int(chunk) >= len(wire) {
				flags |= transport.FlagEnd
			}
			if m, ok := p.recv.assemble(st, wire[off:min(off+int(chunk), len(wire))], flags); ok {
				p.recv.deliver(st, m)
			}
		}
		c := p.Counters()
		if c.Received != uint64(delivered) || c.Received+c.WrongSource+c.BadMAC+c.Malformed != 2 {
			t.Fatalf("counters %+v after two deliveries (%d handed)", c, delivered)
		}
	})
}

// FuzzReceiveGroup feeds arbitrary bytes to a member with log multicast on,
// first as a group message and then as a unicast one, both from member 1's
// host: it must never panic, a group delivery must be an AppendLog with
// (given a secret) member 1's MAC for the group, and every message must be
// delivered or counted.
func FuzzReceiveGroup(f *testing.F) {
	appendLog := func(pos consensus.Position) []byte {
		return encode(&consensus.Message{Type: consensus.MsgAppendLog, From: 1, Term: 2, LogTerm: 2, PrevLogTerm: 2,
			Position: pos, Data: []byte("entries")})
	}
	commit := encode(&consensus.Message{Type: consensus.MsgCommitPosition, From: 1, Term: 2, Position: 64})
	f.Add(appendLog(0), false)                                         // valid
	f.Add(tagged(testSecret, appendLog(0), 1, groupDestination), true) // valid with the group's MAC
	f.Add(tagged(testSecret, appendLog(0), 1, 0), true)                // a unicast MAC on the group
	f.Add(commit, false)                                               // not a log message
	f.Add(appendLog(1<<40), false)                                     // far ahead (held)
	f.Add([]byte{}, true)                                              // empty
	f.Fuzz(func(t *testing.T, wire []byte, mac bool) {
		var secret []byte
		if mac {
			secret = testSecret
		}
		p, err := newTransport(Config{Self: 0, Secret: secret, AppendDataMax: 64 << 10, Members: []Member{
			{0, "10.0.0.1:9020"}, {1, "10.0.0.2:9020"}}, Multicast: MulticastConfig{Group: "239.255.20.1:40201"}})
		if err != nil {
			t.Fatal(err)
		}
		st := &imageState{host: netip.MustParseAddr("10.0.0.2"), member: true}
		delivered := 0
		check := func(group bool) func(consensus.MemberID, []byte) {
			return func(from consensus.MemberID, b []byte) {
				delivered++
				var m consensus.Message
				if from != 1 || consensus.DecodeMessage(b, &m) != nil || m.From != 1 || (group && m.Type != consensus.MsgAppendLog) {
					t.Fatalf("delivered from %d (group %t): % x", from, group, b)
				}
				to := consensus.MemberID(0)
				if group {
					to = groupDestination
				}
				if mac && !newMACer(testSecret).verify(b, wire[len(b):], 1, to) {
					t.Fatalf("delivered without a valid MAC (group %t)", group)
				}
			}
		}
		p.grecv.handler, p.grecv.limit = check(true), 100
		p.recv.handler, p.recv.limit = check(false), 100
		p.grecv.deliver(st, wire)
		p.recv.deliver(st, wire)
		c := p.Counters()
		if c.Received != uint64(delivered) ||
			c.Received+c.WrongSource+c.BadMAC+c.Malformed+c.MulticastDropped+c.MulticastAhead+c.MulticastHeld < 2 {
			t.Fatalf("counters %+v after two deliveries (%d handed)", c, delivered)
		}
	})
}
