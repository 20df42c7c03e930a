package surveil

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// ErrRules marks a rules file that does not parse or holds a value outside
// its documented range.
var ErrRules = errors.New("surveil: bad rules")

// Duration is a time.Duration that reads and writes as a Go duration string
// ("1.5s", "250ms") in a rules file.
type Duration time.Duration

// MarshalText writes the duration as time.Duration.String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// ns returns the duration in nanoseconds, the unit of cluster time.
func (d Duration) ns() int64 { return int64(d) }

// Rules are every detector's parameters. The zero value is not useful;
// start from DefaultRules and override what a rules file names. Each field's
// comment gives its default.
type Rules struct {
	Wash       WashRules       `json:"wash"`
	Spoofing   SpoofingRules   `json:"spoofing"`
	Layering   LayeringRules   `json:"layering"`
	Momentum   MomentumRules   `json:"momentum"`
	Close      CloseRules      `json:"close"`
	OTR        OTRRules        `json:"otr"`
	Burst      BurstRules      `json:"burst"`
	TypicalMin int             `json:"typical_orders_min"` // orders before an account's own typical size is used (default 20); before that, the instrument's
	Linked     [][]string      `json:"linked_accounts"`    // groups of accounts under common control (default none): trades between them are wash trades
	Merge      Duration        `json:"merge_gap"`          // alerts of one type, account and instrument closer than this are merged into one (default 60s)
	Disabled   map[string]bool `json:"disabled"`           // detector types switched off, by Type name (default none)
}

// WashRules configure wash-trade / self-match detection.
type WashRules struct {
	QuantityMin int64 `json:"quantity_min"` // least trade quantity that counts, in lots (default 1)
}

// SpoofingRules configure spoofing detection: a large order resting near the
// touch, an execution by the same account on the opposite side while it
// rests, then the large order cancelled quickly.
type SpoofingRules struct {
	SizeMultiple   float64  `json:"size_multiple"`    // large = at least this multiple of the account's typical order size (default 5)
	NearTouchTicks int64    `json:"near_touch_ticks"` // at most this many ticks behind the same-side best price when placed (default 3)
	CancelWithin   Duration `json:"cancel_within"`    // cancelled at most this long after the opposite execution (default 2s)
	LifetimeMax    Duration `json:"lifetime_max"`     // and at most this long after it was placed (default 30s)
	FilledRatioMax float64  `json:"filled_ratio_max"` // and at most this fraction of it filled (default 0.1)
}

// LayeringRules configure layering detection.
type LayeringRules struct {
	OrdersMin    int      `json:"orders_min"`      // live orders by one account on one side at distinct, consecutive levels (default 3)
	LevelGapMax  int64    `json:"level_gap_ticks"` // most ticks between neighbouring layers for them to be consecutive (default 1)
	CancelWithin Duration `json:"cancel_within"`   // at least OrdersMin of them cancelled within this of the opposite execution (default 2s)
}

// MomentumRules configure momentum-ignition detection.
type MomentumRules struct {
	Window         Duration `json:"window"`          // the aggressive burst happens within this (default 5s)
	OrdersMin      int      `json:"orders_min"`      // aggressive orders in the burst (default 3)
	LevelsMin      int64    `json:"levels_min"`      // price levels swept: ticks between the burst's lowest and highest fill price, plus one (default 4)
	SweepsMin      int      `json:"sweeps_min"`      // orders of the burst that each filled at two or more price levels (default 2)
	VolumeMultiple float64  `json:"volume_multiple"` // the burst's volume is at least this multiple of the account's typical order size (default 10)
	ReverseWithin  Duration `json:"reverse_within"`  // the account trades the other way within this after the burst (default 60s)
}

// CloseRules configure marking-the-close detection. The close is an
// instrument's change to the Closed trading state, as the log records it.
type CloseRules struct {
	Window    Duration `json:"window"`     // the last minutes before the close (default 2m)
	ShareMin  float64  `json:"share_min"`  // the account's share of the window's aggressive volume (default 0.3)
	MoveTicks int64    `json:"move_ticks"` // the closing price moved at least this many ticks from the last price before the window, in the account's direction (default 5)
	VolumeMin int64    `json:"volume_min"` // least aggressive volume by the account in the window, in lots (default 1)
}

// OTRRules configure the order-to-trade ratio (MiFID II RTS 9, article 3):
// per account and instrument over the day, (orders / trades) − 1 by count and
// (order volume / traded volume) − 1 by volume, where orders are every new,
// replace and cancel message.
type OTRRules struct {
	CountLimit  float64 `json:"count_limit"`  // alert when the count ratio reaches this (default 100)
	VolumeLimit float64 `json:"volume_limit"` // alert when the volume ratio reaches this (default 1000)
	OrdersMin   int64   `json:"orders_min"`   // ignore accounts with fewer order messages on the instrument (default 200)
}

// BurstRules configure message-rate burst (quote stuffing) detection.
type BurstRules struct {
	Window      Duration `json:"window"`       // sliding window (default 1s)
	MessagesMax int      `json:"messages_max"` // alert when one account sends this many order messages within Window (default 500)
}

// Bounds on rules values: they size rings and tables.
const (
	burstMessagesMax  = 1 << 16
	layeringOrdersMax = sideOrdersMax
	linkedAccountsMax = 1024
	momentumOrdersMax = burstRingLen
	durationMaxNs     = int64(24 * time.Hour)
)

