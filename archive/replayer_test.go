package archive

import (
	"bytes"
	"testing"
	"time"

	"venue/transport"
)

// memorySink collects offered blocks into a byte image of the stream,
// refusing every other offer to exercise back pressure.
type memorySink struct {
	image   []byte
	offers  int
	refuse  bool
	maxSeen int
}

func (m *memorySink) accept(pos transport.Position, n int) bool {
	m.offers++
	if m.refuse && m.offers%2 == 1 {
		return false
	}
	if int(pos) != len(m.image) {
		panic("sink got a block that is not contiguous")
	}
	m.maxSeen = max(m.maxSeen, n)
	return true
}

func (m *memorySink) OfferBlock(pos transport.Position, block []byte) bool {
	if !m.accept(pos, len(block)) {
		return false
	}
	m.image = append(m.image, block...)
	return true
}

func (m *memorySink) AppendPadding(pos transport.Position, length int) bool {
	if !m.accept(pos, transport.HeaderLength) {
		return false
	}
	m.image = append(m.image, make([]byte, length)...)
	return true
}

// The replayer agent copies a recording into a back-pressured sink, block by
// bounded block, and every data frame arrives byte for byte at its position.
func TestReplayerAgentToSink(t *testing.T) {
	a := openTestArchive(t, NewSimFS(60), "/arch", FsyncData)
	defer a.Close()
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 60)
	s.record(t, rec, 40, 10)
	rec.Stop()
	r, err := a.OpenReplay(ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded})
	mustNotErr(t, err, "open")
	var done bool
	var doneErr error
	p := NewReplayer("replayer", func(_ *Replay, err error) { done, doneErr = true, err })
	p.blockLengthMax = 4 << 10
	sink := &memorySink{refuse: true}
	mustNotErr(t, p.Add(r, sink), "add")
	deadline := time.Now().Add(10 * time.Second)
	for !done {
		p.DoWork(0)
		if time.Now().After(deadline) {
			t.Fatalf("replay to sink unfinished by the deadline at %d", len(sink.image))
		}
	}
	mustNotErr(t, doneErr, "replay")
	if sink.maxSeen > p.blockLengthMax {
		t.Fatalf("a block of %d bytes exceeded the %d-byte bound", sink.maxSeen, p.blockLengthMax)
	}
	if transport.Position(len(sink.image)) != s.b.position {
		t.Fatalf("sink holds %d bytes, recorded %d", len(sink.image), s.b.position)
	}
	for i, f := range s.frames {
		if got := sink.image[s.starts[i]:][:len(f)]; !bytes.Equal(got, f) {
			t.Fatalf("frame %d at %d differs in the sink", i, s.starts[i])
		}
	}
	a.mu.Lock()
	readers := a.readers[rec.ID()]
	a.mu.Unlock()
	if readers != 0 {
		t.Fatalf("the finished replay still holds the recording (%d readers)", readers)
	}
}
