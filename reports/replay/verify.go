package replay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"venue/cluster/consensus"
)

// Segment verification reads logstore's segment files (layout version 1,
// cluster/logstore/segment.go) directly and checks every batch's checksum
// in every segment. logstore's own recovery checks only the last two
// segments in full, and a read-only open that meets a bad batch there
// just ends the log before it, silently; the audit must instead say that
// the log was damaged and where. Only the checksummed framing is read
// here: a segment of another version is reported as not verified.
const (
	segPrefix         = "log-"
	segSuffix         = ".seg"
	segHeaderRegion   = 4096
	segHeaderBytes    = 64
	segMagic          = "VNLOGSEG"
	segVersion        = 1
	segVersionOff     = 8
	segSlotLenOff     = 12
	segBaseOff        = 16
	segDataLenOff     = 24
	segSlotsOff       = 32
	segChecksumOff    = 60
	slotBytes         = 32
	slotStartOff      = 0
	slotLengthOff     = 8
	slotDataCRCOff    = 12
	slotChecksumOff   = 28
	slotReservedOff   = 16
	segDataLengthMax  = 1 << 30 // logstore's segment length bound
	verifyIndexChunk  = 64 << 10
	verifyDataChunk   = 1 << 20
	verifySlotsPerRun = verifyIndexChunk / slotBytes
)

// Problem is the first place the log's bytes are not what was written.
type Problem struct {
	Position consensus.Position `json:"position"` // the first log position affected
	Length   int64              `json:"length"`   // bytes of the batch affected (0: unknown)
	Segment  string             `json:"segment"`  // the file
	What     string             `json:"what"`
	// DataFollows: checksummed batches or segments follow the damage, so
	// it is not a write torn by a crash at the log's end (which logstore
	// trims on its next open) but damage to the middle of the log.
	DataFollows bool `json:"data_follows"`
}

// Verification is what VerifySegments found.
type Verification struct {
	Segments int                `json:"segments"`
	Batches  uint64             `json:"batches"`
	Start    consensus.Position `json:"start"` // the first segment's base
	End      consensus.Position `json:"end"`   // the end of the checksummed log
	// Problem is the first damage found (nil: every batch's checksum holds).
	Problem *Problem `json:"problem,omitempty"`
	// Skipped says why verification was not done (a newer segment layout).
	Skipped string `json:"skipped,omitempty"`
}

// OK reports whether every batch verified (a torn tail with nothing after
// it is not damage).
func (v *Verification) OK() bool { return v.Problem == nil || !v.Problem.DataFollows }

// VerifySegments checks the CRC32C of every batch of every log segment in
// dir, and that each batch and segment starts where the previous ended.
// It reads with bounded memory (one data chunk and one index chunk) and
// never writes.
func VerifySegments(dir string) (Verification, error) {
	var v Verification
	names, err := segmentNames(dir)
	if err != nil {
		return v, err
	}
	ver := verifier{v: &v, data: make([]byte, verifyDataChunk), idx: make([]byte, verifyIndexChunk)}
	for i, n := range names {
		if v.Problem != nil {
			v.Problem.DataFollows = true
			break
		}
		if err := ver.segment(filepath.Join(dir, n.name), n, i == 0, i == len(names)-1); err != nil {
			return v, err
		}
		if v.Skipped != "" {
			break
		}
		v.Segments++
	}
	return v, nil
}

type segName struct {
	name string
	base consensus.Position
}

// segmentNames lists log-<base>.seg files by base.
func segmentNames(dir string) ([]segName, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("replay: verify: %w", err)
	}
	var out []segName
	for _, e := range entries { // ReadDir sorts by name; fixed-width names sort by base
		stem, ok := strings.CutPrefix(e.Name(), segPrefix)
		if stem, ok2 := strings.CutSuffix(stem, segSuffix); ok && ok2 && len(stem) == 20 {
			if b, err := strconv.ParseInt(stem, 10, 64); err == nil && b >= 0 {
				out = append(out, segName{e.Name(), consensus.Position(b)})
			}
		}
	}
	return out, nil
}

type verifier struct {
	v    *Verification
	data []byte
	idx  []byte
}

func (vr *verifier) problem(p Problem) { vr.v.Problem = &p }

// segment verifies one segment file; problems are recorded, only I/O
// failures returned.
func (vr *verifier) segment(path string, n segName, first, last bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("replay: verify: %w", err)
	}
	defer f.Close()
	if first {
		vr.v.Start, vr.v.End = n.base, n.base
	}
	h, what := readSegHeader(f, n.base)
	switch {
	case what != "" && strings.HasPrefix(what, "version"):
		vr.v.Skipped = fmt.Sprintf("segment %s: %s (replay verifies version %d)", n.name, what, segVersion)
		return nil
	case what != "":
		vr.problem(Problem{Position: n.base, Segment: n.name, What: "segment header: " + what, DataFollows: !last})
		return nil
	case n.base != vr.v.End:
		vr.problem(Problem{Position: vr.v.End, Segment: n.name,
			What: fmt.Sprintf("segment starts at %d where the log so far ends at %d", n.base, vr.v.End), DataFollows: true})
		return nil
	}
	return vr.slots(f, h, n.name)
}

type segHdr struct {
	base    consensus.Position
	dataLen int64
	slots   int64
}

