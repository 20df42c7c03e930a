package peer

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"

	"venue/cluster/consensus"
)

// groupFor returns a multicast config on lo with a fresh port and a group
// address picked by seed (so that parallel test binaries rarely share one).
func groupFor(t testing.TB) MulticastConfig {
	t.Helper()
	return MulticastConfig{Group: fmt.Sprintf("239.255.21.%d:%d", 1+rand.IntN(200), freePort(t, "127.0.0.1")),
		Interface: "lo", TTL: 1}
}

// openGroupMembers opens n members on 127.0.0.1, each with its own driver
// and the log multicast group mc; it skips the test when the host refuses
// multicast on lo.
func openGroupMembers(t *testing.T, n int, mc MulticastConfig, secret []byte) []*Transport {
	t.Helper()
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = "127.0.0.1"
	}
	ms := loopMembers(t, hosts...)
	var ps []*Transport
	for i := range ms {
		p, err := New(Config{Driver: newDriver(t), Self: consensus.MemberID(i), Members: ms, Secret: secret,
			AppendDataMax: 64 << 10, Multicast: mc})
		if err != nil {
			if strings.Contains(err.Error(), "join") || strings.Contains(err.Error(), "interface") {
				t.Skipf("multicast on lo unavailable here: %v", err)
			}
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		ps = append(ps, p)
	}
	return ps
}

// waitGroupJoined waits until every follower has an image of the leader's
// group publication, so that nothing the leader publishes later is missed.
func waitGroupJoined(t *testing.T, leader *Transport, followers ...*Transport) {
	t.Helper()
	session := leader.group.pub.SessionID()
	waitFor(t, "followers joined the leader's group stream", func() bool {
		for _, f := range followers {
			f.Poll(func(consensus.MemberID, []byte) {}, 16)
			if f.grecv.sub.ImageBySessionID(session) == nil {
				return false
			}
		}
		return leader.GroupConnected()
	})
}

// appendLogs returns n contiguous AppendLogs of term 1 from member 0, each
// with size bytes of data.
func appendLogs(n, size int) []consensus.Message {
	ms := make([]consensus.Message, n)
	for i := range ms {
		data := bytes.Repeat([]byte{byte(i)}, size)
		ms[i] = consensus.Message{Type: consensus.MsgAppendLog, From: 0, Term: 1, LogTerm: 1, PrevLogTerm: 1,
			Position: consensus.Position(i * size), Data: data}
	}
	return ms
}

// Over real multicast on lo, a leader that keeps both followers in step
// publishes each AppendLog once: the second follower's copy is skipped, and
// both receive every message, in order, from the group.
func TestMulticastLoopback(t *testing.T) {
	for _, secret := range [][]byte{nil, testSecret} {
		t.Run(fmt.Sprintf("mac=%t", secret != nil), func(t *testing.T) {
			ps := openGroupMembers(t, 3, groupFor(t), secret)
			waitConnected(t, ps...)
			waitGroupJoined(t, ps[0], ps[1], ps[2])
			const n = 200
			logs := appendLogs(n, 200)
			for i := range logs {
				b := encode(&logs[i])
				for f := consensus.MemberID(1); f <= 2; f++ {
					if !ps[0].Send(f, b) {
						t.Fatalf("send %d to %d refused: %+v", i, f, ps[0].Counters())
					}
				}
			}
			for f := 1; f <= 2; f++ {
				in := newInbox(t)
				in.pollUntil(ps[f], n)
				for i, m := range in.got {
					if !sameMessage(m, logs[i]) {
						t.Fatalf("follower %d message %d: got %+v", f, i, m)
					}
				}
				if c := ps[f].Counters(); c.MulticastReceived != n || c.MulticastAhead != 0 || c.BadMAC != 0 {
					t.Errorf("follower %d counters %+v", f, c)
				}
			}
			c := ps[0].Counters()
			if c.MulticastSent != n || c.MulticastSkipped != n || c.MulticastUnicast != 0 || c.Sent != 0 {
				t.Errorf("leader counters %+v: want %d group sends, %d skipped, no unicast", c, n, n)
			}
		})
	}
}

