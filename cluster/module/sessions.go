package module

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"slices"

	"venue/cluster"
	"venue/cluster/consensus"
	"venue/cluster/protocol"
)

// Client session bounds and defaults.
const (
	// SessionsMaxLimit bounds SessionConfig.SessionsMax.
	SessionsMaxLimit = 1 << 16
	// pendingConnectsMax bounds connects accepted by the leader but not yet
	// committed, plus challenged connects awaiting an answer.
	pendingConnectsMax = 256
	// defaultSessionsMax is the default maximum number of open sessions.
	defaultSessionsMax = 256
	// defaultSessionTimeoutNs closes a session that sent nothing for 10 s.
	defaultSessionTimeoutNs = 10_000_000_000
	// defaultIngressLimit bounds one session's proposed, uncommitted messages.
	defaultIngressLimit = 4096
	// challengeTimeoutNs drops a challenged connect not answered in time.
	challengeTimeoutNs = 5_000_000_000
	// ingressPollLimit bounds ingress messages handled per duty cycle.
	ingressPollLimit = 256
	// firstSessionID: session 0 is the service's own (Cluster.Offer).
	firstSessionID = 1
)

// Ingress delivers client messages (cluster/protocol) to the member.
type Ingress interface {
	// Poll hands up to limit received messages to handler and returns how
	// many it handed; msg is valid only during the call.
	Poll(handler func(msg []byte), limit int) int
}

// Responses opens senders to clients' response channels.
type Responses interface {
	// Open returns a sender to channel/streamID. Opening the same channel
	// twice may share one underlying publication.
	Open(channel string, streamID int32) (Response, error)
}

// Response sends to one client's response channel without blocking.
type Response interface {
	// Offer sends header followed by payload (nil for none) as one message.
	Offer(header, payload []byte) cluster.OfferStatus
	// Close releases the sender.
	Close()
}

// AuthVerdict is an authenticator's decision on a connect.
type AuthVerdict uint8

// Verdicts.
const (
	// AuthAccept: open the session with the decision's Principal.
	AuthAccept AuthVerdict = iota + 1
	// AuthReject: refuse the session.
	AuthReject
	// AuthChallenge: send the decision's Challenge and wait for a response.
	AuthChallenge
)

// AuthDecision is what an Authenticator decided.
type AuthDecision struct {
	Verdict   AuthVerdict
	Principal []byte // AuthAccept: the session's identity
	Challenge []byte // AuthChallenge: sent to the client
	Reason    string // AuthReject: told to the client
}

// Authenticator checks client credentials on the leader. It runs on the
// consensus module's goroutine and must not block.
type Authenticator interface {
	// Connect decides on a connect request's credentials.
	Connect(sessionID cluster.SessionID, credentials []byte) AuthDecision
	// Respond decides on the answer to a challenge it issued.
	Respond(sessionID cluster.SessionID, challenge, response []byte) AuthDecision
}

// Credentials are "principal" or "principal:password".
func splitCredentials(credentials []byte) (principal, password []byte) {
	if i := bytes.IndexByte(credentials, ':'); i >= 0 {
		return credentials[:i], credentials[i+1:]
	}
	return credentials, nil
}

// AllowAll accepts every client; the principal is the credentials' part
// before any ':' (the password is ignored). For a trusted host only.
type AllowAll struct{}

// Connect implements Authenticator.
func (AllowAll) Connect(_ cluster.SessionID, credentials []byte) AuthDecision {
	principal, _ := splitCredentials(credentials)
	return AuthDecision{Verdict: AuthAccept, Principal: principal}
}

// Respond implements Authenticator.
func (AllowAll) Respond(cluster.SessionID, []byte, []byte) AuthDecision {
	return AuthDecision{Verdict: AuthReject, Reason: "no challenge was issued"}
}

// Passwords accepts "principal:password" credentials that match its table
// (compared in constant time); other principals are refused.
type Passwords map[string]string

