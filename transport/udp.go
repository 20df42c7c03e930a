package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// SocketBufferLengthDefault is the SO_RCVBUF/SO_SNDBUF size requested for
// UDP sockets in bytes (the kernel may cap it at net.core.*mem_max).
const SocketBufferLengthDefault = 4 * 1024 * 1024

// udpBatchMax bounds one recvmmsg/sendmmsg call in datagrams.
const udpBatchMax = 64

// UDPNetwork opens real UDP sockets.
type UDPNetwork struct {
	// SocketBufferLength is the socket buffer size in bytes; 0 means the default.
	SocketBufferLength int
}

func (n UDPNetwork) bufLen() int {
	if n.SocketBufferLength > 0 {
		return n.SocketBufferLength
	}
	return SocketBufferLengthDefault
}

// udpConn is a DatagramConn over a *net.UDPConn using x/net/ipv4 batches.
type udpConn struct {
	c     *net.UDPConn
	pc    *ipv4.PacketConn
	rc    syscall.RawConn
	local netip.AddrPort
	rmsgs []ipv4.Message
	wmsgs []ipv4.Message
	addrs map[netip.AddrPort]*net.UDPAddr
	peek  [1]byte
}

func newUDPConn(c *net.UDPConn, bufLen int) (*udpConn, error) {
	_ = c.SetReadBuffer(bufLen)
	_ = c.SetWriteBuffer(bufLen)
	rc, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("transport: raw conn: %w", err)
	}
	u := &udpConn{c: c, pc: ipv4.NewPacketConn(c), rc: rc,
		local: c.LocalAddr().(*net.UDPAddr).AddrPort(),
		rmsgs: make([]ipv4.Message, udpBatchMax), wmsgs: make([]ipv4.Message, udpBatchMax),
		addrs: map[netip.AddrPort]*net.UDPAddr{}}
	for i := range u.rmsgs {
		u.rmsgs[i].Buffers = make([][]byte, 1)
	}
	for i := range u.wmsgs {
		u.wmsgs[i].Buffers = make([][]byte, 1)
	}
	return u, nil
}

// ListenUnicast binds a UDP socket to addr.
func (n UDPNetwork) ListenUnicast(addr netip.AddrPort) (DatagramConn, error) {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", addr, err)
	}
	return newUDPConn(c, n.bufLen())
}

// SenderConn binds local (port 0 for ephemeral) and applies multicast options.
func (n UDPNetwork) SenderConn(local netip.AddrPort, opts MulticastOptions) (DatagramConn, error) {
	if !local.IsValid() {
		local = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(local))
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", local, err)
	}
	u, err := newUDPConn(c, n.bufLen())
	if err != nil {
		return nil, err
	}
	if err := u.setMulticastSend(opts); err != nil {
		u.Close()
		return nil, err
	}
	return u, nil
}

func (u *udpConn) setMulticastSend(opts MulticastOptions) error {
	if opts.Interface != "" {
		ifi, err := net.InterfaceByName(opts.Interface)
		if err != nil {
			return fmt.Errorf("transport: interface %s: %w", opts.Interface, err)
		}
		if err := u.pc.SetMulticastInterface(ifi); err != nil {
			return fmt.Errorf("transport: multicast interface %s: %w", opts.Interface, err)
		}
	}
	if opts.TTL > 0 {
		if err := u.pc.SetMulticastTTL(opts.TTL); err != nil {
			return fmt.Errorf("transport: multicast ttl: %w", err)
		}
	}
	if err := u.pc.SetMulticastLoopback(opts.Loopback); err != nil {
		return fmt.Errorf("transport: multicast loopback: %w", err)
	}
	return nil
}

