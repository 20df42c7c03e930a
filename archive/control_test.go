package archive

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"venue/transport"
)

// describeResponse renders a response as one script line.
func describeResponse(b []byte) string {
	m, err := DecodeControlMessage(b)
	if err != nil {
		return "undecodable: " + err.Error()
	}
	switch m.TemplateID() {
	case TemplateControlResponse:
		if e := m.Err(); e != nil {
			return fmt.Sprintf("error corr=%d code=%d", m.CorrelationID(), m.ErrorCode())
		}
		return fmt.Sprintf("ok corr=%d relevant=%d", m.CorrelationID(), m.RelevantID())
	case TemplateRecordingDescriptor:
		d := m.Descriptor()
		return fmt.Sprintf("descriptor corr=%d id=%d stream=%d start=%d stop=%d state=%s channel=%s",
			m.CorrelationID(), d.RecordingID, d.StreamID, d.StartPosition, d.StopPosition, d.State, d.Channel)
	}
	return "unexpected " + m.TemplateID().String()
}

// The control protocol, as a script: each request and the exact responses.
func TestControlScript(t *testing.T) {
	a := openTestArchive(t, NewSimFS(40), "/arch", FsyncData)
	defer a.Close()
	cm := transport.NewCountersManager(8)
	commit := cm.MustAllocate(transport.CounterTypeClusterBase, "commit")
	ctl := NewControl(a, func(id int32) (PositionReader, bool) {
		return commit, id == commit.ID()
	})
	defer ctl.Close()
	p := testParams()
	var frameEnd transport.Position
	steps := []struct {
		name    string
		request func() []byte
		want    string
		after   func()
	}{
		{"start", func() []byte { return AppendStartRecording(nil, 1, p) }, "ok corr=1 relevant=0", func() {
			rec, ok := ctl.Recording(0)
			if !ok {
				t.Fatal("control does not hand out the recording it started")
			}
			s := newStream(t, rec, 40)
			s.record(t, rec, 3, 3)
			frameEnd = s.starts[1]
		}},
		{"truncate while recording", func() []byte { return AppendPositionRequest(nil, TemplateTruncate, 2, 0, 0) },
			fmt.Sprintf("error corr=2 code=%d", ErrorRecordingActive), nil},
		{"stop", func() []byte { return AppendRecordingIDRequest(nil, TemplateStopRecording, 3, 0) }, "ok corr=3 relevant=0", nil},
		{"describe", func() []byte { return AppendRecordingIDRequest(nil, TemplateDescribe, 4, 0) },
			"descriptor corr=4 id=0 stream=7 start=0 stop=STOP state=valid channel=venue:ipc?alias=log\nok corr=4 relevant=0", nil},
		{"describe unknown", func() []byte { return AppendRecordingIDRequest(nil, TemplateDescribe, 5, 9) },
			fmt.Sprintf("error corr=5 code=%d", ErrorUnknownRecording), nil},
		{"find last", func() []byte { return AppendFindLastMatching(nil, 6, 0, "alias=log", 7) }, "ok corr=6 relevant=0", nil},
		{"replay bounded by counter", func() []byte {
			return AppendReplay(nil, 7, ReplayParams{RecordingID: 0, Position: NullPosition, Length: ReplayLengthUnbounded}, commit.ID())
		}, "ok corr=7 relevant=1", func() {
			r, _ := ctl.Replay(1)
			commit.Set(int64(frameEnd))
			n, err := r.Poll(func([]byte, transport.Position) {}, 100)
			if n != 1 || err != nil {
				t.Fatalf("bounded replay handed %d frames (%v), want 1", n, err)
			}
		}},
		{"replay with an unknown counter", func() []byte {
			return AppendReplay(nil, 8, ReplayParams{RecordingID: 0, Position: NullPosition, Length: ReplayLengthUnbounded}, 99)
		}, fmt.Sprintf("error corr=8 code=%d", ErrorInvalidParams), nil},
		{"stop replay", func() []byte { return AppendRecordingIDRequest(nil, TemplateStopReplay, 9, 1) }, "ok corr=9 relevant=1", nil},
		{"stop it again", func() []byte { return AppendRecordingIDRequest(nil, TemplateStopReplay, 10, 1) },
			fmt.Sprintf("error corr=10 code=%d", ErrorUnknownReplay), nil},
		{"truncate inside a frame", func() []byte { return AppendPositionRequest(nil, TemplateTruncate, 11, 0, frameEnd+32) },
			fmt.Sprintf("error corr=11 code=%d", ErrorInvalidPosition), nil},
		{"truncate", func() []byte { return AppendPositionRequest(nil, TemplateTruncate, 12, 0, frameEnd) }, "ok corr=12 relevant=FRAMEEND", nil},
		{"extend", func() []byte { return AppendRecordingIDRequest(nil, TemplateExtendRecording, 13, 0) }, "ok corr=13 relevant=0", nil},
		{"recording position", func() []byte { return AppendRecordingIDRequest(nil, TemplateRecordingPosition, 17, 0) }, "ok corr=17 relevant=FRAMEEND", nil},
		{"list", func() []byte { return AppendListRecordings(nil, 14, 0, 10) },
			"descriptor corr=14 id=0 stream=7 start=0 stop=-1 state=valid channel=venue:ipc?alias=log\nok corr=14 relevant=1", nil},
		{"unknown template", func() []byte {
			b := AppendListRecordings(nil, 15, 0, 10)
			b[headerTemplateIDOffset] = 99
			return b
		}, fmt.Sprintf("error corr=15 code=%d", ErrorUnknownTemplate), nil},
		{"truncated request", func() []byte { return AppendListRecordings(nil, 16, 0, 10)[:20] },
			fmt.Sprintf("error corr=16 code=%d", ErrorMalformed), nil},
	}
	for _, st := range steps {
		var got []string
		ctl.Handle(st.request(), func(b []byte) { got = append(got, describeResponse(b)) })
		d, _ := a.Describe(0)
		want := strings.ReplaceAll(st.want, "STOP", fmt.Sprint(d.StopPosition))
		want = strings.ReplaceAll(want, "FRAMEEND", fmt.Sprint(frameEnd))
		if g := strings.Join(got, "\n"); g != want {
			t.Fatalf("%s:\n got: %s\nwant: %s", st.name, g, want)
		}
		if st.after != nil {
			st.after()
		}
	}
}