// Connect implements Authenticator.
func (p Passwords) Connect(_ cluster.SessionID, credentials []byte) AuthDecision {
	principal, password := splitCredentials(credentials)
	want, ok := p[string(principal)]
	if !ok || subtle.ConstantTimeCompare([]byte(want), password) != 1 {
		return AuthDecision{Verdict: AuthReject, Reason: "unknown principal or wrong password"}
	}
	return AuthDecision{Verdict: AuthAccept, Principal: principal}
}

// Respond implements Authenticator.
func (Passwords) Respond(cluster.SessionID, []byte, []byte) AuthDecision {
	return AuthDecision{Verdict: AuthReject, Reason: "no challenge was issued"}
}

// SessionConfig configures client sessions. Zero values take defaults.
type SessionConfig struct {
	// SessionsMax bounds open sessions (and connects in flight).
	SessionsMax int
	// SessionTimeoutNs: a session that sends nothing (not even a keepalive)
	// for this long is closed through the log (reason timeout).
	SessionTimeoutNs int64
	// IngressLimit bounds one session's messages proposed but not yet
	// committed; more are refused with protocol.EventIngressLimit.
	IngressLimit int
	// Authenticator checks credentials (nil: AllowAll).
	Authenticator Authenticator
	// AdminPrincipals may make admin requests (protocol.AdminRequest: a
	// snapshot through the log) from their sessions; nobody else may.
	AdminPrincipals []string
}

func (c *SessionConfig) applyDefaults() error {
	if c.SessionsMax == 0 {
		c.SessionsMax = defaultSessionsMax
	}
	if c.SessionTimeoutNs == 0 {
		c.SessionTimeoutNs = defaultSessionTimeoutNs
	}
	if c.IngressLimit == 0 {
		c.IngressLimit = defaultIngressLimit
	}
	if c.Authenticator == nil {
		c.Authenticator = AllowAll{}
	}
	if c.SessionsMax < 1 || c.SessionsMax > SessionsMaxLimit || c.SessionTimeoutNs < 0 || c.IngressLimit < 1 {
		return fmt.Errorf("module: session config %+v out of bounds", *c)
	}
	return nil
}

// SessionCounters count client session events; drops say why.
type SessionCounters struct {
	Opened, Closed, TimedOut                                uint64
	Redirected, AuthRejected, SessionLimit, IngressLimited  uint64
	TooLarge, BackPressured, Duplicate, UnknownSession      uint64
	ResponseFailed, ChallengeExpired, NewLeaderEvents, Acks uint64
	Decode                                                  protocol.DecodeCounters
	NotIngress, SlowConsumer, Suspended, RefusedInOrder     uint64
	AdminRequests, AdminRejected                            uint64
}

// session is an open session as the consensus module sees it. The fields
// above the line come from the committed log and are the same on every
// member; the rest is the leader's own bookkeeping.
type session struct {
	id        cluster.SessionID
	channel   string
	stream    int32
	principal string // as authenticated; decides admin requests
	lastCorr  int64  // last committed message correlation id

	proposedCorr int64 // last proposed correlation id (leader)
	inflight     int   // proposed, not yet committed (leader)
	lastActiveNs int64 // last ingress from the client (leader)
	ackedCorr    int64 // last Ack sent (leader)
	closing      bool  // a close was proposed (leader)
	refusing     bool  // a message was refused; later ones are until the client resyncs (leader)
	resp         Response
}

// pending is a connect the leader accepted or challenged, not yet open.
type pending struct {
	id          cluster.SessionID
	correlation int64
	channel     string
	stream      int32
	resp        Response
	challenge   []byte // nil once accepted
	principal   []byte
	deadlineNs  int64
	proposed    bool
}

