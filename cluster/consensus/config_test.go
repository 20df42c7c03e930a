package consensus

import (
	"errors"
	"testing"
)

type seqRand struct{ x uint64 }

func (r *seqRand) Uint64() uint64 {
	r.x = r.x*6364136223846793005 + 1442695040888963407
	return r.x >> 1
}

// TestDefaultsRelations pins the relations between the defaults that
// liveness and the sub-second failover target depend on.
func TestDefaultsRelations(t *testing.T) {
	c := DefaultConfig(0, 3, &seqRand{})
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	failoverNs := c.LeaderHeartbeatTimeoutNs + c.ElectionTimeoutNs + c.NominationDelayMaxNs + c.ElectionTimeoutNs
	if failoverNs >= 1_000_000_000 {
		t.Fatalf("worst-case failover %d ns is not under 1 s", failoverNs)
	}
	if c.LeaderHeartbeatTimeoutNs < 5*c.HeartbeatIntervalNs {
		t.Fatalf("heartbeat timeout %d tolerates fewer than 5 lost heartbeats", c.LeaderHeartbeatTimeoutNs)
	}
	if c.AppendBatchBytes < EntryLengthMax || EntryLengthMax < alignUp(EntryHeaderLength+smBlockLength+PayloadLengthMax) {
		t.Fatal("the largest entry must fit one AppendLog message")
	}
}

func TestConfigRejects(t *testing.T) {
	bad := []func(c *Config){
		func(c *Config) { c.Members = 0 },
		func(c *Config) { c.Members = membersMax + 1 },
		func(c *Config) { c.ID = 3 },
		func(c *Config) { c.LeaderHeartbeatTimeoutNs = c.HeartbeatIntervalNs },
		func(c *Config) { c.AppendBatchBytes = 100 },
		func(c *Config) { c.Rand = nil },
	}
	for i, mutate := range bad {
		c := DefaultConfig(0, 3, &seqRand{})
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("case %d: err %v", i, err)
		}
	}
}

func TestMemLogStoreCrashAndTruncate(t *testing.T) {
	s := NewMemLogStore()
	e := LogEntry{Type: EntryTimer, CorrelationID: 1}
	one := AppendEntry(nil, &e)
	_ = s.Append(1, one)
	s.Sync()
	_ = s.Append(2, one)
	if got := s.Terms(); len(got) != 2 || got[1] != (TermRecord{Term: 2, Base: Position(len(one))}) {
		t.Fatalf("terms %v", got)
	}
	s.Crash()
	if s.End() != Position(len(one)) || len(s.Terms()) != 1 {
		t.Fatalf("after crash: end %d terms %v", s.End(), s.Terms())
	}
	if err := s.Append(0, one); err == nil {
		t.Fatal("append in a lower term accepted")
	}
	_ = s.Truncate(0)
	if s.End() != 0 || len(s.Terms()) != 0 || s.DurablePosition() != 0 {
		t.Fatalf("after truncate: end %d terms %v", s.End(), s.Terms())
	}
}

func TestIllegalTransitionPanics(t *testing.T) {
	n, err := NewNode(DefaultConfig(0, 3, &seqRand{}), NewMemLogStore(), HardState{Vote: NoMember}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("canvass -> leader-ready did not panic")
		}
	}()
	n.setState(StateLeaderReady)
}

func TestEnumsHaveNames(t *testing.T) {
	for s := range electionStateCount {
		if s.String() == "" || s.String()[0] == 'E' {
			t.Errorf("state %d has no name", s)
		}
	}
	for m := MsgNone; m < msgTypeCount; m++ {
		if m.String()[0] == 'M' {
			t.Errorf("message %d has no name", m)
		}
	}
}

func TestMemLogStoreCrashKeepsWrittenBackPrefix(t *testing.T) {
	s := NewMemLogStore()
	e := LogEntry{Type: EntryTimer}
	one := AppendEntry(nil, &e)
	_ = s.Append(1, one)
	s.Sync()
	_ = s.Append(1, one)
	_ = s.Append(2, one)
	_ = s.Append(2, one)
	if s.UnsyncedAppends() != 3 {
		t.Fatalf("unsynced %d", s.UnsyncedAppends())
	}
	s.CrashKeeping(2) // the second term-2 append is lost
	l := Position(len(one))
	if s.End() != 3*l || s.DurablePosition() != 3*l || len(s.Terms()) != 2 || s.UnsyncedAppends() != 0 {
		t.Fatalf("end %d durable %d terms %v", s.End(), s.DurablePosition(), s.Terms())
	}
	s.CrashKeeping(1)
	if s.End() != 3*l {
		t.Fatalf("a crash with nothing unsynced lost data: end %d", s.End())
	}
}

func TestNewNodeRejectsCorruptLog(t *testing.T) {
	s := NewMemLogStore()
	_ = s.Append(1, make([]byte, 64)) // zero frame lengths: not an entry
	s.Sync()
	if _, err := NewNode(DefaultConfig(0, 3, &seqRand{}), s, HardState{Term: 1, Vote: NoMember}, 0, 0); !errors.Is(err, ErrStore) {
		t.Fatalf("err %v, want ErrStore", err)
	}
	if _, err := NewNode(DefaultConfig(0, 3, &seqRand{}), s, HardState{Vote: NoMember}, 0, 0); !errors.Is(err, ErrConfig) {
		t.Fatalf("log term above stored term: err %v, want ErrConfig", err)
	}
}
