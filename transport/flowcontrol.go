package transport

import "net/netip"

// flowReceiversMax bounds the receivers a multi-receiver flow control tracks.
const flowReceiversMax = 64

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

func (f *unicastFlowControl) limit(int64) int64 { return f.lim }

func (f *unicastFlowControl) receivers() int {
	if f.any {
		return 1
	}
	return 0
}

type flowReceiver struct {
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
		if nowNs-r.lastSeen > f.timeoutNs {
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

func (f *multiFlowControl) receivers() int { return len(f.rs) }

func (f *multiFlowControl) reached(pos int64) bool {
	for _, r := range f.rs {
		if r.pos < pos {
			return false
		}
	}
	return true
}
