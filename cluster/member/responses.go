package member

import (
	"errors"
	"fmt"
	"strings"

	"venue/cluster"
	"venue/cluster/module"
	"venue/transport"
)

// Response channel bounds.
const (
	// responseQueueMax and responseQueueBytesMax bound the messages held
	// for a response channel that cannot take them now: not connected yet
	// (a new publication needs a round trip before it may send) or back
	// pressured by a slow client. Beyond them the session is too slow to
	// serve and the offer fails (the session layer then closes it, so that
	// no egress is lost silently).
	responseQueueMax      = 8192
	responseQueueBytesMax = 8 << 20
	// responseConnectTimeoutNs: a response channel that does not connect in
	// this long drops what it holds (the client is gone).
	responseConnectTimeoutNs = 5_000_000_000
	// responseLingerNs: a closed response channel stays open this long to
	// deliver what it holds, then goes.
	responseLingerNs = 2_000_000_000
	// responseTermLength sizes a response publication's terms: three of
	// them per client (the driver's default, 16 MiB, would make every
	// redirect cost 48 MiB). It holds the largest egress message
	// (consensus.PayloadLengthMax plus headers) in a term's eighth.
	responseTermLength = 512 << 10
)

// responses implements module.Responses over transport publications, one
// per client response channel, shared by the sessions that use it.
type responses struct {
	driver *transport.Driver
	max    int
	pubs   map[responseKey]*responsePub
	nowNs  int64
	vec    [2][]byte
	// Counters.
	dropped, refused uint64
}

type responseKey struct {
	channel string
	stream  int32
}

type responsePub struct {
	key      responseKey
	pub      *transport.Publication
	refs     int
	queue    [][]byte // held until the channel takes them, in order
	queued   int      // bytes in queue
	sinceNs  int64    // opened, or last reference closed
	lingered bool
}

func newResponses(d *transport.Driver, max int) *responses {
	return &responses{driver: d, max: max, pubs: map[responseKey]*responsePub{}}
}

var errResponseChannel = errors.New("member: response channel must be udp?endpoint=host:port")

// Open implements module.Responses. Only plain UDP unicast channels are
// accepted: a client must not be able to make a member publish to IPC or
// with options of its choosing.
func (r *responses) Open(channel string, stream int32) (module.Response, error) {
	ep, ok := strings.CutPrefix(channel, "udp?endpoint=")
	if !ok || ep == "" || strings.ContainsAny(ep, "|?&=") {
		r.refused++
		return nil, fmt.Errorf("%w: %q", errResponseChannel, channel)
	}
	k := responseKey{channel, stream}
	p := r.pubs[k]
	if p == nil {
		if len(r.pubs) >= r.max {
			r.refused++
			return nil, fmt.Errorf("member: %d response channels open, the maximum", r.max)
		}
		pub, err := r.driver.AddPublication(fmt.Sprintf("%s|term-length=%d", channel, responseTermLength), stream)
		if err != nil {
			r.refused++
			return nil, fmt.Errorf("member: response channel %s: %w", channel, err)
		}
		p = &responsePub{key: k, pub: pub, sinceNs: r.nowNs}
		r.pubs[k] = p
	}
	p.refs++
	p.lingered = false
	return &response{r: r, p: p}, nil
}

// response is one session's handle on a shared response publication.
type response struct {
	r      *responses
	p      *responsePub
	closed bool
}

// Offer implements module.Response.
func (h *response) Offer(header, payload []byte) cluster.OfferStatus {
	if h.closed {
		return cluster.OfferClosed
	}
	p, r := h.p, h.r
	if len(p.queue) == 0 && p.pub.IsConnected() {
		r.vec[0], r.vec[1] = header, payload
		_, res := p.pub.OfferVectored(r.vec[:])
		if res != transport.BackPressured && res != transport.AdminAction && res != transport.NotConnected {
			return offerStatus(res)
		}
	}
	n := len(header) + len(payload)
	if len(p.queue) >= responseQueueMax || p.queued+n > responseQueueBytesMax {
		r.dropped++
		return cluster.OfferBackPressured
	}
	p.queue = append(p.queue, append(append(make([]byte, 0, n), header...), payload...))
	p.queued += n
	return cluster.OfferOK
}

func offerStatus(r transport.OfferResult) cluster.OfferStatus {
	switch r {
	case transport.OfferOK:
		return cluster.OfferOK
	case transport.NotConnected:
		return cluster.OfferNotConnected
	case transport.AdminAction:
		return cluster.OfferAdminAction
	case transport.Closed:
		return cluster.OfferClosed
	case transport.MaxPositionExceeded:
		return cluster.OfferMaxPositionExceeded
	}
	return cluster.OfferBackPressured
}

// Close implements module.Response.
func (h *response) Close() {
	if h.closed {
		return
	}
	h.closed = true
	h.p.refs--
	if h.p.refs == 0 {
		h.p.sinceNs, h.p.lingered = h.r.nowNs, true
	}
}

// DoWork flushes held messages to channels that connected, drops what
// channels that never connected hold, and closes unused channels once they
// have delivered (or given up).
func (r *responses) DoWork(nowNs int64) int {
	r.nowNs = nowNs
	work := 0
	for k, p := range r.pubs {
		if len(p.queue) > 0 && p.pub.IsConnected() {
			work += r.flush(p)
		}
		age := nowNs - p.sinceNs
		switch {
		case len(p.queue) > 0 && !p.pub.IsConnected() && age > responseConnectTimeoutNs:
			r.dropped += uint64(len(p.queue))
			p.queue, p.queued = nil, 0
		case p.lingered && (len(p.queue) == 0 || age > responseLingerNs):
			r.dropped += uint64(len(p.queue))
			p.pub.Close()
			delete(r.pubs, k)
			work++
		}
	}
	return work
}

func (r *responses) flush(p *responsePub) int {
	n := 0
	for len(p.queue) > 0 {
		if _, res := p.pub.Offer(p.queue[0]); res != transport.OfferOK {
			break
		}
		p.queued -= len(p.queue[0])
		p.queue[0] = nil
		p.queue = p.queue[1:]
		n++
	}
	if len(p.queue) == 0 {
		p.queue = nil
	}
	return n
}

func (r *responses) close() {
	for k, p := range r.pubs {
		p.pub.Close()
		delete(r.pubs, k)
	}
}

// ingress adapts the member's ingress subscription to module.Ingress.
type ingress struct {
	sub       *transport.Subscription
	assembler *transport.FragmentAssembler
	handler   func([]byte)
}

func newIngress(sub *transport.Subscription) *ingress {
	in := &ingress{sub: sub}
	in.assembler = transport.NewFragmentAssembler(func(b []byte, _ *transport.Header) { in.handler(b) })
	return in
}

// Poll implements module.Ingress.
func (in *ingress) Poll(h func([]byte), limit int) int {
	in.handler = h
	return in.sub.Poll(in.assembler.Handler(), limit)
}