// Sessions is the consensus module's client session layer: it admits
// clients (authentication, limits), proposes their messages to the log,
// answers them on their response channels, tracks every open session from
// the committed log (so any member can take over), closes idle sessions
// through the log, and tells sessions about a new leader. It implements
// container.Egress. It is driven by the Agent, on its goroutine.
type Sessions struct {
	cfg       SessionConfig
	self      cluster.MemberID
	in        Ingress
	responses Responses
	node      *consensus.Node
	status    consensus.Status
	nowNs     int64

	sessions map[cluster.SessionID]*session
	order    []cluster.SessionID // open sessions in id order (deterministic scans)
	pending  map[cluster.SessionID]*pending
	nextID   cluster.SessionID // next id this leader assigns
	maxID    cluster.SessionID // highest id seen in the committed log
	ready    bool              // leader whose term's first entry is applied
	// suspended: the log holds a suspend action not yet resumed; client
	// messages are refused meanwhile (every member agrees from where).
	suspended bool
	dirty     []cluster.SessionID

	log appliedLog // the container: time and position being applied

	msg   protocol.Message
	enc   []byte
	entry consensus.LogEntry
	open  []byte
	// Counters count what happened; read them from the agent's goroutine.
	Counters SessionCounters
}

// NewSessions returns a session layer for member self. Attach it to an
// Agent with Agent.AttachSessions.
func NewSessions(self cluster.MemberID, cfg SessionConfig, in Ingress, r Responses) (*Sessions, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	return &Sessions{cfg: cfg, self: self, in: in, responses: r,
		sessions: map[cluster.SessionID]*session{}, pending: map[cluster.SessionID]*pending{},
		nextID: firstSessionID}, nil
}

// Suspended reports whether the log holds a suspend not yet resumed.
func (s *Sessions) Suspended() bool { return s.suspended }

// Count returns the number of open sessions.
func (s *Sessions) Count() int { return len(s.order) }

// appliedLog is where the service is in the log (the container).
type appliedLog interface {
	TimeNs() int64
	LogPosition() cluster.Position
}

// poll handles ingress for one duty cycle.
func (s *Sessions) poll(nowNs int64) int {
	s.nowNs = nowNs
	n := s.in.Poll(s.onIngress, ingressPollLimit)
	return n + s.tick()
}

func (s *Sessions) leads() bool { return s.status.Role == consensus.RoleLeader }

func (s *Sessions) onIngress(b []byte) {
	m := &s.msg
	if s.Counters.Decode.Decode(b, m) != nil {
		return
	}
	if !m.Type.IsIngress() {
		s.Counters.NotIngress++
		return
	}
	switch m.Type {
	case protocol.Connect:
		s.onConnect(m)
	case protocol.ChallengeResponse:
		s.onChallengeResponse(m)
	case protocol.SessionMessage:
		s.onMessage(m)
	case protocol.KeepAlive:
		s.onKeepAlive(m)
	case protocol.CloseSession:
		s.onClose(m)
	case protocol.AdminRequest:
		s.onAdminRequest(m)
	}
}

func (s *Sessions) leaderID() int32 {
	if s.status.Leader == consensus.NoMember {
		return protocol.NoLeader
	}
	return int32(s.status.Leader)
}

// respondOnce opens a response channel just to answer a client that has no
// session here (a redirect, a refusal).
func (s *Sessions) respondOnce(channel []byte, stream int32, ev *protocol.Message) {
	r, err := s.responses.Open(string(channel), stream)
	if err != nil {
		s.Counters.ResponseFailed++
		return
	}
	s.send(r, ev)
	r.Close()
}

func (s *Sessions) send(r Response, m *protocol.Message) {
	var err error
	if s.enc, err = protocol.Append(s.enc[:0], m); err != nil {
		s.Counters.ResponseFailed++
		return
	}
	if r.Offer(s.enc, nil) != cluster.OfferOK {
		s.Counters.ResponseFailed++ // the client retries or times out
	}
}

func (s *Sessions) event(corr int64, id cluster.SessionID, code protocol.EventCode, detail string) *protocol.Message {
	s.msg = protocol.Message{Type: protocol.SessionEvent, CorrelationID: corr, SessionID: int64(id),
		Leader: s.leaderID(), Code: code, Detail: []byte(detail)}
	return &s.msg
}

