package archive

import (
	"testing"
	"time"

	"venue/transport"
)

// memorySource is a BlockSource over a stream already in memory, standing in
// for a transport Image.
type memorySource struct {
	data  []byte
	start transport.Position // position of data[0]
	off   int
	polls int
}

func (m *memorySource) BlockPoll(h BlockHandler, lengthMax int) int {
	m.polls++
	end := m.off
	for end < len(m.data) {
		n := transport.Align(int(transport.FrameHeader(m.data[end:]).FrameLength()), transport.FrameAlignment)
		if end+n-m.off > lengthMax {
			break
		}
		end += n
	}
	if end == m.off || h(m.start+transport.Position(m.off), m.data[m.off:end]) != nil {
		return 0
	}
	n := end - m.off
	m.off = end
	return n
}

// The recorder agent drains its sources, backs off for the retry interval
// when the disk is full, resumes without losing a byte, and stops its
// recordings when closed.
func TestRecorderAgentRetriesWhenDiskFull(t *testing.T) {
	sim := NewSimFS(20)
	a := openTestArchive(t, sim, "/arch", FsyncData)
	defer a.Close()
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 20)
	var data []byte
	for range 400 {
		_, blk := s.block(1)
		data = append(data, blk...)
	}
	src := &memorySource{data: data}
	var failures []error
	r := NewRecorder("recorder", func(_ *Recording, err error) { failures = append(failures, err) })
	r.blockLengthMax = 8 << 10
	mustNotErr(t, r.Add(rec, src), "add")

	sim.SetSpaceLimit(sim.Used() + testSegmentLength) // one more segment fits
	now := int64(0)
	for range 50 {
		r.DoWork(now)
	}
	stuck := rec.RecordedPosition()
	if a.DiskFullCount() == 0 || stuck == 0 || int(stuck) >= len(data) {
		t.Fatalf("disk full count %d, recorded %d of %d", a.DiskFullCount(), stuck, len(data))
	}
	polls := src.polls
	r.DoWork(now + diskFullRetryIntervalNs - 1)
	if src.polls != polls {
		t.Fatal("the recorder polled again before the retry interval")
	}
	sim.SetSpaceLimit(0)
	now += diskFullRetryIntervalNs
	deadline := time.Now().Add(10 * time.Second)
	for rec.RecordedPosition() < transport.Position(len(data)) {
		r.DoWork(now)
		if time.Now().After(deadline) {
			t.Fatalf("recorded %d of %d by the deadline", rec.RecordedPosition(), len(data))
		}
	}
	r.OnClose()
	if len(failures) != 0 {
		t.Fatalf("failures: %v", failures)
	}
	checkReplay(t, replayAll(t, a, ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded}), s, 0, len(s.frames))
}

// A failed sync drops the session, stops the recording at its durable
// position and tells the error handler.
func TestRecorderAgentReportsFailure(t *testing.T) {
	sim := NewSimFS(21)
	a := openTestArchive(t, sim, "/arch", FsyncData)
	defer a.Close()
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 21)
	_, blk := s.block(10)
	var failed *Recording
	r := NewRecorder("recorder", func(rr *Recording, err error) { failed = rr })
	r.Add(rec, &memorySource{data: blk})
	sim.FailSyncs(1, errTestSync)
	r.DoWork(0)
	if failed != rec {
		t.Fatal("the error handler was not told")
	}
	if d, _ := a.Describe(rec.ID()); d.StopPosition != 0 {
		t.Fatalf("stopped at %d, want the durable position 0", d.StopPosition)
	}
	done, err := r.Remove(rec)
	mustNotErr(t, err, "remove")
	r.DoWork(1)
	mustNotErr(t, <-done, "remove result")
}

var errTestSync = &testError{"injected sync failure"}

type testError struct{ s string }

func (e *testError) Error() string { return e.s }
