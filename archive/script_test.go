package archive

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"venue/transport"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/*.txt scripts")

// TestScripts runs the archive scripts in testdata: each case is a command,
// a "----" line, and the exact output expected, ending at a blank line.
// Lines starting with # are prose. Run with -rewrite to regenerate.
func TestScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no scripts in testdata")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScript(t, file) })
	}
}

func runScript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	mustNotErr(t, err, "read script")
	h := &scriptHarness{t: t, sim: NewSimFS(1), streams: map[int64]*stream{}}
	h.open()
	defer func() { h.a.Close() }()
	var out strings.Builder
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			continue
		}
		if i+1 >= len(lines) || lines[i+1] != "----" {
			t.Fatalf("%s:%d: command %q not followed by ----", file, i+1, line)
		}
		var want []string
		j := i + 2
		for ; j < len(lines) && lines[j] != ""; j++ {
			want = append(want, lines[j])
		}
		got := h.run(line)
		if !*rewrite && got != strings.Join(want, "\n") {
			t.Errorf("%s:%d: %s\n got:\n%s\nwant:\n%s", file, i+1, line, got, strings.Join(want, "\n"))
		}
		fmt.Fprintf(&out, "%s\n----\n%s\n", line, got)
		i = j - 1
	}
	if *rewrite {
		mustNotErr(t, os.WriteFile(file, []byte(out.String()), 0o644), "rewrite")
	}
}

type scriptHarness struct {
	t       *testing.T
	sim     *SimFS
	a       *Archive
	recs    map[int64]*Recording
	streams map[int64]*stream
}

// scriptPayloadLength makes every frame 160 bytes aligned, so positions in
// scripts are easy to follow: 25 frames and a 96-byte pad per 4 KiB term.
const scriptPayloadLength = 100

func (h *scriptHarness) open() {
	h.a = openTestArchive(h.t, h.sim, "/arch", FsyncData)
	h.recs = map[int64]*Recording{}
}

func (h *scriptHarness) run(line string) string {
	fields := strings.Fields(line)
	args := map[string]string{}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		args[k] = v
	}
	num := func(k string) int64 {
		n, err := strconv.ParseInt(args[k], 10, 64)
		if err != nil {
			h.t.Fatalf("%q: argument %s: %v", line, k, err)
		}
		return n
	}
	switch fields[0] {
	case "start":
		p := testParams()
		p.Channel, p.StreamID = args["channel"], int32(num("stream"))
		rec, err := h.a.StartRecording(p)
		if err != nil {
			return "error: " + err.Error()
		}
		h.recs[rec.ID()] = rec
		h.streams[rec.ID()] = newStream(h.t, rec, 0)
		return fmt.Sprintf("recording %d", rec.ID())
	case "record":
		return h.record(num("id"), int(num("messages")))
	case "stop":
		rec := h.recs[num("id")]
		if err := rec.Stop(); err != nil {
			return "error: " + err.Error()
		}
		delete(h.recs, rec.ID())
		return fmt.Sprintf("stopped at %d", rec.RecordedPosition())
	case "extend":
		rec, err := h.a.ExtendRecording(num("id"))
		if err != nil {
			return "error: " + err.Error()
		}
		h.recs[rec.ID()] = rec
		h.streams[rec.ID()].rewind(rec.RecordedPosition())
		return fmt.Sprintf("extending at %d", rec.RecordedPosition())
	case "crash":
		h.sim.PowerLoss()
		h.open()
		return "power lost and came back; archive reopened"
	case "restart":
		h.a.Close()
		h.open()
		return "archive closed and reopened"
	case "describe":
		d, err := h.a.Describe(num("id"))
		if err != nil {
			return "error: " + err.Error()
		}
		return describeLine(d)
	case "list":
		var lines []string
		for _, d := range h.a.List(0, 100) {
			lines = append(lines, describeLine(d))
		}
		return strings.Join(lines, "\n")
	case "find":
		id, ok := h.a.FindLastMatching(0, args["channel"], int32(num("stream")))
		return fmt.Sprintf("found=%v id=%d", ok, id)
	case "truncate":
		return errLine(h.a.Truncate(num("id"), transport.Position(num("pos"))))
	case "purge":
		start, err := h.a.Purge(num("id"), transport.Position(num("pos")))
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("start=%d", start)
	case "delete":
		return errLine(h.a.Delete(num("id")))
	case "segments":
		bases, _ := h.a.segmentFiles(num("id"))
		return fmt.Sprint(bases)
	case "replay":
		return h.replay(num("id"))
	}
	h.t.Fatalf("unknown command %q", line)
	return ""
}

func (h *scriptHarness) record(id int64, messages int) string {
	rec, s := h.recs[id], h.streams[id]
	payload := make([]byte, scriptPayloadLength)
	for range messages {
		pos := s.b.position
		blk := s.b.appendMessage(nil, payload)
		n := len(blk) - transport.Align(transport.HeaderLength+scriptPayloadLength, transport.FrameAlignment)
		s.frames = append(s.frames, blk[n:][:transport.HeaderLength+scriptPayloadLength])
		s.starts = append(s.starts, pos+transport.Position(n))
		if err := rec.Append(pos, blk); err != nil {
			return "error: " + err.Error()
		}
	}
	return fmt.Sprintf("recorded=%d durable=%d", rec.RecordedPosition(), rec.DurablePosition())
}

func (h *scriptHarness) replay(id int64) string {
	d, err := h.a.Describe(id)
	if err != nil {
		return "error: " + err.Error()
	}
	got := replayAll(h.t, h.a, ReplayParams{RecordingID: id, Position: NullPosition, Length: ReplayLengthUnbounded})
	s := h.streams[id]
	first := s.countBefore(d.StartPosition)
	checkReplay(h.t, got, s, first, s.countBefore(d.StopPosition)-first)
	return fmt.Sprintf("%d frames from %d to %d, equal to those recorded", len(got), d.StartPosition, d.StopPosition)
}

func describeLine(d Descriptor) string {
	return fmt.Sprintf("id=%d state=%s stream=%d channel=%s start=%d stop=%d", d.RecordingID, d.State, d.StreamID, d.Channel, d.StartPosition, d.StopPosition)
}

func errLine(err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return "ok"
}