func (s *Sessions) onConnect(m *protocol.Message) {
	channel, stream, corr, creds := m.Channel, m.StreamID, m.CorrelationID, m.Credentials
	if !s.ready {
		s.Counters.Redirected++
		s.respondOnce(channel, stream, s.event(corr, 0, protocol.EventRedirect, "not the leader"))
		return
	}
	for _, p := range s.pending {
		if p.correlation == corr && p.channel == string(channel) && p.stream == stream {
			s.Counters.Duplicate++ // the client resent its connect; the first is under way
			return
		}
	}
	if len(s.order)+len(s.pending) >= s.cfg.SessionsMax || len(s.pending) >= pendingConnectsMax {
		s.Counters.SessionLimit++
		s.respondOnce(channel, stream, s.event(corr, 0, protocol.EventSessionLimit,
			fmt.Sprintf("cluster holds its maximum of %d sessions", s.cfg.SessionsMax)))
		return
	}
	id := s.allocateID()
	d := s.cfg.Authenticator.Connect(id, creds)
	if d.Verdict == AuthReject || (d.Verdict != AuthAccept && d.Verdict != AuthChallenge) {
		s.Counters.AuthRejected++
		s.respondOnce(channel, stream, s.event(corr, id, protocol.EventAuthRejected, d.Reason))
		return
	}
	r, err := s.responses.Open(string(channel), stream)
	if err != nil {
		s.Counters.ResponseFailed++
		return
	}
	p := &pending{id: id, correlation: corr, channel: string(channel), stream: stream, resp: r,
		deadlineNs: s.nowNs + challengeTimeoutNs}
	s.pending[id] = p
	if d.Verdict == AuthChallenge {
		p.challenge = slices.Clone(d.Challenge)
		s.send(r, &protocol.Message{Type: protocol.Challenge, CorrelationID: corr, SessionID: int64(id),
			Credentials: p.challenge})
		return
	}
	p.principal = slices.Clone(d.Principal)
	s.proposeOpen(p)
}

func (s *Sessions) allocateID() cluster.SessionID {
	id := max(s.nextID, s.maxID+1)
	s.nextID = id + 1
	return id
}

func (s *Sessions) onChallengeResponse(m *protocol.Message) {
	p, ok := s.pending[cluster.SessionID(m.SessionID)]
	if !s.ready || !ok || p.challenge == nil || p.correlation != m.CorrelationID {
		s.Counters.UnknownSession++
		return
	}
	d := s.cfg.Authenticator.Respond(p.id, p.challenge, m.Credentials)
	if d.Verdict != AuthAccept {
		s.Counters.AuthRejected++
		s.send(p.resp, s.event(p.correlation, p.id, protocol.EventAuthRejected, d.Reason))
		s.dropPending(p)
		return
	}
	p.challenge, p.principal = nil, slices.Clone(d.Principal)
	s.proposeOpen(p)
}

func (s *Sessions) proposeOpen(p *pending) {
	s.open = consensus.AppendSessionOpen(s.open[:0], &consensus.SessionOpen{ResponseStreamID: p.stream,
		ResponseChannel: []byte(p.channel), Principal: p.principal})
	s.entry = consensus.LogEntry{Type: consensus.EntrySessionOpen, SessionID: p.id,
		CorrelationID: p.correlation, Payload: s.open}
	if _, err := s.node.Propose(s.nowNs, &s.entry); err != nil {
		s.Counters.BackPressured++
		s.send(p.resp, s.event(p.correlation, p.id, protocol.EventBackPressure, "log full, retry connect"))
		s.dropPending(p)
		return
	}
	p.proposed = true
}

func (s *Sessions) dropPending(p *pending) {
	p.resp.Close()
	delete(s.pending, p.id)
}

// known returns the open session for an ingress message, redirecting the
// client if this member does not lead.
func (s *Sessions) known(m *protocol.Message) *session {
	ss := s.sessions[cluster.SessionID(m.SessionID)]
	if ss == nil {
		s.Counters.UnknownSession++
		return nil
	}
	if !s.ready {
		s.Counters.Redirected++
		s.respondOnce([]byte(ss.channel), ss.stream, s.event(m.CorrelationID, ss.id, protocol.EventRedirect, "not the leader"))
		return nil
	}
	ss.lastActiveNs = s.nowNs
	return ss
}