// ListenMulticast binds group's port with SO_REUSEADDR (so several receivers
// on one host can share it) and joins group on the interface.
func (n UDPNetwork) ListenMulticast(group netip.AddrPort, opts MulticastOptions) (DatagramConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
		})
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(nil, "udp4", fmt.Sprintf("%s:%d", group.Addr(), group.Port()))
	if err != nil {
		return nil, fmt.Errorf("transport: listen multicast %s: %w", group, err)
	}
	u, err := newUDPConn(pc.(*net.UDPConn), n.bufLen())
	if err != nil {
		return nil, err
	}
	var ifi *net.Interface
	if opts.Interface != "" {
		if ifi, err = net.InterfaceByName(opts.Interface); err != nil {
			u.Close()
			return nil, fmt.Errorf("transport: interface %s: %w", opts.Interface, err)
		}
	}
	if err := u.pc.JoinGroup(ifi, &net.UDPAddr{IP: group.Addr().AsSlice()}); err != nil {
		u.Close()
		return nil, fmt.Errorf("transport: join %s: %w", group.Addr(), err)
	}
	if err := u.setMulticastSend(opts); err != nil {
		u.Close()
		return nil, err
	}
	return u, nil
}

// ReadBatch receives without blocking (MSG_DONTWAIT).
func (u *udpConn) ReadBatch(ds []Datagram) (int, error) {
	n := min(len(ds), len(u.rmsgs))
	for i := 0; i < n; i++ {
		u.rmsgs[i].Buffers[0] = ds[i].Buf
	}
	got, err := u.pc.ReadBatch(u.rmsgs[:n], unix.MSG_DONTWAIT)
	if err != nil {
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) {
			return 0, nil
		}
		return 0, fmt.Errorf("transport: read: %w", err)
	}
	for i := 0; i < got; i++ {
		m := &u.rmsgs[i]
		ds[i].N = m.N
		if m.Flags&unix.MSG_TRUNC != 0 {
			ds[i].N = len(ds[i].Buf) + 1 // oversized: the caller drops it
		}
		if a, ok := m.Addr.(*net.UDPAddr); ok {
			ds[i].Addr = a.AddrPort()
		}
	}
	return got, nil
}

// WriteBatch sends with sendmmsg.
func (u *udpConn) WriteBatch(ds []Datagram) (int, error) {
	sent := 0
	for sent < len(ds) {
		n := min(len(ds)-sent, len(u.wmsgs))
		for i := 0; i < n; i++ {
			d := &ds[sent+i]
			u.wmsgs[i].Buffers[0] = d.Buf[:d.N]
			u.wmsgs[i].Addr = u.udpAddr(d.Addr)
		}
		w, err := u.pc.WriteBatch(u.wmsgs[:n], 0)
		sent += w
		if err != nil {
			return sent, fmt.Errorf("transport: write: %w", err)
		}
		if w < n {
			return sent, nil
		}
	}
	return sent, nil
}

// udpAddr caches *net.UDPAddr per destination so that sending does not allocate.
func (u *udpConn) udpAddr(a netip.AddrPort) *net.UDPAddr {
	if ua, ok := u.addrs[a]; ok {
		return ua
	}
	ua := net.UDPAddrFromAddrPort(a)
	if len(u.addrs) < 1024 {
		u.addrs[a] = ua
	}
	return ua
}

// WaitReadable parks the goroutine in the Go network poller until the
// socket is readable or timeout passes. The readiness check runs inside the
// raw read callback (a MSG_PEEK probe), so a datagram that arrives between
// the probe and the park still wakes it.
func (u *udpConn) WaitReadable(timeout time.Duration) bool {
	_ = u.c.SetReadDeadline(time.Now().Add(timeout))
	ready := false
	err := u.rc.Read(func(fd uintptr) bool {
		// A raw recvfrom(MSG_PEEK) probe: unix.Recvfrom would allocate a Sockaddr.
		_, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&u.peek[0])), 1,
			unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
		ready = e == 0 || (e != unix.EAGAIN && e != unix.EWOULDBLOCK)
		return ready
	})
	_ = u.c.SetReadDeadline(time.Time{})
	return err == nil && ready
}

// LocalAddr returns the bound address.
func (u *udpConn) LocalAddr() netip.AddrPort { return u.local }

// Close closes the socket.
func (u *udpConn) Close() error { return u.c.Close() }
