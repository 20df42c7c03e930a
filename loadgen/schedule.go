package loadgen

// nsPerSecond converts rates to nanoseconds.
const nsPerSecond = 1_000_000_000

// Schedule is an open-loop send schedule: message i is due at
// StartNs + i/RatePerS seconds, computed exactly in integers, so the
// schedule does not drift however long the run.
//
// Coordinated omission: a sender that waits for answers, or that is
// descheduled, sends late, and timing each message from its actual send
// would leave out exactly the delay the venue's stall caused. The load
// generator therefore never moves a message's intended time: a message
// that is overdue is sent at once and its latency is measured from
// IntendedNs, so the time it spent waiting to be sent is charged to it.
type Schedule struct {
	StartNs  int64
	RatePerS int64 // > 0
}

// IntendedNs is when message i (counting from 0) is due.
func (s Schedule) IntendedNs(i int64) int64 {
	q, r := i/s.RatePerS, i%s.RatePerS
	// r < RatePerS <= RateMaxPerS, so r*nsPerSecond cannot overflow.
	return s.StartNs + q*nsPerSecond + r*nsPerSecond/s.RatePerS
}

// WaitNs is how long a sender at nowNs waits before sending message i:
// zero when the message is due or overdue (it goes at once).
func (s Schedule) WaitNs(i, nowNs int64) int64 {
	return max(s.IntendedNs(i)-nowNs, 0)
}
