package fixgateway

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// tcpSocket reads a TCP connection's byte counts from the kernel.
type tcpSocket struct{ rc syscall.RawConn }

func newTCPSocket(c *net.TCPConn) (tcpSocket, bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return tcpSocket{}, false
	}
	s := tcpSocket{rc: rc}
	_, ok := s.written()
	return s, ok
}

// written returns the data bytes the kernel has accepted on the socket
// since it opened: those sent (less retransmissions) and those queued
// but not yet sent. It reports false when the socket cannot be read (it
// is closed) or the kernel does not count (before Linux 4.19).
func (s tcpSocket) written() (uint64, bool) {
	var info *unix.TCPInfo
	var gerr error
	err := s.rc.Control(func(fd uintptr) {
		info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	if err != nil || gerr != nil || info.Bytes_sent < info.Bytes_retrans {
		return 0, false
	}
	return info.Bytes_sent - info.Bytes_retrans + uint64(info.Notsent_bytes), true
}

// setCork sets or clears TCP_CORK: while set, the kernel holds what is
// written and sends it in full segments; clearing it sends what it holds.
func (s tcpSocket) setCork(on bool) bool {
	v := 0
	if on {
		v = 1
	}
	var serr error
	err := s.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_CORK, v)
	})
	return err == nil && serr == nil
}