// A follower that misses group log (here: it drops what the group hands
// it) is healed the way consensus heals it: the leader goes back, by
// unicast, and the follower gets the rest of the log that way until it
// may rejoin.
func TestMulticastLossFallsBackToUnicast(t *testing.T) {
	ps := openGroupMembers(t, 2, groupFor(t), testSecret)
	waitConnected(t, ps...)
	waitGroupJoined(t, ps[0], ps[1])
	logs := appendLogs(4, 100)
	send := func(i int) {
		t.Helper()
		if !ps[0].Send(1, encode(&logs[i])) {
			t.Fatalf("send %d refused", i)
		}
	}
	send(0)
	send(1)
	in := newInbox(t)
	in.pollUntil(ps[1], 2) // both came from the group; say the node lost the second
	if c := ps[0].Counters(); c.MulticastSent != 2 || c.Sent != 0 {
		t.Fatalf("leader counters %+v", c)
	}
	// The leader goes back to message 1 (a retransmit): unicast, and the
	// follower is off the group until it acknowledges what it was sent by
	// unicast, so 2 and 3 go by unicast as well as on the group.
	send(1)
	send(2)
	send(3)
	in.pollUntil(ps[1], 7)
	count := map[consensus.Position]int{}
	for _, m := range in.got {
		count[m.Position]++
	}
	for i, want := range []int{1, 2, 2, 2} { // the group's copies of 2 and 3 are not ahead: handed on
		if count[logs[i].Position] != want {
			t.Errorf("message %d delivered %d times, want %d (%v)", i, count[logs[i].Position], want, count)
		}
	}
	c := ps[0].Counters()
	if c.MulticastUnicast != 3 || c.Sent != 3 || c.MulticastSent != 4 {
		t.Errorf("leader counters %+v: want 3 unicast (1 resent, 2, 3) and 4 group sends", c)
	}
}

// Group messages pass the same checks as unicast ones, with the MAC bound
// to the group: a forged, replayed or non-log message is dropped and
// counted.
func TestMulticastForgeriesDropped(t *testing.T) {
	mc := groupFor(t)
	ps := openGroupMembers(t, 2, mc, testSecret)
	waitConnected(t, ps...)
	d := newDriver(t)
	g, _ := ParseGroup(mc.Group)
	pub, err := d.AddPublication(fmt.Sprintf("udp?endpoint=%s|interface=lo|ttl=1|control=127.0.0.1:0|term-length=%d",
		g, 1<<20), StreamIDDefault)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Close)
	waitFor(t, "forger joined", func() bool {
		ps[1].Poll(func(consensus.MemberID, []byte) {}, 16)
		return ps[1].grecv.sub.ImageBySessionID(pub.SessionID()) != nil && pub.IsConnected()
	})
	logMsg := encode(&appendLogs(1, 64)[0])
	commit := encode(&consensus.Message{Type: consensus.MsgCommitPosition, From: 0, Term: 1, Position: 64})
	cases := []struct {
		name  string
		wire  []byte
		moved func(Counters) uint64
	}{
		{"no MAC", logMsg, func(c Counters) uint64 { return c.Malformed + c.BadMAC }},
		{"unicast MAC replayed on the group", tagged(testSecret, logMsg, 0, 1), func(c Counters) uint64 { return c.BadMAC }},
		{"wrong secret", tagged([]byte("another secret, 16+ bytes"), logMsg, 0, groupDestination), func(c Counters) uint64 { return c.BadMAC }},
		{"not a log message", tagged(testSecret, commit, 0, groupDestination), func(c Counters) uint64 { return c.MulticastDropped }},
		{"claims to be the receiver", tagged(testSecret, encode(&consensus.Message{Type: consensus.MsgAppendLog, From: 1,
			Term: 1, LogTerm: 1, Data: []byte{1}}), 1, groupDestination), func(c Counters) uint64 { return c.WrongSource }},
	}
	for _, tc := range cases {
		before := tc.moved(ps[1].Counters())
		offer(t, pub, tc.wire)
		pollCounters(t, ps[1], tc.name, func(c Counters) bool { return tc.moved(c) > before })
	}
	// A group message MAC'd for the group by a member is accepted: the
	// checks above were not failing for some other reason.
	offer(t, pub, tagged(testSecret, logMsg, 0, groupDestination))
	newInbox(t).pollUntil(ps[1], 1)
}

