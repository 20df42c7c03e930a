package module

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"venue/cluster"
	"venue/cluster/consensus"
	"venue/cluster/container"
	"venue/cluster/protocol"
)

// fakeIngress queues client messages.
type fakeIngress struct{ q [][]byte }

func (f *fakeIngress) Poll(h func([]byte), limit int) int {
	n := min(limit, len(f.q))
	for _, b := range f.q[:n] {
		h(b)
	}
	f.q = f.q[n:]
	return n
}

// fakeResponses records what each response channel received, decoded.
type fakeResponses struct {
	got      map[string][]protocol.Message
	opened   int
	open     int
	pressure bool // every offer is back pressured
}

type fakeResponse struct {
	f       *fakeResponses
	channel string
	closed  bool
}

func (f *fakeResponses) Open(channel string, _ int32) (Response, error) {
	f.opened++
	f.open++
	return &fakeResponse{f: f, channel: channel}, nil
}

func (r *fakeResponse) Offer(header, payload []byte) cluster.OfferStatus {
	if r.closed {
		return cluster.OfferClosed
	}
	if r.f.pressure {
		return cluster.OfferBackPressured
	}
	b := append(append([]byte(nil), header...), payload...)
	var m protocol.Message
	if err := protocol.Decode(b, &m); err != nil {
		panic(err)
	}
	r.f.got[r.channel] = append(r.f.got[r.channel], m)
	return cluster.OfferOK
}

func (r *fakeResponse) Close() {
	if !r.closed {
		r.closed = true
		r.f.open--
	}
}

// echoService sends every message back and records session events.
type echoService struct {
	nopService
	events []string
}

func (e *echoService) OnSessionOpen(s cluster.ClientSession, _ int64) {
	e.events = append(e.events, fmt.Sprintf("open %d %s", s.ID(), s.Principal()))
}
func (e *echoService) OnSessionClose(s cluster.ClientSession, _ int64, r cluster.CloseReason) {
	e.events = append(e.events, fmt.Sprintf("close %d %v", s.ID(), r))
}
func (e *echoService) OnSessionMessage(s cluster.ClientSession, _ int64, _ cluster.Position, p []byte) {
	e.events = append(e.events, fmt.Sprintf("msg %d %s", s.ID(), p))
	s.Offer(p)
}

type syncDurability struct {
	hs    consensus.HardState
	store *consensus.MemLogStore
}

func (d *syncDurability) SaveHardState(hs consensus.HardState) error { d.hs = hs; return nil }
func (d *syncDurability) LogAppended()                               { d.store.Sync() }

// sessionHarness is one member (a single-member cluster unless members > 1)
// with a session layer, fake ingress and response channels, and a virtual
// clock.
type sessionHarness struct {
	t     *testing.T
	nowNs int64
	agent *Agent
	in    *fakeIngress
	resp  *fakeResponses
	svc   *echoService
	dur   *syncDurability
	store *consensus.MemLogStore
}

func newSessionHarness(t *testing.T, members int, cfg SessionConfig) *sessionHarness {
	store := consensus.NewMemLogStore()
	h := &sessionHarness{t: t, in: &fakeIngress{}, resp: &fakeResponses{got: map[string][]protocol.Message{}},
		store: store, dur: &syncDurability{store: store, hs: consensus.HardState{Vote: consensus.NoMember}}}
	h.start(members, cfg)
	return h
}

func (h *sessionHarness) start(members int, cfg SessionConfig) {
	node, err := consensus.NewNode(consensus.DefaultConfig(0, members, &rnd{}), h.store, h.dur.hs, 0, h.nowNs)
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := NewSessions(0, cfg, h.in, h.resp)
	if err != nil {
		h.t.Fatal(err)
	}
	h.svc = &echoService{}
	c := container.New(0, h.svc, s)
	if err := c.Start(nil, 0); err != nil {
		h.t.Fatal(err)
	}
	h.agent = New(node, c, &fakeTransport{durable: &fakeDurability{hs: consensus.HardState{Term: 1}}}, h.dur, nil)
	h.agent.AttachSessions(s)
}