func (s *Sessions) onMessage(m *protocol.Message) {
	ss := s.known(m)
	if ss == nil || ss.closing {
		return
	}
	corr := m.CorrelationID
	switch {
	case corr <= ss.proposedCorr:
		s.Counters.Duplicate++ // a client resend of something already in the log
		return
	case ss.refusing || corr != ss.proposedCorr+1:
		// A gap: messages between were lost (with an old leader, before
		// this one took the session over). Refuse from the first missing
		// one, so that the client takes back everything from there and
		// nothing reaches the log out of order.
		if !ss.refusing {
			s.refuse(ss, ss.proposedCorr+1, protocol.EventError, "messages missing before this one; resend from here")
		}
		// The session's messages go into the log in the order they were
		// sent or not at all: after one is refused, so is every later one
		// until the client says (a keepalive carrying the last id it sent)
		// that it has taken them all back.
		s.Counters.RefusedInOrder++
		return
	case len(m.Payload) > consensus.PayloadLengthMax:
		s.Counters.TooLarge++
		s.refuse(ss, corr, protocol.EventTooLarge,
			fmt.Sprintf("message of %d bytes exceeds %d", len(m.Payload), consensus.PayloadLengthMax))
		return
	case s.suspended:
		s.Counters.Suspended++
		s.refuse(ss, corr, protocol.EventError, "cluster suspended; retry after resume")
		return
	case ss.inflight >= s.cfg.IngressLimit:
		s.Counters.IngressLimited++
		s.refuse(ss, corr, protocol.EventIngressLimit, fmt.Sprintf("%d messages not yet committed", ss.inflight))
		return
	}
	if _, err := s.node.ProposeMessage(s.nowNs, ss.id, corr, m.Payload); err != nil {
		s.Counters.BackPressured++
		s.refuse(ss, corr, protocol.EventBackPressure, "log full, retry")
		return
	}
	ss.proposedCorr = corr
	ss.inflight++
}

// refuse tells the client its message corr is not in the log, and refuses
// the session's later messages until it resynchronizes.
func (s *Sessions) refuse(ss *session, corr int64, code protocol.EventCode, detail string) {
	ss.refusing = true
	s.send(ss.resp, s.event(corr, ss.id, code, detail))
}

func (s *Sessions) onKeepAlive(m *protocol.Message) {
	if ss := s.known(m); ss != nil {
		// A keepalive with a correlation id resynchronizes: the client has
		// taken back everything it sent, and its next message has that id.
		if ss.refusing && m.CorrelationID > 0 {
			ss.refusing = false
			ss.proposedCorr = max(ss.proposedCorr, m.CorrelationID-1)
		}
		s.ack(ss, true)
	}
}

// onAdminRequest carries out an admin request of a session whose principal
// may make them: its action goes into the log like any other, so every
// member acts on it at the same position. The answer says whether it is in
// the leader's log, not that it was done (a snapshot is taken once the
// action is committed and applied).
func (s *Sessions) onAdminRequest(m *protocol.Message) {
	ss := s.sessions[cluster.SessionID(m.SessionID)]
	if ss == nil {
		s.Counters.UnknownSession++
		return
	}
	if !s.ready || ss.resp == nil {
		s.Counters.Redirected++
		s.respondOnce([]byte(ss.channel), ss.stream, s.adminResponse(m, 0, protocol.EventRedirect, "not the leader"))
		return
	}
	ss.lastActiveNs = s.nowNs
	var pos consensus.Position
	code, detail := protocol.EventOK, ""
	switch {
	case !slices.Contains(s.cfg.AdminPrincipals, ss.principal):
		s.Counters.AdminRejected++
		code, detail = protocol.EventAuthRejected, "this principal may not make admin requests"
	case m.Request != protocol.AdminSnapshot:
		s.Counters.AdminRejected++
		code, detail = protocol.EventError, "unknown admin request"
	default:
		s.entry = consensus.LogEntry{Type: consensus.EntryClusterAction, Action: consensus.ActionSnapshot}
		p, err := s.node.Propose(s.nowNs, &s.entry)
		if err != nil {
			s.Counters.BackPressured++
			code, detail = protocol.EventBackPressure, "log full, retry"
			break
		}
		s.Counters.AdminRequests++
		pos = p
	}
	s.send(ss.resp, s.adminResponse(m, pos, code, detail))
}