// A group from another host is dropped by the source check, secret or not.
func TestMulticastForeignHostDropped(t *testing.T) {
	if c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP("127.0.0.2")}); err != nil {
		t.Skipf("no 127.0.0.2: %v", err)
	} else {
		c.Close()
	}
	mc := groupFor(t)
	ps := openGroupMembers(t, 2, mc, nil)
	d := newDriver(t)
	g, _ := ParseGroup(mc.Group)
	pub, err := d.AddPublication(fmt.Sprintf("udp?endpoint=%s|interface=lo|ttl=1|control=127.0.0.2:0", g), StreamIDDefault)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Close)
	waitFor(t, "forger connected", pub.IsConnected)
	offer(t, pub, encode(&appendLogs(1, 64)[0]))
	pollCounters(t, ps[1], "wrong source", func(c Counters) bool { return c.WrongSource > 0 })
}

func TestMulticastConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		mc   MulticastConfig
		want string // "" = valid
	}{
		{MulticastConfig{}, ""},
		{MulticastConfig{Group: "239.255.20.1:40201"}, ""},
		{MulticastConfig{Group: "224.0.0.251:5353", Interface: "eth0", TTL: TTLMax}, ""},
		{MulticastConfig{Group: "127.0.0.1:40201"}, "multicast address"},
		{MulticastConfig{Group: "239.255.20.1"}, "ipv4:port"},
		{MulticastConfig{Group: "239.255.20.1:0"}, "non-zero port"},
		{MulticastConfig{Group: "[ff02::1]:40201"}, "IPv4 multicast"},
		{MulticastConfig{Group: "239.255.20.1:1", TTL: -1}, "ttl"},
		{MulticastConfig{Group: "239.255.20.1:1", TTL: TTLMax + 1}, "ttl"},
		{MulticastConfig{Group: "239.255.20.1:1", Interface: "a-very-long-interface"}, "at most"},
		{MulticastConfig{Group: "239.255.20.1:1", Interface: "lo|ttl=9"}, "not an interface"},
		{MulticastConfig{Group: "239.255.20.1:1", Interface: "l o"}, "not an interface"},
	} {
		err := tc.mc.Validate()
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: %v, want %q", tc.mc, err, tc.want)
		}
		if _, nerr := newTransport(Config{Self: 0, Members: []Member{{0, "10.0.0.1:1"}}, Multicast: tc.mc}); (nerr == nil) != (err == nil) {
			t.Errorf("%+v: New says %v, Validate %v", tc.mc, nerr, err)
		}
	}
}

// TestRouterScript: the router's decisions, step by step.
func TestRouterScript(t *testing.T) {
	r := newRouter(150)
	var ack acks
	for i := range ack {
		ack[i] = -1
	}
	type step struct {
		f          consensus.MemberID
		term       consensus.TermID
		pos, end   consensus.Position
		acked      consensus.Position
		groupOK    bool // what the group offer returns, if tried
		want       route
		wantSkipOK bool
	}
	steps := []struct {
		note string
		step
	}{
		{"term start: new log goes to the group", step{f: 1, term: 1, pos: 0, end: 100, acked: -1, groupOK: true, want: routeGroup}},
		{"follower 2 in step: skipped", step{f: 2, term: 1, pos: 0, end: 100, acked: -1, want: routeSkip}},
		{"next chunk, follower 2 first", step{f: 2, term: 1, pos: 100, end: 200, acked: -1, groupOK: true, want: routeGroup}},
		{"follower 1 in step", step{f: 1, term: 1, pos: 100, end: 200, acked: 100, want: routeSkip}},
		{"follower 1 goes back (a retransmit): unicast", step{f: 1, term: 1, pos: 100, end: 200, acked: 100, want: routeUnicast}},
		{"new log, 1 has not acknowledged its unicast: both", step{f: 1, term: 1, pos: 200, end: 300, acked: 100, groupOK: true, want: routeGroupAndUnicast}},
		{"follower 2 still skipped", step{f: 2, term: 1, pos: 200, end: 300, acked: 200, want: routeSkip}},
		{"1 acknowledged all it was sent: rejoins at new log", step{f: 1, term: 1, pos: 300, end: 400, acked: 300, groupOK: true, want: routeGroup}},
		{"2 in step", step{f: 2, term: 1, pos: 300, end: 400, acked: 300, want: routeSkip}},
		{"1 goes back a second time: unicast", step{f: 1, term: 1, pos: 300, end: 400, acked: 300, want: routeUnicast}},
		{"1 is held off despite its acknowledgement", step{f: 1, term: 1, pos: 400, end: 500, acked: 400, groupOK: true, want: routeGroupAndUnicast}},
		{"group refuses: 2 falls back to unicast", step{f: 2, term: 1, pos: 500, end: 600, acked: 500, groupOK: false, want: routeGroup}},
		{"2 is off the group now; new log tried on the group again", step{f: 2, term: 1, pos: 600, end: 700, acked: 500, groupOK: true, want: routeGroupAndUnicast}},
		{"2 acknowledged all it was sent: rejoins", step{f: 2, term: 1, pos: 700, end: 800, acked: 700, groupOK: true, want: routeGroup}},
		{"new term: everyone in step again, held-off 1 excepted", step{f: 1, term: 2, pos: 800, end: 900, acked: -1, groupOK: true, want: routeGroupAndUnicast}},
		{"2 in step in the new term", step{f: 2, term: 2, pos: 800, end: 900, acked: -1, want: routeSkip}},
		{"2 goes back: unicast", step{f: 2, term: 2, pos: 700, end: 800, acked: -1, want: routeUnicast}},
	}
	for i, s := range steps {
		if s.term != r.term {
			for i := range ack {
				ack[i] = -1
			}
		}
		ack[s.f] = s.acked
		got := r.route(s.f, s.term, s.pos, s.end, &ack)
		if got != s.want {
			t.Fatalf("step %d (%s): route %v, want %v", i, s.note, got, s.want)
		}
		groupOK := (got == routeGroup || got == routeGroupAndUnicast) && s.groupOK
		unicast := got == routeUnicast || got == routeGroupAndUnicast || (got == routeGroup && !groupOK)
		r.sent(s.f, s.pos, s.end, got, groupOK, unicast, &ack)
	}
}

