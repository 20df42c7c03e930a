package archive

import (
	"io"
	"testing"

	"venue/transport"
)

const benchPayloadLength = 200 // the venue's typical order message

// benchParams is a stream with 1 MiB terms.
func benchParams() RecordingParams {
	p := testParams()
	p.TermLength = 1 << 20
	return p
}

// BenchmarkAppend records 64 KiB blocks of 200-byte messages with no fsync:
// the archive's own cost per message. It allocates nothing per message.
func BenchmarkAppend(b *testing.B) {
	a, err := Open(Config{Dir: b.TempDir(), Fsync: FsyncNone, SegmentLength: 16 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	rec, _ := a.StartRecording(benchParams())
	d := rec.Descriptor()
	fb := newFrameBuilder(&d, 0)
	payload := make([]byte, benchPayloadLength)
	const blockLength = 64 << 10
	block := make([]byte, 0, blockLength)
	msgsPerBlock := blockLength / transport.Align(transport.HeaderLength+benchPayloadLength, transport.FrameAlignment)
	b.SetBytes(blockLength)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		block = block[:0]
		pos := fb.position
		for range msgsPerBlock {
			block = fb.appendMessageInPlace(block, payload)
		}
		if err := rec.Append(pos, block); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*msgsPerBlock)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkReplayPoll replays 32 MiB of 200-byte messages from the page
// cache. It allocates nothing per message.
func BenchmarkReplayPoll(b *testing.B) {
	a, err := Open(Config{Dir: b.TempDir(), Fsync: FsyncNone, SegmentLength: 16 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	rec, _ := a.StartRecording(benchParams())
	d := rec.Descriptor()
	fb := newFrameBuilder(&d, 0)
	payload := make([]byte, benchPayloadLength)
	block := make([]byte, 0, 64<<10)
	for fb.position < 32<<20 {
		block = block[:0]
		pos := fb.position
		for range 256 {
			block = fb.appendMessageInPlace(block, payload)
		}
		if err := rec.Append(pos, block); err != nil {
			b.Fatal(err)
		}
	}
	rec.Stop()
	var bytesSeen int
	h := func(frame []byte, _ transport.Position) { bytesSeen += len(frame) }
	b.SetBytes(int64(fb.position))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		r, err := a.OpenReplay(ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Poll(h, 1024); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
	}
}

// Append and Poll allocate nothing per call in steady state (on the OS file
// system: SimFS keeps a copy of each write for its power-loss model).
func TestHotPathsDoNotAllocate(t *testing.T) {
	a, err := Open(Config{Dir: t.TempDir(), Fsync: FsyncNone, SegmentLength: 1 << 20})
	mustNotErr(t, err, "open")
	defer a.Close()
	rec, _ := a.StartRecording(benchParams())
	d := rec.Descriptor()
	fb := newFrameBuilder(&d, 0)
	payload := make([]byte, benchPayloadLength)
	block := make([]byte, 0, 4096)
	appendAllocs := testing.AllocsPerRun(200, func() {
		block = block[:0]
		pos := fb.position
		for range 4 {
			block = fb.appendMessageInPlace(block, payload)
		}
		if err := rec.Append(pos, block); err != nil {
			t.Fatal(err)
		}
	})
	rec.Stop()
	r, _ := a.OpenReplay(ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded})
	defer r.Close()
	h := func([]byte, transport.Position) {}
	pollAllocs := testing.AllocsPerRun(200, func() { r.Poll(h, 4) })
	if appendAllocs != 0 || pollAllocs != 0 {
		t.Errorf("allocations per call: Append %.1f, Poll %.1f; want 0", appendAllocs, pollAllocs)
	}
}
