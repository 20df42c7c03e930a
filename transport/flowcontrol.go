package transport

import (
	"net/netip"
	"time"
)

// Flow-control bounds.
const (
	// flowReceiversMax bounds the receivers a multi-receiver flow control tracks.
	flowReceiversMax = 64
	// joinTimeoutNs bounds how long min flow control holds the sender for
	// a joining receiver that has not sent a status message yet, so that a
	// destination nobody listens on stalls the stream only briefly.
	joinTimeoutNs = int64(250 * time.Millisecond)
	// joinLeadDivisor sets how far past a joining receiver's setup position
	// the sender may run before its first status message, as a fraction of
	// the term: a quarter term keeps everything it may still miss within
	// retransmit reach (a term behind the sender) while its status message
	// is in flight.
	joinLeadDivisor = 4
)

// flowControl turns status messages into the sender limit. It is owned by
// the sender goroutine.
type flowControl interface {
	// onStatus records a receiver's consumption position and window.
	onStatus(receiverID int64, from netip.AddrPort, pos, window int64, nowNs int64)
	// limit returns the position the sender may send up to.
	limit(nowNs int64) int64
	// receivers returns the receivers currently counted.
	receivers() int
	// reached reports whether every receiver counted reported consuming
	// up to pos: a closing publication lingers until it has.
	reached(pos int64) bool
	// onJoin records that a receiver at from is joining at pos (a setup
	// was sent for it) before it sent any status message.
	onJoin(from netip.AddrPort, pos, lim int64, nowNs int64)
}

// unicastFlowControl follows the single receiver's latest status message.
type unicastFlowControl struct {
	lim int64
	pos int64 // the furthest consumption position reported
	any bool
}

func (f *unicastFlowControl) onStatus(_ int64, _ netip.AddrPort, pos, window int64, _ int64) {
	f.lim = max(f.lim, pos+window)
	f.pos = max(f.pos, pos)
	f.any = true
}

func (f *unicastFlowControl) reached(pos int64) bool { return f.any && f.pos >= pos }

// onJoin does nothing: the only receiver's status messages set the limit,
// so the sender never runs ahead of it.
func (f *unicastFlowControl) onJoin(netip.AddrPort, int64, int64, int64) {}

func (f *unicastFlowControl) limit(int64) int64 { return f.lim }

func (f *unicastFlowControl) receivers() int {
	if f.any {
		return 1
	}
	return 0
}

type flowReceiver struct {
	// id is the receiver id, or 0 while the receiver is joining: a setup
	// was sent for it and its first status message is awaited.
	id       int64
	from     netip.AddrPort
	pos      int64 // the furthest consumption position reported
	lim      int64
	lastSeen int64
}

// multiFlowControl tracks every receiver and limits the sender to the
// slowest (min) or the fastest (max). A receiver silent for longer than
// timeoutNs is dropped so that a dead follower cannot stall the stream.
type multiFlowControl struct {
	useMax    bool
	timeoutNs int64
	rs        []flowReceiver
	floor     int64 // the limit when no receiver is left
}

func newMultiFlowControl(useMax bool, timeoutNs int64) *multiFlowControl {
	return &multiFlowControl{useMax: useMax, timeoutNs: timeoutNs, rs: make([]flowReceiver, 0, flowReceiversMax)}
}

func (f *multiFlowControl) onStatus(id int64, from netip.AddrPort, pos, window int64, nowNs int64) {
	lim := pos + window
	for i := range f.rs {
		if f.rs[i].id == id {
			f.rs[i].lim = max(f.rs[i].lim, lim)
			f.rs[i].pos = max(f.rs[i].pos, pos)
			f.rs[i].lastSeen = nowNs
			return
		}
	}
	for i := range f.rs {
		if f.rs[i].id == 0 && f.rs[i].from == from {
			// The joining receiver's first status message replaces the
			// hold with its own limit.
			f.rs[i] = flowReceiver{id: id, from: from, pos: pos, lim: lim, lastSeen: nowNs}
			return
		}
	}
	if len(f.rs) < flowReceiversMax {
		f.rs = append(f.rs, flowReceiver{id: id, from: from, pos: pos, lim: lim, lastSeen: nowNs})
	}
}

// retain keeps only the receivers whose address passes keep.
func (f *multiFlowControl) retain(keep func(netip.AddrPort) bool) {
	n := 0
	for _, r := range f.rs {
		if keep(r.from) {
			f.rs[n] = r
			n++
		}
	}
	f.rs = f.rs[:n]
}

func (f *multiFlowControl) limit(nowNs int64) int64 {
	result := int64(-1)
	for i := 0; i < len(f.rs); i++ {
		r := f.rs[i]
		timeout := f.timeoutNs
		if r.id == 0 {
			timeout = min(timeout, joinTimeoutNs)
		}
		if nowNs-r.lastSeen > timeout {
			f.rs = append(f.rs[:i], f.rs[i+1:]...)
			i--
			continue
		}
		switch {
		case result < 0:
			result = r.lim
		case f.useMax:
			result = max(result, r.lim)
		default:
			result = min(result, r.lim)
		}
	}
	if result < 0 {
		return f.floor
	}
	f.floor = result
	return result
}

// onJoin holds the sender (min flow control only) at lim for a receiver
// joining at pos from from, until its first status message or
// joinTimeoutNs. Without the hold the sender would run on at the other
// receivers' pace and, by the time the newcomer is counted, be further
// ahead of it than retransmits reach: the newcomer could never catch up,
// and would stall the stream for good.
func (f *multiFlowControl) onJoin(from netip.AddrPort, pos, lim int64, nowNs int64) {
	if f.useMax || len(f.rs) == flowReceiversMax {
		return
	}
	for _, r := range f.rs {
		if r.id == 0 && r.from == from {
			return // already joining: the earliest setup position holds
		}
	}
	f.rs = append(f.rs, flowReceiver{from: from, pos: pos, lim: lim, lastSeen: nowNs})
}

// receivers counts the receivers that sent status messages.
func (f *multiFlowControl) receivers() int {
	n := 0
	for _, r := range f.rs {
		if r.id != 0 {
			n++
		}
	}
	return n
}

func (f *multiFlowControl) reached(pos int64) bool {
	for _, r := range f.rs {
		if r.id != 0 && r.pos < pos {
			return false
		}
	}
	return true
}