// A follower off the group that the consensus core ships to after
// another rejoins when the group carries the log it is due next.
func TestRouterJoinOthers(t *testing.T) {
	r := newRouter(150)
	ack := acks{-1, -1, -1, -1, -1, -1, -1, -1, -1}
	step := func(f consensus.MemberID, pos, end consensus.Position, want route) {
		t.Helper()
		got := r.route(f, 1, pos, end, &ack)
		if got != want {
			t.Fatalf("follower %d [%d,%d): %v, want %v", f, pos, end, got, want)
		}
		groupOK := got == routeGroup || got == routeGroupAndUnicast
		r.sent(f, pos, end, got, groupOK, got == routeUnicast || got == routeGroupAndUnicast, &ack)
	}
	step(1, 0, 100, routeGroup)
	step(2, 0, 100, routeSkip)
	step(2, 0, 100, routeUnicast) // 2 goes back: off the group
	ack[1], ack[2] = 100, 40      // 2 has not acknowledged its resend yet
	step(1, 100, 200, routeGroup) // 200-40 > 150: 2 may not join
	step(2, 100, 200, routeUnicast)
	ack[2] = 200
	step(1, 200, 300, routeGroup) // 2 is due [200,300) and may join
	step(2, 200, 300, routeSkip)
	step(1, 300, 400, routeGroup)
	step(2, 300, 400, routeSkip)
}

// TestRouterModel drives the router with a model of the consensus core
// (per-follower next and match, a window, catch-up on a rejected
// AppendLog, a retransmit timeout) and of the network (a FIFO unicast
// stream and a FIFO group stream per follower, interleaved at random, each
// losing messages or refusing group offers at random), and checks that
// every follower always ends with the whole log, and that on a perfect
// network the group carries all of it.
func TestRouterModel(t *testing.T) {
	for seed := range uint64(300) {
		m := newRouterModel(seed, 3, seed%3 == 1, seed%3 == 2)
		m.run(t)
		if m.lossy || m.refusing {
			continue
		}
		// On a perfect network the group carries the log and never leaves
		// a follower behind: no unicast, no retransmit, no catch-up,
		// nothing dropped as ahead.
		if m.groupSends == 0 || m.unicasts != 0 || m.retransmits != 0 || m.catchups != 0 || m.ahead != 0 {
			t.Fatalf("seed %d without loss: %d group sends, %d unicast, %d retransmits, %d catch-ups, %d ahead",
				seed, m.groupSends, m.unicasts, m.retransmits, m.catchups, m.ahead)
		}
	}
}