// run advances virtual time in 1 ms duty cycles until cond holds.
func (h *sessionHarness) run(what string, cond func() bool) {
	h.t.Helper()
	for range 5_000 {
		h.nowNs += 1_000_000
		h.agent.DoWork(h.nowNs)
		if err := h.agent.Err(); err != nil {
			h.t.Fatal(err)
		}
		if cond() {
			return
		}
	}
	h.t.Fatalf("%s: not within 5 s of virtual time; responses %+v", what, h.resp.got)
}

func (h *sessionHarness) leading() bool { return h.agent.Sessions().ready }

func (h *sessionHarness) send(m protocol.Message) {
	b, err := protocol.Append(nil, &m)
	if err != nil {
		h.t.Fatal(err)
	}
	h.in.q = append(h.in.q, b)
}

func (h *sessionHarness) connect(channel string, creds string) {
	h.send(protocol.Message{Type: protocol.Connect, CorrelationID: 1, StreamID: 9,
		Channel: []byte(channel), Credentials: []byte(creds)})
}

// last returns the last message channel received of type t.
func (h *sessionHarness) last(channel string, t protocol.Template) (protocol.Message, bool) {
	got := h.resp.got[channel]
	for i := len(got) - 1; i >= 0; i-- {
		if got[i].Type == t {
			return got[i], true
		}
	}
	return protocol.Message{}, false
}

func (h *sessionHarness) waitEvent(channel string, code protocol.EventCode) protocol.Message {
	h.t.Helper()
	var m protocol.Message
	h.run(fmt.Sprintf("%s gets %v", channel, code), func() bool {
		var ok bool
		m, ok = h.last(channel, protocol.SessionEvent)
		return ok && m.Code == code
	})
	return m
}

func (h *sessionHarness) open(channel string) int64 {
	h.t.Helper()
	h.connect(channel, "user-"+channel)
	return h.waitEvent(channel, protocol.EventOK).SessionID
}

func TestSessionConnectMessageAckEgress(t *testing.T) {
	h := newSessionHarness(t, 1, SessionConfig{})
	h.run("leader", h.leading)
	id := h.open("c1")
	if id != firstSessionID || h.svc.events[0] != "open 1 user-c1" {
		t.Fatalf("session %d, events %q", id, h.svc.events)
	}
	for corr := int64(1); corr <= 3; corr++ {
		h.send(protocol.Message{Type: protocol.SessionMessage, SessionID: id, CorrelationID: corr,
			Payload: fmt.Appendf(nil, "m%d", corr)})
	}
	h.send(protocol.Message{Type: protocol.SessionMessage, SessionID: id, CorrelationID: 2, Payload: []byte("dup")})
	h.run("ack 3", func() bool { m, ok := h.last("c1", protocol.Ack); return ok && m.CorrelationID == 3 })
	var echoed []string
	for _, m := range h.resp.got["c1"] {
		if m.Type == protocol.Egress {
			echoed = append(echoed, string(m.Payload))
			if m.SessionID != id || m.Position <= 0 || m.TimestampNs <= 0 {
				t.Fatalf("egress %+v", m)
			}
		}
	}
	if fmt.Sprint(echoed) != "[m1 m2 m3]" || h.agent.Sessions().Counters.Duplicate != 1 {
		t.Fatalf("echoed %v, duplicates %d", echoed, h.agent.Sessions().Counters.Duplicate)
	}
	h.send(protocol.Message{Type: protocol.CloseSession, SessionID: id})
	h.waitEvent("c1", protocol.EventClosed)
	if last := h.svc.events[len(h.svc.events)-1]; last != "close 1 client" || h.resp.open != 0 {
		t.Fatalf("events %q, open responses %d", h.svc.events, h.resp.open)
	}
}

