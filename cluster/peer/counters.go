package peer

import "sync/atomic"

// Counters is a snapshot of a Transport's counters. Every message is either
// sent or counted by the reason it was not, and every received message is
// either delivered (Received) or counted by the reason it was dropped.
type Counters struct {
	// Sent: messages offered successfully.
	Sent uint64
	// SendBackPressured: a receiver is a whole window behind.
	SendBackPressured uint64
	// SendNotConnected: no receiver on that member's endpoint (yet).
	SendNotConnected uint64
	// SendRejected: unknown destination or Self, message longer than
	// MessageLengthMax, closed publication or transport.
	SendRejected uint64
	// Received: messages delivered to the Poll handler.
	Received uint64
	// WrongSource: the claimed sender is not a configured member other than
	// Self, or the stream does not come from that member's host.
	WrongSource uint64
	// BadMAC: a secret is set and the trailer does not match.
	BadMAC uint64
	// Malformed: not a consensus message, truncated, shorter than the MAC,
	// or a fragmented message longer than the largest allowed.
	Malformed uint64
	// Unassembled: a fragmented message from a member's host on an image
	// that had no reassembly slot (all imagesMax held by proven images).
	Unassembled uint64
	// ImagesEvicted: an image lost its slot to a newer one before it
	// delivered a valid message (many streams from members' hosts).
	ImagesEvicted uint64

	// Log multicast (all zero when it is off). On the leader:

	// MulticastSent: AppendLogs offered to the group.
	MulticastSent uint64
	// MulticastSendFailed: the group refused an AppendLog (back pressure,
	// not connected); the follower got it by unicast instead.
	MulticastSendFailed uint64
	// MulticastSkipped: AppendLogs to a follower not sent because the group
	// already carried them to it (unicast copies saved).
	MulticastSkipped uint64
	// MulticastUnicast: AppendLogs that went by unicast with multicast on
	// (catch-up, a lagging follower, a failed group offer; also counted in
	// Sent when offered).
	MulticastUnicast uint64

	// On a follower:

	// MulticastReceived: group messages delivered (also in Received).
	MulticastReceived uint64
	// MulticastHeld: group log that arrived ahead of the log this member
	// was handed (its own stream still on the way) and was held for the
	// stream to reach it: delivered then (MulticastReceived), or dropped
	// if it never does (MulticastAhead).
	MulticastHeld uint64
	// MulticastAhead: group log dropped because it starts beyond the log
	// this member was handed and could not be held (it lags; the hold is
	// full), or was held but newer log replaced it or its term ended;
	// consensus heals the gap.
	MulticastAhead uint64
	// MulticastDropped: authenticated group messages that are not
	// AppendLog (the group carries only the log).
	MulticastDropped uint64
}

// counters are updated by Send and Poll and read from any goroutine.
type counters struct {
	sent, sendBackPressured, sendNotConnected, sendRejected atomic.Uint64
	received, wrongSource, badMAC, malformed                atomic.Uint64
	unassembled, imagesEvicted                              atomic.Uint64
	multicastSent, multicastSendFailed                      atomic.Uint64
	multicastSkipped, multicastUnicast                      atomic.Uint64
	multicastReceived, multicastAhead, multicastDropped     atomic.Uint64
	multicastHeld                                           atomic.Uint64
}

// Counters returns a snapshot of the counters (safe from any goroutine).
func (t *Transport) Counters() Counters {
	c := &t.counters
	return Counters{
		Sent: c.sent.Load(), SendBackPressured: c.sendBackPressured.Load(),
		SendNotConnected: c.sendNotConnected.Load(), SendRejected: c.sendRejected.Load(),
		Received: c.received.Load(), WrongSource: c.wrongSource.Load(),
		BadMAC: c.badMAC.Load(), Malformed: c.malformed.Load(),
		Unassembled: c.unassembled.Load(), ImagesEvicted: c.imagesEvicted.Load(),
		MulticastSent: c.multicastSent.Load(), MulticastSendFailed: c.multicastSendFailed.Load(),
		MulticastSkipped: c.multicastSkipped.Load(), MulticastUnicast: c.multicastUnicast.Load(),
		MulticastReceived: c.multicastReceived.Load(), MulticastAhead: c.multicastAhead.Load(),
		MulticastDropped: c.multicastDropped.Load(), MulticastHeld: c.multicastHeld.Load(),
	}
}
