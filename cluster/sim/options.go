package sim

import "fmt"

// Simulator bounds, in virtual time.
const (
	stepNs               = 1_000_000      // the simulator's clock advances in 1 ms steps
	faultIntervalNs      = 20_000_000     // faults are drawn every 20 ms
	safetyPhaseNs        = 3_000_000_000  // faults run for 3 s
	livenessBudgetNs     = 10_000_000_000 // then, healed, the cluster must settle within 10 s
	clientTimeoutNs      = 400_000_000    // a proposal not acknowledged by then has an unknown outcome
	clientOutstandingMax = 64
	pausedPacketsMax     = 512 // a paused member's socket buffer, in packets
)

// Options are a run's fault parameters, all derived from its seed.
type Options struct {
	Seed           uint64
	Members        int
	Loss           Ratio // per packet
	Duplicate      Ratio // per packet
	DelayMinNs     int64
	DelayMaxNs     int64 // jitter up to this reorders packets
	SyncDelayMaxNs int64 // a log append becomes durable after up to this
	Partition      Ratio // per fault interval: change the partition
	OneWay         Ratio // a new partition blocks one direction only
	Heal           Ratio // per fault interval: remove all partitions
	Crash          Ratio // per fault interval: crash a member
	Restart        Ratio // per fault interval: restart a crashed member
	Pause          Ratio // per fault interval: pause or resume a member
	ClientEveryNs  int64 // the client proposes this often
	ClientBurst    int   // this many messages at a time
	ClockSkewMaxNs int64 // each member incarnation's clock is ahead by up to this
}

// OptionsFromSeed draws a run's fault options from its seed.
func OptionsFromSeed(seed uint64) Options {
	r := NewRand(seed ^ 0x5eed)
	o := Options{Seed: seed, Members: 3}
	if r.Intn(2) == 1 {
		o.Members = 5
	}
	o.Loss = Ratio{uint32(r.Intn(25)), 100}
	o.Duplicate = Ratio{uint32(r.Intn(10)), 100}
	o.DelayMinNs = r.Between(50_000, 500_000)
	o.DelayMaxNs = o.DelayMinNs + r.Between(0, 5_000_000)
	o.SyncDelayMaxNs = r.Between(0, 5_000_000)
	o.Partition = Ratio{uint32(r.Intn(16)), 100}
	o.OneWay = Ratio{uint32(r.Intn(50)), 100}
	o.Heal = Ratio{uint32(r.Between(2, 15)), 100}
	o.Crash = Ratio{uint32(r.Intn(12)), 100}
	o.Restart = Ratio{uint32(r.Between(5, 30)), 100}
	o.Pause = Ratio{uint32(r.Intn(8)), 100}
	o.ClientEveryNs = r.Between(500_000, 5_000_000)
	o.ClientBurst = int(r.Between(1, 8))
	o.ClockSkewMaxNs = r.Between(0, 2_000_000_000)
	return o
}

// String returns the Options's name, as used in traces and counters.
func (o Options) String() string {
	return fmt.Sprintf("seed=%d members=%d loss=%d/%d dup=%d/%d delay=[%d,%d]ns sync<=%dns "+
		"partition=%d/%d oneway=%d/%d heal=%d/%d crash=%d/%d restart=%d/%d pause=%d/%d client=%dx%dns skew<=%dns",
		o.Seed, o.Members, o.Loss.Num, o.Loss.Den, o.Duplicate.Num, o.Duplicate.Den, o.DelayMinNs,
		o.DelayMaxNs, o.SyncDelayMaxNs, o.Partition.Num, o.Partition.Den, o.OneWay.Num, o.OneWay.Den,
		o.Heal.Num, o.Heal.Den, o.Crash.Num, o.Crash.Den, o.Restart.Num, o.Restart.Den,
		o.Pause.Num, o.Pause.Den, o.ClientBurst, o.ClientEveryNs, o.ClockSkewMaxNs)
}