func TestSessionLimitsAndRejections(t *testing.T) {
	h := newSessionHarness(t, 1, SessionConfig{SessionsMax: 1, IngressLimit: 1})
	h.run("leader", h.leading)
	id := h.open("a")
	h.connect("b", "x")
	if m := h.waitEvent("b", protocol.EventSessionLimit); len(m.Detail) == 0 {
		t.Fatal("limit without detail")
	}
	// Two messages in one duty cycle: the second exceeds the ingress limit.
	h.send(protocol.Message{Type: protocol.SessionMessage, SessionID: id, CorrelationID: 1, Payload: []byte("1")})
	h.send(protocol.Message{Type: protocol.SessionMessage, SessionID: id, CorrelationID: 2, Payload: []byte("2")})
	if m := h.waitEvent("a", protocol.EventIngressLimit); m.CorrelationID != 2 {
		t.Fatalf("ingress limit for %d", m.CorrelationID)
	}
	// Until the client resynchronizes, later messages are refused too, so
	// that none is committed ahead of the refused one.
	h.send(protocol.Message{Type: protocol.SessionMessage, SessionID: id, CorrelationID: 3, Payload: []byte("3")})
	h.run("refused in order", func() bool { return h.agent.Sessions().Counters.RefusedInOrder == 1 })
	h.send(protocol.Message{Type: protocol.KeepAlive, SessionID: id, CorrelationID: 4}) // next id: 4
	h.send(protocol.Message{Type: protocol.SessionMessage, SessionID: id, CorrelationID: 4,
		Payload: make([]byte, consensus.PayloadLengthMax+1)})
	if m := h.waitEvent("a", protocol.EventTooLarge); m.CorrelationID != 4 {
		t.Fatalf("too large for %d", m.CorrelationID)
	}
	h.in.q = append(h.in.q, []byte("garbage"), nil)
	h.send(protocol.Message{Type: protocol.Ack, SessionID: id}) // egress sent as ingress
	h.send(protocol.Message{Type: protocol.KeepAlive, SessionID: 99})
	h.run("drops counted", func() bool {
		c := h.agent.Sessions().Counters
		return c.Decode.Total() == 2 && c.NotIngress == 1 && c.UnknownSession == 1
	})
	if want := "[open 1 user-a msg 1 1]"; fmt.Sprint(h.svc.events) != want {
		t.Fatalf("service saw %q, want %s", h.svc.events, want)
	}
}

func TestSessionTimeoutClosesThroughLog(t *testing.T) {
	h := newSessionHarness(t, 1, SessionConfig{SessionTimeoutNs: 100_000_000})
	h.run("leader", h.leading)
	id := h.open("c")
	keepUntil := h.nowNs + 300_000_000
	for h.nowNs < keepUntil { // keepalives hold it open
		h.send(protocol.Message{Type: protocol.KeepAlive, SessionID: id})
		h.run("a cycle", func() bool { return true })
	}
	if h.agent.Sessions().Count() != 1 {
		t.Fatal("session with keepalives timed out")
	}
	m := h.waitEvent("c", protocol.EventClosed)
	if string(m.Detail) != "timeout" || h.svc.events[len(h.svc.events)-1] != "close 1 timeout" {
		t.Fatalf("close %q, events %q", m.Detail, h.svc.events)
	}
	if _, ok := h.last("c", protocol.Ack); !ok {
		t.Fatal("keepalive not acknowledged")
	}
}

// challengeAuth challenges every connect with "nonce" and accepts "nonce!".
type challengeAuth struct{}

func (challengeAuth) Connect(_ cluster.SessionID, creds []byte) AuthDecision {
	if string(creds) == "bad" {
		return AuthDecision{Verdict: AuthReject, Reason: "unknown user"}
	}
	return AuthDecision{Verdict: AuthChallenge, Challenge: []byte("nonce")}
}

func (challengeAuth) Respond(_ cluster.SessionID, challenge, response []byte) AuthDecision {
	if bytes.Equal(append(challenge, '!'), response) {
		return AuthDecision{Verdict: AuthAccept, Principal: []byte("trader")}
	}
	return AuthDecision{Verdict: AuthReject, Reason: "wrong answer"}
}

