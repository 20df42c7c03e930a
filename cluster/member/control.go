package member

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"venue/cluster/consensus"
	"venue/cluster/peer"
	"venue/transport"
)

// The control plane: a member's counters in the counters file, and the
// cluster tool's requests through one of them (Aeron's ClusterControl
// toggle).
//
// # Counters
//
// Every counter's label is its name followed by LabelMemberSuffix and the
// member id ("commit position: member 1"), so that a tool can tell members
// apart in a shared file. Values are published from the member's goroutine
// at most every publishIntervalNs, and at once when the role, term,
// election state or leader changes. Publishing is not work for the idle
// strategy and allocates nothing.
//
// # The control toggle (CounterControlToggle)
//
// A tool asks for an action by a compare-and-set of the toggle from a free
// value (ToggleNeutral or a result) to a request (ToggleSnapshot ..
// ToggleAbort). The member reads the toggle every duty cycle:
//
//   - It claims the request by adding ToggleActingOffset (an atomic add,
//     since transport.Counter has no compare-and-set): if the sum is the
//     request plus the offset, the toggle held the request and is now
//     "acting"; otherwise the tool changed it meanwhile and the member
//     takes the offset back and looks again next cycle. It acts, then
//     writes a result (ToggleDone, ToggleNotLeader, ToggleFailed,
//     ToggleUnknown). A tool that gives up cancels with CAS request →
//     ToggleNeutral, which fails while the member acts: an action is never
//     half-taken and never taken behind a tool's back. A tool treats any
//     value at or above ToggleActingOffset as busy.
//   - Snapshot, suspend, resume and shutdown are leader actions. The leader
//     appends the cluster action to the log (shutdown: a snapshot action and
//     then the orderly termination, as Member.Shutdown), stores the log
//     position after it in CounterControlPosition, then writes ToggleDone.
//     Every member takes the action when it applies that position.
//   - A member that does not lead answers a leader action with
//     ToggleNotLeader at once, so a request never lingers on a follower to
//     fire after a later election. The tool then finds the leader again and
//     retries there.
//   - A leader whose log is back-pressured puts the request back (takes
//     the offset off) and tries again next cycle.
//   - Purge is this member's own too: it applies log retention now (keep
//     the newest SnapshotKeep snapshots, purge the log below the oldest
//     kept), stores the log's new start in CounterControlPosition and
//     writes ToggleDone (ToggleFailed for a member without snapshots).
//   - Abort is this member's own: it writes ToggleDone and stops the member
//     at once, without a snapshot (the other members see a failure and
//     elect a leader if it led). The member's counters are freed when it
//     stops, which is how a tool sees that it has.
//
// The tool resets a result to ToggleNeutral once it has read it (a CAS, so
// it never erases a newer request).

// Control plane bounds.
const (
	// publishIntervalNs bounds how often counters are refreshed (1 ms): a
	// tool polls far less often, and the duty cycle stays cheap.
	publishIntervalNs = 1_000_000
	// errorRecordsMax bounds the distinct error messages a member keeps as
	// counters (CounterErrorRecord); later distinct errors only count in
	// CounterErrors.
	errorRecordsMax = 8
	// AppendPositionCountersMax is the number of type ids reserved for the
	// per-member append positions (CounterAppendPositionBase + member id).
	AppendPositionCountersMax = 20
)

// CounterType is a member counter's stable type id, in the cluster's range
// (transport.CounterTypeClusterBase .. +99).
type CounterType int32

// Status counters.
const (
	CounterRole             CounterType = transport.CounterTypeClusterBase + 0 // consensus.Role
	CounterTerm             CounterType = transport.CounterTypeClusterBase + 1
	CounterElectionState    CounterType = transport.CounterTypeClusterBase + 2 // consensus.ElectionState
	CounterElections        CounterType = transport.CounterTypeClusterBase + 3
	CounterLeader           CounterType = transport.CounterTypeClusterBase + 4 // member id, -1: none known
	CounterCommitPosition   CounterType = transport.CounterTypeClusterBase + 5
	CounterLogEndPosition   CounterType = transport.CounterTypeClusterBase + 6
	CounterDurablePosition  CounterType = transport.CounterTypeClusterBase + 7
	CounterAppliedPosition  CounterType = transport.CounterTypeClusterBase + 8
	CounterLeaderTerms      CounterType = transport.CounterTypeClusterBase + 9
	CounterSessionsOpen     CounterType = transport.CounterTypeClusterBase + 10
	CounterSessionsOpened   CounterType = transport.CounterTypeClusterBase + 11
	CounterSessionsClosed   CounterType = transport.CounterTypeClusterBase + 12
	CounterSessionsTimedOut CounterType = transport.CounterTypeClusterBase + 13
)

