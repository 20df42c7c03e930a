package logstore

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"path/filepath"
	"sync"

	"venue/archive"
	"venue/cluster/consensus"
)

// Hard-state file layout: two slots, each alone in its own 512-byte
// sector, so that a torn write of one never touches the other:
//
//	slot at 0 and at hsSlotStride: magic, sequence, term, vote, CRC32C
//
// Save writes the slot the newest state is not in, with the next sequence,
// and fdatasyncs it; Load takes the valid slot with the higher sequence. A
// crash mid-save therefore leaves the previous state readable.
const (
	hsMagic            = "VNHARDST"
	hsSlotLength       = 64
	hsSlotStride       = 512
	hsFileLength       = 2 * hsSlotStride
	hsSeqOffset        = 8
	hsTermOffset       = 16
	hsVoteOffset       = 24
	hsChecksumOffset   = 60
	hsChecksummedBytes = 60
)

// hardStateSlot is one decoded slot.
type hardStateSlot struct {
	seq uint64
	hs  consensus.HardState
}

func encodeHardStateSlot(b []byte, s hardStateSlot) {
	b = b[:hsSlotLength]
	clear(b)
	copy(b, hsMagic)
	le.PutUint64(b[hsSeqOffset:], s.seq)
	le.PutUint64(b[hsTermOffset:], uint64(s.hs.Term))
	le.PutUint32(b[hsVoteOffset:], uint32(s.hs.Vote))
	le.PutUint32(b[hsChecksumOffset:], crc32.Checksum(b[:hsChecksummedBytes], castagnoli))
}

// decodeHardStateSlot validates one slot; it never panics
// (FuzzDecodeHardState).
func decodeHardStateSlot(b []byte) (hardStateSlot, bool) {
	if len(b) < hsSlotLength || string(b[:len(hsMagic)]) != hsMagic ||
		le.Uint32(b[hsChecksumOffset:]) != crc32.Checksum(b[:hsChecksummedBytes], castagnoli) ||
		!isZero(b[hsVoteOffset+4:hsChecksumOffset]) {
		return hardStateSlot{}, false
	}
	s := hardStateSlot{
		seq: le.Uint64(b[hsSeqOffset:]),
		hs: consensus.HardState{Term: consensus.TermID(le.Uint64(b[hsTermOffset:])),
			Vote: consensus.MemberID(int32(le.Uint32(b[hsVoteOffset:])))},
	}
	if s.seq == 0 || s.hs.Term < 0 || s.hs.Vote < consensus.NoMember {
		return hardStateSlot{}, false
	}
	return s, true
}

// decodeHardState picks the state from the file's bytes: the valid slot
// with the higher sequence; with none valid, the initial state when the
// file was never completely written once, else ErrCorrupt (both slots
// damaged, which one torn write cannot do).
func decodeHardState(b []byte) (hardStateSlot, error) {
	var slots [2][]byte
	for i := range slots {
		lo := min(len(b), i*hsSlotStride)
		slots[i] = b[lo:min(len(b), lo+hsSlotLength)]
	}
	a, okA := decodeHardStateSlot(slots[0])
	c, okC := decodeHardStateSlot(slots[1])
	switch {
	case okA && okC:
		if c.seq > a.seq {
			return c, nil
		}
		return a, nil
	case okA:
		return a, nil
	case okC:
		return c, nil
	case isZero(slots[0]) || isZero(slots[1]):
		return hardStateSlot{hs: consensus.HardState{Vote: consensus.NoMember}}, nil
	}
	return hardStateSlot{}, fmt.Errorf("%w: both hard-state slots are damaged", ErrCorrupt)
}

// hardStateFile keeps a member's term and vote.
type hardStateFile struct {
	mu      sync.Mutex
	file    archive.File // nil when read-only
	cur     hardStateSlot
	scratch [hsSlotLength]byte
}

func openHardState(fsys archive.FS, dir string, readOnly bool) (*hardStateFile, error) {
	h := &hardStateFile{cur: hardStateSlot{hs: consensus.HardState{Vote: consensus.NoMember}}}
	path := filepath.Join(dir, hardStateName)
	f, err := fsys.OpenFile(path, false)
	switch {
	case errors.Is(err, fs.ErrNotExist) && readOnly:
		return h, nil
	case errors.Is(err, fs.ErrNotExist):
		if f, err = createHardState(fsys, dir, path); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("logstore: open hard state: %w", err)
	}
	b := make([]byte, hsFileLength)
	n, err := f.ReadAt(b, 0)
	if discard(err) != nil {
		f.Close()
		return nil, fmt.Errorf("logstore: read hard state: %w", err)
	}
	if h.cur, err = decodeHardState(b[:n]); err != nil {
		f.Close()
		return nil, err
	}
	if readOnly {
		f.Close()
		return h, nil
	}
	// The state read is acted on, so it must be durable even if the save
	// that wrote it died before its sync.
	if err := f.SyncData(); err != nil {
		f.Close()
		return nil, fmt.Errorf("logstore: sync hard state: %w", err)
	}
	h.file = f
	return h, nil
}

// createHardState makes the file with both slots zero: "no state yet".
func createHardState(fsys archive.FS, dir, path string) (archive.File, error) {
	f, err := fsys.OpenFile(path, true)
	if err != nil {
		return nil, fmt.Errorf("logstore: create hard state: %w", err)
	}
	err = f.Allocate(hsFileLength)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = fsys.SyncDir(dir)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("logstore: create hard state: %w", err)
	}
	return f, nil
}

func (h *hardStateFile) load() consensus.HardState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur.hs
}

// save writes hs to the slot not holding the current state and syncs it. A
// failure keeps the current state: the next save rewrites the same slot,
// and the other one still holds the state before.
func (h *hardStateFile) save(hs consensus.HardState) error {
	if hs.Term < 0 || hs.Vote < consensus.NoMember {
		return fmt.Errorf("%w: hard state %+v", ErrInvalid, hs)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.file == nil {
		return fmt.Errorf("logstore: save hard state: %w", ErrClosed)
	}
	next := hardStateSlot{seq: h.cur.seq + 1, hs: hs}
	encodeHardStateSlot(h.scratch[:], next)
	off := int64(next.seq%2) * hsSlotStride
	if _, err := h.file.WriteAt(h.scratch[:], off); err != nil {
		return fmt.Errorf("logstore: write hard state: %w", err)
	}
	if err := h.file.SyncData(); err != nil {
		return fmt.Errorf("logstore: sync hard state: %w", err)
	}
	h.cur = next
	return nil
}

func (h *hardStateFile) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.file == nil {
		return nil
	}
	err := h.file.Close()
	h.file = nil
	return err
}
