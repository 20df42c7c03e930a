//go:build linux

package marketdata

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr from sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
	_   [4]byte
}

// mmsgBatchMax bounds the datagrams moved by one sendmmsg or recvmmsg.
const mmsgBatchMax = 64

// mmsgState is the scratch of one direction's batch calls, made once so that
// batches do not allocate. Go's heap does not move, and the state lives as
// long as the conn, so the kernel may hold these pointers for a call.
type mmsgState struct {
	hdrs  [mmsgBatchMax]mmsghdr
	iovs  [mmsgBatchMax]unix.Iovec
	count int
	n     int
	errno error
	fn    func(fd uintptr) bool
}

func (m *mmsgState) load(bufs [][]byte) {
	m.count = min(len(bufs), mmsgBatchMax)
	for i := range m.count {
		m.iovs[i].Base = unsafe.SliceData(bufs[i])
		m.iovs[i].SetLen(len(bufs[i]))
		m.hdrs[i] = mmsghdr{}
		m.hdrs[i].hdr.Iov = &m.iovs[i]
		m.hdrs[i].hdr.SetIovlen(1)
	}
}

func (m *mmsgState) call(trap uintptr, fd uintptr) {
	r, _, e := unix.Syscall6(trap, fd, uintptr(unsafe.Pointer(&m.hdrs[0])), uintptr(m.count), unix.MSG_DONTWAIT, 0, 0)
	m.n, m.errno = int(r), nil
	if e != 0 {
		m.n, m.errno = 0, e
	}
}

func (c *UDPConn) initBatch() {
	c.initGSO()
	c.sendM.fn = func(fd uintptr) bool {
		c.sendM.call(unix.SYS_SENDMMSG, fd)
		return true // never wait for room: drop instead
	}
	c.recvM.fn = func(fd uintptr) bool {
		c.recvM.call(unix.SYS_RECVMMSG, fd)
		return c.recvM.errno != unix.EAGAIN // false parks in the netpoller
	}
}

// SendBatch implements BatchConn: by UDP GSO where the conn allows it (see
// sendBatchGSO), else by sendmmsg.
func (c *UDPConn) SendBatch(pkts [][]byte) (int, error) {
	if c.gso.enabled {
		return c.sendBatchGSO(pkts)
	}
	return c.sendBatchMmsg(pkts)
}

func (c *UDPConn) sendBatchMmsg(pkts [][]byte) (int, error) {
	sent := 0
	for sent < len(pkts) {
		c.sendM.load(pkts[sent:])
		if err := c.raw.Write(c.sendM.fn); err != nil {
			return sent, fmt.Errorf("marketdata: send batch: %w", err)
		}
		switch {
		case c.sendM.errno == unix.EAGAIN:
			return sent, ErrWouldBlock
		case c.sendM.errno != nil:
			return sent, fmt.Errorf("marketdata: send batch: %w", c.sendM.errno)
		case c.sendM.n == 0:
			return sent, ErrWouldBlock
		}
		sent += c.sendM.n
	}
	return sent, nil
}

// ReceiveBatch implements BatchConn. It may return on timeout after half of
// timeout (see armReadDeadline).
func (c *UDPConn) ReceiveBatch(bufs [][]byte, sizes []int, timeout time.Duration) (int, error) {
	c.recvM.load(bufs)
	if err := c.armReadDeadline(timeout); err != nil {
		return 0, c.wrapReadErr(err)
	}
	if err := c.raw.Read(c.recvM.fn); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, nil
		}
		return 0, c.wrapReadErr(err)
	}
	if c.recvM.errno != nil {
		if c.recvM.errno == unix.ECONNREFUSED {
			return 0, nil
		}
		return 0, fmt.Errorf("marketdata: receive batch: %w", c.recvM.errno)
	}
	for i := range c.recvM.n {
		sizes[i] = int(c.recvM.hdrs[i].n)
	}
	return c.recvM.n, nil
}