func TestSessionAuthenticatorChallengeRejectAccept(t *testing.T) {
	h := newSessionHarness(t, 1, SessionConfig{Authenticator: challengeAuth{}})
	h.run("leader", h.leading)
	h.connect("bad", "bad")
	if m := h.waitEvent("bad", protocol.EventAuthRejected); string(m.Detail) != "unknown user" {
		t.Fatalf("reject detail %q", m.Detail)
	}
	for _, tc := range []struct{ channel, answer string }{{"wrong", "nonce?"}, {"right", "nonce!"}} {
		h.connect(tc.channel, "u")
		var ch protocol.Message
		h.run("challenge", func() bool { var ok bool; ch, ok = h.last(tc.channel, protocol.Challenge); return ok })
		h.send(protocol.Message{Type: protocol.ChallengeResponse, CorrelationID: ch.CorrelationID,
			SessionID: ch.SessionID, Credentials: []byte(tc.answer)})
	}
	h.waitEvent("wrong", protocol.EventAuthRejected)
	h.waitEvent("right", protocol.EventOK)
	if fmt.Sprint(h.svc.events) != "[open 3 trader]" {
		t.Fatalf("events %q", h.svc.events)
	}
}

func TestSessionFollowerRedirects(t *testing.T) {
	h := newSessionHarness(t, 3, SessionConfig{}) // peers never answer: no leader
	h.connect("c", "u")
	m := h.waitEvent("c", protocol.EventRedirect)
	if m.Leader != protocol.NoLeader || h.resp.open != 0 {
		t.Fatalf("redirect %+v, open responses %d", m, h.resp.open)
	}
}

// TestSessionNewLeaderAfterRestart: a member restarted on the same log
// leads a new term and tells the session the last of its messages the log
// holds.
func TestSessionNewLeaderAfterRestart(t *testing.T) {
	h := newSessionHarness(t, 1, SessionConfig{})
	h.run("leader", h.leading)
	id := h.open("c")
	for corr := int64(1); corr <= 5; corr++ {
		h.send(protocol.Message{Type: protocol.SessionMessage, SessionID: id, CorrelationID: corr, Payload: []byte("x")})
	}
	h.run("ack 5", func() bool { m, ok := h.last("c", protocol.Ack); return ok && m.CorrelationID == 5 })
	term := h.agent.Status().Term
	h.start(1, SessionConfig{})
	h.run("new leader", func() bool { _, ok := h.last("c", protocol.NewLeader); return ok })
	m, _ := h.last("c", protocol.NewLeader)
	if m.CorrelationID != 5 || m.Term <= int64(term) || m.Leader != 0 || m.SessionID != id {
		t.Fatalf("new leader event %+v (old term %d)", m, term)
	}
	// Until the client resynchronizes, the new leader takes none of the
	// session's messages (they may follow ones lost with the old leader).
	h.send(protocol.Message{Type: protocol.SessionMessage, SessionID: id, CorrelationID: 6, Payload: []byte("early")})
	h.run("refused before resync", func() bool { return h.agent.Sessions().Counters.RefusedInOrder == 1 })
	// The client took back 6 and says its next id is 7; 7 goes in.
	h.send(protocol.Message{Type: protocol.KeepAlive, SessionID: id, CorrelationID: 7})
	h.send(protocol.Message{Type: protocol.SessionMessage, SessionID: id, CorrelationID: 7, Payload: []byte("y")})
	h.run("ack 7", func() bool { m, ok := h.last("c", protocol.Ack); return ok && m.CorrelationID == 7 })
	// A gap (8 never arrived) is refused from the first missing id.
	h.send(protocol.Message{Type: protocol.SessionMessage, SessionID: id, CorrelationID: 9, Payload: []byte("z")})
	if m := h.waitEvent("c", protocol.EventError); m.CorrelationID != 8 {
		t.Fatalf("gap refused at %d, want 8", m.CorrelationID)
	}
	// The session carries on; the next id is not reused.
	if id2 := h.open("d"); id2 != id+1 {
		t.Fatalf("second session id %d, want %d", id2, id+1)
	}
}

