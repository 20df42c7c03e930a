package logstore

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"venue/archive"
	"venue/cluster/consensus"
)

const testDir = "/member"

func openTestRL(t *testing.T, fsys archive.FS) *RecordingLog {
	t.Helper()
	if err := fsys.MkdirAll(testDir); err != nil {
		t.Fatal(err)
	}
	l, err := openRecordingLog(fsys, testDir, false)
	if err != nil {
		t.Fatalf("open recording log: %v", err)
	}
	return l
}

// rlView is what a recording log shows: its terms and valid snapshots.
type rlView struct {
	terms []consensus.TermRecord
	snaps []SnapshotRecord
}

func viewOf(l *RecordingLog) rlView { return rlView{l.Terms(), l.Snapshots()} }

func (v rlView) equal(w rlView) bool {
	return equalTerms(v.terms, w.terms) && (len(v.snaps) == 0 && len(w.snaps) == 0 || slices.Equal(v.snaps, w.snaps))
}

func (v rlView) clone() rlView { return rlView{slices.Clone(v.terms), slices.Clone(v.snaps)} }

// TestRecordingLogCrash runs random appends, invalidations, term
// truncations and snapshot drops with a power failure at a random
// operation: after recovery the log shows the state before or after the
// operation in flight, never anything else.
func TestRecordingLogCrash(t *testing.T) {
	for seed := uint64(1); seed <= 150; seed++ {
		fsys := archive.NewSimFS(seed)
		l := openTestRL(t, fsys)
		rng := rand.New(rand.NewPCG(seed, 3))
		fsys.CrashAfter(1 + rng.IntN(120))
		var v rlView
		var next rlView
		var err error
		term, base, id := consensus.TermID(0), consensus.Position(0), int64(0)
		for op := 0; op < 80 && err == nil; op++ {
			next = v.clone()
			switch k := rng.IntN(10); {
			case k < 4:
				term++
				base += consensus.Position(8 * rng.IntN(100))
				r := consensus.TermRecord{Term: term, Base: base}
				next.terms = append(next.terms, r)
				err = l.appendTerm(r, int64(op))
			case k < 7:
				id++
				r := SnapshotRecord{ServiceID: int32(rng.IntN(2)), Term: term, Position: base, TimestampNs: int64(op),
					RecordingID: id, Length: rng.Int64N(1000), Checksum: rng.Uint32()}
				next.snaps = append(next.snaps, r)
				err = l.AppendSnapshot(r)
			case k < 8 && len(v.snaps) > 0:
				r := v.snaps[rng.IntN(len(v.snaps))]
				next.snaps = slices.DeleteFunc(next.snaps, func(s SnapshotRecord) bool { return s.RecordingID == r.RecordingID })
				err = l.InvalidateSnapshot(r.RecordingID)
			case k < 9:
				pos := consensus.Position(8 * rng.Int64N(int64(base/8)+2))
				next.terms = termsBelow(next.terms, pos)
				err = l.truncateTerms(pos)
				if len(next.terms) > 0 {
					term, base = next.terms[len(next.terms)-1].Term, max(base, pos)
				}
			default:
				pos := consensus.Position(8 * rng.Int64N(int64(base/8)+2))
				next.snaps = slices.DeleteFunc(next.snaps, func(s SnapshotRecord) bool { return s.Position < pos })
				_, err = l.dropSnapshotsBefore(pos)
			}
			if err == nil {
				v = next
			}
		}
		if err != nil && !errors.Is(err, archive.ErrPowerLost) {
			t.Fatalf("seed %d: %v", seed, err)
		}
		fsys.CrashAfter(0)
		fsys.PowerLoss()
		l.close()
		r := openTestRL(t, fsys)
		got := viewOf(r)
		if !got.equal(v) && !(err != nil && got.equal(next)) {
			t.Fatalf("seed %d: recovered %+v\nbefore %+v\nafter %+v", seed, got, v, next)
		}
		r.close()
	}
}