// DefaultRules returns the documented defaults.
func DefaultRules() Rules {
	return Rules{
		Wash:       WashRules{QuantityMin: 1},
		Spoofing:   SpoofingRules{SizeMultiple: 5, NearTouchTicks: 3, CancelWithin: Duration(2 * time.Second), LifetimeMax: Duration(30 * time.Second), FilledRatioMax: 0.1},
		Layering:   LayeringRules{OrdersMin: 3, LevelGapMax: 1, CancelWithin: Duration(2 * time.Second)},
		Momentum:   MomentumRules{Window: Duration(5 * time.Second), OrdersMin: 3, LevelsMin: 4, SweepsMin: 2, VolumeMultiple: 10, ReverseWithin: Duration(60 * time.Second)},
		Close:      CloseRules{Window: Duration(2 * time.Minute), ShareMin: 0.3, MoveTicks: 5, VolumeMin: 1},
		OTR:        OTRRules{CountLimit: 100, VolumeLimit: 1000, OrdersMin: 200},
		Burst:      BurstRules{Window: Duration(time.Second), MessagesMax: 500},
		TypicalMin: 20,
		Merge:      Duration(60 * time.Second),
	}
}

// ParseRules reads a JSON rules file over the defaults: fields it does not
// name keep their default. Unknown fields are an error, so that a typo does
// not silently leave a default in force.
func ParseRules(data []byte) (Rules, error) {
	r := DefaultRules()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Rules{}, fmt.Errorf("%w: %w", ErrRules, err)
	}
	if dec.More() {
		return Rules{}, fmt.Errorf("%w: trailing data after the rules object", ErrRules)
	}
	if err := r.Validate(); err != nil {
		return Rules{}, err
	}
	return r, nil
}

// Validate checks every value against its range.
func (r *Rules) Validate() error {
	checks := []struct {
		ok   bool
		what string
	}{
		{r.Wash.QuantityMin >= 1, "wash.quantity_min must be >= 1"},
		{r.Spoofing.SizeMultiple >= 1 && r.Spoofing.SizeMultiple <= 1e6, "spoofing.size_multiple must be in 1..1e6"},
		{r.Spoofing.NearTouchTicks >= 0, "spoofing.near_touch_ticks must be >= 0"},
		{durationOK(r.Spoofing.CancelWithin) && durationOK(r.Spoofing.LifetimeMax), "spoofing durations must be in 0..24h"},
		{r.Spoofing.FilledRatioMax >= 0 && r.Spoofing.FilledRatioMax <= 1, "spoofing.filled_ratio_max must be in 0..1"},
		{r.Layering.OrdersMin >= 2 && r.Layering.OrdersMin <= layeringOrdersMax, fmt.Sprintf("layering.orders_min must be in 2..%d", layeringOrdersMax)},
		{r.Layering.LevelGapMax >= 1, "layering.level_gap_ticks must be >= 1"},
		{durationOK(r.Layering.CancelWithin), "layering.cancel_within must be in 0..24h"},
		{durationOK(r.Momentum.Window) && durationOK(r.Momentum.ReverseWithin), "momentum durations must be in 0..24h"},
		{r.Momentum.OrdersMin >= 1 && r.Momentum.OrdersMin <= momentumOrdersMax, fmt.Sprintf("momentum.orders_min must be in 1..%d", momentumOrdersMax)},
		{r.Momentum.LevelsMin >= 2, "momentum.levels_min must be >= 2"},
		{r.Momentum.SweepsMin >= 0 && r.Momentum.SweepsMin <= r.Momentum.OrdersMin, "momentum.sweeps_min must be in 0..orders_min"},
		{r.Momentum.VolumeMultiple >= 0 && r.Momentum.VolumeMultiple <= 1e6, "momentum.volume_multiple must be in 0..1e6"},
		{durationOK(r.Close.Window) && r.Close.Window > 0, "close.window must be in (0, 24h]"},
		{r.Close.ShareMin >= 0 && r.Close.ShareMin <= 1, "close.share_min must be in 0..1"},
		{r.Close.MoveTicks >= 1 && r.Close.VolumeMin >= 1, "close.move_ticks and close.volume_min must be >= 1"},
		{r.OTR.CountLimit >= 0 && r.OTR.VolumeLimit >= 0 && r.OTR.OrdersMin >= 1, "otr limits must be >= 0 and otr.orders_min >= 1"},
		{durationOK(r.Burst.Window) && r.Burst.Window > 0, "burst.window must be in (0, 24h]"},
		{r.Burst.MessagesMax >= 2 && r.Burst.MessagesMax <= burstMessagesMax, fmt.Sprintf("burst.messages_max must be in 2..%d", burstMessagesMax)},
		{r.TypicalMin >= 1, "typical_orders_min must be >= 1"},
		{durationOK(r.Merge), "merge_gap must be in 0..24h"},
		{len(r.Linked) <= linkedAccountsMax, fmt.Sprintf("at most %d linked-account groups", linkedAccountsMax)},
	}
	for _, c := range checks {
		if !c.ok {
			return fmt.Errorf("%w: %s", ErrRules, c.what)
		}
	}
	for name := range r.Disabled {
		if _, ok := typeByName(name); !ok {
			return fmt.Errorf("%w: disabled: unknown detector %q", ErrRules, name)
		}
	}
	for _, g := range r.Linked {
		for _, a := range g {
			if len(a) == 0 || len(a) > nameBytes {
				return fmt.Errorf("%w: linked account %q must be 1..%d bytes", ErrRules, a, nameBytes)
			}
		}
	}
	return nil
}

func durationOK(d Duration) bool { return d >= 0 && d.ns() <= durationMaxNs }

// enabled reports whether detector t runs.
func (r *Rules) enabled(t Type) bool { return !r.Disabled[t.String()] }