func TestSessionResentConnectOpensOneSession(t *testing.T) {
	h := newSessionHarness(t, 1, SessionConfig{})
	h.run("leader", h.leading)
	h.connect("c", "u")
	h.connect("c", "u") // resent before the first was committed
	h.waitEvent("c", protocol.EventOK)
	h.run("a cycle", func() bool { return true })
	if c := h.agent.Sessions().Counters; c.Opened != 1 || c.Duplicate != 1 {
		t.Fatalf("opened %d, duplicates %d", c.Opened, c.Duplicate)
	}
}

// TestSessionSlowConsumerClosed: egress a client cannot take closes its
// session through the log instead of vanishing.
func TestSessionSlowConsumerClosed(t *testing.T) {
	h := newSessionHarness(t, 1, SessionConfig{})
	h.run("leader", h.leading)
	id := h.open("c")
	h.resp.pressure = true
	h.send(protocol.Message{Type: protocol.SessionMessage, SessionID: id, CorrelationID: 1, Payload: []byte("x")})
	h.run("closed", func() bool { return h.agent.Sessions().Count() == 0 })
	if c := h.agent.Sessions().Counters; c.SlowConsumer != 1 || h.svc.events[len(h.svc.events)-1] != "close 1 service" {
		t.Fatalf("slow consumers %d, events %q", c.SlowConsumer, h.svc.events)
	}
}

// rearmService re-arms timer 7 every time it fires.
type rearmService struct {
	nopService
	c     cluster.Cluster
	fired int
}

func (r *rearmService) OnStart(c cluster.Cluster, _ io.Reader) error {
	r.c = c
	return nil
}

func (r *rearmService) OnSessionOpen(cluster.ClientSession, int64) {
	_ = r.c.ScheduleTimer(7, r.c.TimeNs()+10_000_000)
}

func (r *rearmService) OnTimerEvent(corr int64, ts int64) {
	r.fired++
	_ = r.c.ScheduleTimer(corr, ts+10_000_000)
}

// TestTimerReusedCorrelationFiresAgainInOneTerm: a timer rescheduled under
// the same correlation id after it fired is proposed again by the same
// leader.
func TestTimerReusedCorrelationFiresAgainInOneTerm(t *testing.T) {
	h := newSessionHarness(t, 1, SessionConfig{})
	svc := &rearmService{}
	var egress sessionsEgress
	c := container.New(0, svc, &egress)
	if err := c.Start(nil, 0); err != nil {
		t.Fatal(err)
	}
	h.agent = New(h.agent.Node(), c, &fakeTransport{durable: &fakeDurability{hs: consensus.HardState{Term: 1}}}, h.dur, nil)
	s, err := NewSessions(0, SessionConfig{}, h.in, h.resp)
	if err != nil {
		t.Fatal(err)
	}
	egress.s = s
	h.agent.AttachSessions(s)
	h.run("leader", h.leading)
	h.open("c")
	term := h.agent.Status().Term
	h.run("five firings", func() bool { return svc.fired >= 5 })
	if h.agent.Status().Term != term {
		t.Fatal("term changed; the test needs one term")
	}
}

// sessionsEgress forwards to a Sessions made after the container.
type sessionsEgress struct{ s *Sessions }

func (e *sessionsEgress) Send(id cluster.SessionID, p []byte) cluster.OfferStatus {
	return e.s.Send(id, p)
}

func TestAuthenticatorsParseCredentials(t *testing.T) {
	cases := []struct {
		a         Authenticator
		creds     string
		verdict   AuthVerdict
		principal string
	}{
		{AllowAll{}, "alice", AuthAccept, "alice"},
		{AllowAll{}, "alice:whatever", AuthAccept, "alice"},
		{Passwords{"alice": "pw"}, "alice:pw", AuthAccept, "alice"},
		{Passwords{"alice": "pw"}, "alice:nope", AuthReject, ""},
		{Passwords{"alice": "pw"}, "alice", AuthReject, ""},
		{Passwords{"alice": "pw"}, "bob:pw", AuthReject, ""},
		{Passwords{"alice": ""}, "alice", AuthAccept, "alice"},
	}
	for _, tc := range cases {
		d := tc.a.Connect(1, []byte(tc.creds))
		if d.Verdict != tc.verdict || string(d.Principal) != tc.principal {
			t.Errorf("%T %q: %+v", tc.a, tc.creds, d)
		}
	}
}

