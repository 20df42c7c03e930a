package archive

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"venue/transport"
)

// Cut the last frame at every byte offset, fill the rest of the segment with
// garbage, restart: the recording ends at the last whole frame (or keeps the
// last frame when only its alignment padding was cut) and extends correctly.
func TestTornLastFrameAtEveryOffset(t *testing.T) {
	const payloadLength = 301 // frame 333 bytes, 352 aligned: 19 bytes of padding
	frameLength := transport.HeaderLength + payloadLength
	aligned := transport.Align(frameLength, transport.FrameAlignment)
	for cut := 0; cut <= aligned; cut++ {
		sim := NewSimFS(uint64(cut))
		a := openTestArchive(t, sim, "/arch", FsyncData)
		rec, err := a.StartRecording(testParams())
		mustNotErr(t, err, "start")
		s := newStream(t, rec, 9)
		s.record(t, rec, 7, 5)
		pos := s.b.position
		blk := s.b.appendMessage(nil, make([]byte, payloadLength))
		// The data frame is last in the block (a pad may precede it).
		last := pos + transport.Position(len(blk)-aligned)
		s.frames = append(s.frames, bytes.Clone(blk[len(blk)-aligned:][:frameLength]))
		s.starts = append(s.starts, last)
		mustNotErr(t, rec.Append(pos, blk), "append last frame")

		corruptTail(t, sim, rec.ID(), last+transport.Position(cut), uint64(cut))
		sim.PowerLoss() // the process dies with the recording active
		a = openTestArchive(t, sim, "/arch", FsyncData)
		d, err := a.Describe(rec.ID())
		mustNotErr(t, err, "describe")
		want := last
		if cut >= frameLength {
			want = last + transport.Position(aligned)
		}
		if d.StopPosition != want {
			t.Fatalf("cut %d: recovered stop %d, want %d", cut, d.StopPosition, want)
		}
		s.rewind(want)
		rec, err = a.ExtendRecording(rec.ID())
		mustNotErr(t, err, "extend")
		s.record(t, rec, 3, 4)
		mustNotErr(t, rec.Stop(), "stop")
		got := replayAll(t, a, ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded})
		checkReplay(t, got, s, 0, len(s.frames))
		a.Close()
	}
}

// corruptTail overwrites the segment from pos to its end with random bytes,
// durably, as a torn write followed by garbage sectors would leave it.
func corruptTail(t *testing.T, sim *SimFS, id int64, pos transport.Position, seed uint64) {
	t.Helper()
	base := segmentBase(pos, testSegmentLength)
	f, err := sim.OpenFile(fmt.Sprintf("/arch/%s", segmentFileName(id, base)), false)
	mustNotErr(t, err, "open segment")
	garbage := make([]byte, int64(base)+testSegmentLength-int64(pos))
	rng := rand.New(rand.NewPCG(seed, 2))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	_, err = f.WriteAt(garbage, int64(pos-base))
	mustNotErr(t, err, "write garbage")
	mustNotErr(t, f.SyncData(), "sync garbage")
	f.Close()
}

// Power fails at a random file operation, many times over, under each
// syncing policy. After every restart: no byte ever reported durable is
// lost, the recording replays exactly as generated up to its recovered
// stop, and it extends from there.
func TestPowerLossNeverLosesDurableBytes(t *testing.T) {
	seeds := 200
	if testing.Short() {
		seeds = 60
	}
	for seed := range uint64(seeds) {
		policy := []FsyncPolicy{FsyncData, FsyncDataAndMetadata}[seed%2]
		powerLossScenario(t, seed, policy)
	}
}

func powerLossScenario(t *testing.T, seed uint64, policy FsyncPolicy) {
	rng := rand.New(rand.NewPCG(seed, 3))
	sim := NewSimFS(seed)
	a := openTestArchive(t, sim, "/arch", policy)
	p := testParams()
	// Streams are joined anywhere: mid-term, mid-segment.
	p.StartPosition = transport.Position(rng.IntN(3*testSegmentLength/transport.FrameAlignment)) * transport.FrameAlignment
	rec, err := a.StartRecording(p)
	mustNotErr(t, err, "start")
	id := rec.ID()
	s := newStream(t, rec, seed)
	durable := p.StartPosition
	for crash := 0; crash < 4; crash++ {
		sim.CrashAfter(1 + rng.IntN(40))
		for rec != nil {
			pos, blk := s.block(1 + rng.IntN(12))
			err := rec.Append(pos, blk)
			// What the counter says, even after a failed append, is what the
			// cluster would have reported as appended.
			durable = max(durable, rec.DurablePosition(), transport.Position(rec.DurableCounter().Get()))
			if err != nil {
				break // the power failed during this append
			}
		}
		sim.CrashAfter(0)
		a, err = Open(Config{Dir: "/arch", FS: sim, Fsync: policy, SegmentLength: testSegmentLength})
		if err != nil {
			t.Fatalf("seed %d crash %d: reopen: %v", seed, crash, err)
		}
		d, err := a.Describe(id)
		if err != nil {
			t.Fatalf("seed %d crash %d: describe: %v", seed, crash, err)
		}
		if d.StopPosition < durable {
			t.Fatalf("seed %d crash %d: recovered stop %d is before durable position %d", seed, crash, d.StopPosition, durable)
		}
		n := s.countBefore(d.StopPosition)
		got := replayAll(t, a, ReplayParams{RecordingID: id, Position: NullPosition, Length: ReplayLengthUnbounded})
		checkReplay(t, got, s, 0, n)
		s.rewind(d.StopPosition)
		durable = d.StopPosition
		rec, err = a.ExtendRecording(id)
		if err != nil {
			t.Fatalf("seed %d crash %d: extend: %v", seed, crash, err)
		}
	}
	rec.Stop()
	a.Close()
}
