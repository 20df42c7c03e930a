package surveil

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// Replaying the recorded log of a day through a fresh engine gives the
// same events and the same alerts as watching the day live.
func TestReplayEqualsLive(t *testing.T) {
	var log bytes.Buffer
	live := New(DayRules())
	res, err := GenerateDay(DayConfig{Seed: 5, Events: scenarioEvents / 2, Inject: true, Log: &log}, live)
	if err != nil {
		t.Fatal(err)
	}
	replayed := New(DayRules())
	rr, err := Replay(bytes.NewReader(log.Bytes()), replayed)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Events != res.Events {
		t.Fatalf("replay handed on %d events, live %d", rr.Events, res.Events)
	}
	a, b := live.Finish(), replayed.Finish()
	if len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Fatalf("alerts differ: live %d, replayed %d", len(a), len(b))
	}
}

// A log cut anywhere inside a record is an error, not a shorter day.
func TestReplayTruncated(t *testing.T) {
	var log bytes.Buffer
	if _, err := GenerateDay(DayConfig{Seed: 5, Events: 100, Log: &log}, nopHandler{}); err != nil {
		t.Fatal(err)
	}
	full := log.Bytes()
	for _, cut := range []int{3, len(logMagic) + 2, len(full) - 1, len(full) - logRecordHeader} {
		if _, err := Replay(bytes.NewReader(full[:cut]), nopHandler{}); !errors.Is(err, ErrLog) {
			t.Errorf("cut at %d of %d: err = %v, want ErrLog", cut, len(full), err)
		}
	}
}

type nopHandler struct{}

func (nopHandler) OnEvent(*Event, *Market) {}

// FuzzReplay: any bytes either replay or fail with ErrLog; never a panic.
func FuzzReplay(f *testing.F) {
	var day bytes.Buffer
	if _, err := GenerateDay(DayConfig{Seed: 1, Events: 50, Log: &day}, nopHandler{}); err != nil {
		f.Fatal(err)
	}
	seeds := [][]byte{
		day.Bytes(),               // a short generated day: set-up and some flow
		day.Bytes()[:day.Len()/2], // the same, cut mid-way
		[]byte(logMagic + "\x00"), // an empty log with no admin
		[]byte("VSVLOG02\x00"),    // a newer magic
		append([]byte(logMagic+"\x00\x09"), make([]byte, logRecordHeader)...),                    // unknown record kind
		append([]byte(logMagic+"\x00\x02"), append(make([]byte, 24), 0xff, 0xff, 0xff, 0x7f)...), // huge payload length
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Replay(bytes.NewReader(data), New(DefaultRules())); err != nil && !errors.Is(err, ErrLog) {
			t.Fatalf("error %v does not wrap ErrLog", err)
		}
	})
}