// Model bounds, in model steps and log units.
const (
	modelProduceSteps     = 400 // steps during which the leader appends
	modelSettleSteps      = 4000
	modelWindow           = 8   // log units in flight per follower
	modelBatch            = 3   // log units per AppendLog at most
	modelRetransmitSteps  = 20  // steps without progress before the leader goes back
	modelLossPerThousand  = 50  // per message, when lossy
	modelMessagesPerFlush = 4   // AppendLogs per follower per step
	modelQueueMax         = 256 // messages in flight per stream
	modelLagMax           = 4   // log units in flight to a follower that rejoins
	modelHeldMax          = 4   // group messages a follower holds
)

type modelMsg struct {
	pos, end consensus.Position
}

type modelFollower struct {
	next, match  consensus.Position // the leader's view
	lastProgress int
	end          consensus.Position // the follower's log
	uni, grp     []modelMsg
	held         []modelMsg // group log ahead of rx (heldLog)
	rx           rxLog
	catchup      consensus.Position // -1: none pending
	acked        consensus.Position // last AppendPosition the leader got
}

type routerModel struct {
	rnd      *rand.Rand
	r        *router
	lossy    bool
	refusing bool // the group refuses some offers (back pressure)
	logEnd   consensus.Position
	fol      []*modelFollower // index 0 unused (the leader)
	step     int
	seed     uint64
	// what happened, for the checks
	groupSends, unicasts, retransmits, catchups, ahead int
}

func newRouterModel(seed uint64, members int, lossy, refusing bool) *routerModel {
	m := &routerModel{rnd: rand.New(rand.NewPCG(seed, seed^0x5eed)), r: newRouter(modelLagMax), lossy: lossy,
		refusing: refusing, seed: seed}
	for range members {
		m.fol = append(m.fol, &modelFollower{catchup: -1, acked: -1})
	}
	return m
}

func (m *routerModel) lose() bool { return m.lossy && m.rnd.IntN(1000) < modelLossPerThousand }

func (m *routerModel) run(t *testing.T) {
	for m.step = 0; m.step < modelProduceSteps+modelSettleSteps; m.step++ {
		if m.step < modelProduceSteps && m.rnd.IntN(2) == 0 {
			m.logEnd += consensus.Position(1 + m.rnd.IntN(4))
		}
		m.ship()
		for f := 1; f < len(m.fol); f++ {
			m.deliver(f)
			m.answer(f)
		}
		if m.step >= modelProduceSteps && m.allCaughtUp() {
			return
		}
	}
	for f := 1; f < len(m.fol); f++ {
		t.Errorf("seed %d: follower %d ends at %d of %d (leader view next %d match %d)", m.seed, f,
			m.fol[f].end, m.logEnd, m.fol[f].next, m.fol[f].match)
	}
}

func (m *routerModel) allCaughtUp() bool {
	for f := 1; f < len(m.fol); f++ {
		if m.fol[f].end != m.logEnd {
			return false
		}
	}
	return true
}

// ship is the leader's flush: shipLog per follower, then the retransmit
// timeout.
func (m *routerModel) ship() {
	for f := 1; f < len(m.fol); f++ {
		fs := m.fol[f]
		for sent := 0; sent < modelMessagesPerFlush && fs.next < m.logEnd && fs.next-fs.match < modelWindow; sent++ {
			end := min(m.logEnd, fs.next+modelBatch)
			m.send(f, modelMsg{fs.next, end})
			fs.next = end
		}
		if fs.next > fs.match && m.step-fs.lastProgress >= modelRetransmitSteps {
			m.retransmits++
			fs.next, fs.lastProgress = fs.match, m.step
		}
	}
}

func (m *routerModel) send(f int, msg modelMsg) {
	fs := m.fol[f]
	var ack acks
	for i := range ack {
		ack[i] = -1
	}
	for g := 1; g < len(m.fol); g++ {
		ack[g] = m.fol[g].acked
	}
	rt := m.r.route(consensus.MemberID(f), 1, msg.pos, msg.end, &ack)
	groupOK := (rt == routeGroup || rt == routeGroupAndUnicast) && !(m.refusing && m.rnd.IntN(20) == 0)
	unicast := rt == routeUnicast || rt == routeGroupAndUnicast || (rt == routeGroup && !groupOK)
	if groupOK {
		m.groupSends++
		for g := 1; g < len(m.fol); g++ {
			if gs := m.fol[g]; !m.lose() && len(gs.grp) < modelQueueMax {
				gs.grp = append(gs.grp, msg)
			}
		}
	}
	if unicast {
		m.unicasts++
	}
	if unicast && !m.lose() && len(fs.uni) < modelQueueMax {
		fs.uni = append(fs.uni, msg)
	}
	m.r.sent(consensus.MemberID(f), msg.pos, msg.end, rt, groupOK, unicast, &ack)
}

