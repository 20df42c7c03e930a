//go:build linux

package marketdata

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UDP generic segmentation offload (GSO) bounds.
const (
	// gsoSegmentsMax bounds the datagrams of one GSO send: the kernel's
	// UDP_MAX_SEGMENTS (64 up to Linux 6.8, larger after).
	gsoSegmentsMax = 64
	// gsoPayloadMax bounds the bytes of one GSO send, padding included: the
	// largest UDP payload of one IPv4 datagram.
	gsoPayloadMax = mtuMax
	// gsoPaddingDivisor bounds the padding of one GSO send to 1/8 of its
	// packets' bytes: packets of full-depth books are all of one length and
	// go as one send, but books of uneven depth make packets of uneven length,
	// and padding them all to the longest would cost up to 45% more bytes on
	// the wire (seen at --depth 20); such a batch goes as several sends.
	gsoPaddingDivisor = 8
)

// gsoSupported says that SendBatch may use UDP GSO on this platform.
const gsoSupported = true

// gsoPadding is what pads a packet to its GSO segment size: zero bytes,
// which ParsePacket accepts after a packet. The kernel only reads it.
var gsoPadding [mtuMax]byte

// gsoState is the scratch of the publisher's GSO sends, made once so that a
// send does not allocate (as mmsgState).
type gsoState struct {
	enabled bool
	iovs    [2 * gsoSegmentsMax]unix.Iovec // each packet, then its padding
	hdr     unix.Msghdr
	control [32]byte // one cmsg of UDP_SEGMENT's uint16 (unix.CmsgSpace(2) bytes)
	n       int
	errno   error
	fn      func(fd uintptr) bool
}

func (c *UDPConn) initGSO() {
	g := &c.gso
	g.fn = func(fd uintptr) bool {
		r, _, e := unix.Syscall(unix.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&g.hdr)), unix.MSG_DONTWAIT)
		g.n, g.errno = int(r), nil
		if e != 0 {
			g.n, g.errno = 0, e
		}
		return true // never wait for room: the caller keeps the packets
	}
}

// sendBatchGSO sends pkts, in order, as few UDP GSO sends: each hands the
// kernel up to gsoSegmentsMax packets as one buffer, every packet but the
// last padded with zeros to the largest one's size, and the kernel cuts it
// into one datagram per packet. Why: over loopback the kernel delivers each
// datagram of a sendmmsg to the receiving socket inside the send, and the
// receiver it wakes ran between two datagrams of the batch: in venue bench
// md on 2 busy cores the kernel receive times of a batch's datagrams were
// 20-25 µs apart, each after the subscriber had read the one before (sendmmsg
// of 5-6 packets took 100-120 µs; without the ping-pong 3-4 µs a packet),
// most likely because the sync wake-up puts the receiver on the sender's CPU,
// where it preempts the send at its next cond_resched. A GSO send queues all
// its datagrams at once and wakes the receiver once: they arrive together
// 5 µs (p50) after the send starts.
//
// A kernel, device or route that refuses GSO (no UDP_SEGMENT, no checksum
// offload, a segment larger than the route's MTU) turns it off for this
// conn, and the rest goes by sendmmsg (which the kernel may fragment).
func (c *UDPConn) sendBatchGSO(pkts [][]byte) (int, error) {
	sent := 0
	for sent < len(pkts) && c.gso.enabled {
		n, err := c.sendGSO(pkts[sent:])
		sent += n
		switch {
		case err == nil:
		case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EIO), errors.Is(err, unix.ENOPROTOOPT),
			errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EMSGSIZE):
			c.gso.enabled = false
		default:
			return sent, err
		}
	}
	if sent < len(pkts) {
		n, err := c.sendBatchMmsg(pkts[sent:])
		return sent + n, err
	}
	return sent, nil
}

// gsoGroup returns how many of the first packets of pkts (at least one) go
// as one GSO send, and its segment size, the longest of them: at most
// gsoSegmentsMax packets and gsoPayloadMax bytes, and padding (every packet
// but the last padded to the segment size) at most 1/gsoPaddingDivisor of
// the packets' bytes.
func gsoGroup(pkts [][]byte) (n, segment int) {
	sum := 0
	for n < min(len(pkts), gsoSegmentsMax) {
		l := len(pkts[n])
		seg := max(segment, l)
		padding := seg*n - sum // the n packets before this one, padded to seg
		if n > 0 && (seg*n+l > gsoPayloadMax || padding*gsoPaddingDivisor > sum+l) {
			break
		}
		n, segment, sum = n+1, seg, sum+l
	}
	return n, segment
}

// sendGSO sends the first packets of pkts as one GSO send and returns how
// many went: all of them or none.
func (c *UDPConn) sendGSO(pkts [][]byte) (int, error) {
	g := &c.gso
	n, segment := gsoGroup(pkts)
	if segment == 0 {
		return 0, fmt.Errorf("marketdata: send batch: empty datagram")
	}
	iov := 0
	for i, p := range pkts[:n] {
		g.iovs[iov].Base = unsafe.SliceData(p)
		g.iovs[iov].SetLen(len(p))
		iov++
		if pad := segment - len(p); pad > 0 && i < n-1 {
			g.iovs[iov].Base = &gsoPadding[0]
			g.iovs[iov].SetLen(pad)
			iov++
		}
	}
	g.hdr = unix.Msghdr{Iov: &g.iovs[0]}
	g.hdr.SetIovlen(iov)
	if n > 1 {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&g.control[0]))
		h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
		h.SetLen(unix.CmsgLen(2))
		*(*uint16)(unsafe.Pointer(&g.control[unix.CmsgLen(0)])) = uint16(segment)
		g.hdr.Control = &g.control[0]
		g.hdr.SetControllen(unix.CmsgSpace(2))
	}
	if err := c.raw.Write(g.fn); err != nil {
		return 0, fmt.Errorf("marketdata: send batch: %w", err)
	}
	switch {
	case g.errno == unix.EAGAIN:
		return 0, ErrWouldBlock
	case g.errno != nil:
		return 0, fmt.Errorf("marketdata: send batch (GSO, %d segments of %d bytes): %w", n, segment, g.errno)
	}
	return n, nil
}
