package loadgen

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Via names the way load reaches the venue.
type Via string

// Ways to reach the venue.
const (
	// ViaFIX sends through the FIX gateway, as a member firm would.
	ViaFIX Via = "fix"
	// ViaCluster talks to the cluster client directly, skipping FIX, so
	// that gateway cost and cluster cost can be told apart.
	ViaCluster Via = "cluster"
)

// Defaults of the command line.
const (
	// DefaultTimeout is how long after its intended send time a request
	// is given up on. It is above the gateway's own offer timeout (5 s),
	// so that a gateway's "application not available" reject arrives as
	// an error before the load generator would call it a timeout.
	DefaultTimeout = 10 * time.Second
	// DefaultTargetCompID is the venue's CompID (fixgateway.DemoTargetCompID).
	DefaultTargetCompID = "VENUE"
	// DefaultPassword is the demo sessions' logon password (tag 554).
	DefaultPassword = "demo"
)

// Limits of a run.
const (
	// SessionsMax bounds Config.Sessions: each session costs a Recorder
	// (about 0.9 MB for the four paths) and a quickfixgo session.
	SessionsMax = 64
	// RateMaxPerS bounds Config.RatePerS, messages per second.
	RateMaxPerS = 1_000_000
	// DurationMax bounds Config.Duration and Config.Warmup.
	DurationMax = 24 * time.Hour
	// TimeoutMax bounds Config.Timeout: the histograms top out at 60 s.
	TimeoutMax = 60 * time.Second
	// InFlightPerSessionMax bounds the requests a session has sent and not
	// yet seen answered or given up on. When a session is at the bound
	// the sender waits for room, and the wait is charged to the messages
	// it delays (their intended send times do not move). It also bounds
	// the driver's outbox and what sits in the socket: 256 FIX orders are
	// about 50 KB, within loopback's socket buffers, so quickfixgo's writer
	// is not left blocked in a write (its session would spin meanwhile; see
	// fixQueuedPerSessionMax). More in flight takes more sessions.
	InFlightPerSessionMax = 256
	// OrdersPerSessionMax bounds the orders a session tracks (sent and
	// not yet finished): the default mix stays far below it; a replayed
	// file that wants more skips the new orders beyond it.
	OrdersPerSessionMax = 1 << 16
	// compIDBytesMax bounds a CompID, as the gateway bounds principals.
	compIDBytesMax = 16
	// instrumentsMax bounds Config.Instruments.
	instrumentsMax = 1024
)

// Instrument is one instrument the load trades, as the venue lists it.
// Prices are integers in units of 10^-PriceDecimals.
type Instrument struct {
	Symbol         string `json:"symbol"`
	ID             uint32 `json:"id"`
	PriceDecimals  uint8  `json:"price_decimals"`
	TickSize       int64  `json:"tick_size"`
	LotSize        int64  `json:"lot_size"`
	ReferencePrice int64  `json:"reference_price"`
	BandBps        uint32 `json:"band_bps"`
}

// basisPointsPerUnit converts a band in basis points.
const basisPointsPerUnit = 10_000

// band returns the lowest and highest price on tick inside the price band
// around the reference (the engine's rule: reference ± reference×bps/10⁴,
// inclusive, rounded down).
func (in Instrument) band() (lo, hi int64) {
	if in.BandBps == 0 {
		return in.TickSize, in.ReferencePrice * 2
	}
	half := in.ReferencePrice/basisPointsPerUnit*int64(in.BandBps) +
		in.ReferencePrice%basisPointsPerUnit*int64(in.BandBps)/basisPointsPerUnit
	lo, hi = in.ReferencePrice-half, in.ReferencePrice+half
	lo += (in.TickSize - lo%in.TickSize) % in.TickSize // up to the tick
	hi -= hi % in.TickSize
	return max(lo, in.TickSize), hi
}

// DemoInstruments are the demo venue's instruments (fakecluster.DemoSpec):
// ALPHA, BETA and GAMMA, 2 decimals, tick 0.01, lot 1, reference 100.00,
// band ±10%.
func DemoInstruments() []Instrument {
	var out []Instrument
	for i, sym := range []string{"ALPHA", "BETA", "GAMMA"} {
		out = append(out, Instrument{Symbol: sym, ID: uint32(i + 1), PriceDecimals: 2, TickSize: 1,
			LotSize: 1, ReferencePrice: 10_000, BandBps: 1000})
	}
	return out
}