// deliver hands a random interleaving of follower f's two streams to its
// peer receive rules and its node.
func (m *routerModel) deliver(f int) {
	fs := m.fol[f]
	for len(fs.uni)+len(fs.grp) > 0 && m.rnd.IntN(4) != 0 {
		var msg modelMsg
		group := len(fs.uni) == 0 || (len(fs.grp) > 0 && m.rnd.IntN(2) == 0)
		if group {
			msg, fs.grp = fs.grp[0], fs.grp[1:]
			if fs.rx.ahead(1, msg.pos) {
				if n := len(fs.held); n < modelHeldMax && (n == 0 || msg.pos <= fs.held[n-1].end) {
					fs.held = append(fs.held, msg)
				} else {
					m.ahead++ // MulticastAhead
				}
				continue
			}
		} else {
			msg, fs.uni = fs.uni[0], fs.uni[1:]
		}
		m.node(fs, msg)
		for len(fs.held) > 0 && !fs.rx.ahead(1, fs.held[0].pos) {
			msg, fs.held = fs.held[0], fs.held[1:]
			m.node(fs, msg)
		}
	}
}

// node is the follower's consensus node receiving an AppendLog.
func (m *routerModel) node(fs *modelFollower, msg modelMsg) {
	fs.rx.note(1, msg.end)
	if msg.pos > fs.end { // the node rejects it and asks to catch up
		m.catchups++
		fs.catchup = fs.end
		return
	}
	fs.end = max(fs.end, msg.end)
}

// answer is the follower's flush (AppendPosition, CatchupPosition), lossy
// too, and the leader's handling of them.
func (m *routerModel) answer(f int) {
	fs := m.fol[f]
	if fs.catchup >= 0 {
		if p := fs.catchup; !m.lose() && p >= fs.match {
			fs.next, fs.lastProgress = p, m.step // replicateFrom
		}
		fs.catchup = -1
	}
	if !m.lose() {
		fs.acked = fs.end
		if fs.end > fs.match {
			fs.match, fs.lastProgress = fs.end, m.step
		}
		fs.next = max(fs.next, fs.match)
	}
}

// TestHeldGroupLog: group log that overtakes the member's own stream is
// held until the stream reaches it, then handed on in order; what does not
// continue the held log, or outlives its term, is dropped and counted.
func TestHeldGroupLog(t *testing.T) {
	p, err := newTransport(Config{Self: 0, AppendDataMax: 64 << 10, Members: []Member{
		{0, "10.0.0.1:9020"}, {1, "10.0.0.2:9020"}, {2, "10.0.0.3:9020"}},
		Multicast: MulticastConfig{Group: "239.255.20.1:40201"}})
	if err != nil {
		t.Fatal(err)
	}
	st := &imageState{host: netip.MustParseAddr("10.0.0.2"), member: true}
	var got []consensus.Position
	h := func(from consensus.MemberID, b []byte) {
		var m consensus.Message
		if err := consensus.DecodeMessage(b, &m); err != nil || from != 1 {
			t.Fatalf("handed %v from %d", err, from)
		}
		got = append(got, m.Position)
	}
	for _, r := range []*receiver{&p.recv, &p.grecv} {
		r.handler, r.limit = h, 100
	}
	logs := appendLogs(8, 100)
	wire := func(i int, term consensus.TermID) []byte {
		m := logs[i]
		m.From, m.Term = 1, term
		return encode(&m)
	}
	steps := []struct {
		group bool
		i     int
		term  consensus.TermID
		want  []consensus.Position // handed so far
		held  uint64
		ahead uint64
	}{
		{false, 0, 1, []consensus.Position{0}, 0, 0},
		{true, 2, 1, []consensus.Position{0}, 1, 0},                         // ahead of 100: held
		{true, 3, 1, []consensus.Position{0}, 2, 0},                         // continues the held log
		{true, 5, 1, []consensus.Position{0}, 3, 2},                         // a gap: the newest replaces what was held
		{false, 1, 1, []consensus.Position{0, 100}, 3, 2},                   // not there yet
		{false, 4, 1, []consensus.Position{0, 100, 400, 500}, 3, 2},         // the stream reaches it: released
		{true, 1, 1, []consensus.Position{0, 100, 400, 500, 100}, 3, 2},     // not ahead: handed (the node skips it)
		{true, 7, 1, []consensus.Position{0, 100, 400, 500, 100}, 4, 2},     // held ...
		{false, 0, 2, []consensus.Position{0, 100, 400, 500, 100, 0}, 4, 3}, // ... and dropped by a new term
	}
	for n, s := range steps {
		r := &p.recv
		if s.group {
			r = &p.grecv
		}
		r.deliver(st, wire(s.i, s.term))
		c := p.Counters()
		if fmt.Sprint(got) != fmt.Sprint(s.want) || c.MulticastHeld != s.held || c.MulticastAhead != s.ahead {
			t.Fatalf("step %d: handed %v held %d ahead %d; want %v, %d, %d", n, got, c.MulticastHeld, c.MulticastAhead,
				s.want, s.held, s.ahead)
		}
	}
	// release respects its limit.
	got = nil
	p.recv.deliver(st, wire(0, 3))
	for i := 2; i <= 4; i++ {
		p.grecv.deliver(st, wire(i, 3))
	}
	p.recv.limit = 2 // the next delivery may release one held message
	p.recv.handed = 0
	p.recv.deliver(st, wire(1, 3))
	if n := p.release(h, 1); n != 1 || fmt.Sprint(got) != "[0 100 200 300]" {
		t.Fatalf("limited release: %d, handed %v", n, got)
	}
}