// Session drop counters.
const (
	CounterConnectsRedirected   CounterType = transport.CounterTypeClusterBase + 14
	CounterConnectsAuthRejected CounterType = transport.CounterTypeClusterBase + 15
	CounterConnectsOverLimit    CounterType = transport.CounterTypeClusterBase + 16
	CounterIngressLimited       CounterType = transport.CounterTypeClusterBase + 17
	CounterIngressTooLarge      CounterType = transport.CounterTypeClusterBase + 18
	CounterIngressSuspended     CounterType = transport.CounterTypeClusterBase + 19
	CounterSlowConsumers        CounterType = transport.CounterTypeClusterBase + 20
	CounterIngressMalformed     CounterType = transport.CounterTypeClusterBase + 21
	CounterIngressIgnored       CounterType = transport.CounterTypeClusterBase + 22
	CounterResponsesDropped     CounterType = transport.CounterTypeClusterBase + 23
	CounterResponsesRefused     CounterType = transport.CounterTypeClusterBase + 24
	// CounterAdminRequests counts admin requests carried out (their action
	// appended to the log); CounterAdminRejected those refused (principal
	// not allowed, unknown request).
	CounterAdminRequests CounterType = transport.CounterTypeClusterBase + 25
	CounterAdminRejected CounterType = transport.CounterTypeClusterBase + 26
	// CounterStalls counts times the member's duty cycle came back after
	// more than a consensus heartbeat interval (descheduled, or blocked in
	// a disk call): time its peers' timeouts do not count
	// (consensus.Counters.Stalls).
	CounterStalls CounterType = transport.CounterTypeClusterBase + 27
)

// Consensus drop counters.
const (
	CounterConsensusMalformed      CounterType = transport.CounterTypeClusterBase + 30
	CounterConsensusWrongSource    CounterType = transport.CounterTypeClusterBase + 31
	CounterConsensusBadSender      CounterType = transport.CounterTypeClusterBase + 32
	CounterConsensusStaleTerm      CounterType = transport.CounterTypeClusterBase + 33
	CounterConsensusBadAppend      CounterType = transport.CounterTypeClusterBase + 34
	CounterConsensusAppendRejected CounterType = transport.CounterTypeClusterBase + 35
	CounterConsensusInvalid        CounterType = transport.CounterTypeClusterBase + 36
	CounterConsensusRejected       CounterType = transport.CounterTypeClusterBase + 37
	CounterConsensusSendFailed     CounterType = transport.CounterTypeClusterBase + 38
	CounterLogTruncations          CounterType = transport.CounterTypeClusterBase + 39
	CounterPeerWrongSource         CounterType = transport.CounterTypeClusterBase + 40
	CounterPeerBadMAC              CounterType = transport.CounterTypeClusterBase + 41
	CounterPeerMalformed           CounterType = transport.CounterTypeClusterBase + 42
	CounterPeerBackPressured       CounterType = transport.CounterTypeClusterBase + 43
	CounterPeerNotConnected        CounterType = transport.CounterTypeClusterBase + 44
)

// Log multicast counters (cluster/peer's, all zero when log_multicast is
// off): on the leader, AppendLogs sent to the group, refused by it, unicast
// copies the group saved, and AppendLogs still sent by unicast; on a
// follower, group log delivered, held for its own stream, dropped ahead of
// it, and group messages that were not log.
const (
	CounterMulticastSent       CounterType = transport.CounterTypeClusterBase + 65
	CounterMulticastSendFailed CounterType = transport.CounterTypeClusterBase + 66
	CounterMulticastSkipped    CounterType = transport.CounterTypeClusterBase + 67
	CounterMulticastUnicast    CounterType = transport.CounterTypeClusterBase + 68
	CounterMulticastReceived   CounterType = transport.CounterTypeClusterBase + 69
	CounterMulticastHeld       CounterType = transport.CounterTypeClusterBase + 70
	CounterMulticastAhead      CounterType = transport.CounterTypeClusterBase + 71
	CounterMulticastDropped    CounterType = transport.CounterTypeClusterBase + 72
)