// DemoCompIDs are the demo gateway's SenderCompIDs, DEMO1..DEMO4
// (fixgateway.DemoCompIDs).
func DemoCompIDs() []string { return []string{"DEMO1", "DEMO2", "DEMO3", "DEMO4"} }

// Config is one run. It is written into summary.json as given (less the
// password and the writers).
type Config struct {
	// Target is the FIX gateway's HOST:PORT (ViaFIX); for ViaCluster, the
	// members' client ingress endpoints, HOST:PORT comma-separated in
	// member id order, or the path of a cluster file (see ClusterIngress).
	Target string `json:"target"`
	// Via is how the load reaches the venue; ViaFIX when empty.
	Via Via `json:"via"`
	// Sessions is how many sessions send, 1..SessionsMax.
	Sessions int `json:"sessions"`
	// RatePerS is the aggregate send rate over all sessions, messages per
	// second (orders, cancels and replaces together).
	RatePerS int `json:"rate_per_s"`
	// Duration is how long the measured part sends.
	Duration time.Duration `json:"duration_ns"`
	// Warmup is sent before the measured part and not measured.
	Warmup time.Duration `json:"warmup_ns"`
	// Timeout is how long after its intended send time a request is given
	// up on; DefaultTimeout when zero.
	Timeout time.Duration `json:"timeout_ns"`
	// FlowFile replays an OBSTRM01 order-flow file instead of the default
	// mix. Its own warm-up records are sent unmeasured too.
	FlowFile string `json:"flow_file,omitempty"`
	// Seed seeds the default mix, so that a run can be repeated.
	Seed uint64 `json:"seed"`
	// CompIDs are the SenderCompIDs, one per session (the first Sessions
	// are used); DemoCompIDs when empty. ViaCluster uses them as the
	// sessions' cluster principals, each trading the account of its own
	// name (as the demo venue's traders do).
	CompIDs []string `json:"comp_ids"`
	// TargetCompID is the venue's CompID; DefaultTargetCompID when empty.
	TargetCompID string `json:"target_comp_id"`
	// Password is sent in the Logon's tag 554; DefaultPassword when empty.
	// ViaCluster sends it in the cluster credentials, principal:password
	// (a cluster without [venue] passwords ignores it).
	Password string `json:"-"`
	// Instruments are what the venue lists; DemoInstruments when empty.
	Instruments []Instrument `json:"instruments"`
	// Cleanup mass-cancels every session's remaining orders after the
	// run (outside the measurement), so repeated runs do not pile orders
	// up on the venue.
	Cleanup bool `json:"cleanup"`
	// ReportDir is where the report is written; none when empty.
	ReportDir string `json:"-"`
	// SkipCharts leaves the PNG/SVG charts out of the report.
	SkipCharts bool `json:"-"`
	// Progress receives one progress line per second; none when nil.
	Progress io.Writer `json:"-"`
	// Abort, when it is closed, stops waiting for outstanding answers
	// after sending stopped (a second Ctrl-C): they are given up on as
	// timeouts at once. Nil waits up to Timeout.
	Abort <-chan struct{} `json:"-"`
}

// ErrConfig marks an invalid run configuration.
var ErrConfig = errors.New("loadgen: bad config")

