package consensus

import (
	"encoding/binary"
	"testing"
)

// FuzzStep feeds a 3-member leader and a follower arbitrary sequences of
// well-framed consensus messages from the other members. Whatever a peer
// sends, a member never panics: bad input is dropped and counted.
func FuzzStep(f *testing.F) {
	frame := func(ms ...Message) []byte {
		var out []byte
		for _, m := range ms {
			b := AppendMessage(nil, &m)
			out = binary.LittleEndian.AppendUint16(out, uint16(len(b)))
			out = append(out, b...)
		}
		return out
	}
	f.Add(frame(sampleMessages()...))                                                   // every message type once
	f.Add(frame(Message{Type: MsgAppendPosition, From: 1, Term: 1, Position: 1 << 40})) // ack beyond the log
	f.Add(frame(Message{Type: MsgNewLeadershipTerm, From: 2, Term: 1}))                 // a second leader of term 1
	f.Add(frame(Message{Type: MsgCatchupPosition, From: 1, Term: 1, Position: 3, LogTerm: 1, TermBase: 1}))
	f.Add([]byte{0xff, 0xff, 1, 2, 3}) // a frame longer than the input
	f.Fuzz(func(t *testing.T, data []byte) {
		leader, follower := fuzzLeader(t), fuzzFollower(t)
		now := int64(1_000_000_000)
		for len(data) >= 2 {
			l := int(binary.LittleEndian.Uint16(data))
			data = data[2:]
			if l > len(data) {
				return
			}
			var m Message
			if DecodeMessage(data[:l], &m) == nil {
				m.From = MemberID(int(uint32(m.From)) % 3)
				now += 1_000_000
				for _, n := range []*Node{leader, follower} {
					_ = n.Step(now, &m)
					_ = n.Tick(now)
					if n.HasReady() {
						n.Advance(n.Ready())
					}
				}
			}
			data = data[l:]
		}
	})
}

// fuzzLeader returns member 0 of 3 leading term 1.
func fuzzLeader(t *testing.T) *Node {
	n, err := NewNode(DefaultConfig(0, 3, &seqRand{}), NewMemLogStore(), HardState{Vote: NoMember}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []MemberID{1, 2} {
		_ = n.Step(0, &Message{Type: MsgCanvassPosition, From: from})
	}
	for now := int64(0); n.state != StateLeaderReady; now += 1_000_000 {
		_ = n.Tick(now)
		_ = n.Step(now, &Message{Type: MsgVote, From: 1, To: 0, Term: n.term, Granted: true})
		if now > 10_000_000_000 {
			t.Fatalf("no leader: %v", n.state)
		}
	}
	n.Advance(n.Ready())
	return n
}

// fuzzFollower returns member 1 of 3 following member 0 in term 1.
func fuzzFollower(t *testing.T) *Node {
	n, err := NewNode(DefaultConfig(1, 3, &seqRand{}), NewMemLogStore(), HardState{Vote: NoMember}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = n.Step(1, &Message{Type: MsgNewLeadershipTerm, From: 0, Term: 1})
	n.Advance(n.Ready())
	return n
}