// Snapshot counters (only for a member that keeps snapshots).
const (
	CounterSnapshotsTaken       CounterType = transport.CounterTypeClusterBase + 50
	CounterSnapshotsSkipped     CounterType = transport.CounterTypeClusterBase + 51
	CounterSnapshotsFailed      CounterType = transport.CounterTypeClusterBase + 52
	CounterLastSnapshotPosition CounterType = transport.CounterTypeClusterBase + 53
	// CounterSnapshotsInstalled counts snapshots installed from a peer
	// (this member needed log the others had purged).
	CounterSnapshotsInstalled CounterType = transport.CounterTypeClusterBase + 54
	// CounterSnapshotChunksServed counts snapshot chunks sent to peers.
	CounterSnapshotChunksServed CounterType = transport.CounterTypeClusterBase + 55

	snapshotCounterFirst = CounterSnapshotsTaken
	snapshotCounterLast  = CounterSnapshotChunksServed
)

// Control and health counters.
const (
	// CounterErrors counts error events: the module's fatal error, a log
	// store failure, a failed control request, a failed snapshot.
	CounterErrors CounterType = transport.CounterTypeClusterBase + 60
	// CounterControlToggle holds a ControlToggle.
	CounterControlToggle CounterType = transport.CounterTypeClusterBase + 61
	// CounterControlPosition is the log position after the last action
	// this member appended for the toggle.
	CounterControlPosition CounterType = transport.CounterTypeClusterBase + 62
	// CounterHeartbeat is the wall clock (Unix ms) of the last refresh: a
	// tool tells a hung member by its age.
	CounterHeartbeat CounterType = transport.CounterTypeClusterBase + 63
	// CounterErrorRecord is one distinct error: its label holds the
	// message, its value how often it occurred.
	CounterErrorRecord CounterType = transport.CounterTypeClusterBase + 64
	// CounterAppendPositionBase + k is member k's append position as this
	// member knows it while it leads (-1 when it does not).
	CounterAppendPositionBase CounterType = transport.CounterTypeClusterBase + 80

	counterAppendPositionLimit = CounterAppendPositionBase + AppendPositionCountersMax
	counterClusterLimit        = transport.CounterTypeClusterBase + 100
)

// catalogue is every fixed counter, in the order they are allocated (and
// venue stat lists them). Snapshot counters are skipped for a member
// without snapshots; append positions and error records come after.
var catalogue = [...]CounterType{
	CounterRole, CounterTerm, CounterElectionState, CounterElections, CounterLeader,
	CounterCommitPosition, CounterLogEndPosition, CounterDurablePosition, CounterAppliedPosition,
	CounterLeaderTerms, CounterStalls,
	CounterControlToggle, CounterControlPosition, CounterHeartbeat, CounterErrors,
	CounterSnapshotsTaken, CounterSnapshotsSkipped, CounterSnapshotsFailed, CounterLastSnapshotPosition,
	CounterSnapshotsInstalled, CounterSnapshotChunksServed,
	CounterSessionsOpen, CounterSessionsOpened, CounterSessionsClosed, CounterSessionsTimedOut,
	CounterConnectsRedirected, CounterConnectsAuthRejected, CounterConnectsOverLimit,
	CounterIngressLimited, CounterIngressTooLarge, CounterIngressSuspended, CounterSlowConsumers,
	CounterIngressMalformed, CounterIngressIgnored, CounterResponsesDropped, CounterResponsesRefused,
	CounterAdminRequests, CounterAdminRejected,
	CounterConsensusMalformed, CounterConsensusWrongSource, CounterConsensusBadSender,
	CounterConsensusStaleTerm, CounterConsensusBadAppend, CounterConsensusAppendRejected,
	CounterConsensusInvalid, CounterConsensusRejected, CounterConsensusSendFailed, CounterLogTruncations,
	CounterPeerWrongSource, CounterPeerBadMAC, CounterPeerMalformed, CounterPeerBackPressured,
	CounterPeerNotConnected,
	CounterMulticastSent, CounterMulticastSendFailed, CounterMulticastSkipped, CounterMulticastUnicast,
	CounterMulticastReceived, CounterMulticastHeld, CounterMulticastAhead, CounterMulticastDropped,
}

// Catalogue returns the fixed counters a member publishes, in order (the
// append positions and error records are not in it).
func Catalogue() []CounterType { return catalogue[:] }

