package consensus

import (
	"errors"
	"fmt"
	"sort"
)

// TermRecord says that the log bytes from Base (up to the next record's Base,
// or the log end) were written in Term. It is Aeron's RecordingLog term entry:
// a term's base position is where its leader's log ended when it was elected,
// and it is the same on every member that holds any of the term.
type TermRecord struct {
	Term TermID
	Base Position
}

// LogStore is the member's copy of the log: a byte stream addressed by
// position plus the term records that say which term wrote which bytes. The
// archive implements it in production (a recording + the recording log); the
// simulator uses MemLogStore. The Node is the only writer.
//
// Durability is the store's business: Append buffers, and DurablePosition
// reports how much the fsync policy has made durable. The Node reports only
// durable positions to the leader, so a crash may lose anything past
// DurablePosition and nothing before it.
type LogStore interface {
	// End returns the position after the last appended byte.
	End() Position
	// DurablePosition returns the position below which every byte and term
	// record survives a crash. It is an entry boundary and <= End.
	DurablePosition() Position
	// Append appends data (whole entries) written in term at End(). If term
	// differs from the last record's term a record {term, End()} is added
	// first; term must not be lower than the last record's term.
	Append(term TermID, data []byte) error
	// Truncate removes the bytes at and after pos and every term record with
	// Base >= pos. It is durable when it returns.
	Truncate(pos Position) error
	// Read returns the bytes [from, to), which must be within [0, End()). It
	// may use buf or alias the store; the result is valid until the next
	// Append or Truncate and must not be modified.
	Read(from, to Position, buf []byte) ([]byte, error)
	// Terms returns the term records in increasing Term and Base order. The
	// slice is owned by the store, valid until the next mutation, read-only.
	Terms() []TermRecord
}

// ErrStore wraps every LogStore failure the Node sees.
var ErrStore = errors.New("consensus: log store")

// termIndexAt returns the index in terms of the record covering position p,
// or -1 if p is before the first record.
func termIndexAt(terms []TermRecord, p Position) int {
	i := sort.Search(len(terms), func(i int) bool { return terms[i].Base > p })
	return i - 1
}

// MemLogStore is an in-memory LogStore that models a disk: Append is
// volatile until Sync, and Crash drops everything past the durable position.
type MemLogStore struct {
	// buf holds the log from start (retention may purge its beginning).
	start   Position
	buf     []byte
	terms   []TermRecord
	durable Position
	// chunkEnds are the ends of the appends past durable, where a crash may
	// cut the log (each Append is whole entries).
	chunkEnds []Position
}

// NewMemLogStore returns an empty store.
func NewMemLogStore() *MemLogStore { return &MemLogStore{} }

// End implements LogStore.
func (s *MemLogStore) End() Position { return s.start + Position(len(s.buf)) }

// Start returns the first position the store still holds (0 unless
// PurgeBefore or ResetTo moved it).
func (s *MemLogStore) Start() Position { return s.start }

// PurgeBefore drops the log below pos (at most the durable position), as
// retention does after a snapshot at pos; End and Terms are unchanged.
func (s *MemLogStore) PurgeBefore(pos Position) error {
	if pos < s.start || pos > s.durable {
		return fmt.Errorf("%w: purge before %d of [%d,%d) durable %d", ErrStore, pos, s.start, s.End(), s.durable)
	}
	s.buf = append([]byte(nil), s.buf[pos-s.start:]...)
	s.start = pos
	return nil
}

// ResetTo discards the whole log and starts an empty one at pos whose byte
// before pos was written in rec.Term, from rec.Base (a snapshot at pos was
// installed): Start == End == DurablePosition == pos, Terms == [rec].
func (s *MemLogStore) ResetTo(pos Position, rec TermRecord) error {
	if pos <= 0 || rec.Term <= 0 || rec.Base < 0 || rec.Base >= pos {
		return fmt.Errorf("%w: reset to %d with term record %+v", ErrStore, pos, rec)
	}
	s.start, s.buf, s.durable, s.chunkEnds = pos, nil, pos, nil
	s.terms = []TermRecord{rec}
	return nil
}

// DurablePosition implements LogStore.
func (s *MemLogStore) DurablePosition() Position { return s.durable }

// Append implements LogStore.
func (s *MemLogStore) Append(term TermID, data []byte) error {
	if len(s.terms) == 0 || s.terms[len(s.terms)-1].Term != term {
		if len(s.terms) > 0 && s.terms[len(s.terms)-1].Term > term {
			return fmt.Errorf("%w: append term %d after term %d", ErrStore, term, s.terms[len(s.terms)-1].Term)
		}
		s.terms = append(s.terms, TermRecord{Term: term, Base: s.End()})
	}
	s.buf = append(s.buf, data...)
	if len(data) > 0 {
		s.chunkEnds = append(s.chunkEnds, s.End())
	}
	return nil
}

// Truncate implements LogStore. It copies the kept prefix to a new buffer so
// that slices returned by Read before the truncation never change.
func (s *MemLogStore) Truncate(pos Position) error {
	if pos < s.start || pos > s.End() {
		return fmt.Errorf("%w: truncate to %d of [%d,%d)", ErrStore, pos, s.start, s.End())
	}
	s.buf = append([]byte(nil), s.buf[:pos-s.start]...)
	i := termIndexAt(s.terms, pos-1)
	s.terms = append([]TermRecord(nil), s.terms[:i+1]...)
	s.durable = min(s.durable, pos)
	s.dropChunksAfter(pos)
	return nil
}

func (s *MemLogStore) dropChunksAfter(pos Position) {
	k := 0
	for _, e := range s.chunkEnds {
		if e <= pos && e > s.durable {
			s.chunkEnds[k] = e
			k++
		}
	}
	s.chunkEnds = s.chunkEnds[:k]
}

// Read implements LogStore; the result aliases the store.
func (s *MemLogStore) Read(from, to Position, _ []byte) ([]byte, error) {
	if from < s.start || from > to || to > s.End() {
		return nil, fmt.Errorf("%w: read [%d,%d) of [%d,%d)", ErrStore, from, to, s.start, s.End())
	}
	return s.buf[from-s.start : to-s.start : to-s.start], nil
}

// Terms implements LogStore.
func (s *MemLogStore) Terms() []TermRecord { return s.terms }

// Sync makes everything appended so far durable (an fsync).
func (s *MemLogStore) Sync() {
	s.durable = s.End()
	s.chunkEnds = s.chunkEnds[:0]
}

// Crash loses every byte and term record past the durable position, as a
// power failure would.
func (s *MemLogStore) Crash() { s.CrashKeeping(0) }

// UnsyncedAppends returns how many appends past the durable position a
// crash could keep.
func (s *MemLogStore) UnsyncedAppends() int { return len(s.chunkEnds) }

// CrashKeeping is a power failure after the OS wrote back the first keep of
// the unsynced appends (but no fsync said so): they survive, the rest is
// lost, and the survivors become the durable log after restart recovery.
func (s *MemLogStore) CrashKeeping(keep int) {
	cut := s.durable
	if keep > 0 && len(s.chunkEnds) > 0 {
		cut = s.chunkEnds[min(keep, len(s.chunkEnds))-1]
	}
	_ = s.Truncate(cut)
	s.Sync()
}
