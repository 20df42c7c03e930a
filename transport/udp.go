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

// udpConn is a DatagramConn over a *net.UDPConn: recvmmsg for reads,
// x/net/ipv4 WriteBatch (sendmmsg) for writes.
type udpConn struct {
	c     *net.UDPConn
	pc    *ipv4.PacketConn
	rc    syscall.RawConn
	local netip.AddrPort
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet4
	wmsgs []ipv4.Message
	addrs map[netip.AddrPort]*net.UDPAddr
	peek  [1]byte
	ready bool
	// gateW, when set, is the waiter whose per-cycle readiness says
	// whether a read is worth a syscall (fd is this socket's).
	gateW *socketWaiter
	fd    int32

	// Raw-read callbacks bound once (a closure per call would allocate).
	recvFn  func(uintptr) bool
	probeFn func(uintptr) bool
	recvN   int
	recvGot int
	recvErr syscall.Errno
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
		hdrs:  make([]unix.Mmsghdr, udpBatchMax), iovs: make([]unix.Iovec, udpBatchMax),
		names: make([]unix.RawSockaddrInet4, udpBatchMax), wmsgs: make([]ipv4.Message, udpBatchMax),
		addrs: map[netip.AddrPort]*net.UDPAddr{}}
	u.recvFn, u.probeFn = u.recv, u.probe
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

// ReadBatch receives without blocking: one recvmmsg(MSG_DONTWAIT) into the
// callers' buffers. It is written against the raw syscall rather than
// x/net's ReadBatch because that allocates a *net.UDPAddr per datagram;
// here the source address is decoded into a netip.AddrPort in place.
//
// A socket the driver watches (gate) is read only if its waiter's last
// refresh found it readable; otherwise ReadBatch returns 0 without a
// system call, and what arrived since the refresh is read after the next.
func (u *udpConn) ReadBatch(ds []Datagram) (int, error) {
	n := min(len(ds), udpBatchMax)
	if n == 0 || (u.gateW != nil && !u.gateW.mayRead(u.fd)) {
		return 0, nil
	}
	for i := 0; i < n; i++ {
		u.iovs[i] = unix.Iovec{Base: &ds[i].Buf[0], Len: uint64(len(ds[i].Buf))}
		u.hdrs[i] = unix.Mmsghdr{Hdr: unix.Msghdr{Name: (*byte)(unsafe.Pointer(&u.names[i])),
			Namelen: unix.SizeofSockaddrInet4, Iov: &u.iovs[i], Iovlen: 1}}
	}
	u.recvN = n
	err := u.rc.Read(u.recvFn)
	got, errno := u.recvGot, u.recvErr
	switch {
	case err != nil:
		return 0, fmt.Errorf("transport: read: %w", err)
	case errno == unix.EAGAIN || errno == unix.EINTR:
		return 0, nil
	case errno != 0:
		return 0, fmt.Errorf("transport: recvmmsg: %w", errno)
	}
	for i := 0; i < got; i++ {
		h := &u.hdrs[i]
		ds[i].N = int(h.Len)
		if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
			ds[i].N = len(ds[i].Buf) + 1 // oversized: the caller drops it
		}
		sa := &u.names[i]
		port := (*[2]byte)(unsafe.Pointer(&sa.Port))
		ds[i].Addr = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(port[0])<<8|uint16(port[1]))
	}
	return got, nil
}

// recv is the raw read callback, bound once as recvFn so that reading does
// not allocate a closure.
func (u *udpConn) recv(fd uintptr) bool {
	r, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&u.hdrs[0])), uintptr(u.recvN),
		unix.MSG_DONTWAIT, 0, 0)
	u.recvGot, u.recvErr = int(r), e
	if e != 0 {
		u.recvGot = 0
	}
	return true // never wait here: the idle strategy decides that
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
	u.ready = false
	err := u.rc.Read(u.probeFn)
	_ = u.c.SetReadDeadline(time.Time{})
	return err == nil && u.ready
}

// probe is the readiness check run inside the raw read callback: a raw
// recvfrom(MSG_PEEK) (unix.Recvfrom would allocate a Sockaddr).
func (u *udpConn) probe(fd uintptr) bool {
	_, _, e := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&u.peek[0])), 1,
		unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	u.ready = e == 0 || (e != unix.EAGAIN && e != unix.EWOULDBLOCK)
	return u.ready
}

// LocalAddr returns the bound address.
func (u *udpConn) LocalAddr() netip.AddrPort { return u.local }

// Close closes the socket.
func (u *udpConn) Close() error { return u.c.Close() }