func (s *Sessions) adminResponse(req *protocol.Message, pos consensus.Position, code protocol.EventCode, detail string) *protocol.Message {
	s.msg = protocol.Message{Type: protocol.AdminResponse, SessionID: req.SessionID, CorrelationID: req.CorrelationID,
		Position: int64(pos), Request: req.Request, Code: code, Detail: []byte(detail)}
	return &s.msg
}

func (s *Sessions) onClose(m *protocol.Message) {
	if ss := s.known(m); ss != nil {
		s.proposeClose(ss, consensus.CloseClient)
	}
}

func (s *Sessions) proposeClose(ss *session, reason consensus.CloseReason) {
	if ss.closing {
		return
	}
	s.entry = consensus.LogEntry{Type: consensus.EntrySessionClose, SessionID: ss.id, Reason: reason}
	if _, err := s.node.Propose(s.nowNs, &s.entry); err == nil {
		ss.closing = true
	}
}

// tick times out idle sessions and unanswered challenges (leader only).
func (s *Sessions) tick() int {
	if !s.ready {
		return 0
	}
	work := 0
	if s.cfg.SessionTimeoutNs > 0 {
		for _, id := range s.order {
			ss := s.sessions[id]
			if !ss.closing && s.nowNs-ss.lastActiveNs > s.cfg.SessionTimeoutNs {
				s.Counters.TimedOut++
				s.proposeClose(ss, consensus.CloseTimeout)
				work++
			}
		}
	}
	for _, p := range s.pending {
		if p.challenge != nil && s.nowNs > p.deadlineNs {
			s.Counters.ChallengeExpired++
			s.dropPending(p) // deleting during range is safe in Go
			work++
		}
	}
	return work
}

// setStatus follows role and term changes: a member that stops leading, or
// starts a new term, drops its leader bookkeeping and response channels; a
// leader takes sessions over again once its new term's first entry applies.
func (s *Sessions) setStatus(st consensus.Status) {
	changed := st.Term != s.status.Term || st.Role != s.status.Role
	s.status = st
	if changed && s.ready {
		s.stepDown()
	}
}

func (s *Sessions) stepDown() {
	s.ready = false
	for _, p := range s.pending {
		s.dropPending(p)
	}
	for _, id := range s.order {
		ss := s.sessions[id]
		if ss.resp != nil {
			ss.resp.Close()
			ss.resp = nil
		}
	}
}

// onCommitted follows the committed log (called for every committed entry,
// in order, on every member) and, on the leader, answers clients.
func (s *Sessions) onCommitted(e *consensus.LogEntry, end cluster.Position) {
	switch e.Type {
	case consensus.EntrySessionOpen:
		s.onOpenCommitted(e)
	case consensus.EntrySessionClose:
		s.onCloseCommitted(e)
	case consensus.EntrySessionMessage:
		if ss := s.sessions[e.SessionID]; ss != nil {
			ss.lastCorr = e.CorrelationID
			if s.ready {
				ss.inflight = max(0, ss.inflight-1)
				s.dirty = append(s.dirty, ss.id)
			}
		}
	case consensus.EntryNewLeadershipTerm:
		if s.leads() && e.TermID == s.status.Term && !s.ready {
			s.becomeReady()
		}
	case consensus.EntryClusterAction:
		switch e.Action {
		case consensus.ActionSuspend:
			s.suspended = true
		case consensus.ActionResume:
			s.suspended = false
		}
	}
}