// A remote error matches the same sentinel as a local one.
func TestControlErrorMatchesSentinel(t *testing.T) {
	b := AppendControlResponse(nil, 1, 0, errorCodeOf(fmt.Errorf("x: %w", ErrRecordingActive)), "busy")
	m, err := DecodeControlMessage(b)
	mustNotErr(t, err, "decode")
	if !errors.Is(m.Err(), ErrRecordingActive) || m.Err().Error() != "busy" {
		t.Fatalf("remote error %v does not match ErrRecordingActive", m.Err())
	}
}

func TestControlCodecRoundTrip(t *testing.T) {
	p := testParams()
	p.StartPosition = 4096
	m, err := DecodeControlMessage(AppendStartRecording(nil, 77, p))
	if err != nil || m.CorrelationID() != 77 || m.RecordingParams() != p {
		t.Fatalf("start recording round trip: %+v, %v", m.RecordingParams(), err)
	}
	d := testDescriptor(5)
	m, err = DecodeControlMessage(AppendRecordingDescriptor(nil, 3, &d))
	if err != nil || m.Descriptor() != d {
		t.Fatalf("descriptor round trip: %+v, %v", m.Descriptor(), err)
	}
	rp := ReplayParams{RecordingID: 4, Position: 64, Length: 128, Follow: true}
	m, _ = DecodeControlMessage(AppendReplay(nil, 1, rp, 3))
	if got, counter := m.ReplayParams(); got != rp || counter != 3 {
		t.Fatalf("replay round trip: %+v %d", got, counter)
	}
	// A newer peer's longer block still decodes; the string is found after it.
	longer := AppendFindLastMatching(nil, 9, 2, "frag", 7)
	longer[headerBlockLengthOffset] += 8
	longer = append(longer[:MessageHeaderLength+findBlockLength], append(make([]byte, 8), longer[MessageHeaderLength+findBlockLength:]...)...)
	m, err = DecodeControlMessage(longer)
	if minID, frag, stream := m.FindParams(); err != nil || minID != 2 || frag != "frag" || stream != 7 {
		t.Fatalf("longer block: %d %q %d, %v", minID, frag, stream, err)
	}
}

