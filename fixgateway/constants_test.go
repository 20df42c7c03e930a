package fixgateway

import (
	"testing"

	"venue/engine"
)

// TestConstants: the bounds fit together.
func TestConstants(t *testing.T) {
	for _, c := range []struct {
		what string
		ok   bool
	}{
		// One session can fill its window without the ingress refusing first.
		{"IngressQueueCapacity >= SessionInFlightMax", IngressQueueCapacity >= SessionInFlightMax},
		// A burst of answers to a full window fits quickfixgo's queue.
		{"SessionQueuedMax >= SessionInFlightMax", SessionQueuedMax >= SessionInFlightMax},
		{"0 < offerQuantum <= agentBatch", 0 < offerQuantum && offerQuantum <= agentBatch},
		{"agentBatch <= IngressQueueCapacity", agentBatch <= IngressQueueCapacity},
		{"0 < agentParkMin < agentParkMax", 0 < agentParkMin && agentParkMin < agentParkMax},
		// Timeouts are checked well within their own length.
		{"timerCheckInterval < DefaultOfferTimeout/10", timerCheckInterval < DefaultOfferTimeout/10},
		{"DefaultOfferTimeout < DefaultAnswerTimeout", DefaultOfferTimeout < DefaultAnswerTimeout},
		// A slow client is dropped before the answers it holds up time out.
		{"SlowConsumerTimeout < DefaultAnswerTimeout", SlowConsumerTimeout < DefaultAnswerTimeout},
		{"sessionStatusesMax >= 2 (a logoff and the next logon)", sessionStatusesMax >= 2},
		// Waiting for the writer sleeps several times before giving up, and
		// gives up long before a slow client is dropped.
		{"0 < wireSleep < wireWaitMax/4", 0 < wireSleep && wireSleep < wireWaitMax/4},
		{"wireWaitMax < SlowConsumerTimeout/10", wireWaitMax < SlowConsumerTimeout/10},
		{"wireYieldsMax > 0", wireYieldsMax > 0},
		{"commandBufferBytes holds every command the gateway sends", commandBufferBytes >= max(engine.NewOrderLength,
			engine.CancelOrderLength, engine.ReplaceOrderLength, engine.MassCancelLength, engine.OrderStatusRequestLength)},
		{"fieldBytesMax holds a timestamp", fieldBytesMax >= len(fixTimestampMicros)},
		{"fieldBytesMax holds an int64", fieldBytesMax >= len("-9223372036854775808.")},
	} {
		if !c.ok {
			t.Errorf("constants: %s does not hold", c.what)
		}
	}
}
