package replay

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"venue/cluster/consensus"
)

// PointKind says what a Point counts in.
type PointKind uint8

// Point kinds.
const (
	PointNone     PointKind = iota // no bound: the log's start (as From) or its end (as To)
	PointPosition                  // a log position, in bytes
	PointTime                      // a cluster time, in ns since the Unix epoch
)

// String returns the kind's name.
func (k PointKind) String() string {
	switch k {
	case PointNone:
		return "none"
	case PointPosition:
		return "position"
	case PointTime:
		return "time"
	}
	return fmt.Sprintf("PointKind(%d)", uint8(k))
}

// Point is a place in the log: a log position or a cluster time.
//
// A position P names the state after every entry that ends at or before P
// (so a snapshot's position names the state it holds); a time T names the
// state after every entry stamped at or before T. As the start of a
// window, a position P admits the entries that end after P and a time T
// those stamped at or after T.
type Point struct {
	Kind  PointKind
	Value int64 // bytes (PointPosition) or ns (PointTime)
}

// AtPosition returns the Point at log position p.
func AtPosition(p consensus.Position) Point { return Point{Kind: PointPosition, Value: int64(p)} }

// AtTime returns the Point at cluster time ns.
func AtTime(ns int64) Point { return Point{Kind: PointTime, Value: ns} }

// IsZero reports whether p is no bound.
func (p Point) IsZero() bool { return p.Kind == PointNone }

// ErrPoint marks a point that does not parse.
var ErrPoint = errors.New("replay: bad point (want @POSITION, RFC3339 time, or nanoseconds)")

// ParsePoint reads a point as the command line writes it:
//
//	""                      no bound
//	@123456                 a log position (bytes)
//	2024-03-01T16:30:00Z    a cluster time, RFC 3339 (fractions allowed)
//	1709310600000000000     a cluster time in ns since the Unix epoch
func ParsePoint(s string) (Point, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return Point{}, nil
	case strings.HasPrefix(s, "@"):
		v, err := strconv.ParseInt(s[1:], 10, 64)
		if err != nil || v < 0 {
			return Point{}, fmt.Errorf("%w: %q: a position is @ and a non-negative byte offset", ErrPoint, s)
		}
		return AtPosition(consensus.Position(v)), nil
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return AtTime(v), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Point{}, fmt.Errorf("%w: %q", ErrPoint, s)
	}
	return AtTime(t.UnixNano()), nil
}

// String writes the point as ParsePoint reads it (a time in RFC 3339, UTC).
func (p Point) String() string {
	switch p.Kind {
	case PointPosition:
		return "@" + strconv.FormatInt(p.Value, 10)
	case PointTime:
		return time.Unix(0, p.Value).UTC().Format(time.RFC3339Nano)
	}
	return ""
}

// covers reports whether the entry ending at end and stamped ts lies at or
// before p (always, for no bound): whether the state at p includes it.
func (p Point) covers(end consensus.Position, ts int64) bool {
	switch p.Kind {
	case PointPosition:
		return int64(end) <= p.Value
	case PointTime:
		return ts <= p.Value
	}
	return true
}

// admits reports whether something at log position end and cluster time
// ts lies after p as the start of a window (always, for no bound).
func (p Point) admits(end int64, ts int64) bool {
	switch p.Kind {
	case PointPosition:
		return end > p.Value
	case PointTime:
		return ts >= p.Value
	}
	return true
}
