package orderbook

import (
	"fmt"
	"strings"
)

// recorder is a Listener that writes every event as one line of text, the
// form the table tests and the reference comparison use.
type recorder struct {
	events []string
}

func (r *recorder) add(format string, args ...any) {
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

func (r *recorder) take() []string {
	ev := r.events
	r.events = nil
	return ev
}

func (r *recorder) OnAccepted(e Accepted) {
	post := ""
	if e.PostOnly {
		post = " post"
	}
	r.add("accepted %d acct=%d %v %v %v px=%d qty=%d%s", e.ID, e.Account, e.Side, e.Type, e.TIF, e.Price, e.Quantity, post)
}

func (r *recorder) OnRejected(e Rejected) { r.add("rejected %d %v %v", e.ID, e.Op, e.Reason) }

func (r *recorder) OnTrade(e Trade) {
	r.add("trade maker=%d taker=%d macct=%d tacct=%d %v px=%d qty=%d mleft=%d tleft=%d",
		e.Maker, e.Taker, e.MakerAccount, e.TakerAccount, e.TakerSide, e.Price, e.Quantity, e.MakerRemaining, e.TakerRemaining)
}

func (r *recorder) OnCancelled(e Cancelled) {
	r.add("cancelled %d acct=%d %v px=%d left=%d %v", e.ID, e.Account, e.Side, e.Price, e.Remaining, e.Reason)
}

func (r *recorder) OnReplaced(e Replaced) {
	kept := "requeued"
	if e.KeptPriority {
		kept = "kept"
	}
	r.add("replaced %d acct=%d %v px=%d qty=%d left=%d %s", e.ID, e.Account, e.Side, e.Price, e.Quantity, e.Remaining, kept)
}

func (r *recorder) OnExpired(e Expired) {
	r.add("expired %d acct=%d %v px=%d left=%d", e.ID, e.Account, e.Side, e.Price, e.Remaining)
}

func (r *recorder) OnLevel(e Level) {
	r.add("level %v %d qty=%d n=%d", e.Side, e.Price, e.Quantity, e.Count)
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
