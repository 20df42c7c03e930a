//go:build !linux

package marketdata

import "time"

// mmsgState is empty where sendmmsg and recvmmsg are not available.
type mmsgState struct{}

// gsoSupported says that SendBatch may use UDP GSO on this platform.
const gsoSupported = false

// gsoState is empty where UDP GSO is not available.
type gsoState struct{ enabled bool }

func (c *UDPConn) initBatch() {}

// SendBatch implements BatchConn one datagram per system call.
func (c *UDPConn) SendBatch(pkts [][]byte) (int, error) {
	for i, p := range pkts {
		if err := c.Send(p); err != nil {
			return i, err
		}
	}
	return len(pkts), nil
}

// ReceiveBatch implements BatchConn one datagram per system call.
func (c *UDPConn) ReceiveBatch(bufs [][]byte, sizes []int, timeout time.Duration) (int, error) {
	n, err := c.Receive(bufs[0], timeout)
	if n == 0 || err != nil {
		return 0, err
	}
	sizes[0] = n
	return 1, nil
}