func (s *Sessions) onOpenCommitted(e *consensus.LogEntry) {
	s.maxID = max(s.maxID, e.SessionID)
	if _, ok := s.sessions[e.SessionID]; ok {
		return
	}
	var open consensus.SessionOpen
	_ = consensus.DecodeSessionOpen(e.Payload, &open) // a bad payload leaves no response channel
	ss := &session{id: e.SessionID, channel: string(open.ResponseChannel), stream: open.ResponseStreamID,
		principal: string(open.Principal), lastActiveNs: s.nowNs}
	s.sessions[ss.id] = ss
	i, _ := slices.BinarySearch(s.order, ss.id)
	s.order = slices.Insert(s.order, i, ss.id)
	s.Counters.Opened++
	if p := s.pending[ss.id]; p != nil && s.ready {
		delete(s.pending, p.id)
		ss.resp = p.resp
		s.send(ss.resp, s.event(p.correlation, ss.id, protocol.EventOK, ""))
	}
}

func (s *Sessions) onCloseCommitted(e *consensus.LogEntry) {
	ss := s.sessions[e.SessionID]
	if ss == nil {
		return
	}
	delete(s.sessions, ss.id)
	if i, ok := slices.BinarySearch(s.order, ss.id); ok {
		s.order = slices.Delete(s.order, i, i+1)
	}
	s.Counters.Closed++
	if ss.resp != nil {
		s.send(ss.resp, s.event(0, ss.id, protocol.EventClosed, e.Reason.String()))
		ss.resp.Close()
	}
}

// becomeReady: this leader's first entry is applied, so it has applied
// every entry committed before its term. It takes over every session: opens
// its response channel and tells it the new leader and the last of its
// messages in the log (any later one was lost with the old leader).
func (s *Sessions) becomeReady() {
	s.ready = true
	s.nextID = max(s.nextID, s.maxID+1)
	for _, id := range s.order {
		ss := s.sessions[id]
		ss.proposedCorr, ss.inflight, ss.ackedCorr = ss.lastCorr, 0, ss.lastCorr
		// The session's messages sent to the old leader after lastCorr are
		// not in the log; until the client, told so by the NewLeader event,
		// resynchronizes, this leader takes none of its messages.
		ss.lastActiveNs, ss.closing, ss.refusing = s.nowNs, false, true
		if ss.resp == nil {
			r, err := s.responses.Open(ss.channel, ss.stream)
			if err != nil {
				s.Counters.ResponseFailed++
				continue
			}
			ss.resp = r
		}
		s.Counters.NewLeaderEvents++
		s.send(ss.resp, &protocol.Message{Type: protocol.NewLeader, SessionID: int64(ss.id),
			Term: int64(s.status.Term), CorrelationID: ss.lastCorr, Leader: int32(s.self)})
	}
}

// flushAcks tells sessions whose messages were committed since the last
// flush how far the log holds them (conflated: one Ack per session).
func (s *Sessions) flushAcks() {
	for _, id := range s.dirty {
		if ss := s.sessions[id]; ss != nil {
			s.ack(ss, false)
		}
	}
	s.dirty = s.dirty[:0]
}

func (s *Sessions) ack(ss *session, force bool) {
	if ss.resp == nil || (!force && ss.ackedCorr == ss.lastCorr) {
		return
	}
	ss.ackedCorr = ss.lastCorr
	s.Counters.Acks++
	s.send(ss.resp, &protocol.Message{Type: protocol.Ack, SessionID: int64(ss.id),
		CorrelationID: ss.lastCorr, Position: int64(s.log.LogPosition())})
}

// Send implements container.Egress: a service's egress to its session's
// client, stamped with the cluster time and log position of the entry
// being applied.
func (s *Sessions) Send(id cluster.SessionID, payload []byte) cluster.OfferStatus {
	ss := s.sessions[id]
	if ss == nil {
		return cluster.OfferClosed
	}
	if ss.resp == nil {
		return cluster.OfferNotConnected
	}
	s.enc = protocol.AppendEgressHeader(s.enc[:0], int64(id), s.log.TimeNs(), int64(s.log.LogPosition()))
	st := ss.resp.Offer(s.enc, payload)
	if st == cluster.OfferBackPressured && s.ready && !ss.closing {
		// The client cannot keep up and its response channel holds all it
		// may: close the session through the log rather than lose egress
		// silently (its client learns of the close, and hands back what
		// it had in flight).
		s.Counters.SlowConsumer++
		s.proposeClose(ss, consensus.CloseService)
	}
	return st
}