// counterNames are the label names; venue stat prints labels in 56
// columns, so a name with its member suffix fits in that.
var counterNames = map[CounterType]string{
	CounterRole:                    "role (0 follower 1 candidate 2 leader)",
	CounterTerm:                    "leadership term",
	CounterElectionState:           "election state (4 leads 6 follows 7 closed)",
	CounterElections:               "elections started",
	CounterLeader:                  "leader member id (-1 none)",
	CounterCommitPosition:          "commit position",
	CounterLogEndPosition:          "log end position",
	CounterDurablePosition:         "durable (append) position",
	CounterAppliedPosition:         "applied position",
	CounterLeaderTerms:             "terms led",
	CounterStalls:                  "duty cycle stalls past a heartbeat",
	CounterSessionsOpen:            "sessions open",
	CounterSessionsOpened:          "sessions opened",
	CounterSessionsClosed:          "sessions closed",
	CounterSessionsTimedOut:        "sessions timed out",
	CounterConnectsRedirected:      "connects redirected to the leader",
	CounterConnectsAuthRejected:    "connects rejected: credentials",
	CounterConnectsOverLimit:       "connects rejected: session limit",
	CounterIngressLimited:          "messages refused: back pressure",
	CounterIngressTooLarge:         "messages refused: too large",
	CounterIngressSuspended:        "messages refused: suspended",
	CounterSlowConsumers:           "slow consumers closed",
	CounterIngressMalformed:        "ingress dropped: malformed",
	CounterIngressIgnored:          "ingress ignored: duplicate/unknown",
	CounterResponsesDropped:        "responses dropped",
	CounterResponsesRefused:        "response channels refused",
	CounterAdminRequests:           "admin requests carried out",
	CounterAdminRejected:           "admin requests refused",
	CounterMulticastSent:           "log multicast: sent to the group",
	CounterMulticastSendFailed:     "log multicast: refused by the group",
	CounterMulticastSkipped:        "log multicast: unicast copies saved",
	CounterMulticastUnicast:        "log multicast: still unicast",
	CounterMulticastReceived:       "log multicast: received",
	CounterMulticastHeld:           "log multicast: held for own stream",
	CounterMulticastAhead:          "log multicast: dropped ahead",
	CounterMulticastDropped:        "log multicast: not log, dropped",
	CounterConsensusMalformed:      "consensus dropped: malformed",
	CounterConsensusWrongSource:    "consensus dropped: wrong source",
	CounterConsensusBadSender:      "consensus dropped: bad sender",
	CounterConsensusStaleTerm:      "consensus dropped: stale term",
	CounterConsensusBadAppend:      "consensus dropped: bad append",
	CounterConsensusAppendRejected: "consensus append not contiguous",
	CounterConsensusInvalid:        "consensus dropped: invalid",
	CounterConsensusRejected:       "consensus messages rejected",
	CounterConsensusSendFailed:     "consensus sends failed",
	CounterLogTruncations:          "log tails truncated",
	CounterPeerWrongSource:         "peer dropped: wrong source",
	CounterPeerBadMAC:              "peer dropped: bad MAC",
	CounterPeerMalformed:           "peer dropped: malformed",
	CounterPeerBackPressured:       "peer sends back-pressured",
	CounterPeerNotConnected:        "peer sends not connected",
	CounterSnapshotsTaken:          "snapshots taken",
	CounterSnapshotsSkipped:        "snapshots skipped (writer busy)",
	CounterSnapshotsFailed:         "snapshots failed",
	CounterLastSnapshotPosition:    "last snapshot position",
	CounterSnapshotsInstalled:      "snapshots installed from a peer",
	CounterSnapshotChunksServed:    "snapshot chunks served to peers",
	CounterErrors:                  "errors",
	CounterControlToggle:           "cluster control toggle",
	CounterControlPosition:         "cluster control action position",
	CounterHeartbeat:               "heartbeat (unix ms)",
	CounterErrorRecord:             "error",
}

// String returns the counter's name (its label without the member).
func (t CounterType) String() string {
	if n, ok := counterNames[t]; ok {
		return n
	}
	if t >= CounterAppendPositionBase && t < counterAppendPositionLimit {
		return fmt.Sprintf("append position of member %d", t-CounterAppendPositionBase)
	}
	return "CounterType(" + strconv.Itoa(int(t)) + ")"
}

// IsMember reports whether t is in the range member counters use.
func (t CounterType) IsMember() bool {
	return t >= transport.CounterTypeClusterBase && t < counterClusterLimit
}

// AppendPositionCounter returns the type of the counter holding member k's
// append position as this member knows it while it leads (-1 otherwise),
// and whether k has one.
func AppendPositionCounter(k consensus.MemberID) (CounterType, bool) {
	if k < 0 || k >= AppendPositionCountersMax {
		return 0, false
	}
	return CounterAppendPositionBase + CounterType(k), true
}

// LabelMemberSuffix separates a counter's name from its member id in the
// label.
const LabelMemberSuffix = ": member "

// CounterLabel returns the label of counter name for member id.
func CounterLabel(name string, id consensus.MemberID) string {
	return name + LabelMemberSuffix + strconv.Itoa(int(id))
}

