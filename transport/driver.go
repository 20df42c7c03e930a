package transport

import (
	cryptorand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math/rand"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// ThreadingMode says how the driver's agents map to goroutines.
type ThreadingMode int8

// Threading modes.
const (
	// ThreadingShared runs conductor, sender and receiver on one goroutine
	// (the default: one goroutine blocking in the poller when idle).
	ThreadingShared ThreadingMode = iota
	// ThreadingDedicated gives each agent its own goroutine.
	ThreadingDedicated
	// ThreadingInvoker starts no goroutine: the caller runs Driver.DoWork
	// (tests with a fake clock, or an application that owns its loop).
	ThreadingInvoker
)

var threadingNames = [...]string{"shared", "dedicated", "invoker"}

// String names the mode.
func (m ThreadingMode) String() string {
	if int(m) < len(threadingNames) && m >= 0 {
		return threadingNames[m]
	}
	return "ThreadingMode(?)"
}

// Driver defaults. Intervals are small because venue runs on a LAN or one
// host; the liveness timeouts are a few status-message intervals.
const (
	publicationWindowDefault            = 1 << 20
	receiverWindowDefault               = 1 << 20
	heartbeatIntervalDefault            = 10 * time.Millisecond
	statusMessageIntervalDefault        = 10 * time.Millisecond
	setupIntervalDefault                = 10 * time.Millisecond
	imageLivenessTimeoutDefault         = 2 * time.Second
	publicationConnectionTimeoutDefault = 2 * time.Second
	receiverTimeoutDefault              = 2 * time.Second
	nakUnicastDelayDefault              = 20 * time.Microsecond
	nakMulticastMaxBackoffDefault       = 2 * time.Millisecond
	nakRetryDefault                     = 2 * time.Millisecond
	retransmitLingerDefault             = 1 * time.Millisecond
	publicationLingerDefault            = 1 * time.Second
	countersCapacityDefault             = 1024
	conductorIntervalNs                 = int64(time.Millisecond)
)

// DriverConfig configures a Driver. Zero values take the defaults.
type DriverConfig struct {
	Network         Network          // nil: UDPNetwork{}
	Counters        *CountersManager // nil: in-memory counters
	Clock           NanoClock        // nil: MonotonicNanos
	Threading       ThreadingMode
	NewIdleStrategy func() IdleStrategy // nil: DefaultIdleStrategy
	// Seed seeds session ids, receiver ids and NAK back-off. On the real
	// network 0 means a random seed: two drivers that share a seed hand out
	// the same session ids, and a receiver cannot tell their streams apart
	// (Aeron's session ids are random for the same reason). Simulated
	// networks keep 0 as a seed, so that runs replay.
	Seed              int64
	TermLength        int // bytes, power of two
	MTU               int // bytes, multiple of 32
	PublicationWindow int // bytes a publisher may run ahead of its consumers (capped at term/2)
	ReceiverWindow    int // bytes a receiver accepts beyond its consumers (capped at term/2)
	MaxDatagramLength int // receive buffer per datagram in bytes; senders' MTUs must fit

	HeartbeatInterval            time.Duration
	StatusMessageInterval        time.Duration
	SetupInterval                time.Duration
	ImageLivenessTimeout         time.Duration
	PublicationConnectionTimeout time.Duration
	ReceiverTimeout              time.Duration // multi-receiver flow control
	NAKUnicastDelay              time.Duration
	NAKMulticastMaxBackoff       time.Duration
	NAKRetry                     time.Duration
	RetransmitLinger             time.Duration
	PublicationLinger            time.Duration // longest a closed publication waits for its receivers to report the end

	// quietStatusNs, derived by applyDefaults (see idleIntervalFactor), is
	// the status message interval of an image whose consumers have not
	// moved since its last one.
	quietStatusNs int64
}

// idleIntervalFactor stretches the status messages that only repeat what
// their publication already knows: an image whose consumers have not moved
// since its last one sends them this many intervals apart instead of one
// (bounded by a quarter of the timeouts they keep alive). Every 10 ms they
// were a quarter of the datagrams between cluster members at 10 k msgs/s
// and woke the member that got them, on a 2-core host now and then just as
// a client's burst was due. (Heartbeats are not stretched the same way:
// the archive's replication, which finds a lost replay stream through
// images coming and going, then failed TestReplicateAsksAgainWhenTheReplayStreamIsLost.)
const idleIntervalFactor = 10

func orDur(v *time.Duration, d time.Duration) {
	if *v <= 0 {
		*v = d
	}
}

func orInt(v *int, d int) {
	if *v <= 0 {
		*v = d
	}
}

func (c *DriverConfig) applyDefaults() {
	if c.Network == nil {
		c.Network = UDPNetwork{}
	}
	if _, real := c.Network.(UDPNetwork); real && c.Seed == 0 {
		var b [8]byte
		_, _ = cryptorand.Read(b[:]) // never fails on Linux
		c.Seed = int64(binary.LittleEndian.Uint64(b[:]) >> 1)
	}
	if c.Clock == nil {
		c.Clock = MonotonicNanos
	}
	if c.NewIdleStrategy == nil {
		c.NewIdleStrategy = DefaultIdleStrategy
	}
	orInt(&c.TermLength, TermLengthDefault)
	orInt(&c.MTU, MTULengthDefault)
	orInt(&c.PublicationWindow, publicationWindowDefault)
	orInt(&c.ReceiverWindow, receiverWindowDefault)
	orInt(&c.MaxDatagramLength, max(MaxDatagramLengthDefault, c.MTU))
	orDur(&c.HeartbeatInterval, heartbeatIntervalDefault)
	orDur(&c.StatusMessageInterval, statusMessageIntervalDefault)
	orDur(&c.SetupInterval, setupIntervalDefault)
	orDur(&c.ImageLivenessTimeout, imageLivenessTimeoutDefault)
	orDur(&c.PublicationConnectionTimeout, publicationConnectionTimeoutDefault)
	orDur(&c.ReceiverTimeout, receiverTimeoutDefault)
	orDur(&c.NAKUnicastDelay, nakUnicastDelayDefault)
	orDur(&c.NAKMulticastMaxBackoff, nakMulticastMaxBackoffDefault)
	orDur(&c.NAKRetry, nakRetryDefault)
	orDur(&c.RetransmitLinger, retransmitLingerDefault)
	orDur(&c.PublicationLinger, publicationLingerDefault)
	c.quietStatusNs = quietInterval(c.StatusMessageInterval, min(c.PublicationConnectionTimeout, c.ReceiverTimeout))
}

// quietInterval is idleIntervalFactor intervals, but at most a quarter of
// timeout (what the repeats keep alive) and never less than interval.
func quietInterval(interval, timeout time.Duration) int64 {
	return int64(max(interval, min(idleIntervalFactor*interval, timeout/4)))
}

// Driver owns a process's streams: it creates publications and
// subscriptions on IPC and UDP channels and runs the sender, receiver and
// conductor agents that move network streams.
type Driver struct {
	cfg      DriverConfig
	counters *CountersManager
	sys      *SystemCounters

	sender    *Sender
	receiver  *Receiver
	conductor *Conductor
	runners   []*AgentRunner

	mu       sync.Mutex
	closed   bool
	rng      *rand.Rand
	rngMu    sync.Mutex
	ipcPubs  map[int32][]*Publication
	ipcSubs  map[int32][]*Subscription
	netPubs  []*netPublication
	spies    []*Subscription
	eps      map[string]*receiveEndpoint
	sessions map[int32]bool
	// sendWaiter and recvWaiter watch the sender's and the receiver's
	// sockets; they are the same waiter unless threading is dedicated.
	sendWaiter *socketWaiter
	recvWaiter *socketWaiter
	appWaiter  agentWaiter // Driver.WaitReadable (invoker loops)
	stopping   atomic.Bool // set by Close: waits return at once
	// woken is set by Wake and consumed by the next (or current)
	// WaitReadable, so that a Wake made while the loop is not yet parked
	// is not lost (see agentWaiter.WaitReadable).
	woken atomic.Bool
}

// NewDriver builds a driver and, unless the threading mode is invoker,
// starts its agents.
func NewDriver(cfg DriverConfig) (*Driver, error) {
	cfg.applyDefaults()
	if err := CheckTermLength(cfg.TermLength); err != nil {
		return nil, err
	}
	if err := CheckMTU(cfg.MTU); err != nil {
		return nil, err
	}
	d := &Driver{cfg: cfg, counters: cfg.Counters, rng: rand.New(rand.NewSource(cfg.Seed)),
		ipcPubs: map[int32][]*Publication{}, ipcSubs: map[int32][]*Subscription{},
		eps: map[string]*receiveEndpoint{}, sessions: map[int32]bool{}}
	if d.counters == nil {
		d.counters = NewCountersManager(countersCapacityDefault)
	}
	d.sys = newSystemCounters(d.counters)
	d.sender = &Sender{d: d}
	d.receiver = &Receiver{d: d}
	d.conductor = &Conductor{d: d}
	var pubs []*netPublication
	d.sender.pubs.Store(&pubs)
	var eps []*receiveEndpoint
	d.receiver.eps.Store(&eps)
	if err := d.newWaiters(); err != nil {
		return nil, err
	}
	d.start()
	return d, nil
}

func (d *Driver) newWaiters() error {
	w, err := newSocketWaiter()
	if err != nil {
		return err
	}
	d.sendWaiter, d.recvWaiter = w, w
	if d.cfg.Threading == ThreadingDedicated {
		if d.recvWaiter, err = newSocketWaiter(); err != nil {
			w.close()
			return err
		}
	}
	// Only an invoker loop is known to run the duty cycles it parks for.
	d.appWaiter = agentWaiter{d: d, w: w, sends: true, gates: d.cfg.Threading == ThreadingInvoker, woken: &d.woken}
	return nil
}

// sendPending reports whether a network publication has a frame ready that
// flow control lets the sender send now (safe from any goroutine). It
// applies the sender's own rule (nextDatagram) so that a frame the window
// cannot take yet never keeps the sender from parking.
func (d *Driver) sendPending() bool {
	for _, np := range *d.sender.pubs.Load() {
		if np.done.Load() {
			continue
		}
		pos := np.senderPosition.Load()
		lb := np.log
		term, off := lb.terms[lb.partitionIndex(pos)], lb.termOffset(pos)
		length := frameLengthVolatile(term, off)
		if length <= 0 {
			continue
		}
		need := int64(Align(int(length), FrameAlignment))
		if frameType(term, off) == TypePad {
			need = HeaderLength
		}
		if pos+need <= np.senderLimitCtr.Get() {
			return true
		}
	}
	return false
}

func (d *Driver) start() {
	var agents []Agent
	switch d.cfg.Threading {
	case ThreadingShared:
		agents = []Agent{NewCompositeAgent(d.conductor, d.sender, d.receiver)}
	case ThreadingDedicated:
		agents = []Agent{d.conductor, d.sender, d.receiver}
	}
	for _, a := range agents {
		r := NewAgentRunner(a, d.idleFor(a), d.cfg.Clock)
		d.runners = append(d.runners, r)
		r.Start()
	}
}

// idleFor gives the agent the configured strategy; a BlockingIdleStrategy is
// bound to the sockets that bring that agent work.
func (d *Driver) idleFor(a Agent) IdleStrategy {
	s := d.cfg.NewIdleStrategy()
	b, ok := s.(*BlockingIdleStrategy)
	if !ok || b.Waiter != nil {
		return s
	}
	switch a {
	case Agent(d.sender):
		b.Waiter = &agentWaiter{d: d, w: d.sendWaiter, sends: true, gates: true}
	case Agent(d.receiver):
		b.Waiter = &agentWaiter{d: d, w: d.recvWaiter, gates: true}
	case Agent(d.conductor):
		b.Waiter = &agentWaiter{d: d} // no sockets: sleeps between ticks
	default: // the shared composite
		b.Waiter = &agentWaiter{d: d, w: d.sendWaiter, sends: true, gates: true}
	}
	return s
}

// DoWork runs one duty cycle of conductor, sender and receiver (invoker mode).
func (d *Driver) DoWork(nowNs int64) int {
	return d.conductor.DoWork(nowNs) + d.sender.DoWork(nowNs) + d.receiver.DoWork(nowNs)
}

// Sender returns the sender agent (to compose into an application's loop).
func (d *Driver) Sender() Agent { return d.sender }

// Receiver returns the receiver agent.
func (d *Driver) Receiver() Agent { return d.receiver }

// Conductor returns the conductor agent.
func (d *Driver) Conductor() Agent { return d.conductor }

// Counters returns the driver's counters manager.
func (d *Driver) Counters() *CountersManager { return d.counters }

// SystemCounters returns the driver-wide counter catalogue.
func (d *Driver) SystemCounters() *SystemCounters { return d.sys }

func (d *Driver) randInt63n(n int64) int64 {
	d.rngMu.Lock()
	defer d.rngMu.Unlock()
	return d.rng.Int63n(n)
}

func (d *Driver) newSessionID() int32 {
	for {
		id := int32(d.randInt63n(1 << 31))
		if !d.sessions[id] {
			d.sessions[id] = true
			return id
		}
	}
}

func (d *Driver) allocCounter(typeID int32, kind string, lb *LogBuffer, channel string) *Counter {
	c, err := d.counters.Allocate(typeID, streamLabel(kind, lb.sessionID, lb.streamID, channel))
	if err != nil {
		// A full counters file must not stop a stream: use a private counter.
		d.sys.Errors.Increment()
		return &Counter{id: -1, value: new(int64)}
	}
	return c
}

func (d *Driver) freeCounter(c *Counter) {
	if c.id >= 0 {
		d.counters.Free(c)
	}
}

// AddPublication creates a publication on channel (see channelSpec for the
// syntax) for streamID.
func (d *Driver) AddPublication(channel string, streamID int32) (*Publication, error) {
	spec, err := parseChannel(channel)
	if err != nil {
		return nil, err
	}
	if spec.spy {
		return nil, fmt.Errorf("%w: %q: spy is for subscriptions", ErrBadChannel, channel)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	termLength, mtu := d.cfg.TermLength, d.cfg.MTU
	if spec.termLength > 0 {
		termLength = spec.termLength
	}
	if spec.mtu > 0 {
		mtu = spec.mtu
	}
	sessionID := d.newSessionID()
	if spec.hasSession {
		sessionID = spec.sessionID
	}
	initialTermID := int32(d.randInt63n(1 << 31))
	if spec.hasStart {
		initialTermID = spec.initTermID
	}
	lb, err := NewLogBuffer(termLength, mtu, sessionID, streamID, initialTermID)
	if err != nil {
		return nil, err
	}
	pub := newPublication(lb, channel, d.cfg.PublicationWindow, d.sys,
		d.allocCounter(CounterPublisherPosition, "pub-pos", lb, channel),
		d.allocCounter(CounterPublisherLimit, "pub-lmt", lb, channel))
	if spec.hasStart {
		if err := pub.startAt(spec.termID, spec.termOffset); err != nil {
			return nil, err
		}
	}
	if spec.ipc {
		d.addIPCPublication(pub, streamID)
		return pub, nil
	}
	if err := d.addNetPublication(pub, spec); err != nil {
		return nil, err
	}
	return pub, nil
}

func (d *Driver) addIPCPublication(pub *Publication, streamID int32) {
	d.ipcPubs[streamID] = append(d.ipcPubs[streamID], pub)
	for _, s := range d.ipcSubs[streamID] {
		d.attachReader(pub, s, int64(pub.log.TailPosition()), "ipc")
	}
	pub.onClose = func(p *Publication) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.ipcPubs[streamID] = removeItem(d.ipcPubs[streamID], p)
		d.freeCounter(p.pubPos)
		d.freeCounter(p.pubLimit)
	}
}

// attachReader gives subscription s an image reading pub's log in place
// (IPC subscribers and spies).
func (d *Driver) attachReader(pub *Publication, s *Subscription, joinPos int64, source string) {
	img := newImage(pub.log, joinPos, d.allocCounter(CounterSubscriberPosition, "sub-pos", pub.log, s.channel), source)
	pub.addReader(img)
	s.addImage(img)
}

func removeItem[T comparable](list []T, x T) []T {
	out := list[:0:0]
	for _, e := range list {
		if e != x {
			out = append(out, e)
		}
	}
	return out
}

func (d *Driver) addNetPublication(pub *Publication, spec channelSpec) error {
	opts := MulticastOptions{Interface: spec.iface, TTL: spec.ttl, Loopback: !spec.noLoopback}
	conn, err := d.cfg.Network.SenderConn(spec.control, opts)
	if err != nil {
		return err
	}
	d.watch(conn, d.sendWaiter)
	np := newNetPublication(pub, conn, spec, &d.cfg, d.sys)
	pub.waker = d.sendWaiter
	np.senderPosCtr = d.allocCounter(CounterSenderPosition, "snd-pos", pub.log, spec.raw)
	np.senderLimitCtr = d.allocCounter(CounterSenderLimit, "snd-lmt", pub.log, spec.raw)
	start := int64(pub.log.TailPosition()) // 0, or the channel's start position
	np.senderPos = start
	np.senderPosition.Store(start)
	np.senderPosCtr.Set(start)
	pub.net = np
	d.netPubs = append(d.netPubs, np)
	d.publishSenderList()
	d.sendWaiter.wake() // a parked sender must start sending setup frames
	for _, s := range d.spies {
		if d.spyMatches(s, np) {
			d.attachReader(pub, s, int64(pub.log.TailPosition()), "spy")
		}
	}
	return nil
}

func (d *Driver) publishSenderList() {
	list := append([]*netPublication{}, d.netPubs...)
	d.sender.pubs.Store(&list)
}

func (d *Driver) spyMatches(s *Subscription, np *netPublication) bool {
	spec, _ := parseChannel(s.channel)
	return s.streamID == np.log.streamID && spec.endpoint == np.spec.endpoint && spec.manualMDC == np.spec.manualMDC &&
		spec.control == np.spec.control
}

// AddDestination adds a unicast destination ("host:port" or a
// "udp?endpoint=host:port" channel) to a multi-destination publication.
func (p *Publication) AddDestination(dest string) error {
	a, err := parseDestination(dest)
	if err != nil {
		return err
	}
	if p.net == nil || !p.net.spec.manualMDC {
		return ErrNotMDC
	}
	p.net.addDestination(a)
	if p.waker != nil { // send the setup frame now
		p.waker.wake()
	}
	return nil
}

// RemoveDestination removes a destination added with AddDestination.
func (p *Publication) RemoveDestination(dest string) error {
	a, err := parseDestination(dest)
	if err != nil {
		return err
	}
	if p.net == nil || !p.net.spec.manualMDC {
		return ErrNotMDC
	}
	if !p.net.removeDestination(a) {
		return fmt.Errorf("transport: destination %s not found", dest)
	}
	return nil
}

func parseDestination(dest string) (netip.AddrPort, error) {
	if spec, err := parseChannel(dest); err == nil {
		return spec.endpoint, nil
	}
	a, err := netip.ParseAddrPort(dest)
	if err != nil {
		return a, fmt.Errorf("%w: destination %q: %v", ErrBadChannel, dest, err)
	}
	return a, nil
}

// AddSubscription subscribes to streamID on channel. IPC and spy images
// appear at once; network images appear after the sender's setup frame.
func (d *Driver) AddSubscription(channel string, streamID int32, opts SubscriptionOptions) (*Subscription, error) {
	spec, err := parseChannel(channel)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	s := newSubscription(channel, streamID, opts)
	s.release = func(img *Image) { d.releaseReaderImage(img) }
	switch {
	case spec.ipc:
		d.ipcSubs[streamID] = append(d.ipcSubs[streamID], s)
		for _, p := range d.ipcPubs[streamID] {
			d.attachReader(p, s, int64(p.log.TailPosition()), "ipc")
		}
		s.onClose = func(s *Subscription) { d.removeIPCSub(s, streamID) }
	case spec.spy:
		d.spies = append(d.spies, s)
		for _, np := range d.netPubs {
			if d.spyMatches(s, np) {
				d.attachReader(np.pub, s, int64(np.log.TailPosition()), "spy")
			}
		}
		s.onClose = func(s *Subscription) { d.mu.Lock(); d.spies = removeItem(d.spies, s); d.mu.Unlock() }
	default:
		if err := d.addNetSubscription(s, spec); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (d *Driver) removeIPCSub(s *Subscription, streamID int32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ipcSubs[streamID] = removeItem(d.ipcSubs[streamID], s)
}

// releaseReaderImage detaches a dropped IPC/spy/network image from its source.
func (d *Driver) releaseReaderImage(img *Image) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, pubs := range d.ipcPubs {
		for _, p := range pubs {
			if p.log == img.log {
				p.removeReader(img)
			}
		}
	}
	for _, np := range d.netPubs {
		if np.log == img.log {
			np.pub.removeReader(img)
		}
	}
	for _, ep := range d.eps {
		ep.mu.Lock()
		for _, ni := range ep.images {
			if ni.log == img.log {
				ep.mu.Unlock()
				ni.release(img)
				ep.mu.Lock()
				img = nil
				break
			}
		}
		ep.mu.Unlock()
		if img == nil {
			return
		}
	}
	d.freeCounter(img.subCounter)
}

func (d *Driver) addNetSubscription(s *Subscription, spec channelSpec) error {
	key := spec.endpointKey()
	ep := d.eps[key]
	if spec.endpoint.Port() == 0 {
		ep = nil // port 0 asks for a fresh ephemeral endpoint, never a shared one
	}
	if ep == nil {
		var conn DatagramConn
		var err error
		if spec.multicast() {
			conn, err = d.cfg.Network.ListenMulticast(spec.endpoint, MulticastOptions{Interface: spec.iface, TTL: spec.ttl, Loopback: !spec.noLoopback})
		} else {
			conn, err = d.cfg.Network.ListenUnicast(spec.endpoint)
		}
		if err != nil {
			return err
		}
		d.watch(conn, d.recvWaiter)
		ep = newReceiveEndpoint(d.receiver, spec, conn)
		if spec.endpoint.Port() == 0 {
			key = conn.LocalAddr().String() // the port the kernel chose
		}
		d.eps[key] = ep
		list := append([]*receiveEndpoint{}, *d.receiver.eps.Load()...)
		list = append(list, ep)
		d.receiver.eps.Store(&list)
		d.recvWaiter.wake()
	}
	ep.mu.Lock()
	old := *ep.subs.Load()
	next := make(map[int32][]*Subscription, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[s.streamID] = append(append([]*Subscription{}, old[s.streamID]...), s)
	ep.subs.Store(&next)
	for _, ni := range *ep.list.Load() { // the list, not the map: deterministic order
		if ni.log.streamID == s.streamID {
			ni.addSubscriber(s)
		}
	}
	ep.mu.Unlock()
	s.local = ep.conn.LocalAddr()
	s.onClose = func(s *Subscription) { d.removeNetSub(ep, s) }
	return nil
}

func (d *Driver) removeNetSub(ep *receiveEndpoint, s *Subscription) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := *ep.subs.Load()
	next := make(map[int32][]*Subscription, len(old))
	for k, v := range old {
		next[k] = v
	}
	next[s.streamID] = removeItem(next[s.streamID], s)
	ep.subs.Store(&next)
}

// newNetImage builds the receiver state for a session announced by setup.
func (d *Driver) newNetImage(ep *receiveEndpoint, c ControlFrame, src netip.AddrPort, nowNs int64) (*netImage, error) {
	lb, err := NewLogBuffer(int(c.SetupTermLength()), int(c.SetupMTU()), c.SessionID(), c.StreamID(), c.SetupInitialTermID())
	if err != nil {
		return nil, err
	}
	join := lb.positionOf(c.SetupActiveTermID(), c.SetupTermOffset())
	if join < 0 || c.SetupTermOffset()&(FrameAlignment-1) != 0 {
		return nil, fmt.Errorf("transport: setup with bad position %d", join)
	}
	lb.tail.Store(join)
	img := &netImage{ep: ep, log: lb, source: src, cfg: &d.cfg, sys: d.sys,
		rebuildPos: join, hwm: join, minSub: join, eosPos: -1, lastPacketNs: nowNs, lastSMNs: nowNs,
		lastSMPos: join, window: int64(min(d.cfg.ReceiverWindow, lb.TermLength()/2)),
		receiverID: d.randInt63n(1<<62) + 1}
	img.cleaner.cleanPosition = join
	var readers []*Image
	img.readers.Store(&readers)
	img.hwmCtr = d.allocCounter(CounterReceiverHWM, "rcv-hwm", lb, ep.spec.raw)
	img.rcvPosCtr = d.allocCounter(CounterReceiverPosition, "rcv-pos", lb, ep.spec.raw)
	img.hwmCtr.Set(join)
	img.rcvPosCtr.Set(join)
	return img, nil
}

// WaitReadable blocks until one of the driver's sockets is readable, a
// publication has data to send, or timeout passes, parked in the Go network
// poller (see socketWaiter). Application loops that invoke the driver
// (ThreadingInvoker) pass the driver to NewBlockingIdleStrategy.
func (d *Driver) WaitReadable(timeout time.Duration) bool {
	return d.appWaiter.WaitReadable(timeout)
}

// Wake returns a goroutine parked in WaitReadable at once (safe from any
// goroutine, allocation-free, no system call when none is parked): for work
// that reaches an invoker loop by other means than the driver's sockets and
// publications, such as a log store's durable position advancing. A Wake
// while no goroutine is parked makes the next WaitReadable return at once:
// the loop may have looked for the work just before it arrived.
func (d *Driver) Wake() {
	d.woken.Store(true) // before signal loads parked: see agentWaiter
	signal(d.appWaiter.w)
}

// WaitReadablePrecise is WaitReadable with a nanosecond-resolution timeout
// for a loop that must act at a precise time (an open-loop load
// generator's next send): see socketWaiter.WaitReadablePrecise.
func (d *Driver) WaitReadablePrecise(timeout time.Duration) bool {
	if d.stopping.Load() || d.appWaiter.w == nil {
		return false
	}
	if d.sendPending() {
		return true
	}
	if d.appWaiter.gates && !d.appWaiter.w.gated.Load() {
		d.appWaiter.w.gated.Store(true)
	}
	return d.appWaiter.w.WaitReadablePrecise(timeout)
}

// watch registers a new socket with the sender's or the receiver's waiter.
func (d *Driver) watch(c DatagramConn, w *socketWaiter) {
	fc, ok := c.(fdConn)
	if !ok || fc.sysfd() < 0 {
		return
	}
	if err := w.add(fc.sysfd()); err != nil {
		d.sys.Errors.Increment()
		return
	}
	fc.gate(w)
}

func (d *Driver) unwatch(c DatagramConn, w *socketWaiter) {
	if fc, ok := c.(fdConn); ok && fc.sysfd() >= 0 {
		w.remove(fc.sysfd())
	}
}

// Close stops the agents and closes every socket.
func (d *Driver) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.stopping.Store(true)
	d.sendWaiter.wake()
	d.recvWaiter.wake()
	var first error
	for _, r := range d.runners {
		if err := r.Close(); err != nil && first == nil {
			first = err
		}
	}
	for _, np := range d.netPubs {
		np.conn.Close()
	}
	for _, ep := range d.eps {
		ep.conn.Close()
	}
	d.sendWaiter.close()
	if d.recvWaiter != d.sendWaiter {
		d.recvWaiter.close()
	}
	return first
}

// Conductor is the housekeeping agent: it retires closed publications once
// the sender has finished them and releases their sockets and counters.
type Conductor struct {
	d      *Driver
	nextNs int64
	ticks  atomic.Int64
}

// RoleName names the agent.
func (c *Conductor) RoleName() string { return "conductor" }

// OnClose does nothing.
func (c *Conductor) OnClose() {}

// DoWork runs housekeeping once per conductor interval.
func (c *Conductor) DoWork(nowNs int64) int {
	if nowNs < c.nextNs {
		return 0
	}
	c.nextNs = nowNs + conductorIntervalNs
	c.ticks.Add(1)
	d := c.d
	d.mu.Lock()
	defer d.mu.Unlock()
	work := 0
	for i := 0; i < len(d.netPubs); i++ {
		np := d.netPubs[i]
		if !np.done.Load() {
			continue
		}
		d.netPubs = append(d.netPubs[:i], d.netPubs[i+1:]...)
		i--
		work++
		d.unwatch(np.conn, d.sendWaiter)
		np.conn.Close()
		for _, ctr := range []*Counter{np.pub.pubPos, np.pub.pubLimit, np.senderPosCtr, np.senderLimitCtr} {
			d.freeCounter(ctr)
		}
	}
	if work > 0 {
		d.publishSenderList()
	}
	return work
}
