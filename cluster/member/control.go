package member

import "venue/transport"

// controlPlane publishes a member's counters to the counters file and
// carries out the cluster tool's requests (Aeron's ClusterControl toggle).
// It runs in the member's duty cycle.
type controlPlane interface {
	DoWork(nowNs int64) int
	OnClose()
}

// newControlPlane is a placeholder until the member's counters land: it
// publishes nothing.
func newControlPlane(*Member, *transport.CountersManager) (controlPlane, error) {
	return nopControl{}, nil
}

type nopControl struct{}

func (nopControl) DoWork(int64) int { return 0 }
func (nopControl) OnClose()         {}
