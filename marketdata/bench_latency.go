package marketdata

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"venue/transport"
)

// benchLatencyCommandsMax bounds the commands one latency phase may issue
// (rate × duration / benchChangesPerCommand): each costs a hand-off stamp
// and a link, 12 bytes, so the bound keeps the phase's record under 50 MB.
const benchLatencyCommandsMax = 1 << 22

// benchLatency measures the latency phase: for every command the producer
// hands to the sink, the time from that hand-off to the subscriber applying
// a state that includes it. An update carries only its newest command's
// cluster time, so timing updates alone would drop the older commands a
// conflated update folded in, which are the slowest ones; instead each
// command's hand-off time is kept here, and an update for an instrument
// completes every earlier command on that instrument not yet delivered.
//
// The producer writes handoff; the subscriber goroutine owns everything else
// until the rig is closed. prev is computed before the phase from the feed's
// precomputed choices, so it is read-only while the phase runs.
type benchLatency struct {
	pos0      int64          // feed position before the phase's first command
	handoff   []atomic.Int64 // per phase command: clock when handed to the sink, 0 until then
	prev      []int32        // per phase command: the previous one on the same instrument, -1 if none
	delivered []int32        // per instrument: the newest phase command applied, -1 if none
	issued    atomic.Int64   // commands handed over so far

	hist   *hdrhistogram.Histogram // hand-off to applied
	pickup *hdrhistogram.Histogram // hand-off to the publisher duty cycle that sent it
	wire   *hdrhistogram.Histogram // that duty cycle to applied: encode, send, kernel, wake-up, apply
	// wire split where the send that carried the update began (when sends
	// names it): encode is the duty cycle up to the send; deliver is the
	// system call (over loopback it queues the datagrams at the receiving
	// socket and wakes the subscriber), the subscriber's wake-up, receive
	// and apply.
	sends   *benchSendLog
	encode  *hdrhistogram.Histogram
	deliver *hdrhistogram.Histogram
	// deliver split where the subscriber's receive call returned the
	// datagrams (when the caller of applied names it): wake is the send
	// system call, the kernel and the subscriber's wake-up and receive; apply
	// is parsing and applying the batch up to this update.
	wake  *hdrhistogram.Histogram
	apply *hdrhistogram.Histogram
}

// newBenchLatency prepares the record of a phase of up to commands commands
// that starts at the feed's current position.
func newBenchLatency(feed *benchFeed, commands int) (*benchLatency, error) {
	if commands > benchLatencyCommandsMax {
		return nil, fmt.Errorf("marketdata: bench: latency phase of %d commands exceeds %d: lower the paced rate or the duration",
			commands, benchLatencyCommandsMax)
	}
	l := &benchLatency{pos0: feed.pos, handoff: make([]atomic.Int64, commands), prev: make([]int32, commands),
		delivered: make([]int32, feed.instruments),
		hist:      hdrhistogram.New(1, benchLatencyMaxNs, 3),
		pickup:    hdrhistogram.New(1, benchLatencyMaxNs, 3),
		wire:      hdrhistogram.New(1, benchLatencyMaxNs, 3),
		encode:    hdrhistogram.New(1, benchLatencyMaxNs, 3),
		deliver:   hdrhistogram.New(1, benchLatencyMaxNs, 3),
		wake:      hdrhistogram.New(1, benchLatencyMaxNs, 3),
		apply:     hdrhistogram.New(1, benchLatencyMaxNs, 3)}
	for i := range l.delivered {
		l.delivered[i] = -1
	}
	last := make([]int32, feed.instruments)
	for i := range last {
		last[i] = -1
	}
	for j := range commands {
		id := feed.instrumentAt(feed.i + j)
		l.prev[j], last[id] = last[id], int32(j)
	}
	return l, nil
}

// stamp records the hand-off of the phase's next command; false when the
// phase's record is full.
func (l *benchLatency) stamp(nowNs int64) bool {
	j := l.issued.Load()
	if j >= int64(len(l.handoff)) {
		return false
	}
	l.handoff[j].Store(nowNs)
	l.issued.Store(j + 1)
	return true
}

// applied records every phase command that b's state completes, applied at
// nowNs from datagrams whose receive call returned at receivedNs (0 when not
// known).
func (l *benchLatency) applied(b *Book, receivedNs, nowNs int64) {
	j := (b.LogPosition-l.pos0)/benchPositionStep - 1
	if j < 0 || j >= int64(len(l.handoff)) || int(b.InstrumentID) >= len(l.delivered) {
		return
	}
	done := l.delivered[b.InstrumentID]
	sendNs, sendOK := l.sends.sendAt(b.SendTimeNs)
	for k := int32(j); k > done; k = l.prev[k] {
		t := l.handoff[k].Load()
		if t == 0 {
			continue // not handed over: a state the bench never made
		}
		l.hist.RecordValue(max(1, nowNs-t))
		l.pickup.RecordValue(max(1, b.SendTimeNs-t))
		l.wire.RecordValue(max(1, nowNs-b.SendTimeNs))
		if sendOK {
			l.encode.RecordValue(max(1, sendNs-b.SendTimeNs))
			l.deliver.RecordValue(max(1, nowNs-sendNs))
			if receivedNs >= sendNs {
				l.wake.RecordValue(max(1, receivedNs-sendNs))
				l.apply.RecordValue(max(1, nowNs-receivedNs))
			}
		}
	}
	l.delivered[b.InstrumentID] = max(done, int32(j))
}