func TestMulticastConstants(t *testing.T) {
	if groupDestination < MembersMax || groupDestination < 0 {
		t.Error("the group's MAC destination could be a member id")
	}
	if rejoinHoldoffChunks<<(strikesMax-2) >= strikeDecayChunks {
		t.Error("a held-off follower cannot earn a strike back before its next hold-off ends")
	}
	if heldWireMessages < 2 || heldMessagesMax < heldWireMessages {
		t.Error("the held log cannot hold a message while the next arrives")
	}
	if ownDrainBytesMax < 64<<10 {
		t.Error("a Poll skips less of its own group stream than one batch")
	}
}

// The group loops back to this machine only when another member runs on it.
func TestGroupLoopback(t *testing.T) {
	p, err := newTransport(Config{Self: 0, Members: []Member{{0, "10.0.0.1:1"}, {1, "10.0.0.2:1"}, {2, "10.0.0.3:1"}},
		Multicast: MulticastConfig{Group: "239.255.20.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		local []string
		want  bool
	}{
		{[]string{"10.0.0.1", "127.0.0.1"}, false}, // every other member elsewhere
		{[]string{"10.0.0.1", "10.0.0.3"}, true},   // member 2 on this machine
		{nil, true},                                // unknown: loop back to be safe
	} {
		var local []netip.Addr
		for _, a := range tc.local {
			local = append(local, netip.MustParseAddr(a))
		}
		if tc.local != nil && local == nil {
			local = []netip.Addr{}
		}
		if got := p.othersOnThisMachine(local); got != tc.want {
			t.Errorf("local %v: %t, want %t", tc.local, got, tc.want)
		}
	}
	lo, err := newTransport(Config{Self: 0, Members: []Member{{0, "127.0.0.1:1"}, {1, "127.0.0.2:1"}},
		Multicast: MulticastConfig{Group: "239.255.20.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !lo.othersOnThisMachine([]netip.Addr{}) {
		t.Error("a member on another loopback address does not count as this machine")
	}
	pub, _ := MulticastConfig{Group: "239.255.20.1:1", Interface: "lo"}.channels(netip.MustParseAddr("10.0.0.1"), 1<<20, false)
	if !strings.Contains(pub, "loopback=false") || !strings.Contains(pub, "interface=lo") || !strings.Contains(pub, "fc=max") {
		t.Errorf("publication channel %q", pub)
	}
}

// Members on distinct loopback addresses of one machine still hear the
// group (it loops back), and the source check tells them apart.
func TestMulticastDistinctLoopbackHosts(t *testing.T) {
	hosts := []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}
	ms := loopMembers(t, hosts...)
	mc := groupFor(t)
	var ps []*Transport
	for i := range ms {
		p, err := New(Config{Driver: newDriver(t), Self: consensus.MemberID(i), Members: ms, AppendDataMax: 64 << 10, Multicast: mc})
		if err != nil {
			if strings.Contains(err.Error(), "join") || strings.Contains(err.Error(), "interface") {
				t.Skipf("multicast on lo unavailable here: %v", err)
			}
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		ps = append(ps, p)
	}
	waitConnected(t, ps...)
	waitGroupJoined(t, ps[0], ps[1], ps[2])
	logs := appendLogs(20, 100)
	for i := range logs {
		for f := consensus.MemberID(1); f <= 2; f++ {
			ps[0].Send(f, encode(&logs[i]))
		}
	}
	for f := 1; f <= 2; f++ {
		newInbox(t).pollUntil(ps[f], len(logs))
		if c := ps[f].Counters(); c.MulticastReceived != uint64(len(logs)) {
			t.Errorf("follower %d: %+v", f, c)
		}
	}
}

// Neither the leader's routing and group offer nor a follower's group
// receive path, hold and release included, allocates.
func TestMulticastNoAllocs(t *testing.T) {
	ps := openGroupMembers(t, 3, groupFor(t), testSecret)
	waitConnected(t, ps...)
	waitGroupJoined(t, ps[0], ps[1], ps[2])
	const runs = 50
	logs := appendLogs(runs+1, 200)
	wires := make([][]byte, len(logs))
	for i := range logs {
		wires[i] = encode(&logs[i])
	}
	i := 0
	if a := testing.AllocsPerRun(runs, func() {
		ps[0].Send(1, wires[i])
		ps[0].Send(2, wires[i])
		i++
	}); a != 0 {
		t.Errorf("Send with multicast allocates %.1f per AppendLog", a)
	}
	n := 0
	h := func(consensus.MemberID, []byte) { n++ }
	if a := testing.AllocsPerRun(runs, func() { ps[1].Poll(h, 16) }); a != 0 {
		t.Errorf("Poll with multicast allocates %.1f", a)
	}
	p, err := newTransport(Config{Self: 0, Secret: testSecret, AppendDataMax: 64 << 10, Members: []Member{
		{0, "10.0.0.1:9020"}, {1, "10.0.0.2:9020"}}, Multicast: MulticastConfig{Group: "239.255.20.1:40201"}})
	if err != nil {
		t.Fatal(err)
	}
	st := &imageState{host: netip.MustParseAddr("10.0.0.2"), member: true}
	p.recv.handler, p.grecv.handler = h, h
	term := consensus.TermID(1)
	var w0, w1, w2 []byte
	held := func() { // a group message overtakes the stream, then the stream releases it
		p.recv.limit, p.grecv.limit, p.recv.handed = 16, 16, 0
		p.recv.deliver(st, w0)
		p.grecv.deliver(st, w2)
		p.recv.deliver(st, w1)
	}
	prepare := func() {
		term++
		m0, m1, m2 := logs[0], logs[1], logs[2]
		m0.From, m0.Term, m1.From, m1.Term, m2.From, m2.Term = 1, term, 1, term, 1, term
		w0, w1 = tagged(testSecret, encode(&m0), 1, 0), tagged(testSecret, encode(&m1), 1, 0)
		w2 = tagged(testSecret, encode(&m2), 1, groupDestination)
	}
	prepare()
	held()
	if c := p.Counters(); c.MulticastHeld != 1 || c.Received != 3 {
		t.Fatalf("hold and release: %+v", c)
	}
	// Each run is a new term (the messages are prepared outside the
	// measured function, which AllocsPerRun runs runs+1 times).
	prepared := make([][3][]byte, runs+1)
	for k := range prepared {
		prepare()
		prepared[k] = [3][]byte{w0, w1, w2}
	}
	k := 0
	if a := testing.AllocsPerRun(runs, func() {
		w0, w1, w2 = prepared[k][0], prepared[k][1], prepared[k][2]
		k++
		held()
	}); a != 0 {
		t.Errorf("hold and release allocate %.1f", a)
	}
	if c := p.Counters(); c.MulticastHeld != runs+2 {
		t.Errorf("held %d, want %d", c.MulticastHeld, runs+2)
	}
}
