package archive

import (
	"testing"

	"venue/transport"
)

// FuzzControlServer sends arbitrary request bytes from a connected client
// through the transport to a ControlServer: it must never panic, and every
// message it publishes back must decode. The driver runs on a simulated
// network so that fuzzed channels in replay and recording requests never
// touch real sockets.
func FuzzControlServer(f *testing.F) {
	p := testParams()
	p.Channel, p.TermLength = "udp?endpoint=10.0.0.1:4000", netTermLength
	f.Add(AppendStartRecording(nil, 1, p))                                                         // start: subscribes to the channel
	f.Add(AppendRecordingIDRequest(nil, TemplateStopRecording, 2, 0))                              // stop what was started
	f.Add(AppendReplayTo(nil, 3, ReplayParams{Position: NullPosition, Length: -1}, -1, "ipc", 5))  // replay to a channel
	f.Add(AppendReplayTo(nil, 4, ReplayParams{Length: -1}, -1, "udp?endpoint=bad", 5))             // replay to a bad channel
	f.Add(AppendReplay(nil, 5, ReplayParams{Length: -1}, -1))                                      // replay naming no channel
	f.Add(AppendReplayTo(nil, 6, ReplayParams{Length: -1}, -1, "ipc", 5)[:MessageHeaderLength+40]) // a replay cut after the v1 block
	f.Add(AppendConnect(nil, 7, "ipc", 2))                                                         // a second Connect on the same session
	f.Add(AppendConnect(nil, 8, "udp?endpoint=", 2))                                               // a Connect to nowhere: the session is gone
	f.Add(AppendListRecordings(nil, 9, 0, 5))                                                      // list
	f.Add([]byte{1, 2, 3})                                                                         // garbage
	h := newSimHarness(f, 1, transport.SimFaults{})
	d := h.driver(1)
	a, err := Open(Config{Dir: "/arch", FS: NewSimFS(0), SegmentLength: netSegmentLength})
	if err != nil {
		f.Fatal(err)
	}
	s, err := NewControlServer(a, ControlServerConfig{Driver: d, RequestChannel: "ipc", RequestStreamID: 1})
	if err != nil {
		f.Fatal(err)
	}
	h.add(s)
	responses, _ := d.AddSubscription("ipc", 2, transport.SubscriptionOptions{})
	requests, _ := d.AddPublication("ipc", 1)
	// A recording for the requests to act on, started in process.
	rec, err := a.StartRecording(testParamsFor(netTermLength))
	if err != nil {
		f.Fatal(err)
	}
	rec.Stop()
	connect := AppendConnect(nil, 0, "ipc", 2)
	f.Fuzz(func(t *testing.T, req []byte) {
		for _, m := range [][]byte{connect, req} {
			if len(m) == 0 || len(m) > requests.MaxMessageLength() {
				continue
			}
			if _, r := requests.Offer(m); r != transport.OfferOK {
				t.Skipf("offer: %v", r)
			}
			for range 4 {
				h.step(0)
			}
		}
		responses.Poll(func(b []byte, _ *transport.Header) {
			if _, err := DecodeControlMessage(b); err != nil {
				t.Fatalf("the server published an undecodable response: %v", err)
			}
		}, 1<<20)
	})
}

// testParamsFor is testParams with another term length.
func testParamsFor(termLength int32) RecordingParams {
	p := testParams()
	p.TermLength = termLength
	return p
}
