package fixgateway_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/store/file"

	"venue/fixgateway"
	"venue/fixgateway/fakecluster"
)

// waitFor bounds every wait in these tests; nothing sleeps.
const waitFor = 15 * time.Second

// eventually polls cond until it holds or waitFor passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(waitFor)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// gwSetup describes a gateway to start.
type gwSetup struct {
	venue     *fakecluster.Venue
	port      int // 0: choose a free one
	storeDir  string
	extra     string            // extra [DEFAULT] lines
	sessions  []string          // CompIDs; DemoCompIDs when empty
	perSess   map[string]string // extra [SESSION] lines per CompID
	fixt      map[string]bool   // CompIDs whose session is FIXT.1.1 / FIX 5.0 SP2 (FIX.4.4 otherwise)
	opts      fixgateway.Options
	store     quickfix.MessageStoreFactory // replaces the store the settings name when set
	principal string
	// pollOnly hides the client's EgressReady, as a client that cannot
	// say when it has egress would: the agent polls on a timer.
	pollOnly bool
}

type testGateway struct {
	*fixgateway.Gateway
	port   int
	client *fakecluster.Client
}

// freePort returns a port that was free a moment ago; startGateway retries
// if someone took it meanwhile.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (s gwSetup) settings(port int) string {
	var b strings.Builder
	principal := s.principal
	if principal == "" {
		principal = "GATEWAY"
	}
	fmt.Fprintf(&b, "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=%d\nFileStorePath=%s\n%s=%s\n%s",
		port, s.storeDir, fixgateway.KeyGatewayPrincipal, principal, s.extra)
	if !strings.Contains(s.extra, fixgateway.KeyFIXStore+"=") {
		// The scripts run on the store venue run has (the crash test
		// also on quickfixgo's file store).
		fmt.Fprintf(&b, "%s=%s\n", fixgateway.KeyFIXStore, fixgateway.FIXStoreJournal)
	}
	ids := s.sessions
	if len(ids) == 0 {
		ids = fixgateway.DemoCompIDs()
	}
	for _, id := range ids {
		fmt.Fprintf(&b, "\n[SESSION]\nBeginString=%s\nSenderCompID=VENUE\nTargetCompID=%s\nVenueAccounts=%s\nVenuePassword=demo\n%s",
			beginString(s.fixt[id]), id, id, s.perSess[id])
		if s.fixt[id] {
			b.WriteString("DefaultApplVerID=FIX.5.0SP2\n")
		}
	}
	return b.String()
}

