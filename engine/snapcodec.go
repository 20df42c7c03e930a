package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrSnapshot marks snapshot bytes that cannot be restored.
var ErrSnapshot = errors.New("engine: bad snapshot")

// snapWriter appends little-endian fields.
type snapWriter struct{ b []byte }

func (w *snapWriter) u8(v uint8)     { w.b = append(w.b, v) }
func (w *snapWriter) u16(v uint16)   { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *snapWriter) u32(v uint32)   { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *snapWriter) i32(v int32)    { w.u32(uint32(v)) }
func (w *snapWriter) u64(v uint64)   { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *snapWriter) i64(v int64)    { w.u64(uint64(v)) }
func (w *snapWriter) bytes(v []byte) { w.b = append(w.b, v...) }

// count writes a length; every length the writer emits is bounded by a
// limit far below 2^32.
func (w *snapWriter) count(n int) { w.u32(uint32(n)) }

// snapReader reads little-endian fields with a sticky error: after the
// first short read every read returns zero, and err says where it failed.
type snapReader struct {
	b   []byte
	off int
	err error
}

func (r *snapReader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.err = fmt.Errorf("%w: truncated at byte %d (need %d more)", ErrSnapshot, r.off, n)
		return nil
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v
}

func (r *snapReader) u8() uint8 {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *snapReader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}

func (r *snapReader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (r *snapReader) i32() int32 { return int32(r.u32()) }

func (r *snapReader) u64() uint64 {
	if v := r.take(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

func (r *snapReader) i64() int64 { return int64(r.u64()) }

func (r *snapReader) array16() (a [16]byte) { copy(a[:], r.take(16)); return a }

func (r *snapReader) array32() (a [32]byte) { copy(a[:], r.take(32)); return a }

// count reads a length and checks it against max before anything is
// allocated for it.
func (r *snapReader) count(what string, max int) int {
	n := r.u32()
	if r.err == nil && uint64(n) > uint64(max) {
		r.err = fmt.Errorf("%w: %d %s, more than %d", ErrSnapshot, n, what, max)
		return 0
	}
	return int(n)
}

// fail records a semantic error unless one is already recorded.
func (r *snapReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrSnapshot}, args...)...)
	}
}
