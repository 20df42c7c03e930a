package marketdata

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// Defaults of `venue run` and `venue md listen`: one group and port on the
// loopback interface, so the two meet with no flags.
const (
	GroupDefault     = "239.255.10.1"
	PortDefault      = 40101
	InterfaceDefault = "lo"
	// TTLDefault keeps multicast on the local network segment.
	TTLDefault = 1
	// socketBufferBytes asks the kernel for a deep send buffer, so that a
	// burst is absorbed by the kernel rather than back-pressured.
	socketBufferBytes = 4 << 20
	// receiveBufferBytes is the receive buffer asked for: about 100 ms of
	// the benchmark's packet rate, counting the kernel's per-packet overhead.
	receiveBufferBytes = 32 << 20
)

// UDPConfig names one market-data channel. Group may be a multicast group
// (joined on Interface) or, for networks without multicast, a unicast
// address: the publisher sends to it and the subscriber binds it.
type UDPConfig struct {
	Group     string // IPv4 address (default GroupDefault)
	Port      int    // default PortDefault
	Interface string // multicast interface name (default InterfaceDefault; "" with Group set means the default route)
	TTL       int    // multicast TTL (default TTLDefault)
	// NoLoopback disables delivery of multicast to receivers on the sending
	// host; by default it is enabled, for same-host subscribers.
	NoLoopback bool
	// NoGSO makes the sender use one datagram per packet in the kernel too
	// (sendmmsg) instead of UDP GSO sends of zero-padded packets (Linux; see
	// UDPConn.SendBatch). GSO also turns itself off where the kernel or the
	// route refuses it.
	NoGSO bool
}

// DefaultUDPConfig returns the `venue run` channel: GroupDefault:PortDefault on lo.
func DefaultUDPConfig() UDPConfig {
	return UDPConfig{Group: GroupDefault, Port: PortDefault, Interface: InterfaceDefault, TTL: TTLDefault}
}

func (c UDPConfig) resolve() (net.IP, *net.Interface, error) {
	ip := net.ParseIP(c.Group).To4()
	if ip == nil {
		return nil, nil, fmt.Errorf("marketdata: group %q is not an IPv4 address", c.Group)
	}
	if c.Port <= 0 || c.Port > 65535 {
		return nil, nil, fmt.Errorf("marketdata: port %d out of range", c.Port)
	}
	if c.Interface == "" {
		return ip, nil, nil
	}
	ifi, err := net.InterfaceByName(c.Interface)
	if err != nil {
		return nil, nil, fmt.Errorf("marketdata: interface %q: %w", c.Interface, err)
	}
	return ip, ifi, nil
}

// UDPConn is a Conn over a UDP socket.
type UDPConn struct {
	pc  net.PacketConn
	raw syscall.RawConn

	// Scratch for the raw-socket callbacks, made once so that Send and
	// TryReceive do not allocate.
	sendBuf, recvBuf []byte
	n                int
	err              error
	sendFn           func(fd uintptr) bool
	tryRecvFn        func(fd uintptr) bool
	waitRecvFn       func(fd uintptr) bool

	sendM, recvM mmsgState
	gso          gsoState

	// readDeadline is the read deadline set on the socket (zero: none); the
	// receiving goroutine owns it (see armReadDeadline).
	readDeadline time.Time
}

func newUDPConn(pc net.PacketConn) (*UDPConn, error) {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return nil, errors.New("marketdata: packet conn has no raw socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("marketdata: raw socket: %w", err)
	}
	c := &UDPConn{pc: pc, raw: raw}
	c.sendFn = func(fd uintptr) bool {
		c.n, c.err = unix.Write(int(fd), c.sendBuf)
		return true // never wait for room: drop instead
	}
	c.tryRecvFn = func(fd uintptr) bool {
		c.n, c.err = unix.Read(int(fd), c.recvBuf)
		return true
	}
	c.waitRecvFn = func(fd uintptr) bool {
		c.n, c.err = unix.Read(int(fd), c.recvBuf)
		return c.err != unix.EAGAIN // false parks in the netpoller until readable
	}
	c.initBatch()
	return c, nil
}

