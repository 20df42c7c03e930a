package fixgateway

import (
	"fmt"

	"venue/transport"
)

// Gateway counter type ids (350..399 of the venue range, stable across
// releases). Every refusal, drop and back-pressure event increments one.
const (
	CounterLogons          = transport.CounterTypeVenueBase + 50 // logons accepted
	CounterLogonsRejected  = transport.CounterTypeVenueBase + 51 // wrong or missing password, venue not ready
	CounterUnknownCompIDs  = transport.CounterTypeVenueBase + 52 // connections for no configured session
	CounterMessagesIn      = transport.CounterTypeVenueBase + 53 // FIX application messages received
	CounterGatewayRejects  = transport.CounterTypeVenueBase + 54 // answered by the gateway itself (3, j, 8, 9, r)
	CounterCommandsOffered = transport.CounterTypeVenueBase + 55 // engine commands accepted by the cluster client
	CounterBackPressure    = transport.CounterTypeVenueBase + 56 // offers refused as back pressured / not connected
	CounterReportsOut      = transport.CounterTypeVenueBase + 57 // engine reports sent to FIX sessions
	CounterUnknownOutcomes = transport.CounterTypeVenueBase + 58 // commands whose outcome the cluster could not tell
	CounterReoffers        = transport.CounterTypeVenueBase + 59 // commands offered again after a status query said unknown
	CounterUnavailable     = transport.CounterTypeVenueBase + 60 // commands refused: cluster unreachable within the offer timeout
	CounterLeaderChanges   = transport.CounterTypeVenueBase + 61 // new-leader events
	CounterUndeliverable   = transport.CounterTypeVenueBase + 62 // reports for a principal this gateway does not carry
	CounterMalformedEgress = transport.CounterTypeVenueBase + 63 // egress the gateway could not decode
	CounterAnswerTimeouts  = transport.CounterTypeVenueBase + 64 // commands without an answer in time (then resolved)
	CounterSendFailures    = transport.CounterTypeVenueBase + 65 // quickfixgo refused an outbound message
	CounterQueueFull       = transport.CounterTypeVenueBase + 66 // FIX messages refused: a bounded queue was full
	CounterStatusRefused   = transport.CounterTypeVenueBase + 67 // SessionStatus the engine refused (not applied)
	CounterStoreFailures   = transport.CounterTypeVenueBase + 68 // inbound sequence numbers the FIX store could not persist
	CounterSlowConsumers   = transport.CounterTypeVenueBase + 69 // connections dropped for not reading what they are sent
	CounterStatuses        = transport.CounterTypeVenueBase + 70 // SessionStatus (logon, logoff) commands queued
	CounterStatusAcks      = transport.CounterTypeVenueBase + 71 // SessionStatus commands the engine acknowledged
	CounterWireWaitsCut    = transport.CounterTypeVenueBase + 72 // waits for quickfixgo's writer given up after wireWaitMax
	CounterJournalFaults   = transport.CounterTypeVenueBase + 73 // faults on a journal's mapped window (file cut, disk error): pwrite from then on
)

// counters is the gateway's catalogue.
type counters struct {
	logons, logonsRejected, unknownCompIDs, messagesIn, gatewayRejects *transport.Counter
	offered, backPressure, reportsOut, unknownOutcomes, reoffers       *transport.Counter
	unavailable, leaderChanges, undeliverable, malformedEgress         *transport.Counter
	answerTimeouts, sendFailures, queueFull, sessionStatusRefused      *transport.Counter
	storeFailures, slowConsumers, statuses, statusAcks                 *transport.Counter
	wireWaitsCut, journalFaults                                        *transport.Counter
}