func startGateway(t *testing.T, s gwSetup) *testGateway {
	t.Helper()
	if s.storeDir == "" {
		s.storeDir = t.TempDir()
	}
	for attempt := 0; ; attempt++ {
		port := s.port
		if port == 0 {
			port = freePort(t)
		}
		cfg, err := fixgateway.ParseConfig(strings.NewReader(s.settings(port)))
		if err != nil {
			t.Fatal(err)
		}
		opts := s.opts
		cl := s.venue.NewClient()
		opts.Client = cl
		if s.pollOnly {
			opts.Client = struct{ fixgateway.ClusterClient }{cl}
		}
		if s.store != nil {
			opts.StoreFactory = s.store
		}
		g, err := fixgateway.New(cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		err = g.Start(context.Background())
		if err == nil {
			tg := &testGateway{Gateway: g, port: port, client: cl}
			t.Cleanup(g.Stop)
			return tg
		}
		if attempt < 5 && s.port == 0 && strings.Contains(err.Error(), "address already in use") {
			continue
		}
		t.Fatal(err)
	}
}

// beginString is the session's BeginString: FIXT.1.1 (FIX 5.0 SP2) or
// FIX.4.4.
func beginString(fixt bool) string {
	if fixt {
		return fixgateway.BeginStringFIXT11
	}
	return fixgateway.BeginStringFIX44
}

func newVenue(t *testing.T) *fakecluster.Venue {
	t.Helper()
	spec := fakecluster.DemoSpec()
	spec.Gateways = append(spec.Gateways, "GW2")
	// BETA ticks in 0.05 so that the engine, not the gateway, rejects
	// off-tick prices.
	spec.Instruments[1].TickSize = 5
	v, err := fakecluster.NewVenue(spec)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fixClient is a quickfixgo initiator for one CompID that records every
// application message, session Reject and Logout it receives.
type fixClient struct {
	t        *testing.T
	compID   string
	password string
	id       quickfix.SessionID
	init     *quickfix.Initiator
	recv     chan *quickfix.Message
	peeked   *quickfix.Message // read by skip, not yet expected
	loggedOn atomic.Bool
	logons   atomic.Int32
	seq      atomic.Int64 // ClOrdID uniquifier
	stopOnce sync.Once
}

// clientSetup configures a test FIX client.
type clientSetup struct {
	compID, password string
	port             int
	extra            string // extra settings lines
	store            quickfix.MessageStoreFactory
	fixt             bool // FIXT.1.1 with DefaultApplVerID FIX.5.0SP2
}

func newClient(t *testing.T, c clientSetup) *fixClient {
	t.Helper()
	if c.password == "" {
		c.password = "demo"
	}
	settings := fmt.Sprintf("[DEFAULT]\nConnectionType=initiator\nSocketConnectHost=127.0.0.1\nSocketConnectPort=%d\nHeartBtInt=30\nReconnectInterval=1\n%s\n[SESSION]\nBeginString=%s\nSenderCompID=%s\nTargetCompID=VENUE\n",
		c.port, c.extra, beginString(c.fixt), c.compID)
	if c.fixt {
		settings += "DefaultApplVerID=FIX.5.0SP2\n"
	}
	s, err := quickfix.ParseSettings(strings.NewReader(settings))
	if err != nil {
		t.Fatal(err)
	}
	fc := &fixClient{t: t, compID: c.compID, password: c.password, recv: make(chan *quickfix.Message, 1024),
		id: quickfix.SessionID{BeginString: beginString(c.fixt), SenderCompID: c.compID, TargetCompID: "VENUE"}}
	store := c.store
	if store == nil {
		store = quickfix.NewMemoryStoreFactory()
	}
	fc.init, err = quickfix.NewInitiator(fc, store, s, quickfix.NewNullLogFactory())
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.init.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fc.stop)
	return fc
}

func (c *fixClient) stop() { c.stopOnce.Do(c.init.Stop) }

// connect starts a client and waits for its logon, and for the engine to
// have acknowledged the gateway's SessionStatus for it (until then the
// gateway holds the session's orders back; a test that holds the cluster
// must not hold the logon).
func connect(t *testing.T, g *testGateway, compID string) *fixClient {
	t.Helper()
	logons := g.Stats().Logons
	c := newClient(t, clientSetup{compID: compID, port: g.port})
	eventually(t, compID+" logon", func() bool { return c.loggedOn.Load() && g.Stats().Logons > logons })
	settled(t, g)
	return c
}

// settled waits until the engine has acknowledged every SessionStatus the
// gateway sent.
func settled(t *testing.T, g *testGateway) {
	t.Helper()
	eventually(t, "session statuses acknowledged", func() bool {
		s := g.Stats()
		return s.SessionStatusAcks == s.SessionStatuses
	})
}

func (c *fixClient) OnCreate(quickfix.SessionID) {}
func (c *fixClient) OnLogon(quickfix.SessionID) {
	c.logons.Add(1)
	c.loggedOn.Store(true)
}
func (c *fixClient) OnLogout(quickfix.SessionID) { c.loggedOn.Store(false) }
func (c *fixClient) ToAdmin(m *quickfix.Message, _ quickfix.SessionID) {
	if m.IsMsgTypeOf("A") {
		m.Body.SetString(554, c.password)
	}
}
func (c *fixClient) ToApp(*quickfix.Message, quickfix.SessionID) error { return nil }
func (c *fixClient) FromAdmin(m *quickfix.Message, _ quickfix.SessionID) quickfix.MessageRejectError {
	if m.IsMsgTypeOf("3") || m.IsMsgTypeOf("5") {
		c.record(m)
	}
	return nil
}
func (c *fixClient) FromApp(m *quickfix.Message, _ quickfix.SessionID) quickfix.MessageRejectError {
	c.record(m)
	return nil
}

func (c *fixClient) record(m *quickfix.Message) {
	cp := quickfix.NewMessage()
	m.CopyInto(cp)
	select {
	case c.recv <- cp:
	default:
		c.t.Errorf("%s: receive buffer full", c.compID)
	}
}

// send sends an application message of msgType with fields "tag=value"
// (a value "-" omits the tag). TransactTime is added to D, F, G and q
// unless given.
func (c *fixClient) send(msgType string, fields ...string) {
	c.t.Helper()
	m := quickfix.NewMessage()
	m.Header.SetString(35, msgType)
	needTime := strings.Contains("DFGq", msgType)
	for _, f := range fields {
		tag, val, ok := strings.Cut(f, "=")
		n, err := strconv.Atoi(tag)
		if !ok || err != nil {
			c.t.Fatalf("bad field %q", f)
		}
		if n == 60 {
			needTime = false
		}
		if val == "-" {
			continue
		}
		if n == 97 || n == 43 {
			m.Header.SetString(quickfix.Tag(n), val)
			continue
		}
		m.Body.SetString(quickfix.Tag(n), val)
	}
	if needTime {
		m.Body.SetField(60, quickfix.FIXUTCTimestamp{Time: time.Now().UTC()})
	}
	if err := quickfix.SendToTarget(m, c.id); err != nil {
		c.t.Fatalf("%s: send: %v", c.compID, err)
	}
}

// expect takes the client's next received message and checks its type and
// fields ("tag=value"; "tag=*" only requires presence; "tag=-" requires
// absence). It returns the message.
func (c *fixClient) expect(msgType string, fields ...string) *quickfix.Message {
	c.t.Helper()
	m := c.next()
	if m == nil {
		c.t.Fatalf("%s: no message, expected %s %v", c.compID, msgType, fields)
	}
	if err := check(m, msgType, fields); err != nil {
		c.t.Fatalf("%s: %v\n  got %s", c.compID, err, readable(m))
	}
	return m
}

// skip drops the client's next messages while they are of msgType.
func (c *fixClient) skip(msgType string) {
	c.t.Helper()
	for {
		m := c.next()
		if m == nil {
			return
		}
		if !m.IsMsgTypeOf(msgType) {
			c.peeked = m
			return
		}
	}
}

// next returns the next received message, or nil after waitFor.
func (c *fixClient) next() *quickfix.Message {
	if m := c.peeked; m != nil {
		c.peeked = nil
		return m
	}
	select {
	case m := <-c.recv:
		return m
	case <-time.After(waitFor):
		return nil
	}
}

// expectNothing checks that nothing is waiting to be read now.
func (c *fixClient) expectNothing() {
	c.t.Helper()
	if c.peeked != nil {
		c.t.Fatalf("%s: unexpected %s", c.compID, readable(c.peeked))
	}
	select {
	case m := <-c.recv:
		c.t.Fatalf("%s: unexpected %s", c.compID, readable(m))
	default:
	}
}

func check(m *quickfix.Message, msgType string, fields []string) error {
	if mt, _ := m.MsgType(); mt != msgType {
		return fmt.Errorf("MsgType %s, want %s", mt, msgType)
	}
	for _, f := range fields {
		tag, want, _ := strings.Cut(f, "=")
		n, _ := strconv.Atoi(tag)
		got, err := m.Body.GetString(quickfix.Tag(n))
		if err != nil && m.Header.Has(quickfix.Tag(n)) {
			got, err = m.Header.GetString(quickfix.Tag(n))
		}
		switch {
		case want == "-":
			if err == nil {
				return fmt.Errorf("tag %d = %q, want absent", n, got)
			}
		case err != nil:
			return fmt.Errorf("tag %d missing, want %q", n, want)
		case want != "*" && got != want:
			return fmt.Errorf("tag %d = %q, want %q", n, got, want)
		}
	}
	return nil
}

func readable(m *quickfix.Message) string {
	return strings.ReplaceAll(m.String(), "\x01", "|")
}

// script runs a FIX session script: one step per line,
//
//	CLIENT > MsgType tag=value ...   the client sends
//	CLIENT < MsgType tag=value ...   the client's next message must match
//	CLIENT quiet                     the client has nothing waiting
//	! directive                      a test action (see actions)
//
// Blank lines and lines starting with # are ignored. This is the shape of
// quickfixgo's own acceptance definitions (_test/definitions/*.def).
func script(t *testing.T, clients map[string]*fixClient, actions map[string]func(), text string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(text))
	line := 0
	for sc.Scan() {
		line++
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		w := strings.Fields(l)
		if w[0] == "!" {
			fn := actions[strings.Join(w[1:], " ")]
			if fn == nil {
				t.Fatalf("line %d: unknown action %q", line, l)
			}
			fn()
			continue
		}
		c := clients[w[0]]
		if c == nil {
			t.Fatalf("line %d: unknown client %q", line, w[0])
		}
		switch {
		case len(w) == 2 && w[1] == "quiet":
			c.expectNothing()
		case len(w) >= 3 && w[1] == ">":
			c.send(w[2], w[3:]...)
		case len(w) >= 3 && w[1] == "<":
			t.Logf("line %d: %s", line, l)
			c.expect(w[2], w[3:]...)
		default:
			t.Fatalf("line %d: cannot parse %q", line, l)
		}
	}
}