// LabelMember splits a member counter's label into its name and member id;
// ok is false for a label that does not end in a member suffix.
func LabelMember(label string) (name string, id consensus.MemberID, ok bool) {
	i := strings.LastIndex(label, LabelMemberSuffix)
	if i < 0 {
		return "", 0, false
	}
	digits := label[i+len(LabelMemberSuffix):]
	if digits == "" || len(digits) > 4 || strings.TrimLeft(digits, "0123456789") != "" ||
		len(digits) > 1 && digits[0] == '0' {
		return "", 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return "", 0, false
	}
	return label[:i], consensus.MemberID(n), true
}

// ControlToggle is a value of CounterControlToggle: a request written by a
// tool (1..ToggleAbort), ToggleNeutral, a request plus ToggleActingOffset
// while the member acts on it, or a result the member wrote (negative).
type ControlToggle int64

// Toggle values.
const (
	ToggleNeutral  ControlToggle = 0
	ToggleSnapshot ControlToggle = 1
	ToggleSuspend  ControlToggle = 2
	ToggleResume   ControlToggle = 3
	ToggleShutdown ControlToggle = 4
	ToggleAbort    ControlToggle = 5
	TogglePurge    ControlToggle = 6

	// ToggleDone: the leader appended the action (position in
	// CounterControlPosition), or an aborting member is stopping.
	ToggleDone ControlToggle = -1
	// ToggleNotLeader: a leader action reached a member that does not lead.
	ToggleNotLeader ControlToggle = -2
	// ToggleFailed: the action failed; the member's error records say why.
	ToggleFailed ControlToggle = -3
	// ToggleUnknown: the toggle held a value that is no request.
	ToggleUnknown ControlToggle = -4
	// ToggleActingOffset is added to a request while the member acts on it.
	ToggleActingOffset ControlToggle = 1000
	// toggleActingMax bounds the values a claim can leave.
	toggleActingMax = ToggleActingOffset + TogglePurge
)

// IsRequest reports whether v asks for an action.
func (v ControlToggle) IsRequest() bool { return v > 0 && v < ToggleActingOffset }

// IsBusy reports whether a member is acting on a request (or taking back a
// claim that raced a tool's change).
func (v ControlToggle) IsBusy() bool { return v >= ToggleActingOffset && v <= toggleActingMax }

// IsFree reports whether a tool may write a request over v: neutral, or a
// result already read or abandoned.
func (v ControlToggle) IsFree() bool { return v <= ToggleNeutral && v >= ToggleUnknown }

// String names the toggle value.
func (v ControlToggle) String() string {
	switch v {
	case ToggleNeutral:
		return "neutral"
	case ToggleSnapshot:
		return "snapshot"
	case ToggleSuspend:
		return "suspend"
	case ToggleResume:
		return "resume"
	case ToggleShutdown:
		return "shutdown"
	case ToggleAbort:
		return "abort"
	case TogglePurge:
		return "purge"
	case ToggleDone:
		return "done"
	case ToggleNotLeader:
		return "not-leader"
	case ToggleFailed:
		return "failed"
	case ToggleUnknown:
		return "unknown-request"
	}
	if v.IsBusy() {
		return "acting on " + (v - ToggleActingOffset).String()
	}
	return "ControlToggle(" + strconv.FormatInt(int64(v), 10) + ")"
}

// controlPlane publishes a member's counters to the counters file and
// carries out the cluster tool's requests (Aeron's ClusterControl toggle).
// It runs in the member's duty cycle.
type controlPlane interface {
	DoWork(nowNs int64) int
	OnClose()
}

// peerCounters is what the consensus transport may report (cluster/peer).
type peerCounters interface{ Counters() peer.Counters }

// storeErr is what a log store with a sticky failure reports (logstore).
type storeErr interface{ Err() error }

// control is the controlPlane over a counters file.
type control struct {
	m   *Member
	cm  *transport.CountersManager
	id  consensus.MemberID
	all []*transport.Counter // every counter allocated, freed on close

	fixed     [len(catalogue)]*transport.Counter // nil: not published (snapshots)
	last      [len(catalogue)]int64
	appendPos []*transport.Counter
	posBuf    []consensus.Position
	toggle    *transport.Counter
	position  *transport.Counter
	heartbeat *transport.Counter
	peers     peerCounters // nil: the consensus transport reports none

	errorMsgs   []string // distinct messages, parallel to errorCounts
	errorCounts []*transport.Counter
	errorEvents int64
	fatalSeen   bool
	storeSeen   bool

	nextPublishNs int64
	lastStatus    consensus.Status
	aborting      atomic.Bool
	wallMs        func() int64
}

