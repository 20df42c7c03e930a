package surveil

import (
	"bytes"
	"testing"
)

// eventTape keeps a day's events (and the market as of the end) so the
// detectors can be timed alone.
type eventTape struct {
	events []Event
	m      *Market
}

func (t *eventTape) OnEvent(ev *Event, m *Market) { t.events = append(t.events, *ev); t.m = m }

// benchDayEvents is the day the benchmarks replay.
const benchDayEvents = 200_000

// BenchmarkDetectors times every detector over a recorded day's events,
// without the engine; one op is one event. (The market is the day's final
// one, so book-dependent checks see a fixed book: a timing, not a
// detection, run.)
func BenchmarkDetectors(b *testing.B) {
	tape := &eventTape{}
	if _, err := GenerateDay(DayConfig{Seed: 1, Events: benchDayEvents, Inject: true}, tape); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for range b.N {
		s := New(DayRules())
		for i := range tape.events {
			s.OnEvent(&tape.events[i], tape.m)
		}
		s.Finish()
		n += len(tape.events)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReplay times a recorded day through a fresh engine, the
// Recorder and every detector; one op is one event.
func BenchmarkReplay(b *testing.B) {
	var log bytes.Buffer
	res, err := GenerateDay(DayConfig{Seed: 1, Events: benchDayEvents, Inject: true, Log: &log}, nopHandler{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s := New(DayRules())
		if _, err := Replay(bytes.NewReader(log.Bytes()), s); err != nil {
			b.Fatal(err)
		}
		s.Finish()
	}
	b.ReportMetric(float64(res.Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
