package transport

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// ImageHandler is told when an image becomes available or unavailable. It
// runs on the goroutine that polls the subscription.
type ImageHandler func(*Image)

// Subscription receives a stream (channel + stream id) from every source
// session as one Image per session. It is polled by one goroutine; image
// available/unavailable callbacks run inside Poll on that goroutine.
type Subscription struct {
	channel  string
	streamID int32

	images     []*Image // owned by the polling goroutine
	roundRobin int

	mu         sync.Mutex
	pending    []*Image // images added by the driver, not yet seen by Poll
	hasPending atomic.Bool
	closed     atomic.Bool

	onAvailable   ImageHandler
	onUnavailable ImageHandler
	onClose       func(*Subscription)
	release       func(*Image)
	local         netip.AddrPort // bound address of a UDP subscription
}

// SubscriptionOptions carries a subscription's optional callbacks.
type SubscriptionOptions struct {
	OnAvailableImage   ImageHandler
	OnUnavailableImage ImageHandler
}

func newSubscription(channel string, streamID int32, opts SubscriptionOptions) *Subscription {
	return &Subscription{channel: channel, streamID: streamID,
		onAvailable: opts.OnAvailableImage, onUnavailable: opts.OnUnavailableImage}
}

// Channel returns the subscription's channel.
func (s *Subscription) Channel() string { return s.channel }

// LocalAddr returns the address a UDP subscription's endpoint is bound to,
// which resolves an ephemeral port ("udp?endpoint=127.0.0.1:0"): a client
// subscribes on port 0 and tells the cluster where to answer. ok is false
// for IPC and spy subscriptions.
func (s *Subscription) LocalAddr() (addr netip.AddrPort, ok bool) { return s.local, s.local.IsValid() }

// StreamID returns the subscription's stream id.
func (s *Subscription) StreamID() int32 { return s.streamID }

// addImage hands an image to the polling goroutine (any goroutine).
func (s *Subscription) addImage(img *Image) {
	s.mu.Lock()
	s.pending = append(s.pending, img)
	s.hasPending.Store(true)
	s.mu.Unlock()
}

// Images returns the current images (polling goroutine only).
func (s *Subscription) Images() []*Image {
	s.refresh()
	return s.images
}

// ImageCount returns the number of current images (polling goroutine only).
func (s *Subscription) ImageCount() int { s.refresh(); return len(s.images) }

// ImageBySessionID returns the image of sessionID, or nil.
func (s *Subscription) ImageBySessionID(sessionID int32) *Image {
	s.refresh()
	for _, img := range s.images {
		if img.SessionID() == sessionID {
			return img
		}
	}
	return nil
}

// IsConnected reports whether the subscription has at least one image.
func (s *Subscription) IsConnected() bool { return s.ImageCount() > 0 }

// refresh takes in new images and drops unavailable or finished ones,
// running the callbacks.
func (s *Subscription) refresh() {
	if s.hasPending.Load() {
		s.mu.Lock()
		added := s.pending
		s.pending = nil
		s.hasPending.Store(false)
		s.mu.Unlock()
		for _, img := range added {
			s.images = append(s.images, img)
			if s.onAvailable != nil {
				s.onAvailable(img)
			}
		}
	}
	for i := 0; i < len(s.images); i++ {
		img := s.images[i]
		if !img.unavailable.Load() && !img.IsEndOfStream() {
			continue
		}
		s.images = append(s.images[:i], s.images[i+1:]...)
		i--
		s.dropImage(img)
	}
}

func (s *Subscription) dropImage(img *Image) {
	img.closed = true
	if s.onUnavailable != nil {
		s.onUnavailable(img)
	}
	if s.release != nil {
		s.release(img)
	}
}

// pollStart refreshes the image list and returns the image to poll first
// (a different one each call, for fairness) and the number of images.
func (s *Subscription) pollStart() (start, n int) {
	s.refresh()
	n = len(s.images)
	if n == 0 {
		return 0, 0
	}
	s.roundRobin++
	if s.roundRobin >= n {
		s.roundRobin = 0
	}
	return s.roundRobin, n
}

// Poll polls each image in turn, starting with a different one each time for
// fairness, until fragmentLimit fragments were delivered.
func (s *Subscription) Poll(handler FragmentHandler, fragmentLimit int) int {
	start, n := s.pollStart()
	fragments := 0
	for i := 0; i < n && fragments < fragmentLimit; i++ {
		img := s.images[(start+i)%n]
		fragments += img.Poll(handler, fragmentLimit-fragments)
	}
	return fragments
}

// ControlledPoll is Poll with a ControlledFragmentHandler.
func (s *Subscription) ControlledPoll(handler ControlledFragmentHandler, fragmentLimit int) int {
	start, n := s.pollStart()
	fragments := 0
	for i := 0; i < n && fragments < fragmentLimit; i++ {
		img := s.images[(start+i)%n]
		fragments += img.ControlledPoll(handler, fragmentLimit-fragments)
	}
	return fragments
}

// Close removes every image (running the unavailable callbacks) and detaches
// the subscription from the driver. Call it from the polling goroutine.
func (s *Subscription) Close() {
	if s.closed.Swap(true) {
		return
	}
	if s.onClose != nil {
		s.onClose(s)
	}
	s.refresh()
	for _, img := range s.images {
		s.dropImage(img)
	}
	s.images = nil
}