func setSocketOptions(reuse bool) func(network, address string, rc syscall.RawConn) error {
	return func(network, address string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			if reuse {
				// Two subscribers on one host may bind the same group and port.
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			}
			// Best effort: the kernel caps these at net.core.*mem_max unless
			// the process may force them (CAP_NET_ADMIN). A deep receive
			// buffer lets a subscriber that loses the CPU for tens of
			// milliseconds catch up instead of losing packets.
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, receiveBufferBytes) != nil {
				_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, receiveBufferBytes)
			}
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, socketBufferBytes)
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// DialUDP opens the publisher's side of a channel: a socket that sends to
// Group:Port (multicast on Interface with TTL and loopback, or unicast).
func DialUDP(cfg UDPConfig) (*UDPConn, error) {
	ip, ifi, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	local := "0.0.0.0:0"
	if ifi != nil && ifi.Flags&net.FlagLoopback != 0 {
		local = "127.0.0.1:0" // multicast out of lo needs a loopback source
	}
	lc := net.ListenConfig{Control: setSocketOptions(false)}
	pc, err := lc.ListenPacket(context.Background(), "udp4", local)
	if err != nil {
		return nil, fmt.Errorf("marketdata: open sender socket: %w", err)
	}
	if err := configureSender(pc, ip, ifi, cfg); err != nil {
		pc.Close()
		return nil, err
	}
	// Connect, so that Send is a plain write with the destination fixed.
	c, err := newUDPConn(pc)
	if err == nil {
		err = connectSocket(c.raw, ip, cfg.Port)
	}
	if err != nil {
		pc.Close()
		return nil, err
	}
	c.gso.enabled = !cfg.NoGSO && gsoSupported
	return c, nil
}

func configureSender(pc net.PacketConn, ip net.IP, ifi *net.Interface, cfg UDPConfig) error {
	if !ip.IsMulticast() {
		return nil
	}
	p := ipv4.NewPacketConn(pc)
	if ifi != nil {
		if err := p.SetMulticastInterface(ifi); err != nil {
			return fmt.Errorf("marketdata: multicast interface %s: %w", ifi.Name, err)
		}
	}
	if err := p.SetMulticastTTL(cmp0(cfg.TTL, TTLDefault)); err != nil {
		return fmt.Errorf("marketdata: multicast TTL: %w", err)
	}
	if err := p.SetMulticastLoopback(!cfg.NoLoopback); err != nil {
		return fmt.Errorf("marketdata: multicast loopback: %w", err)
	}
	return nil
}

func connectSocket(raw syscall.RawConn, ip net.IP, port int) error {
	sa := &unix.SockaddrInet4{Port: port}
	copy(sa.Addr[:], ip)
	var cerr error
	if err := raw.Control(func(fd uintptr) { cerr = unix.Connect(int(fd), sa) }); err != nil {
		return fmt.Errorf("marketdata: connect %s:%d: %w", ip, port, err)
	}
	if cerr != nil {
		return fmt.Errorf("marketdata: connect %s:%d: %w", ip, port, cerr)
	}
	return nil
}

// ListenUDP opens a subscriber's side of a channel: bound to Group:Port with
// SO_REUSEADDR, and joined to the group on Interface when Group is multicast.
// Binding the group address (not 0.0.0.0) keeps other groups that share the
// port out, but Linux still delivers a group joined by any socket to every
// socket bound to that port: give each feed its own port.
func ListenUDP(cfg UDPConfig) (*UDPConn, error) {
	ip, ifi, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	lc := net.ListenConfig{Control: setSocketOptions(true)}
	addr := net.JoinHostPort(ip.String(), fmt.Sprint(cfg.Port))
	pc, err := lc.ListenPacket(context.Background(), "udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("marketdata: bind %s: %w", addr, err)
	}
	if ip.IsMulticast() {
		if err := ipv4.NewPacketConn(pc).JoinGroup(ifi, &net.UDPAddr{IP: ip}); err != nil {
			pc.Close()
			return nil, fmt.Errorf("marketdata: join %s on %s: %w", ip, cfg.Interface, err)
		}
	}
	c, err := newUDPConn(pc)
	if err != nil {
		pc.Close()
		return nil, err
	}
	return c, nil
}