// Validate reports whether c (with its defaults filled in) can run; errors
// wrap ErrConfig.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults fills the defaults in and validates the result.
func (c Config) withDefaults() (Config, error) {
	if c.Via == "" {
		c.Via = ViaFIX
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if len(c.CompIDs) == 0 {
		c.CompIDs = DemoCompIDs()
	}
	if c.TargetCompID == "" {
		c.TargetCompID = DefaultTargetCompID
	}
	if c.Password == "" {
		c.Password = DefaultPassword
	}
	if len(c.Instruments) == 0 {
		c.Instruments = DemoInstruments()
	}
	c.CompIDs = append([]string(nil), c.CompIDs...)
	c.Instruments = append([]Instrument(nil), c.Instruments...)
	return c, c.validate()
}

func (c Config) validate() error {
	switch {
	case c.Via != ViaFIX && c.Via != ViaCluster:
		return fmt.Errorf("%w: via %q, want %q or %q", ErrConfig, c.Via, ViaFIX, ViaCluster)
	case c.Sessions < 1 || c.Sessions > SessionsMax:
		return fmt.Errorf("%w: %d sessions, want 1..%d", ErrConfig, c.Sessions, SessionsMax)
	case c.Sessions > len(c.CompIDs):
		return fmt.Errorf("%w: %d sessions but only %d CompIDs (%v); name more", ErrConfig, c.Sessions, len(c.CompIDs), c.CompIDs)
	case c.RatePerS < 1 || c.RatePerS > RateMaxPerS:
		return fmt.Errorf("%w: rate %d/s, want 1..%d", ErrConfig, c.RatePerS, RateMaxPerS)
	case c.Duration <= 0 || c.Duration > DurationMax:
		return fmt.Errorf("%w: duration %v, want (0, %v]", ErrConfig, c.Duration, DurationMax)
	case c.Warmup < 0 || c.Warmup > DurationMax:
		return fmt.Errorf("%w: warm-up %v, want [0, %v]", ErrConfig, c.Warmup, DurationMax)
	case c.Timeout <= 0 || c.Timeout > TimeoutMax:
		return fmt.Errorf("%w: timeout %v, want (0, %v]", ErrConfig, c.Timeout, TimeoutMax)
	case len(c.Instruments) == 0 || len(c.Instruments) > instrumentsMax:
		return fmt.Errorf("%w: %d instruments, want 1..%d", ErrConfig, len(c.Instruments), instrumentsMax)
	}
	if err := c.validateTarget(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, id := range c.CompIDs[:c.Sessions] {
		if !validIdentifier(id, compIDBytesMax) || seen[id] {
			return fmt.Errorf("%w: CompID %q empty, too long, repeated or not printable ASCII", ErrConfig, id)
		}
		seen[id] = true
	}
	if !validIdentifier(c.TargetCompID, compIDBytesMax) {
		return fmt.Errorf("%w: TargetCompID %q", ErrConfig, c.TargetCompID)
	}
	for _, in := range c.Instruments {
		if err := in.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (c Config) validateTarget() error {
	if c.Via == ViaCluster {
		// An endpoint list or a cluster file's path: NewClusterDriver reads
		// the file and says what is wrong with it.
		if strings.TrimSpace(c.Target) == "" {
			return fmt.Errorf("%w: empty target: want a cluster file or HOST:PORT,... ingress endpoints", ErrConfig)
		}
		return nil
	}
	host, port, err := net.SplitHostPort(c.Target)
	if err != nil {
		return fmt.Errorf("%w: target %q: %v", ErrConfig, c.Target, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 || host == "" {
		return fmt.Errorf("%w: target %q: want HOST:PORT", ErrConfig, c.Target)
	}
	return nil
}

// priceDecimalsMax bounds Instrument.PriceDecimals (the engine's bound).
const priceDecimalsMax = 9

func (in Instrument) validate() error {
	lo, hi := int64(0), int64(0)
	if in.TickSize > 0 && in.ReferencePrice > 0 {
		lo, hi = in.band()
	}
	switch {
	case !validIdentifier(in.Symbol, compIDBytesMax):
		return fmt.Errorf("%w: instrument symbol %q", ErrConfig, in.Symbol)
	case in.TickSize <= 0 || in.LotSize <= 0 || in.ReferencePrice <= 0 || in.PriceDecimals > priceDecimalsMax:
		return fmt.Errorf("%w: instrument %s: tick, lot and reference must be positive, decimals 0..%d", ErrConfig, in.Symbol, priceDecimalsMax)
	case in.ReferencePrice%in.TickSize != 0 || hi-lo < 2*in.TickSize:
		return fmt.Errorf("%w: instrument %s: reference off tick or band narrower than two ticks", ErrConfig, in.Symbol)
	}
	return nil
}

// validIdentifier: 1..max printable ASCII bytes without spaces, the
// engine's rule for identifiers.
func validIdentifier(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
