package replay

import (
	"slices"
	"time"
)

// clockOverheadSamples is how many empty intervals overheadNs times to
// find the clock's median cost; a few milliseconds of work.
const clockOverheadSamples = 100_000

// latencyClock is the clock of the per-command latency pass. time.Since of
// a monotonic base reads only the runtime's monotonic clock (one vDSO
// call, about 25-30 ns on this machine), where time.Now also reads the wall
// clock and costs about twice as much; the command being timed takes
// 50-300 ns, so the clock's cost matters.
type latencyClock struct {
	base time.Time
}

func newLatencyClock() latencyClock { return latencyClock{base: time.Now()} }

// nowNs returns nanoseconds since the clock was made.
func (c latencyClock) nowNs() int64 { return int64(time.Since(c.base)) }

// overheadNs returns the median interval the clock reports between two
// back-to-back reads: what one timed sample costs beyond its command. The
// median, not the minimum, because it is what a typical sample pays.
func (c latencyClock) overheadNs() int64 {
	d := make([]int64, clockOverheadSamples)
	for i := range d {
		start := c.nowNs()
		d[i] = c.nowNs() - start
	}
	slices.Sort(d)
	return d[len(d)/2]
}
