package failover

import (
	"encoding/binary"
	"errors"
	"fmt"

	"venue/cluster/consensus"
)

// Safety is what the log audit found about a Load's messages.
type Safety struct {
	// Lost: acknowledged or echoed messages missing from the final
	// committed log. Duplicates: messages found more than once in it (or
	// found there but never sent).
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
	// UnknownInLog: messages handed back as not in the log that are in it.
	UnknownInLog int64 `json:"unknown_in_log"`
	// OutOfOrder: correlation ids not increasing within a session.
	OutOfOrder int64 `json:"out_of_order"`
	// Divergent and Short: members whose committed log differs from the
	// others', or ends early.
	Divergent int `json:"divergent_members"`
	Short     int `json:"short_members"`
	// AckedNotEchoed: committed messages whose echo never reached the
	// client (applied by a new leader before it had taken the session
	// over, so their egress had no response channel yet).
	AckedNotEchoed int64 `json:"acked_not_echoed"`
	// LogEntries counts the committed log's entries.
	LogEntries int64 `json:"log_entries"`
	// Examples name the first few messages behind a violation.
	Examples []string `json:"examples,omitempty"`
	// EchoGaps are the first few runs of AckedNotEchoed messages, "from-to"
	// (inclusive) by message number.
	EchoGaps []string `json:"echo_gaps,omitempty"`
}

// examplesMax bounds Safety.Examples.
const examplesMax = 8

func (s *Safety) example(format string, args ...any) {
	if len(s.Examples) < examplesMax {
		s.Examples = append(s.Examples, fmt.Sprintf(format, args...))
	}
}

// ErrUnsafe: an audit found a lost, duplicated or divergent message.
var ErrUnsafe = errors.New("failover: the cluster lost, duplicated or diverged")

// Check returns ErrUnsafe (with the counts) if s shows a safety violation.
func (s *Safety) Check() error {
	if s.Lost != 0 || s.Duplicates != 0 || s.UnknownInLog != 0 || s.OutOfOrder != 0 || s.Divergent != 0 {
		return fmt.Errorf("%w: lost %d, duplicates %d, unknown outcome but in the log %d, out of order %d, divergent members %d %q",
			ErrUnsafe, s.Lost, s.Duplicates, s.UnknownInLog, s.OutOfOrder, s.Divergent, s.Examples)
	}
	return nil
}

// CheckLoad audits the members' logs in dirs up to committed against what
// load l (session) saw: every message acknowledged or echoed must be in the
// committed log exactly once, and none handed back may be there.
func CheckLoad(dirs []string, l *Load, session consensus.SessionID, committed consensus.Position) (Safety, error) {
	var s Safety
	inLog := make([]uint8, l.Stats().Sent)
	at := make([]consensus.Position, l.Stats().Sent) // where each message is in the log
	a, err := AuditLogs(dirs, committed, func(pos consensus.Position, e *consensus.LogEntry) {
		if e.Type != consensus.EntrySessionMessage || e.SessionID != session {
			return
		}
		seq := int64(-1)
		if len(e.Payload) >= loadPayloadMin {
			seq = int64(binary.LittleEndian.Uint64(e.Payload))
		}
		if seq < 0 || seq >= int64(len(inLog)) || e.CorrelationID != seq+1 {
			s.Duplicates++ // in the log, but not as the load sent it
			s.example("entry at %d (correlation id %d, message %d) never sent", pos, e.CorrelationID, seq)
			return
		}
		if inLog[seq] < 2 {
			inLog[seq]++
		}
		at[seq] = pos
	})
	if err != nil {
		return s, err
	}
	s.LogEntries, s.OutOfOrder, s.Divergent, s.Short = a.Entries, a.OutOfOrder, a.Divergent, a.Short
	var gap runs
	for seq, n := range inLog {
		st := l.Status(int64(seq))
		switch {
		case n == 0 && st&(msgAcked|msgEchoed) != 0:
			s.Lost++
			s.example("message %d (status %#x) lost", seq, st)
		case n > 1:
			s.Duplicates++
			s.example("message %d (status %#x) twice in the log, the last at %d", seq, st, at[seq])
		}
		if n > 0 && st&msgUnknown != 0 {
			s.UnknownInLog++
			s.example("message %d (status %#x) handed back, but in the log at %d", seq, st, at[seq])
		}
		if st&msgAcked != 0 && st&msgEchoed == 0 {
			s.AckedNotEchoed++
			gap.add(int64(seq))
		}
	}
	s.EchoGaps = gap.done()
	return s, nil
}

// runs collects up to examplesMax runs of consecutive numbers.
type runs struct {
	out        []string
	from, last int64
	open       bool
}

func (r *runs) add(n int64) {
	if r.open && n == r.last+1 {
		r.last = n
		return
	}
	r.flush()
	r.from, r.last, r.open = n, n, true
}

func (r *runs) flush() {
	if r.open && len(r.out) < examplesMax {
		r.out = append(r.out, fmt.Sprintf("%d-%d", r.from, r.last))
	}
	r.open = false
}

func (r *runs) done() []string {
	r.flush()
	return r.out
}
