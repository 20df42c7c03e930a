package member

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeSnapshotBlob: any bytes decode or fail with ErrBadSnapshot,
// never panic, and whatever decodes re-encodes to the same bytes.
func FuzzDecodeSnapshotBlob(f *testing.F) {
	blob := AppendSnapshotBlob(nil, &SnapshotBlob{Position: 4096, TimeNs: 7, Term: 2,
		Sessions: []byte{1, 2}, Container: []byte{1, 2, 3}, Service: []byte("engine")})
	f.Add(blob)                                    // every section
	f.Add(blob[:snapshotHeaderLength])             // a header whose sections are missing
	f.Add([]byte(snapshotMagic))                   // a magic alone
	f.Add(append([]byte("VNSNAP02"), blob[8:]...)) // another version
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeSnapshotBlob(data)
		if err != nil {
			if !errors.Is(err, ErrBadSnapshot) {
				t.Fatalf("error %v does not wrap ErrBadSnapshot", err)
			}
			return
		}
		if back := AppendSnapshotBlob(nil, &b); !bytes.Equal(back, data) {
			t.Fatalf("re-encoded %d bytes differ from the %d decoded", len(back), len(data))
		}
	})
}