// schedStats sums, over the process's threads, the CPU time used and the
// time spent runnable but waiting for a CPU (Linux schedstat): on a shared
// 2-core host the waiting explains most of a latency tail. ok is false where
// /proc does not have them.
func schedStats() (cpuNs, waitNs int64, ok bool) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, 0, false
	}
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread exited
		}
		var c, w int64
		if _, err := fmt.Sscan(string(b), &c, &w); err != nil {
			return 0, 0, false
		}
		cpuNs += c
		waitNs += w
	}
	return cpuNs, waitNs, true
}

// hostCPUTicksPerSec is the unit of /proc's CPU times (USER_HZ, 100 on
// every Linux architecture Go supports).
const hostCPUTicksPerSec = 100

// otherCPUStats returns the CPU time every other process on the host
// (kernel threads included) has used so far, from each /proc/<pid>/stat, and
// the time the hypervisor took from this machine's CPUs (steal, /proc/stat),
// in nanoseconds: what the bench's threads competed with on a shared host.
// Processes that start and end between two calls are missed. ok is false
// where /proc is missing.
func otherCPUStats() (otherNs, stealNs int64, ok bool) {
	const tickNs = int64(time.Second) / hostCPUTicksPerSec
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	var user, nice, system, idle, iowait, irq, softirq, steal int64
	if _, err := fmt.Sscanf(string(b), "cpu %d %d %d %d %d %d %d %d", &user, &nice, &system, &idle, &iowait, &irq, &softirq, &steal); err != nil {
		return 0, 0, false
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, 0, false
	}
	self := strconv.Itoa(os.Getpid())
	for _, p := range procs {
		name := p.Name()
		if name == self || name[0] < '0' || name[0] > '9' {
			continue
		}
		st, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue // exited
		}
		// The fields after the command's closing parenthesis: state is the
		// first, utime and stime the 12th and 13th.
		i := bytes.LastIndexByte(st, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(st[i+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		otherNs += (u + s) * tickNs
	}
	return otherNs, steal * tickNs, true
}

// benchSendLogLength is how many of the latest sends benchSendLog keeps (a
// power of two): at the latency phase's few thousand sends a second, far
// more than the subscriber can lag behind the newest.
const benchSendLogLength = 1 << 12

// benchSendLog records, for the latest sends of the bench's publisher, the
// duty-cycle time its packets carry and the clock when the send began. It is
// written before the system call, so it is there for every packet the
// subscriber gets (a log of the send's return would miss the packets the
// subscriber applies before the sender is back, the fastest ones, and bias
// the split to the slow).
// The publisher's goroutine writes it, the subscriber's reads it: each field
// is atomic, and a reader re-checks the duty-cycle time after reading the
// return time, so a slot overwritten meanwhile is not taken.
type benchSendLog struct {
	next  atomic.Int64 // sends recorded so far
	slots [benchSendLogLength]struct{ dutyNs, sendNs atomic.Int64 }
}

// record notes that a send of packets stamped dutyNs begins at sendNs.
func (s *benchSendLog) record(dutyNs, sendNs int64) {
	i := s.next.Load()
	slot := &s.slots[i&(benchSendLogLength-1)]
	slot.dutyNs.Store(0) // invalid while the pair is rewritten
	slot.sendNs.Store(sendNs)
	slot.dutyNs.Store(dutyNs)
	s.next.Store(i + 1)
}

// sendAt returns when the newest send of packets stamped dutyNs began;
// false when s is nil or the send is no longer (or not yet) recorded. A
// duty cycle whose batch filled sends more than once; the newest is taken
// for every packet of it.
func (s *benchSendLog) sendAt(dutyNs int64) (int64, bool) {
	if s == nil {
		return 0, false
	}
	n := s.next.Load()
	for i := n - 1; i >= max(0, n-benchSendLogLength); i-- {
		slot := &s.slots[i&(benchSendLogLength-1)]
		d := slot.dutyNs.Load()
		if d < dutyNs {
			return 0, false // older than the one looked for: it was not recorded
		}
		if d == dutyNs {
			t := slot.sendNs.Load()
			if slot.dutyNs.Load() != dutyNs {
				return 0, false // overwritten while read
			}
			return t, true
		}
	}
	return 0, false
}

// benchConn is the bench's sending Conn: a UDPConn whose batch sends are
// recorded in a benchSendLog, to split the wire stage where the send begins.
type benchConn struct {
	*UDPConn
	log *benchSendLog
}

// SendBatch implements BatchConn.
func (c benchConn) SendBatch(pkts [][]byte) (int, error) {
	if len(pkts) > 0 {
		c.log.record(PacketHeader(pkts[0]).SendTimeNs(), transport.MonotonicNanos())
	}
	return c.UDPConn.SendBatch(pkts)
}

// benchRxConn is the bench's receiving Conn: a UDPConn that notes when each
// batch receive returned, to split the deliver stage there. Only the
// subscriber's goroutine uses it.
type benchRxConn struct {
	*UDPConn
	receivedNs int64 // when the latest ReceiveBatch returned datagrams
}

// ReceiveBatch implements BatchConn.
func (c *benchRxConn) ReceiveBatch(bufs [][]byte, sizes []int, timeout time.Duration) (int, error) {
	n, err := c.UDPConn.ReceiveBatch(bufs, sizes, timeout)
	if n > 0 {
		c.receivedNs = transport.MonotonicNanos()
	}
	return n, err
}
