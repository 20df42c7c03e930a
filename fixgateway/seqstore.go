package fixgateway

import (
	"fmt"
	"sync"

	"github.com/quickfixgo/quickfix"
)

// SessionInFlightMax bounds the FIX application messages of one session
// that the gateway has taken (FromApp returned) but not yet answered. A
// message beyond it is refused with a BusinessMessageReject (j) "gateway
// queue full", counted in CounterQueueFull.
const SessionInFlightMax = 1024

// Exactly once with pipelining.
//
// quickfixgo persists a session's next inbound sequence number when
// FromApp returns. The gateway returns from FromApp as soon as it has
// queued the message's command, long before the engine answers, so a crash
// in between would lose the message: the restarted gateway would expect
// the next one, and the client would never resend it.
//
// seqStore prevents that. It wraps the session's MessageStore and keeps
// two inbound sequence numbers: the live one quickfixgo reads and
// increments (in memory), and the persisted one, the watermark, which is
// never past the first message still unanswered. After a crash the
// restarted gateway expects the watermark, asks the client to resend from
// there (quickfixgo's ResendRequest on a too-high MsgSeqNum), and the
// engine's SenderSeq dedupe answers every resent command that was already
// applied with its status instead of applying it again.
//
// A message counts as answered once its answer is in the outbound store
// (quickfix.SendToTarget returned), so the answer survives the crash too.

// seqSlot names one unanswered message in a seqStore: where it was begun
// and in which epoch (a Reset starts a new one, and a slot of an older
// epoch is ignored).
type seqSlot struct {
	pos   uint64
	epoch uint64
}

// seqEntry is one unanswered (or answered but not yet popped) message.
type seqEntry struct {
	seq  int
	done bool
}

// seqStore is a quickfix.MessageStore whose persisted inbound sequence
// number lags behind the live one until the messages in between are
// answered. Safe for concurrent use: quickfixgo's session goroutine calls
// the MessageStore methods, the session's sender goroutine calls end and
// flush.
type seqStore struct {
	quickfix.MessageStore

	mu        sync.Mutex
	limit     uint64 // unanswered messages allowed, at most SessionInFlightMax
	live      int    // next inbound MsgSeqNum, as quickfixgo sees it
	persisted int    // what the inner store holds
	epoch     uint64
	ring      [SessionInFlightMax]seqEntry
	head      uint64 // position of the oldest entry
	tail      uint64 // position after the newest entry
	err       error  // the last persisting failure, for diagnostics
}

func newSeqStore(inner quickfix.MessageStore, limit int) *seqStore {
	s := &seqStore{MessageStore: inner, limit: uint64(min(max(limit, 1), SessionInFlightMax))}
	s.live = inner.NextTargetMsgSeqNum()
	s.persisted = s.live
	return s
}

// begin records that message seq was taken and is not yet answered. It
// fails when the limit of unanswered messages is reached.
func (s *seqStore) begin(seq int) (seqSlot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tail-s.head >= s.limit {
		return seqSlot{}, false
	}
	s.ring[s.tail%SessionInFlightMax] = seqEntry{seq: seq}
	s.tail++
	return seqSlot{pos: s.tail - 1, epoch: s.epoch}, true
}

// end records that the message in slot is answered (or abandoned by the
// gateway on purpose, e.g. refused as unavailable). flush persists.
func (s *seqStore) end(slot seqSlot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slot.epoch != s.epoch || slot.pos < s.head || slot.pos >= s.tail {
		return // a message from before a Reset
	}
	s.ring[slot.pos%SessionInFlightMax].done = true
	for s.head < s.tail && s.ring[s.head%SessionInFlightMax].done {
		s.ring[s.head%SessionInFlightMax] = seqEntry{}
		s.head++
	}
}

// unanswered returns how many messages are taken and not yet answered.
func (s *seqStore) unanswered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.tail - s.head)
}

// watermarkLocked is the inbound sequence number a restart must expect:
// the first unanswered message, or the live one when all are answered.
func (s *seqStore) watermarkLocked() int {
	if s.head < s.tail {
		return min(s.ring[s.head%SessionInFlightMax].seq, s.live)
	}
	return s.live
}

// flush persists the watermark if it moved.
func (s *seqStore) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *seqStore) flushLocked() error {
	w := s.watermarkLocked()
	if w == s.persisted {
		return nil
	}
	if err := s.MessageStore.SetNextTargetMsgSeqNum(w); err != nil {
		s.err = err
		return fmt.Errorf("fixgateway: persist inbound sequence number %d: %w", w, err)
	}
	s.persisted = w
	return nil
}

// NextTargetMsgSeqNum implements quickfix.MessageStore: the live number.
func (s *seqStore) NextTargetMsgSeqNum() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// IncrNextTargetMsgSeqNum implements quickfix.MessageStore. quickfixgo
// calls it after each inbound message; it persists only as far as the
// watermark allows (every message up to here answered: all the way).
func (s *seqStore) IncrNextTargetMsgSeqNum() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live++
	return s.flushLocked()
}

// SetNextTargetMsgSeqNum implements quickfix.MessageStore (SequenceReset,
// logon handling).
func (s *seqStore) SetNextTargetMsgSeqNum(next int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = next
	return s.flushLocked()
}

// Reset implements quickfix.MessageStore: both sequence numbers restart at
// 1, and unanswered messages of the old numbering no longer hold the
// watermark back (a reset logon gives up on them, as FIX does).
func (s *seqStore) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked()
	err := s.MessageStore.Reset()
	s.live = s.MessageStore.NextTargetMsgSeqNum()
	s.persisted = s.live
	return err
}

// Refresh implements quickfix.MessageStore: reload from the inner store.
func (s *seqStore) Refresh() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked()
	err := s.MessageStore.Refresh()
	s.live = s.MessageStore.NextTargetMsgSeqNum()
	s.persisted = s.live
	return err
}

func (s *seqStore) clearLocked() {
	s.epoch++
	clear(s.ring[:])
	s.head, s.tail = 0, 0
}

// seqStoreFactory wraps a store factory so that every session's store is
// a seqStore the gateway can reach.
type seqStoreFactory struct {
	inner quickfix.MessageStoreFactory
	g     *Gateway
}

// Create implements quickfix.MessageStoreFactory.
func (f seqStoreFactory) Create(id quickfix.SessionID) (quickfix.MessageStore, error) {
	inner, err := f.inner.Create(id)
	if err != nil {
		return nil, fmt.Errorf("fixgateway: store for %v: %w", id, err)
	}
	s := newSeqStore(inner, f.g.opts.SessionInFlight)
	if fs := f.g.sessions[id]; fs != nil {
		fs.store.Store(s)
	}
	return s, nil
}
