//go:build !linux

package fixgateway

import "net"

// tcpSocket is unavailable here: the gateway only yields after a hand-off.
type tcpSocket struct{}

func newTCPSocket(*net.TCPConn) (tcpSocket, bool) { return tcpSocket{}, false }

func (tcpSocket) written() (uint64, bool) { return 0, false }

func (tcpSocket) setCork(bool) bool { return false }