// crashStoreFactory wraps a store factory; after crash() nothing more is
// written, as if the process had died at that instant.
type crashStoreFactory struct {
	inner   quickfix.MessageStoreFactory
	crashed atomic.Bool
}

func (f *crashStoreFactory) Create(id quickfix.SessionID) (quickfix.MessageStore, error) {
	s, err := f.inner.Create(id)
	if err != nil {
		return nil, err
	}
	return &crashStore{MessageStore: s, f: f}, nil
}

type crashStore struct {
	quickfix.MessageStore
	f *crashStoreFactory
}

func (s *crashStore) dead() bool { return s.f.crashed.Load() }

func (s *crashStore) IncrNextSenderMsgSeqNum() error {
	if s.dead() {
		return nil
	}
	return s.MessageStore.IncrNextSenderMsgSeqNum()
}
func (s *crashStore) IncrNextTargetMsgSeqNum() error {
	if s.dead() {
		return nil
	}
	return s.MessageStore.IncrNextTargetMsgSeqNum()
}
func (s *crashStore) SetNextSenderMsgSeqNum(n int) error {
	if s.dead() {
		return nil
	}
	return s.MessageStore.SetNextSenderMsgSeqNum(n)
}
func (s *crashStore) SetNextTargetMsgSeqNum(n int) error {
	if s.dead() {
		return nil
	}
	return s.MessageStore.SetNextTargetMsgSeqNum(n)
}
func (s *crashStore) SaveMessage(n int, b []byte) error {
	if s.dead() {
		return nil
	}
	return s.MessageStore.SaveMessage(n, b)
}
func (s *crashStore) SaveMessageAndIncrNextSenderMsgSeqNum(n int, b []byte) error {
	if s.dead() {
		return nil
	}
	return s.MessageStore.SaveMessageAndIncrNextSenderMsgSeqNum(n, b)
}
func (s *crashStore) Reset() error {
	if s.dead() {
		return nil
	}
	return s.MessageStore.Reset()
}

func fileStoreFactory(t *testing.T, dir string) quickfix.MessageStoreFactory {
	t.Helper()
	s, err := quickfix.ParseSettings(strings.NewReader("[DEFAULT]\nFileStorePath=" + dir + "\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=DEMO1\n"))
	if err != nil {
		t.Fatal(err)
	}
	return file.NewStoreFactory(s)
}

func journalStoreFactory(t *testing.T, dir string) quickfix.MessageStoreFactory {
	t.Helper()
	s, err := quickfix.ParseSettings(strings.NewReader("[DEFAULT]\nFileStorePath=" + dir + "\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=DEMO1\n"))
	if err != nil {
		t.Fatal(err)
	}
	return fixgateway.NewJournalStoreFactory(s)
}

// proxy forwards TCP connections to a target port; cut drops every
// connection at once, as a crashed host would.
type proxy struct {
	ln     net.Listener
	target atomic.Int64
	mu     sync.Mutex
	conns  []net.Conn
}

func newProxy(t *testing.T, target int) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.target.Store(int64(target))
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *proxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(p.target.Load())))
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(u, c); u.Close() }()
		go func() { _, _ = io.Copy(c, u); c.Close() }()
	}
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// fileExists reports whether path exists.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

var _ = filepath.Join
