package marketdata

import (
	"strconv"

	"venue/transport"
)

// CounterType is a market-data counter's stable type id, in the range
// transport.CounterTypeVenueBase+0 .. +49 that market data owns.
type CounterType int32

// Publisher counters (300..319).
const (
	CounterPacketsSent CounterType = transport.CounterTypeVenueBase + iota
	CounterUpdatesSent
	CounterSnapshotsSent
	CounterSnapshotEntriesSent
	CounterHeartbeatsSent
	CounterSendErrors
	CounterChangesAbsorbed
	CounterTradesSent
	CounterTradesDropped
	CounterChangesDropped
	CounterLeaderTerms
	CounterBackPressured
)

// Subscriber counters (320..349).
const (
	CounterPacketsReceived CounterType = transport.CounterTypeVenueBase + 20 + iota
	CounterUpdatesApplied
	CounterMalformedDropped
	CounterGapsDetected
	CounterPacketsLost
	CounterRecoveries
	CounterOlderIgnored
	CounterLateOrDuplicate
	CounterSessionChanges
	CounterRetiredSessionDropped
	CounterTradesReceived
	CounterTradeGaps
	CounterInstrumentsDropped
)

// String returns the counter's label.
func (t CounterType) String() string {
	switch t {
	case CounterPacketsSent:
		return "md packets sent"
	case CounterUpdatesSent:
		return "md updates sent"
	case CounterSnapshotsSent:
		return "md snapshots sent"
	case CounterSnapshotEntriesSent:
		return "md snapshot entries sent"
	case CounterHeartbeatsSent:
		return "md heartbeats sent"
	case CounterSendErrors:
		return "md send errors"
	case CounterChangesAbsorbed:
		return "md changes absorbed"
	case CounterTradesSent:
		return "md trades sent"
	case CounterTradesDropped:
		return "md trades dropped"
	case CounterChangesDropped:
		return "md changes dropped"
	case CounterLeaderTerms:
		return "md leader sessions"
	case CounterBackPressured:
		return "md send back-pressured"
	case CounterPacketsReceived:
		return "md packets received"
	case CounterUpdatesApplied:
		return "md updates applied"
	case CounterMalformedDropped:
		return "md malformed dropped"
	case CounterGapsDetected:
		return "md gaps detected"
	case CounterPacketsLost:
		return "md packets lost"
	case CounterRecoveries:
		return "md recoveries"
	case CounterOlderIgnored:
		return "md older updates ignored"
	case CounterLateOrDuplicate:
		return "md late or duplicate packets"
	case CounterSessionChanges:
		return "md session changes"
	case CounterRetiredSessionDropped:
		return "md retired-session packets dropped"
	case CounterTradesReceived:
		return "md trades received"
	case CounterTradeGaps:
		return "md trade gaps"
	case CounterInstrumentsDropped:
		return "md instruments dropped"
	}
	return "CounterType(" + strconv.Itoa(int(t)) + ")"
}

// counterCapacityPrivate sizes the in-memory counters file used when the
// caller supplies none.
const counterCapacityPrivate = 32

// allocate returns a counter of type t from cm, labelled with the role; with
// a nil manager it allocates from a private in-memory one.
func allocate(cm *transport.CountersManager, t CounterType, role string) *transport.Counter {
	c, err := cm.Allocate(int32(t), t.String()+": "+role)
	if err != nil {
		// The manager is full: keep counting privately rather than fail.
		c, _ = transport.NewCountersManager(1).Allocate(int32(t), t.String())
	}
	return c
}

func countersOrPrivate(cm *transport.CountersManager) *transport.CountersManager {
	if cm == nil {
		return transport.NewCountersManager(counterCapacityPrivate)
	}
	return cm
}
