package orderbook

import (
	"fmt"
	"slices"
	"strings"
)

// event is one listener call, kept as a comparable value so that long
// random runs compare cheaply; it is formatted only for scripts and
// failure messages.
type event struct {
	kind      byte // 'A'ccepted, 'R'ejected, 'T'rade, 'C'ancelled, 'P' replaced, 'X' expired, 'L'evel
	accepted  Accepted
	rejected  Rejected
	trade     Trade
	cancelled Cancelled
	replaced  Replaced
	expired   Expired
	level     Level
}

// recorder is a Listener that keeps every event in order.
type recorder struct {
	events []event
}

// take returns the events recorded since the last take.
func (r *recorder) take() []event {
	ev := r.events
	r.events = nil
	return ev
}

func (r *recorder) OnAccepted(e Accepted) { r.events = append(r.events, event{kind: 'A', accepted: e}) }
func (r *recorder) OnRejected(e Rejected) { r.events = append(r.events, event{kind: 'R', rejected: e}) }
func (r *recorder) OnTrade(e Trade)       { r.events = append(r.events, event{kind: 'T', trade: e}) }
func (r *recorder) OnCancelled(e Cancelled) {
	r.events = append(r.events, event{kind: 'C', cancelled: e})
}
func (r *recorder) OnReplaced(e Replaced) { r.events = append(r.events, event{kind: 'P', replaced: e}) }
func (r *recorder) OnExpired(e Expired)   { r.events = append(r.events, event{kind: 'X', expired: e}) }
func (r *recorder) OnLevel(e Level)       { r.events = append(r.events, event{kind: 'L', level: e}) }

// String formats an event as one script line.
func (ev event) String() string {
	switch ev.kind {
	case 'A':
		e := ev.accepted
		post := ""
		if e.PostOnly {
			post = " post"
		}
		return fmt.Sprintf("accepted %d acct=%d %v %v %v px=%d qty=%d%s", e.ID, e.Account, e.Side, e.Type, e.TIF, e.Price, e.Quantity, post)
	case 'R':
		e := ev.rejected
		return fmt.Sprintf("rejected %d %v %v", e.ID, e.Op, e.Reason)
	case 'T':
		e := ev.trade
		s := fmt.Sprintf("trade maker=%d taker=%d macct=%d tacct=%d %v px=%d qty=%d mleft=%d tleft=%d",
			e.Maker, e.Taker, e.MakerAccount, e.TakerAccount, e.TakerSide, e.Price, e.Quantity, e.MakerRemaining, e.TakerRemaining)
		if e.MakerTag != 0 {
			// Only when set, so that scripts, whose orders have none, need
			// not mention it.
			s += fmt.Sprintf(" mtag=%#x", e.MakerTag)
		}
		return s
	case 'C':
		e := ev.cancelled
		return fmt.Sprintf("cancelled %d acct=%d %v px=%d left=%d %v", e.ID, e.Account, e.Side, e.Price, e.Remaining, e.Reason)
	case 'P':
		e := ev.replaced
		kept := "requeued"
		if e.KeptPriority {
			kept = "kept"
		}
		return fmt.Sprintf("replaced %d acct=%d %v px=%d qty=%d left=%d %s", e.ID, e.Account, e.Side, e.Price, e.Quantity, e.Remaining, kept)
	case 'X':
		e := ev.expired
		return fmt.Sprintf("expired %d acct=%d %v px=%d left=%d", e.ID, e.Account, e.Side, e.Price, e.Remaining)
	case 'L':
		e := ev.level
		return fmt.Sprintf("level %v %d qty=%d n=%d", e.Side, e.Price, e.Quantity, e.Count)
	}
	return "unknown event"
}

func formatEvents(evs []event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.String()
	}
	return out
}

// diffRecorded returns "" if the two event sequences are equal, or a
// readable comparison.
func diffRecorded(got, want []event) string {
	if slices.Equal(got, want) {
		return ""
	}
	if d := diffEvents(formatEvents(got), formatEvents(want)); d != "" {
		return d
	}
	// The events differ in a field the format leaves out.
	return fmt.Sprintf("events differ in an unformatted field\n got: %+v\nwant: %+v", got, want)
}

// diffEvents returns "" if got equals want, or a readable comparison.
func diffEvents(got, want []string) string {
	n := max(len(got), len(want))
	for i := 0; i < n; i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("event %d differs\n got: %s\nwant: %s\nall got:\n  %s\nall want:\n  %s",
				i, g, w, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
	return ""
}