// Send implements Conn; it never waits for socket buffer space.
func (c *UDPConn) Send(p []byte) error {
	c.sendBuf = p
	if err := c.raw.Write(c.sendFn); err != nil {
		return fmt.Errorf("marketdata: send: %w", err)
	}
	switch {
	case c.err == unix.EAGAIN:
		return ErrWouldBlock
	case c.err != nil:
		// ECONNREFUSED from a unicast peer that is not listening, ENOBUFS...
		return fmt.Errorf("marketdata: send: %w", c.err)
	}
	return nil
}

// TryReceive implements Conn.
func (c *UDPConn) TryReceive(buf []byte) (int, error) {
	c.recvBuf = buf
	err := c.raw.Read(c.tryRecvFn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// A deadline a timed receive left has passed: it must not fail a
		// receive that does not wait.
		if err = c.clearReadDeadline(); err == nil {
			err = c.raw.Read(c.tryRecvFn)
		}
	}
	if err != nil {
		return 0, c.wrapReadErr(err)
	}
	if c.err == unix.EAGAIN {
		return 0, nil
	}
	return c.result()
}

// Receive implements Conn. It may return on timeout after half of timeout
// (see armReadDeadline).
func (c *UDPConn) Receive(buf []byte, timeout time.Duration) (int, error) {
	c.recvBuf = buf
	if err := c.armReadDeadline(timeout); err != nil {
		return 0, c.wrapReadErr(err)
	}
	if err := c.raw.Read(c.waitRecvFn); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, nil
		}
		return 0, c.wrapReadErr(err)
	}
	return c.result()
}

// armReadDeadline makes sure that the socket's read deadline ends a wait
// starting now after between timeout/2 and timeout, setting it only when
// the one set does not: the deadline is a runtime timer, and arming the
// process's earliest timer wakes the thread waiting in the network poller (or
// starts one), so setting a deadline and clearing it around every receive,
// as the timed receives did, cost a thread wake-up per receive on the
// subscriber's path. The deadline stays set between receives; TryReceive
// clears one that has passed.
func (c *UDPConn) armReadDeadline(timeout time.Duration) error {
	now := time.Now()
	if left := c.readDeadline.Sub(now); !c.readDeadline.IsZero() && left >= timeout/2 && left <= timeout {
		return nil
	}
	c.readDeadline = now.Add(timeout)
	if err := c.pc.SetReadDeadline(c.readDeadline); err != nil {
		c.readDeadline = time.Time{}
		return err
	}
	return nil
}

// clearReadDeadline removes the socket's read deadline.
func (c *UDPConn) clearReadDeadline() error {
	c.readDeadline = time.Time{}
	return c.pc.SetReadDeadline(time.Time{})
}

func (c *UDPConn) result() (int, error) {
	if c.err != nil {
		if c.err == unix.ECONNREFUSED {
			return 0, nil // a stale ICMP error for a unicast peer: not ours to report
		}
		return 0, fmt.Errorf("marketdata: receive: %w", c.err)
	}
	return c.n, nil
}

func (c *UDPConn) wrapReadErr(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return ErrClosed
	}
	return fmt.Errorf("marketdata: receive: %w", err)
}

// Close implements Conn.
func (c *UDPConn) Close() error { return c.pc.Close() }

// LocalAddr returns the socket's bound address.
func (c *UDPConn) LocalAddr() net.Addr { return c.pc.LocalAddr() }
