package loadgen

import (
	"errors"
	"testing"
	"time"
)

// sinkFunc adapts functions to Sink.
type sinkFunc struct {
	report func(int, *Report)
	failed func(int, string, error)
}

func (s sinkFunc) OnReport(i int, r *Report) {
	if s.report != nil {
		s.report(i, r)
	}
}

func (s sinkFunc) OnSendFailed(i int, id string, err error) {
	if s.failed != nil {
		s.failed(i, id, err)
	}
}

// A request Send accepted that cannot go out (the session is not logged
// on) comes back to the sink as a send failure, and Stop ends the
// session's goroutine.
func TestFIXDriverReportsLateSendFailures(t *testing.T) {
	d := NewFIXDriver(Config{Sessions: 2, CompIDs: DemoCompIDs(), TargetCompID: "VENUE", Instruments: DemoInstruments()})
	type failure struct {
		s   int
		id  string
		err error
	}
	got := make(chan failure, 1)
	d.sink = sinkFunc{failed: func(s int, id string, err error) { got <- failure{s, id, err} }}
	for i := range d.sessions {
		d.writers.Add(1)
		go d.writer(i)
	}
	if err := d.Send(1, &Request{Kind: RequestNew, ClOrdID: "A", Side: Buy, OrdType: Limit, TIF: Day, Qty: 1, Price: 100}); err != nil {
		t.Fatal(err)
	}
	select {
	case f := <-got:
		if f.s != 1 || f.id != "A" || !errors.Is(f.err, ErrNotLoggedOn) {
			t.Errorf("failure %+v", f)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no send failure reported")
	}
	if err := d.Send(2, &Request{Kind: RequestNew}); !errors.Is(err, ErrConfig) {
		t.Errorf("session out of range: %v", err)
	}
	d.Stop()
	d.Stop() // twice is fine
}

// The queue token: taken per queued message, given back once, and all of
// them forgotten at a logon or logout.
func TestFIXSessionQueueTokens(t *testing.T) {
	s := &fixSession{queued: make(chan struct{}, fixQueuedPerSessionMax)}
	s.queued <- struct{}{}
	s.handedOff()
	s.handedOff() // a spurious hand-off (an admin message) takes nothing
	if len(s.queued) != 0 {
		t.Fatal("token not returned")
	}
	s.queued <- struct{}{}
	s.reset()
	if len(s.queued) != 0 {
		t.Fatal("reset kept a token")
	}
	s.remember(7, "A")
	s.remember(7+seqRingSize, "B") // overwrites the slot
	if s.resolve(7) != "" || s.resolve(7+seqRingSize) != "B" || s.resolve(8) != "" {
		t.Error("sequence ring lookups")
	}
}