// TestRecordingLogHolesAndTornTail: a damaged record between good ones is
// read as no record (a torn invalidation); damaged records after the last
// good one are a torn append and are cut on open.
func TestRecordingLogHolesAndTornTail(t *testing.T) {
	fsys := archive.NewSimFS(1)
	l := openTestRL(t, fsys)
	for i := range 4 {
		if err := l.AppendSnapshot(SnapshotRecord{Position: consensus.Position(8 * i), RecordingID: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	l.close()
	path := filepath.Join(testDir, recordingLogName)
	f, _ := fsys.OpenFile(path, false)
	f.WriteAt([]byte{0xde, 0xad}, rlHeaderLength+1*rlRecordLength+20)        // record 1: torn
	f.WriteAt([]byte{0xbe, 0xef}, rlHeaderLength+4*rlRecordLength+5)         // past the end: torn append
	f.WriteAt(make([]byte, rlRecordLength), rlHeaderLength+5*rlRecordLength) // and zeros
	f.SyncData()
	f.Close()
	l = openTestRL(t, fsys)
	var ids []int64
	for _, s := range l.Snapshots() {
		ids = append(ids, s.RecordingID)
	}
	if !slices.Equal(ids, []int64{0, 2, 3}) {
		t.Fatalf("snapshots %v, want [0 2 3]", ids)
	}
	if err := l.AppendSnapshot(SnapshotRecord{Position: 64, RecordingID: 9}); err != nil {
		t.Fatal(err)
	}
	l.close()
	l = openTestRL(t, fsys)
	if n := len(l.Snapshots()); n != 4 {
		t.Fatalf("%d snapshots after appending past a cut tail", n)
	}
	// Compaction (a term truncation) drops the hole.
	l.appendTerm(consensus.TermRecord{Term: 1, Base: 0}, 0)
	l.appendTerm(consensus.TermRecord{Term: 2, Base: 100}, 0)
	if err := l.truncateTerms(100); err != nil {
		t.Fatal(err)
	}
	if len(l.recs) != 5 || !equalTerms(l.Terms(), []consensus.TermRecord{{Term: 1, Base: 0}}) {
		t.Fatalf("after compaction: %d records, terms %v", len(l.recs), l.Terms())
	}
	l.close()
}

// TestRecordingLogBound: the log holds at most RecordingLogRecordsMax
// records; when full it compacts what it may drop (invalid snapshots), and
// refuses appends with ErrRecordingLogFull only when nothing can go.
func TestRecordingLogBound(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a recording log")
	}
	fsys := archive.NewSimFS(1)
	l := openTestRL(t, fsys)
	for i := range RecordingLogRecordsMax - 1 {
		if err := l.appendTerm(consensus.TermRecord{Term: consensus.TermID(i + 1), Base: 0}, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.AppendSnapshot(SnapshotRecord{RecordingID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := l.InvalidateSnapshot(1); err != nil {
		t.Fatal(err)
	}
	term := consensus.TermID(RecordingLogRecordsMax)
	if err := l.appendTerm(consensus.TermRecord{Term: term, Base: 0}, 0); err != nil {
		t.Fatalf("append with an invalid snapshot to drop: %v", err)
	}
	if err := l.appendTerm(consensus.TermRecord{Term: term + 1, Base: 0}, 0); !errors.Is(err, ErrRecordingLogFull) {
		t.Fatalf("append to a full log: %v", err)
	}
	l.close()
}

// TestHardState: saves survive reopening; a power failure during a save
// leaves the state before or after it, never an older one or garbage.
func TestHardState(t *testing.T) {
	for seed := uint64(1); seed <= 100; seed++ {
		fsys := archive.NewSimFS(seed)
		fsys.MkdirAll(testDir)
		h, err := openHardState(fsys, testDir, false)
		if err != nil {
			t.Fatal(err)
		}
		if h.load() != (consensus.HardState{Vote: consensus.NoMember}) {
			t.Fatalf("initial state %+v", h.load())
		}
		rng := rand.New(rand.NewPCG(seed, 5))
		fsys.CrashAfter(1 + rng.IntN(40))
		prev := h.load()
		var next consensus.HardState
		for i := 1; ; i++ {
			next = consensus.HardState{Term: consensus.TermID(i), Vote: consensus.MemberID(rng.IntN(5)) - 1}
			if err = h.save(next); err != nil {
				break
			}
			prev = next
		}
		fsys.CrashAfter(0)
		fsys.PowerLoss()
		h.close()
		r, err := openHardState(fsys, testDir, false)
		if err != nil {
			t.Fatalf("seed %d: reopen: %v", seed, err)
		}
		if got := r.load(); got != prev && got != next {
			t.Fatalf("seed %d: recovered %+v, want %+v or %+v", seed, got, prev, next)
		}
		r.close()
	}
}

// TestHardStateDamage: one damaged slot falls back to the other; both
// damaged is ErrCorrupt, not a silent reset.
func TestHardStateDamage(t *testing.T) {
	var b [hsFileLength]byte
	encodeHardStateSlot(b[hsSlotStride:], hardStateSlot{seq: 1, hs: consensus.HardState{Term: 1, Vote: 0}})
	encodeHardStateSlot(b[:], hardStateSlot{seq: 2, hs: consensus.HardState{Term: 2, Vote: 1}})
	cases := []struct {
		name   string
		damage func(b []byte)
		want   consensus.HardState
		err    error
	}{
		{"both good", func([]byte) {}, consensus.HardState{Term: 2, Vote: 1}, nil},
		{"newer torn", func(b []byte) { b[hsTermOffset] ^= 1 }, consensus.HardState{Term: 1, Vote: 0}, nil},
		{"older torn", func(b []byte) { b[hsSlotStride+hsTermOffset] ^= 1 }, consensus.HardState{Term: 2, Vote: 1}, nil},
		{"both torn", func(b []byte) { b[hsTermOffset] ^= 1; b[hsSlotStride+3] ^= 1 }, consensus.HardState{}, ErrCorrupt},
		{"first save torn", func(b []byte) { clear(b[:hsSlotLength]); b[hsSlotStride+hsSeqOffset] ^= 1 },
			consensus.HardState{Vote: consensus.NoMember}, nil},
	}
	for _, c := range cases {
		d := b
		c.damage(d[:])
		got, err := decodeHardState(d[:])
		if !errors.Is(err, c.err) || err == nil && got.hs != c.want {
			t.Errorf("%s: %+v %v, want %+v %v", c.name, got.hs, err, c.want, c.err)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	recs := []logRecord{
		{typ: recordTerm, valid: true, term: 7, position: 4096, timestampNs: 99},
		{typ: recordSnapshot, valid: true, serviceID: -1, term: 3, position: 64, timestampNs: 5,
			recordingID: 12, length: 1 << 30, checksum: 0xfeedface},
		{typ: recordSnapshot, valid: false, serviceID: 2, recordingID: 0},
	}
	for _, r := range recs {
		var b [rlRecordLength]byte
		encodeRecord(b[:], &r)
		got, ok := decodeRecord(b[:])
		if !ok || got != r {
			t.Errorf("%+v -> %+v %t", r, got, ok)
		}
		for i := range b { // any one flipped bit is caught
			b[i] ^= 0x10
			if _, ok := decodeRecord(b[:]); ok {
				t.Errorf("%+v: bit flip at %d accepted", r, i)
			}
			b[i] ^= 0x10
		}
	}
	if _, ok := decodeRecord(make([]byte, rlRecordLength)); ok {
		t.Error("zero record accepted")
	}
	var h [segHeaderLength]byte
	sh := newSegHeader(1<<20, 1<<20)
	encodeSegHeader(h[:], &sh)
	if got, err := decodeSegHeader(h[:]); err != nil || got != sh {
		t.Errorf("segment header %+v -> %+v %v", sh, got, err)
	}
	var sb [slotLength]byte
	sl := slot{start: 4096, length: 256, dataCRC: 0xabcdef}
	encodeSlot(sb[:], sl)
	if got, ok := decodeSlot(sb[:]); !ok || got != sl {
		t.Errorf("slot %+v -> %+v %t", sl, got, ok)
	}
}

// TestReadStateIsDurable: a save or append whose write reached the page
// cache but whose process died before its sync is read back at the next
// open — and that open syncs it, so a later power loss cannot take back
// what the member has acted on.
func TestReadStateIsDurable(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		readStateIsDurable(t, seed)
	}
}

func readStateIsDurable(t *testing.T, seed uint64) {
	fsys := archive.NewSimFS(seed)
	fsys.MkdirAll(testDir)
	h, _ := openHardState(fsys, testDir, false)
	h.save(consensus.HardState{Term: 1, Vote: 0})
	var slotBytes [hsSlotLength]byte
	want := consensus.HardState{Term: 2, Vote: 1}
	encodeHardStateSlot(slotBytes[:], hardStateSlot{seq: 2, hs: want})
	h.file.WriteAt(slotBytes[:], 0) // the save of seq 2, without its sync
	l := openTestRL(t, fsys)
	var rec [rlRecordLength]byte
	encodeRecord(rec[:], &logRecord{typ: recordSnapshot, valid: true, position: 64, recordingID: 5})
	l.file.WriteAt(rec[:], rlHeaderLength) // an append without its sync
	// Process crash: the page cache survives.
	h2, err := openHardState(fsys, testDir, false)
	if err != nil || h2.load() != want {
		t.Fatalf("after a process crash: %+v %v", h2.load(), err)
	}
	l2 := openTestRL(t, fsys)
	if n := len(l2.Snapshots()); n != 1 {
		t.Fatalf("after a process crash: %d snapshots", n)
	}
	fsys.PowerLoss()
	h3, _ := openHardState(fsys, testDir, false)
	l3 := openTestRL(t, fsys)
	if h3.load() != want || len(l3.Snapshots()) != 1 {
		t.Fatalf("after a power loss: %+v, %d snapshots: what was read was not made durable", h3.load(), len(l3.Snapshots()))
	}
}