// newControlPlane allocates the member's counters in cm and returns the
// control plane that keeps them and answers the toggle.
func newControlPlane(m *Member, cm *transport.CountersManager) (controlPlane, error) {
	id := m.cfg.Consensus.ID
	members := m.cfg.Consensus.Members
	if members > AppendPositionCountersMax {
		return nil, fmt.Errorf("%d members: counters for at most %d", members, AppendPositionCountersMax)
	}
	c := &control{m: m, cm: cm, id: id, posBuf: make([]consensus.Position, 0, members),
		wallMs: func() int64 { return time.Now().UnixMilli() }}
	c.peers, _ = m.cfg.Peers.(peerCounters)
	for i, t := range catalogue {
		if t >= snapshotCounterFirst && t <= snapshotCounterLast && m.cfg.Snapshots == nil {
			continue
		}
		ctr, err := c.allocate(t, t.String())
		if err != nil {
			return nil, err
		}
		c.fixed[i] = ctr
		switch t {
		case CounterControlToggle:
			c.toggle = ctr
		case CounterControlPosition:
			c.position = ctr
		case CounterHeartbeat:
			c.heartbeat = ctr
		}
	}
	for k := range members {
		t, _ := AppendPositionCounter(consensus.MemberID(k))
		ctr, err := c.allocate(t, t.String())
		if err != nil {
			return nil, err
		}
		ctr.Set(-1)
		c.appendPos = append(c.appendPos, ctr)
	}
	c.publish()
	return c, nil
}

// allocate allocates one counter; on failure it frees what it allocated.
func (c *control) allocate(t CounterType, name string) (*transport.Counter, error) {
	ctr, err := c.cm.Allocate(int32(t), CounterLabel(name, c.id))
	if err != nil {
		c.free()
		return nil, fmt.Errorf("allocate %q: %w", name, err)
	}
	c.all = append(c.all, ctr)
	return ctr, nil
}

func (c *control) free() {
	for _, ctr := range c.all {
		c.cm.Free(ctr)
	}
	c.all = nil
}

// DoWork answers the toggle and refreshes the counters when due. Only a
// request acted upon counts as work.
func (c *control) DoWork(nowNs int64) int {
	work := c.checkToggle(nowNs)
	st := c.m.agent.Status()
	if nowNs >= c.nextPublishNs || st.Role != c.lastStatus.Role || st.Term != c.lastStatus.Term ||
		st.State != c.lastStatus.State || st.Leader != c.lastStatus.Leader {
		c.lastStatus = st
		c.nextPublishNs = nowNs + publishIntervalNs
		c.publish()
	}
	return work
}

// OnClose frees the member's counters: a tool sees that the member stopped.
func (c *control) OnClose() { c.free() }

// publish refreshes every counter, storing only values that changed.
func (c *control) publish() {
	c.noteFailures()
	a := c.m.agent
	st := a.Node().Status()
	cc := a.Node().Counters()
	var pc peer.Counters
	if c.peers != nil {
		pc = c.peers.Counters()
	}
	for i, t := range catalogue {
		if c.fixed[i] == nil || written(t) {
			continue
		}
		v := c.value(t, &st, &cc, &pc)
		if v != c.last[i] {
			c.last[i] = v
			c.fixed[i].Set(v)
		}
	}
	c.posBuf = a.Node().AppendPositions(c.posBuf[:0])
	for k, ctr := range c.appendPos {
		if k < len(c.posBuf) {
			ctr.Set(int64(c.posBuf[k]))
		}
	}
	c.heartbeat.Set(c.wallMs())
}

