package replay

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadSnapView: any bytes either decode or fail with ErrSnapshotView;
// never a panic, and a decoded view's books decode or fail the same way.
func FuzzReadSnapView(f *testing.F) {
	h := writeByHand(f, 300, 100)
	snap := h.direct.AppendSnapshot(nil)
	f.Add(snap)                                           // a real engine's state: instruments, parties, live orders
	f.Add(snap[:len(snap)/2])                             // cut in the middle
	f.Add([]byte("VNSN\x02\x00\x00\x00\x00\x00\x00\x00")) // a newer version
	f.Add(bytes.Repeat([]byte{0xff}, 64))                 // garbage
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := readSnapView(data)
		if err != nil {
			return
		}
		for _, in := range v.instruments {
			if orders, err := readBookOrders(in.book); err == nil {
				levelsOf(orders)
			}
		}
		v.order(1)
		v.accountName(-1)
	})
}

// FuzzReadBookOrders: a book snapshot decodes or fails; never a panic.
func FuzzReadBookOrders(f *testing.F) {
	h := writeByHand(f, 300, 100)
	v, err := readSnapView(h.direct.AppendSnapshot(nil))
	if err != nil {
		f.Fatal(err)
	}
	for _, in := range v.instruments {
		f.Add(in.book) // a real book with resting orders
	}
	f.Add([]byte("OBSN")) // a magic and nothing else
	f.Fuzz(func(t *testing.T, data []byte) {
		if orders, err := readBookOrders(data); err == nil {
			levelsOf(orders)
		}
	})
}

// FuzzVerifySegments: whatever a segment file holds, verification reports
// a problem or passes; it never panics and fails only on I/O.
func FuzzVerifySegments(f *testing.F) {
	h := writeByHand(f, 300, 100)
	first, err := os.ReadFile(filepath.Join(h.dir, segName0))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(first)                                         // a full segment of real entries
	f.Add(first[:segHeaderRegion+1000])                  // cut inside the data region
	f.Add(first[:segHeaderBytes])                        // the header only
	f.Add(append([]byte(segMagic), make([]byte, 56)...)) // a magic with a bad checksum
	// One directory for every input: inputs run one at a time in a fuzz
	// worker, and a fresh t.TempDir per input (a mkdir and a recursive
	// removal) made this target run a few hundred inputs a second.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, segName0), data, 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := VerifySegments(dir)
		if err != nil {
			t.Fatalf("verification failed on a readable file: %v", err)
		}
		if v.Problem == nil && v.Skipped == "" && v.End > v.Start && int64(v.End) > int64(len(data)) {
			t.Fatalf("verified to %d in a file of %d bytes", v.End, len(data))
		}
	})
}

// segName0 is the name of the segment at base 0.
const segName0 = "log-00000000000000000000.seg"

// FuzzParsePoint: any string parses or fails with ErrPoint, and a parsed
// point writes back to itself.
func FuzzParsePoint(f *testing.F) {
	for _, s := range []string{"", "@0", "@99", "2024-03-01T16:30:00Z", "1709310600000000000", "@-3", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePoint(s)
		if err != nil || p.IsZero() {
			return
		}
		if back, err := ParsePoint(p.String()); err != nil || back != p {
			t.Fatalf("%q -> %v -> %q -> %v (%v)", s, p, p.String(), back, err)
		}
	})
}