// TestShutdownActionStopsWithoutTerminate: a shutdown action in the log
// stops the member when applied, even if the leader that appended it did
// not call Terminate (it may have lost leadership since); one already in
// the log when the member started (a previous run's) does not.
func TestShutdownActionStopsWithoutTerminate(t *testing.T) {
	h := newSessionHarness(t, 1, SessionConfig{})
	h.run("leader", h.leading)
	if _, err := h.agent.Propose(h.nowNs, &consensus.LogEntry{Type: consensus.EntryClusterAction,
		Action: consensus.ActionShutdown}); err != nil {
		t.Fatal(err)
	}
	h.run("closed", func() bool { return h.agent.Node().Status().State == consensus.StateClosed })
	h.start(1, SessionConfig{}) // the same log, the shutdown in it
	h.run("leader again", h.leading)
	for range 100 {
		h.run("a cycle", func() bool { return true })
	}
	if st := h.agent.Node().Status().State; st == consensus.StateClosed {
		t.Fatal("a restart stopped again on the previous run's shutdown")
	}
}

// logActions returns the cluster actions in the store's log, in order.
func (h *sessionHarness) logActions() []consensus.ClusterAction {
	h.t.Helper()
	b, err := h.store.Read(h.store.Start(), h.store.End(), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []consensus.ClusterAction
	var e consensus.LogEntry
	for len(b) > 0 {
		n, err := consensus.DecodeEntry(b, &e)
		if err != nil {
			h.t.Fatal(err)
		}
		if e.Type == consensus.EntryClusterAction {
			out = append(out, e.Action)
		}
		b = b[n:]
	}
	return out
}

func TestSessionAdminRequests(t *testing.T) {
	h := newSessionHarness(t, 1, SessionConfig{AdminPrincipals: []string{"user-ops"}})
	h.run("leader", h.leading)
	ops, other := h.open("ops"), h.open("other")
	admin := func(channel string, session, corr int64, req protocol.AdminRequestType) protocol.Message {
		t.Helper()
		h.send(protocol.Message{Type: protocol.AdminRequest, SessionID: session, CorrelationID: corr, Request: req})
		var m protocol.Message
		h.run(fmt.Sprintf("%s: admin response %d", channel, corr), func() bool {
			var ok bool
			m, ok = h.last(channel, protocol.AdminResponse)
			return ok && m.CorrelationID == corr
		})
		return m
	}
	cases := []struct {
		name    string
		channel string
		session int64
		req     protocol.AdminRequestType
		want    protocol.EventCode
	}{
		{"a principal not allowed", "other", other, protocol.AdminSnapshot, protocol.EventAuthRejected},
		{"an unknown request", "ops", ops, 99, protocol.EventError},
		{"a snapshot", "ops", ops, protocol.AdminSnapshot, protocol.EventOK},
	}
	for i, tc := range cases {
		m := admin(tc.channel, tc.session, int64(i+1), tc.req)
		if m.Code != tc.want || m.SessionID != tc.session || m.Request != tc.req {
			t.Errorf("%s: answered %+v, want code %v", tc.name, m, tc.want)
		}
		if (m.Code == protocol.EventOK) != (m.Position > 0) || m.Code != protocol.EventOK && len(m.Detail) == 0 {
			t.Errorf("%s: position %d, detail %q", tc.name, m.Position, m.Detail)
		}
	}
	if got := h.logActions(); len(got) != 1 || got[0] != consensus.ActionSnapshot {
		t.Errorf("log actions %v, want one snapshot", got)
	}
	c := h.agent.Sessions().Counters
	if c.AdminRequests != 1 || c.AdminRejected != 2 {
		t.Errorf("counters: %d requests, %d rejected", c.AdminRequests, c.AdminRejected)
	}
	// Admin requests are not session messages: the session's own sequence
	// is untouched, and its first message still has correlation id 1.
	h.send(protocol.Message{Type: protocol.SessionMessage, SessionID: ops, CorrelationID: 1, Payload: []byte("m")})
	h.run("ack 1", func() bool { m, ok := h.last("ops", protocol.Ack); return ok && m.CorrelationID == 1 })
}

func TestSessionStateKeepsPrincipals(t *testing.T) {
	h := newSessionHarness(t, 1, SessionConfig{})
	h.run("leader", h.leading)
	h.open("a")
	h.open("b")
	state := h.agent.Sessions().AppendState(nil)
	restored, err := NewSessions(0, SessionConfig{}, &fakeIngress{}, h.resp)
	if err != nil {
		t.Fatal(err)
	}
	if err := restored.RestoreState(state, 0); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[cluster.SessionID]string{1: "user-a", 2: "user-b"} {
		if ss := restored.sessions[id]; ss == nil || ss.principal != want || ss.channel != h.agent.Sessions().sessions[id].channel {
			t.Errorf("session %d restored as %+v, want principal %q", id, ss, want)
		}
	}
	// Version 1 (before principals): session 3 on channel "c", last message 5.
	v1 := []byte{sessionStateVersionV1, 2 * 3, 0, 1, 2 * 3, 2 * 9, 2 * 5, 1, 'c'}
	old, _ := NewSessions(0, SessionConfig{}, &fakeIngress{}, h.resp)
	if err := old.RestoreState(v1, 0); err != nil {
		t.Fatal(err)
	}
	if ss := old.sessions[3]; ss == nil || ss.channel != "c" || ss.lastCorr != 5 || ss.principal != "" || ss.stream != 9 {
		t.Errorf("version 1 session %+v", ss)
	}
	for cut := range len(state) {
		bad, _ := NewSessions(0, SessionConfig{}, &fakeIngress{}, h.resp)
		if bad.RestoreState(state[:cut], 0) == nil {
			t.Fatalf("state cut at %d of %d restored", cut, len(state))
		}
	}
}

// FuzzRestoreState: session state arrives in snapshots, also from a peer
// (snapshot install). Any bytes restore or fail with ErrBadState, never
// panic, and a restored state survives an encode and restore unchanged.
func FuzzRestoreState(f *testing.F) {
	s, _ := NewSessions(0, SessionConfig{}, &fakeIngress{}, &fakeResponses{})
	f.Add(s.AppendState(nil))
	s.maxID, s.suspended = 4, true
	for _, id := range []cluster.SessionID{2, 4} {
		s.sessions[id] = &session{id: id, channel: "udp?endpoint=127.0.0.1:9", stream: 102, principal: "p", lastCorr: 7}
		s.order = append(s.order, id)
	}
	f.Add(s.AppendState(nil))
	f.Add([]byte{sessionStateVersionV1, 2 * 3, 0, 1, 2 * 3, 2 * 9, 2 * 5, 1, 'c'})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _ := NewSessions(0, SessionConfig{}, &fakeIngress{}, &fakeResponses{})
		if err := r.RestoreState(b, 0); err != nil {
			if !errors.Is(err, ErrBadState) {
				t.Fatalf("error %v does not wrap ErrBadState", err)
			}
			return
		}
		// Varints may come longer than needed, so compare the state, not
		// the bytes: what it encodes to restores to the same encoding.
		enc := r.AppendState(nil)
		again, _ := NewSessions(0, SessionConfig{}, &fakeIngress{}, &fakeResponses{})
		if err := again.RestoreState(enc, 0); err != nil {
			t.Fatalf("re-encoded state does not restore: %v", err)
		}
		if !bytes.Equal(again.AppendState(nil), enc) || again.suspended != r.suspended || again.maxID != r.maxID {
			t.Fatalf("restored state changes on a round trip:\n%x\n%x", again.AppendState(nil), enc)
		}
	})
}