// value returns counter t's current value.
func (c *control) value(t CounterType, st *consensus.Status, cc *consensus.Counters, pc *peer.Counters) int64 {
	switch t {
	case CounterRole:
		return int64(st.Role)
	case CounterTerm:
		return int64(st.Term)
	case CounterElectionState:
		return int64(st.State)
	case CounterElections:
		return int64(cc.Elections)
	case CounterLeader:
		return int64(st.Leader)
	case CounterCommitPosition:
		return int64(st.Commit)
	case CounterLogEndPosition:
		return int64(st.LogEnd)
	case CounterDurablePosition:
		return int64(st.Durable)
	case CounterAppliedPosition:
		return int64(st.Applied)
	case CounterLeaderTerms:
		return int64(cc.LeaderTerms)
	case CounterStalls:
		return int64(cc.Stalls)
	case CounterErrors:
		_, _, failed, _ := c.m.SnapshotStats()
		return c.errorEvents + failed
	case CounterSnapshotsTaken, CounterSnapshotsSkipped, CounterSnapshotsFailed, CounterLastSnapshotPosition:
		taken, skipped, failed, last := c.m.SnapshotStats()
		return [...]int64{taken, skipped, failed, int64(last)}[t-CounterSnapshotsTaken]
	case CounterSnapshotsInstalled, CounterSnapshotChunksServed:
		if c.m.transfer == nil {
			return 0
		}
		return [...]int64{c.m.transfer.stats.Installed, c.m.transfer.stats.ChunksServed}[t-CounterSnapshotsInstalled]
	}
	if t >= CounterConsensusMalformed && t <= CounterPeerNotConnected {
		return c.consensusValue(t, cc, pc)
	}
	if t >= CounterMulticastSent && t <= CounterMulticastDropped {
		return int64([...]uint64{pc.MulticastSent, pc.MulticastSendFailed, pc.MulticastSkipped, pc.MulticastUnicast,
			pc.MulticastReceived, pc.MulticastHeld, pc.MulticastAhead, pc.MulticastDropped}[t-CounterMulticastSent])
	}
	return c.sessionValue(t)
}

// written reports whether the control plane writes t where it changes
// rather than sampling it in publish.
func written(t CounterType) bool {
	return t == CounterControlToggle || t == CounterControlPosition || t == CounterHeartbeat
}

func (c *control) consensusValue(t CounterType, cc *consensus.Counters, pc *peer.Counters) int64 {
	a := c.m.agent
	var v uint64
	switch t {
	case CounterConsensusMalformed:
		v = a.Decode.Total()
	case CounterConsensusWrongSource:
		v = a.WrongSource
	case CounterConsensusBadSender:
		v = cc.BadSender
	case CounterConsensusStaleTerm:
		v = cc.StaleTerm
	case CounterConsensusBadAppend:
		v = cc.BadAppend
	case CounterConsensusAppendRejected:
		v = cc.AppendRejected
	case CounterConsensusInvalid:
		v = cc.Invalid
	case CounterConsensusRejected:
		v = a.Rejected
	case CounterConsensusSendFailed:
		v = a.SendFailed
	case CounterLogTruncations:
		v = cc.Truncations
	case CounterPeerWrongSource:
		v = pc.WrongSource
	case CounterPeerBadMAC:
		v = pc.BadMAC
	case CounterPeerMalformed:
		v = pc.Malformed + pc.Unassembled
	case CounterPeerBackPressured:
		v = pc.SendBackPressured
	case CounterPeerNotConnected:
		v = pc.SendNotConnected
	}
	return int64(v)
}

func (c *control) sessionValue(t CounterType) int64 {
	s := c.m.agent.Sessions()
	r := c.m.responses
	if s == nil {
		return 0
	}
	sc := &s.Counters
	var v uint64
	switch t {
	case CounterSessionsOpen:
		return int64(s.Count())
	case CounterSessionsOpened:
		v = sc.Opened
	case CounterSessionsClosed:
		v = sc.Closed
	case CounterSessionsTimedOut:
		v = sc.TimedOut
	case CounterConnectsRedirected:
		v = sc.Redirected
	case CounterConnectsAuthRejected:
		v = sc.AuthRejected + sc.ChallengeExpired
	case CounterConnectsOverLimit:
		v = sc.SessionLimit
	case CounterIngressLimited:
		v = sc.IngressLimited + sc.BackPressured
	case CounterIngressTooLarge:
		v = sc.TooLarge
	case CounterIngressSuspended:
		v = sc.Suspended
	case CounterSlowConsumers:
		v = sc.SlowConsumer
	case CounterIngressMalformed:
		v = sc.Decode.Total() + sc.NotIngress
	case CounterIngressIgnored:
		v = sc.Duplicate + sc.UnknownSession
	case CounterResponsesDropped:
		v = r.dropped
	case CounterResponsesRefused:
		v = r.refused
	case CounterAdminRequests:
		v = sc.AdminRequests
	case CounterAdminRejected:
		v = sc.AdminRejected
	}
	return int64(v)
}

// noteFailures records the module's fatal error and the store's sticky
// failure, once each.
func (c *control) noteFailures() {
	if !c.fatalSeen {
		if err := c.m.agent.Err(); err != nil {
			c.fatalSeen = true
			c.recordError("fatal: " + err.Error())
		}
	}
	if !c.storeSeen {
		if s, ok := c.m.cfg.Store.(storeErr); ok {
			if err := s.Err(); err != nil {
				c.storeSeen = true
				c.recordError("log store: " + err.Error())
			}
		}
	}
}

