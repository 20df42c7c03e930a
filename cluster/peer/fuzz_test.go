package peer

import (
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
