package surveil

import "fmt"

// burstState finds message-rate bursts: a ring of the account's last
// MessagesMax message times, and the burst being extended.
type burstState struct {
	times    []int64 // allocated on the account's first message
	n        int
	open     bool
	start    int64
	end      int64
	startPos int64
	endPos   int64
	inst     uint32 // instrument of the message that opened the burst
	msgs     int
}

// burstMessage records one message; MessagesMax of them within Window
// opens a burst (or extends the open one).
func (s *Surveillance) burstMessage(acct int32, inst uint32, ev *Event) {
	b := &s.acct[acct].burst
	r := &s.rules.Burst
	if b.times == nil {
		b.times = make([]int64, r.MessagesMax)
	}
	n := len(b.times)
	b.times[b.n%n] = ev.ClusterTime
	b.n++
	if b.open && ev.ClusterTime > b.end+r.Window.ns() {
		s.burstFlush(acct)
	}
	if b.n < n {
		return
	}
	oldest := b.times[b.n%n]
	if ev.ClusterTime-oldest > r.Window.ns() {
		return
	}
	if !b.open {
		b.open, b.start, b.startPos, b.inst, b.msgs = true, oldest, ev.LogPosition, inst, n-1
	}
	b.end, b.endPos = ev.ClusterTime, ev.LogPosition
	b.msgs++
}

// burstFlush raises the account's open burst.
func (s *Surveillance) burstFlush(acct int32) {
	b := &s.acct[acct].burst
	if !b.open {
		return
	}
	b.open = false
	ai := s.pairs[pairKey{acct, b.inst}]
	if ai == nil {
		return
	}
	r := &s.rules.Burst
	dur := max(b.end-b.start, 1)
	rate := float64(b.msgs) / (float64(dur) / 1e9)
	limit := float64(r.MessagesMax) / (float64(r.Window.ns()) / 1e9)
	sum := fmt.Sprintf("%d order messages in %s (%.0f/s; limit %d per %s)", b.msgs, fmtNs(dur), rate,
		r.MessagesMax, fmtNs(r.Window.ns()))
	a := s.newAlert(TypeBurst, ai, b.start, b.end, b.startPos, b.endPos, max(rate/limit, 1), sum)
	s.raise(a, Name{})
}