// readSegHeader reads and checks a segment header; what is empty or the
// reason it is unusable.
func readSegHeader(f *os.File, base consensus.Position) (segHdr, string) {
	var b [segHeaderBytes]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		return segHdr{}, fmt.Sprintf("unreadable (%v)", err)
	}
	if string(b[:len(segMagic)]) != segMagic ||
		binary.LittleEndian.Uint32(b[segChecksumOff:]) != crc32.Checksum(b[:segChecksumOff], castagnoli) {
		return segHdr{}, "magic or checksum does not hold"
	}
	if v := binary.LittleEndian.Uint32(b[segVersionOff:]); v != segVersion {
		return segHdr{}, fmt.Sprintf("version %d", v)
	}
	h := segHdr{base: consensus.Position(binary.LittleEndian.Uint64(b[segBaseOff:])),
		dataLen: int64(binary.LittleEndian.Uint64(b[segDataLenOff:])), slots: int64(binary.LittleEndian.Uint32(b[segSlotsOff:]))}
	switch {
	case binary.LittleEndian.Uint32(b[segSlotLenOff:]) != slotBytes:
		return h, "slot length"
	case h.base != base:
		return h, fmt.Sprintf("base %d in a file named for %d", h.base, base)
	case h.dataLen <= 0 || h.dataLen > segDataLengthMax || h.slots < 1 || h.slots > h.dataLen:
		return h, fmt.Sprintf("data length %d, %d slots", h.dataLen, h.slots)
	}
	// Segments are preallocated: a shorter file lost its end.
	if st, err := f.Stat(); err != nil || st.Size() < segHeaderRegion+h.dataLen+h.slots*slotBytes {
		return h, fmt.Sprintf("file shorter than the %d bytes its header describes", segHeaderRegion+h.dataLen+h.slots*slotBytes)
	}
	return h, ""
}

// slots walks the index from the first slot: each checksummed slot must
// start where the last ended and its bytes match their CRC32C. The first
// zero slot ends the segment's batches.
func (vr *verifier) slots(f *os.File, h segHdr, name string) error {
	for i := int64(0); i < h.slots; {
		k := min(h.slots-i, verifySlotsPerRun)
		idx := vr.idx[:k*slotBytes]
		if n, err := f.ReadAt(idx, segHeaderRegion+h.dataLen+i*slotBytes); err != nil {
			if !errors.Is(err, io.EOF) {
				return fmt.Errorf("replay: verify %s index: %w", name, err)
			}
			clear(idx[n:]) // the file shrank since its size was checked: no slots there
		}
		for j := int64(0); j < k; j++ {
			sl := idx[j*slotBytes : (j+1)*slotBytes]
			if isZero(sl) {
				return nil
			}
			done, err := vr.slot(f, h, name, sl)
			if err != nil || done {
				if done && vr.v.Problem != nil {
					vr.v.Problem.DataFollows = vr.v.Problem.DataFollows || laterSlots(idx[(j+1)*slotBytes:])
				}
				return err
			}
		}
		i += k
	}
	return nil
}

// slot verifies one batch; done is set when it recorded a problem.
func (vr *verifier) slot(f *os.File, h segHdr, name string, sl []byte) (bool, error) {
	end := vr.v.End
	if binary.LittleEndian.Uint32(sl[slotChecksumOff:]) != crc32.Checksum(sl[:slotChecksumOff], castagnoli) ||
		!isZero(sl[slotReservedOff:slotChecksumOff]) {
		vr.problem(Problem{Position: end, Segment: name, What: "index slot checksum does not hold"})
		return true, nil
	}
	start := consensus.Position(binary.LittleEndian.Uint64(sl[slotStartOff:]))
	length := int64(binary.LittleEndian.Uint32(sl[slotLengthOff:]))
	switch {
	case start != end:
		vr.problem(Problem{Position: end, Segment: name, What: fmt.Sprintf("batch starts at %d, not at %d", start, end)})
		return true, nil
	case length <= 0 || int64(start-h.base)+length > h.dataLen:
		vr.problem(Problem{Position: end, Segment: name, What: fmt.Sprintf("batch of %d bytes outside the segment", length)})
		return true, nil
	}
	crc, err := vr.dataCRC(f, segHeaderRegion+int64(start-h.base), length)
	if err != nil {
		return true, fmt.Errorf("replay: verify %s at %d: %w", name, start, err)
	}
	if crc != binary.LittleEndian.Uint32(sl[slotDataCRCOff:]) {
		vr.problem(Problem{Position: start, Length: length, Segment: name,
			What: fmt.Sprintf("the batch [%d, %d) does not match its CRC32C", start, start+consensus.Position(length))})
		return true, nil
	}
	vr.v.End = start + consensus.Position(length)
	vr.v.Batches++
	return false, nil
}

func (vr *verifier) dataCRC(f *os.File, off, length int64) (uint32, error) {
	var crc uint32
	for length > 0 {
		b := vr.data[:min(length, int64(len(vr.data)))]
		if _, err := f.ReadAt(b, off); err != nil {
			return 0, err
		}
		crc = crc32.Update(crc, castagnoli, b)
		off, length = off+int64(len(b)), length-int64(len(b))
	}
	return crc, nil
}

// laterSlots reports whether idx holds a slot whose own checksum holds.
func laterSlots(idx []byte) bool {
	for len(idx) >= slotBytes {
		sl := idx[:slotBytes]
		if !isZero(sl) && binary.LittleEndian.Uint32(sl[slotChecksumOff:]) == crc32.Checksum(sl[:slotChecksumOff], castagnoli) {
			return true
		}
		idx = idx[slotBytes:]
	}
	return false
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