// newCounters allocates the catalogue in m, labelled with the gateway's
// name; with m nil it uses a private manager (counters still count).
func newCounters(m *transport.CountersManager, name string) (*counters, error) {
	const privateCapacity = 32 // more than the catalogue holds
	if m == nil {
		m = transport.NewCountersManager(privateCapacity)
	}
	c := &counters{}
	for _, d := range []struct {
		p     **transport.Counter
		id    int32
		label string
	}{
		{&c.logons, CounterLogons, "logons"},
		{&c.logonsRejected, CounterLogonsRejected, "logons rejected"},
		{&c.unknownCompIDs, CounterUnknownCompIDs, "unknown CompIDs"},
		{&c.messagesIn, CounterMessagesIn, "FIX messages in"},
		{&c.gatewayRejects, CounterGatewayRejects, "gateway rejects"},
		{&c.offered, CounterCommandsOffered, "commands offered"},
		{&c.backPressure, CounterBackPressure, "offer back pressure"},
		{&c.reportsOut, CounterReportsOut, "reports out"},
		{&c.unknownOutcomes, CounterUnknownOutcomes, "unknown outcomes"},
		{&c.reoffers, CounterReoffers, "reoffers after status"},
		{&c.unavailable, CounterUnavailable, "cluster unavailable"},
		{&c.leaderChanges, CounterLeaderChanges, "leader changes"},
		{&c.undeliverable, CounterUndeliverable, "undeliverable reports"},
		{&c.malformedEgress, CounterMalformedEgress, "malformed egress"},
		{&c.answerTimeouts, CounterAnswerTimeouts, "answer timeouts"},
		{&c.sendFailures, CounterSendFailures, "FIX send failures"},
		{&c.queueFull, CounterQueueFull, "refused: queue full"},
		{&c.sessionStatusRefused, CounterStatusRefused, "session status refused"},
		{&c.storeFailures, CounterStoreFailures, "FIX store failures"},
		{&c.slowConsumers, CounterSlowConsumers, "slow consumers dropped"},
		{&c.statuses, CounterStatuses, "session statuses"},
		{&c.statusAcks, CounterStatusAcks, "session status acks"},
		{&c.wireWaitsCut, CounterWireWaitsCut, "writer waits cut short"},
		{&c.journalFaults, CounterJournalFaults, "journal window faults"},
	} {
		ctr, err := m.Allocate(d.id, "fixgateway "+name+": "+d.label)
		if err != nil {
			return nil, fmt.Errorf("fixgateway: counters: %w", err)
		}
		*d.p = ctr
	}
	return c, nil
}

// Stats is a snapshot of the gateway's counters.
type Stats struct {
	Logons, LogonsRejected, UnknownCompIDs, MessagesIn, GatewayRejects int64
	Offered, BackPressure, ReportsOut, UnknownOutcomes, Reoffers       int64
	Unavailable, LeaderChanges, Undeliverable, MalformedEgress         int64
	AnswerTimeouts, SendFailures, QueueFull, SessionStatusRefused      int64
	StoreFailures, SlowConsumers, SessionStatuses, SessionStatusAcks   int64
	WireWaitsCut, JournalFaults                                        int64
}

// Stats returns the gateway's counters now.
func (g *Gateway) Stats() Stats {
	c := g.ctr
	return Stats{
		Logons: c.logons.Get(), LogonsRejected: c.logonsRejected.Get(), UnknownCompIDs: c.unknownCompIDs.Get(),
		MessagesIn: c.messagesIn.Get(), GatewayRejects: c.gatewayRejects.Get(), Offered: c.offered.Get(),
		BackPressure: c.backPressure.Get(), ReportsOut: c.reportsOut.Get(), UnknownOutcomes: c.unknownOutcomes.Get(),
		Reoffers: c.reoffers.Get(), Unavailable: c.unavailable.Get(), LeaderChanges: c.leaderChanges.Get(),
		Undeliverable: c.undeliverable.Get(), MalformedEgress: c.malformedEgress.Get(),
		AnswerTimeouts: c.answerTimeouts.Get(), SendFailures: c.sendFailures.Get(), QueueFull: c.queueFull.Get(),
		SessionStatusRefused: c.sessionStatusRefused.Get(), StoreFailures: c.storeFailures.Get(),
		SlowConsumers: c.slowConsumers.Get(), SessionStatuses: c.statuses.Get(), SessionStatusAcks: c.statusAcks.Get(),
		WireWaitsCut: c.wireWaitsCut.Get(), JournalFaults: c.journalFaults.Get(),
	}
}
