package transport

import "fmt"

// Transport counter type ids (0..99, stable across releases). System counters
// have one instance per driver; stream counters one per stream (and per
// subscriber for subscriber positions).
const (
	CounterBytesSent              = CounterTypeTransportBase + 0
	CounterBytesReceived          = CounterTypeTransportBase + 1
	CounterDatagramsSent          = CounterTypeTransportBase + 2
	CounterDatagramsReceived      = CounterTypeTransportBase + 3
	CounterNaksSent               = CounterTypeTransportBase + 4
	CounterNaksReceived           = CounterTypeTransportBase + 5
	CounterRetransmits            = CounterTypeTransportBase + 6
	CounterRetransmittedBytes     = CounterTypeTransportBase + 7
	CounterStatusMessagesSent     = CounterTypeTransportBase + 8
	CounterStatusMessagesReceived = CounterTypeTransportBase + 9
	CounterHeartbeatsSent         = CounterTypeTransportBase + 10
	CounterHeartbeatsReceived     = CounterTypeTransportBase + 11
	CounterBackPressureEvents     = CounterTypeTransportBase + 12
	CounterInvalidFrames          = CounterTypeTransportBase + 13
	CounterErrors                 = CounterTypeTransportBase + 14
	CounterSetupsSent             = CounterTypeTransportBase + 15
	CounterSetupsReceived         = CounterTypeTransportBase + 16
	CounterFlowControlOverruns    = CounterTypeTransportBase + 17
	CounterShortSends             = CounterTypeTransportBase + 18
	CounterImageTimeouts          = CounterTypeTransportBase + 19
	CounterLossGaps               = CounterTypeTransportBase + 20
	CounterDuplicateFrames        = CounterTypeTransportBase + 21

	CounterPublisherPosition  = CounterTypeTransportBase + 50
	CounterPublisherLimit     = CounterTypeTransportBase + 51
	CounterSenderPosition     = CounterTypeTransportBase + 52
	CounterSenderLimit        = CounterTypeTransportBase + 53
	CounterReceiverHWM        = CounterTypeTransportBase + 54
	CounterReceiverPosition   = CounterTypeTransportBase + 55
	CounterSubscriberPosition = CounterTypeTransportBase + 56
)

// SystemCounters is the driver-wide counter catalogue. Every drop, loss,
// retransmit and back-pressure event increments exactly one of these.
type SystemCounters struct {
	BytesSent              *Counter
	BytesReceived          *Counter
	DatagramsSent          *Counter
	DatagramsReceived      *Counter
	NaksSent               *Counter
	NaksReceived           *Counter
	Retransmits            *Counter
	RetransmittedBytes     *Counter
	StatusMessagesSent     *Counter
	StatusMessagesReceived *Counter
	HeartbeatsSent         *Counter
	HeartbeatsReceived     *Counter
	BackPressureEvents     *Counter
	InvalidFrames          *Counter
	Errors                 *Counter
	SetupsSent             *Counter
	SetupsReceived         *Counter
	FlowControlOverruns    *Counter
	ShortSends             *Counter
	ImageTimeouts          *Counter
	LossGaps               *Counter
	DuplicateFrames        *Counter
}

// newSystemCounters allocates the catalogue in id order.
func newSystemCounters(m *CountersManager) *SystemCounters {
	a := func(typeID int32, label string) *Counter { return m.MustAllocate(typeID, label) }
	return &SystemCounters{
		BytesSent:              a(CounterBytesSent, "Bytes sent"),
		BytesReceived:          a(CounterBytesReceived, "Bytes received"),
		DatagramsSent:          a(CounterDatagramsSent, "Datagrams sent"),
		DatagramsReceived:      a(CounterDatagramsReceived, "Datagrams received"),
		NaksSent:               a(CounterNaksSent, "NAKs sent"),
		NaksReceived:           a(CounterNaksReceived, "NAKs received"),
		Retransmits:            a(CounterRetransmits, "Retransmits sent"),
		RetransmittedBytes:     a(CounterRetransmittedBytes, "Retransmitted bytes"),
		StatusMessagesSent:     a(CounterStatusMessagesSent, "Status messages sent"),
		StatusMessagesReceived: a(CounterStatusMessagesReceived, "Status messages received"),
		HeartbeatsSent:         a(CounterHeartbeatsSent, "Heartbeats sent"),
		HeartbeatsReceived:     a(CounterHeartbeatsReceived, "Heartbeats received"),
		BackPressureEvents:     a(CounterBackPressureEvents, "Back-pressure events"),
		InvalidFrames:          a(CounterInvalidFrames, "Invalid frames dropped"),
		Errors:                 a(CounterErrors, "Errors"),
		SetupsSent:             a(CounterSetupsSent, "Setup frames sent"),
		SetupsReceived:         a(CounterSetupsReceived, "Setup frames received"),
		FlowControlOverruns:    a(CounterFlowControlOverruns, "Frames dropped beyond receiver window"),
		ShortSends:             a(CounterShortSends, "Short sends"),
		ImageTimeouts:          a(CounterImageTimeouts, "Image liveness timeouts"),
		LossGaps:               a(CounterLossGaps, "Loss gaps detected"),
		DuplicateFrames:        a(CounterDuplicateFrames, "Duplicate frames dropped"),
	}
}

// streamLabel names a per-stream counter: "<kind>: <session> <stream> <channel>".
func streamLabel(kind string, sessionID, streamID int32, channel string) string {
	return fmt.Sprintf("%s: %d %d %s", kind, sessionID, streamID, channel)
}