// recordError counts an error and keeps its message as an error record
// counter (label: the message; value: how often), up to errorRecordsMax
// distinct messages. It allocates, but only when something failed.
func (c *control) recordError(msg string) {
	c.errorEvents++
	msg = strings.Map(func(r rune) rune {
		if r < ' ' {
			return ' '
		}
		return r
	}, msg)
	for i, m := range c.errorMsgs {
		if m == msg {
			c.errorCounts[i].Increment()
			return
		}
	}
	if len(c.errorMsgs) >= errorRecordsMax {
		return
	}
	label := errorLabel(msg, c.id)
	ctr, err := c.cm.Allocate(int32(CounterErrorRecord), label)
	if err != nil {
		return // the file is full: the errors counter still counts it
	}
	c.all = append(c.all, ctr)
	ctr.Set(1)
	c.errorMsgs = append(c.errorMsgs, msg)
	c.errorCounts = append(c.errorCounts, ctr)
}

// errorLabel is an error record's label: the message, cut to fit the
// counters file with the member suffix kept.
func errorLabel(msg string, id consensus.MemberID) string {
	head := CounterErrorRecord.String() + ": " + msg
	suffix := CounterLabel("", id)
	if room := transport.CounterLabelLengthMax - len(suffix); len(head) > room {
		head = strings.ToValidUTF8(head[:room], "")
	}
	return head + suffix
}

// checkToggle answers a request in the toggle (see the protocol above).
func (c *control) checkToggle(nowNs int64) int {
	v := ControlToggle(c.toggle.Get())
	if !v.IsRequest() || c.aborting.Load() {
		return 0
	}
	if !claim(c.toggle, v) {
		return 0 // the tool changed it; look again next cycle
	}
	result := c.act(nowNs, v)
	if result == toggleRetry {
		c.toggle.Add(-int64(ToggleActingOffset)) // back pressure: the request stands
		return 0
	}
	c.toggle.Set(int64(result))
	if v == ToggleAbort && result == ToggleDone {
		c.abort()
	}
	return 1
}

// claim marks request v, read from toggle, as being acted on, and reports
// whether the toggle still held v. If a tool changed the toggle since it
// was read, the claim is taken back and the tool's value stands.
func claim(toggle *transport.Counter, v ControlToggle) bool {
	if ControlToggle(toggle.Add(int64(ToggleActingOffset))) == v+ToggleActingOffset {
		return true
	}
	toggle.Add(-int64(ToggleActingOffset))
	return false
}

// toggleRetry is act's answer for "not now, next cycle" (never stored).
const toggleRetry ControlToggle = -1 << 62

// act carries out request v and returns its result, or toggleRetry to try
// again next cycle.
func (c *control) act(nowNs int64, v ControlToggle) ControlToggle {
	var p consensus.Position
	var err error
	switch v {
	case ToggleAbort:
		return ToggleDone
	case ToggleSnapshot:
		p, err = c.propose(nowNs, consensus.ActionSnapshot)
	case ToggleSuspend:
		p, err = c.propose(nowNs, consensus.ActionSuspend)
	case ToggleResume:
		p, err = c.propose(nowNs, consensus.ActionResume)
	case ToggleShutdown:
		if _, err = c.propose(nowNs, consensus.ActionSnapshot); err == nil {
			p, err = c.m.agent.Node().Terminate(nowNs)
		}
	case TogglePurge:
		p, err = c.m.purge()
	default:
		return ToggleUnknown
	}
	switch {
	case err == nil:
		c.position.Set(int64(p))
		return ToggleDone
	case errors.Is(err, consensus.ErrNotLeader):
		return ToggleNotLeader
	case errors.Is(err, consensus.ErrBackPressured):
		return toggleRetry
	}
	c.recordError(fmt.Sprintf("cluster control %s: %v", v, err))
	return ToggleFailed
}

// propose appends a cluster action if this member leads.
func (c *control) propose(nowNs int64, a consensus.ClusterAction) (consensus.Position, error) {
	if c.m.agent.Status().Role != consensus.RoleLeader {
		return 0, consensus.ErrNotLeader
	}
	return c.m.agent.Propose(nowNs, &consensus.LogEntry{Type: consensus.EntryClusterAction, Action: a})
}

// abort stops the member without a snapshot. The duty cycle cannot stop
// its own runner (Close waits for it), so one goroutine, started once,
// closes the member from outside.
func (c *control) abort() {
	if c.aborting.Swap(true) {
		return
	}
	go func() { _ = c.m.Close() }()
}
