package transport

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"
)

func collect(r *CountersReader) []CounterInfo {
	var out []CounterInfo
	r.ForEach(func(c CounterInfo) { out = append(out, c) })
	return out
}

func TestCountersAllocateSetAndRead(t *testing.T) {
	m := NewCountersManager(4)
	a := m.MustAllocate(1, "bytes sent")
	b := m.MustAllocate(2, "naks received")
	a.Add(10)
	a.Increment()
	b.Set(7)
	b.ProposeMax(5) // lower: ignored
	b.ProposeMax(9)

	got := collect(m.Reader())
	want := []CounterInfo{{ID: 0, TypeID: 1, Label: "bytes sent", Value: 11}, {ID: 1, TypeID: 2, Label: "naks received", Value: 9}}
	if len(got) != len(want) {
		t.Fatalf("got %d counters, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("counter %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestCountersFullAndReuse(t *testing.T) {
	m := NewCountersManager(2)
	a := m.MustAllocate(1, "a")
	m.MustAllocate(1, "b")
	if _, err := m.Allocate(1, "c"); !errors.Is(err, ErrCountersFull) {
		t.Fatalf("third allocation: err %v, want ErrCountersFull", err)
	}
	a.Set(42)
	m.Free(a)
	c, err := m.Allocate(3, "c")
	if err != nil {
		t.Fatalf("allocation after free: %v", err)
	}
	if c.ID() != a.ID() || c.Get() != 0 {
		t.Fatalf("reused counter id %d value %d, want id %d value 0", c.ID(), c.Get(), a.ID())
	}
	labels := []string{}
	m.Reader().ForEach(func(ci CounterInfo) { labels = append(labels, ci.Label) })
	if strings.Join(labels, ",") != "c,b" {
		t.Fatalf("labels %v, want [c b]", labels)
	}
}

func TestCountersLabelIsCut(t *testing.T) {
	m := NewCountersManager(1)
	m.MustAllocate(1, strings.Repeat("x", CounterLabelLengthMax+50))
	got := collect(m.Reader())
	if len(got[0].Label) != CounterLabelLengthMax {
		t.Fatalf("label length %d, want %d", len(got[0].Label), CounterLabelLengthMax)
	}
}

func TestCountersFileIsReadableFromOutside(t *testing.T) {
	path := filepath.Join(t.TempDir(), CountersFileName)
	m, err := CreateCountersFile(path, 8)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := m.MustAllocate(5, "commit position")

	r, err := OpenCountersFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c.Set(1234) // written after the reader mapped the file: a shared mapping sees it
	got := collect(r)
	if len(got) != 1 || got[0].Label != "commit position" || got[0].Value != 1234 || got[0].TypeID != 5 {
		t.Fatalf("reader saw %+v", got)
	}
	if r.OwnerPID() <= 0 {
		t.Fatalf("owner pid %d", r.OwnerPID())
	}
}

func TestOpenCountersFileRejectsForeignFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenCountersFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file opened")
	}
	for name, data := range map[string][]byte{
		"short":     []byte("VNCNTR01"),
		"bad magic": make([]byte, 4096),
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenCountersFile(p); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}

// FuzzCountersReader feeds arbitrary bytes to the counters-file parser: it
// must reject or read them, never panic or read out of bounds.
func FuzzCountersReader(f *testing.F) {
	m := NewCountersManager(3)
	m.MustAllocate(1, "one").Set(1)
	m.MustAllocate(2, "two").Set(2)
	f.Add(append([]byte(nil), m.buf...)) // a valid file with two counters
	f.Add([]byte(countersMagic))         // magic only, truncated header
	f.Add(make([]byte, countersHeaderLength))
	f.Fuzz(func(t *testing.T, data []byte) {
		words := make([]uint64, (len(data)+7)/8+1)
		buf := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)[:len(data)] // 8-byte aligned copy, as a mapping is
		copy(buf, data)
		r, err := newCountersReader(buf)
		if err != nil {
			return
		}
		r.ForEach(func(c CounterInfo) {
			if len(c.Label) > CounterLabelLengthMax {
				t.Fatalf("label of %d bytes", len(c.Label))
			}
		})
	})
}
