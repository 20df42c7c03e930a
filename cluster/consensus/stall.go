package consensus

// A member's own stalls. The Node judges its peers by their silence: a
// follower starts an election when it has heard nothing from its leader for
// LeaderHeartbeatTimeoutNs, and a leader steps down when no quorum has
// answered for as long. Silence is evidence only while this member was
// running to hear it. When the caller did not drive the Node for a while
// (its thread descheduled on a loaded host, or its duty cycle blocked in a
// disk call), the peers' messages from that time wait unread in its
// socket, and the peers may have been held up alongside it (members in one
// process, or a log segment roll at the same log position on every
// member), sending nothing. Judged on the first call after the stall,
// such peers would be deposed, or make the leader step down, with nothing
// failed: `venue bench cluster --rate 0` on a loaded 2-core host saw
// leader changes after every member stalled 200-370 ms at once.
//
// So a gap between two calls longer than a heartbeat interval is a stall:
// the caller drives the Node every few milliseconds, and a member that is
// not driven cannot send its own heartbeats either. The clocks of silence
// stop for it: the last-contact times move forward by the part of the gap
// beyond one heartbeat interval. The timeouts then count only time this
// member spent able to listen, and the first call after a stall reads what
// arrived (the caller polls before it ticks) instead of judging at once. A
// member that really lost its leader still times out after
// LeaderHeartbeatTimeoutNs of running without hearing from it; a stalled
// leader's followers, which kept running, time out as before. Timeouts
// decide only when to elect, never what is safe.

// creditStall stops the peers' silence clocks for the stall, if any,
// between the last call (n.nowNs) and a call at nowNs.
func (n *Node) creditStall(nowNs int64) {
	gap := nowNs - n.nowNs
	if gap <= n.cfg.HeartbeatIntervalNs {
		return
	}
	stalledNs := gap - n.cfg.HeartbeatIntervalNs
	n.counters.Stalls++
	n.leaderContactNs += stalledNs
	for i := range n.cfg.Members {
		n.progress[i].lastAckNs += stalledNs
	}
}