// FuzzControlMessage hands arbitrary bytes to the control server: it must
// never panic and must answer every request with exactly one
// ControlResponse, last, echoing the correlation id when there is one.
func FuzzControlMessage(f *testing.F) {
	p := testParams()
	f.Add(AppendStartRecording(nil, 1, p))                                                        // a valid start
	f.Add(AppendStartRecording(nil, 1, p)[:30])                                                   // a start cut mid-block
	f.Add(AppendRecordingIDRequest(nil, TemplateDescribe, 2, 0))                                  // describe
	f.Add(AppendPositionRequest(nil, TemplateTruncate, 3, 0, 64))                                 // truncate
	f.Add(AppendListRecordings(nil, 4, 0, 5))                                                     // list
	f.Add(AppendFindLastMatching(nil, 5, 0, "ipc", 7))                                            // find last
	f.Add(AppendReplay(nil, 6, ReplayParams{Position: NullPosition, Length: -1}, -1))             // replay
	f.Add(AppendControlResponse(nil, 7, 0, ErrorNone, ""))                                        // a response sent as a request
	f.Add(AppendConnect(nil, 8, "udp?endpoint=127.0.0.1:1", 9))                                   // connect: a no-op in process
	f.Add(AppendReplayTo(nil, 9, ReplayParams{Position: NullPosition, Length: -1}, -1, "ipc", 3)) // replay naming a destination
	// a replicate naming a source, a live channel and a replay channel (refused in process)
	f.Add(AppendReplicate(nil, 10, ReplicateRequest{SourceChannel: "udp?endpoint=127.0.0.1:1", SourceStreamID: 2,
		SourceRecordingID: 0, DestinationRecordingID: NullRecordingID, Follow: true,
		LiveChannel: "udp?endpoint=127.0.0.1:3", ReplayChannel: "udp?endpoint=127.0.0.1:4"}))
	// a stop replication of an id that does not exist
	f.Add(AppendRecordingIDRequest(nil, TemplateStopReplication, 11, 7))
	f.Add([]byte{})                          // nothing
	f.Add(make([]byte, MessageHeaderLength)) // a zero header
	f.Fuzz(func(t *testing.T, req []byte) {
		a, err := Open(Config{Dir: "/arch", FS: NewSimFS(0), SegmentLength: testSegmentLength})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		ctl := NewControl(a, nil)
		defer ctl.Close()
		// A recording to act on.
		ctl.Handle(AppendStartRecording(nil, 100, p), func([]byte) {})
		var last ControlMessage
		responses := 0
		ctl.Handle(req, func(b []byte) {
			m, err := DecodeControlMessage(b)
			if err != nil {
				t.Fatalf("the server emitted an undecodable response: %v", err)
			}
			if last != nil && last.TemplateID() == TemplateControlResponse {
				t.Fatal("a response after the ControlResponse")
			}
			last = append(ControlMessage(nil), m...)
			responses++
		})
		if last == nil || last.TemplateID() != TemplateControlResponse {
			t.Fatalf("no final ControlResponse after %d responses", responses)
		}
		if m, err := DecodeControlMessage(req); (err == nil || errors.Is(err, ErrUnknownTemplate)) && last.CorrelationID() != m.CorrelationID() {
			t.Fatalf("correlation id %d, request had %d", last.CorrelationID(), m.CorrelationID())
		}
	})
}
