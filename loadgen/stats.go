package loadgen

import (
	"sort"
	"sync"
	"sync/atomic"

	"venue/reports"
)

// StatsFile is the load generator's own counters in a report directory,
// beside package reports' summary.json: what the latency summary has no
// place for (why requests failed, fills that were not timed, how far the
// sender fell behind, how an order-flow file mapped onto the venue).
const StatsFile = "loadgen.json"

// reasonsMax bounds the distinct reject reasons counted by name; the rest
// are counted under reasonOther.
const reasonsMax = 64

const reasonOther = "(other reasons)"

// Stats are a run's counters. Sent* and the outcomes count the measured part
// only (as summary.json does); WarmupSent, Unmatched and the flow counters
// cover the whole run.
type Stats struct {
	SentNew, SentCancel, SentReplace atomic.Int64
	// WarmupSent counts messages sent before the measured part.
	WarmupSent atomic.Int64
	// Answered counts requests whose answer arrived (rejects included).
	Answered atomic.Int64
	// Errors counts rejects and failed sends; Timeouts, requests given up on.
	Errors, Timeouts atomic.Int64
	// SendFailures counts requests the driver could not send (also errors).
	SendFailures atomic.Int64
	// FillsTimed counts first fills timed on order→fill (traded on
	// arrival); FillsLater counts orders whose first fill came while
	// resting, which are counted and not timed.
	FillsTimed, FillsLater atomic.Int64
	// MarketableUnfilled counts IOC and market orders that found nothing
	// to trade with (cancelled unfilled): answered correctly, no fill.
	MarketableUnfilled atomic.Int64
	// Unmatched counts reports for nothing the load generator tracks:
	// answers that came after their request was given up on, or reports
	// for orders it did not send.
	Unmatched atomic.Int64
	// FlowSkipped counts order-flow records not sent: cancels and amends
	// of orders the venue already finished (or the generator could not
	// track); FlowClamped counts prices moved into the venue's band.
	FlowSkipped, FlowClamped atomic.Int64
	// SlotsEmpty counts scheduled messages the source had nothing to send
	// for (pickAttemptsMax picks in a row came to nothing).
	SlotsEmpty atomic.Int64

	mu      sync.Mutex
	reasons map[string]int64
	sendLag *reports.Hist // actual send time - intended, sender goroutine only
}

func newStats() *Stats {
	return &Stats{reasons: map[string]int64{}, sendLag: reports.NewHistogram()}
}

// reject counts one reject or failure by its reason.
func (s *Stats) reject(kind RequestKind, reason string) {
	key := kind.String() + ": " + reason
	s.mu.Lock()
	if _, ok := s.reasons[key]; !ok && len(s.reasons) >= reasonsMax {
		key = reasonOther
	}
	s.reasons[key]++
	s.mu.Unlock()
}

// recordLag records how late the sender sent one message.
func (s *Stats) recordLag(lagNs int64) {
	s.mu.Lock()
	_ = s.sendLag.RecordValue(min(max(lagNs, 0), s.sendLag.HighestTrackableValue()))
	s.mu.Unlock()
}

// StatsReport is loadgen.json.
type StatsReport struct {
	Sent               map[string]int64 `json:"sent"` // measured, by request kind
	WarmupSent         int64            `json:"warmup_sent"`
	Answered           int64            `json:"answered"`
	Errors             int64            `json:"errors"`
	Timeouts           int64            `json:"timeouts"`
	SendFailures       int64            `json:"send_failures"`
	FillsTimed         int64            `json:"fills_timed"`
	FillsLater         int64            `json:"fills_later_not_timed"`
	MarketableUnfilled int64            `json:"marketable_unfilled"`
	Unmatched          int64            `json:"unmatched_reports"`
	FlowSkipped        int64            `json:"flow_records_skipped,omitempty"`
	FlowClamped        int64            `json:"flow_prices_clamped,omitempty"`
	FlowExhausted      bool             `json:"flow_exhausted,omitempty"`
	SlotsEmpty         int64            `json:"slots_empty"`
	// Rejects counts errors by "request kind: reason".
	Rejects []ReasonCount `json:"rejects"`
	// SendLag is how late the sender sent messages (actual - intended):
	// the part of every latency that the load generator, not the venue,
	// may have caused. Its p99 well above the venue's latencies means the
	// generator could not keep up.
	SendLag reports.Latency `json:"send_lag"`
	// CleanupCanceled is how many orders the closing mass cancel removed.
	CleanupCanceled int64  `json:"cleanup_canceled"`
	CleanupError    string `json:"cleanup_error,omitempty"`
	// Interrupted says the run was stopped before its duration.
	Interrupted bool `json:"interrupted"`
}

// ReasonCount is one reject reason and how often it came.
type ReasonCount struct {
	Reason string `json:"reason"`
	Count  int64  `json:"count"`
}

// report snapshots the counters.
func (s *Stats) report() StatsReport {
	r := StatsReport{
		Sent:       map[string]int64{"new": s.SentNew.Load(), "cancel": s.SentCancel.Load(), "replace": s.SentReplace.Load()},
		WarmupSent: s.WarmupSent.Load(), Answered: s.Answered.Load(), Errors: s.Errors.Load(),
		Timeouts: s.Timeouts.Load(), SendFailures: s.SendFailures.Load(), FillsTimed: s.FillsTimed.Load(),
		FillsLater: s.FillsLater.Load(), MarketableUnfilled: s.MarketableUnfilled.Load(),
		Unmatched: s.Unmatched.Load(), FlowSkipped: s.FlowSkipped.Load(), FlowClamped: s.FlowClamped.Load(),
		SlotsEmpty: s.SlotsEmpty.Load(),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Rejects = make([]ReasonCount, 0, len(s.reasons))
	for k, v := range s.reasons {
		r.Rejects = append(r.Rejects, ReasonCount{Reason: k, Count: v})
	}
	sort.Slice(r.Rejects, func(i, j int) bool {
		if r.Rejects[i].Count != r.Rejects[j].Count {
			return r.Rejects[i].Count > r.Rejects[j].Count
		}
		return r.Rejects[i].Reason < r.Rejects[j].Reason
	})
	r.SendLag = reports.LatencyOf(s.sendLag)
	return r
}

func (s *Stats) countSent(k RequestKind) {
	switch k {
	case RequestNew:
		s.SentNew.Add(1)
	case RequestCancel:
		s.SentCancel.Add(1)
	case RequestReplace:
		s.SentReplace.Add(1)
	}
}

// sentTotal is the measured messages sent.
func (s *Stats) sentTotal() int64 {
	return s.SentNew.Load() + s.SentCancel.Load() + s.SentReplace.Load()
}
