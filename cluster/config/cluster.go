package config

import (
	"fmt"
	"net/netip"

	"venue/cluster/consensus"
	"venue/cluster/peer"
	"venue/transport"
)

// Loopback layout: member i's ports are basePort + kind*loopbackPortStride
// + i, kinds in the order ingress, consensus, log, catchup, archive; with
// basePort 9010 member 0 gets 9010, 9020, 9030, 9040, 9050.
const (
	loopbackPortStride = 10
	// DefaultBasePort is the base port of the embedded default cluster.
	DefaultBasePort = 9010
	// DefaultMembers is the size of the embedded default cluster.
	DefaultMembers = 3
	// loopbackHost is where every loopback member lives.
	loopbackHost = "127.0.0.1"
)

// Loopback returns a cluster of members on 127.0.0.1 with default settings
// and data under dataDir: the embedded default (`venue run`) and tests. It
// does not validate; members must be 1..MembersMax and basePort+49 a port.
// Members share a host, so only a secret tells them apart: set Secret for
// anything but a test on a trusted host.
func Loopback(members int, basePort int, dataDir string) Cluster {
	c := Cluster{Settings: DefaultSettings()}
	c.DataDir = dataDir
	ep := func(kind, id int) string {
		return fmt.Sprintf("%s:%d", loopbackHost, basePort+kind*loopbackPortStride+id)
	}
	for i := range max(members, 0) {
		c.Members = append(c.Members, Member{ID: consensus.MemberID(i), Host: loopbackHost,
			Ingress: ep(0, i), Consensus: ep(1, i), Log: ep(2, i), Catchup: ep(3, i), Archive: ep(4, i)})
	}
	return c
}

// LoopbackMTU is the automatic MTU of a cluster whose members are all on
// loopback addresses, in bytes: no Ethernet frame limits a datagram there,
// and each datagram costs a system call and a trip through the kernel's
// network stack, so a burst of log or egress that fits one datagram costs
// one trip instead of several. On the seeds' workload (bursts of 20
// 200-byte messages) it halved the CPU time per message of `venue bench
// cluster` against the 1408-byte default.
const LoopbackMTU = 8192

// TransportMTU returns the MTU the members' transports use: mtu if set,
// else LoopbackMTU when every member host is a loopback address, else
// transport.MTULengthDefault.
func (c Cluster) TransportMTU() int {
	if c.MTU != 0 {
		return c.MTU
	}
	for _, m := range c.Members {
		if a, err := netip.ParseAddr(m.Host); err != nil || !a.IsLoopback() {
			return transport.MTULengthDefault
		}
	}
	if len(c.Members) == 0 {
		return transport.MTULengthDefault
	}
	return LoopbackMTU
}

// ConsensusConfig returns member id's consensus.Config: consensus's LAN
// defaults with this file's timeouts. The retransmit timeout is two
// heartbeat intervals and the nomination delay 40% of the election timeout
// (the defaults' ratios, so the defaults map onto themselves), and the commit
// broadcast interval at most half a heartbeat interval.
func (c Cluster) ConsensusConfig(id consensus.MemberID, rand consensus.RandomSource) consensus.Config {
	cfg := consensus.DefaultConfig(id, len(c.Members), rand)
	cfg.HeartbeatIntervalNs = int64(c.HeartbeatInterval)
	cfg.LeaderHeartbeatTimeoutNs = int64(c.LeaderHeartbeatTimeout)
	cfg.ElectionTimeoutNs = int64(c.ElectionTimeout)
	cfg.RetransmitTimeoutNs = 2 * int64(c.HeartbeatInterval)
	cfg.NominationDelayMaxNs = max(1, int64(c.ElectionTimeout)*2/5)
	cfg.CommitBroadcastIntervalNs = min(cfg.CommitBroadcastIntervalNs, int64(c.HeartbeatInterval)/2)
	return cfg
}

// Peers returns every member's consensus endpoint, for peer.Config.
func (c Cluster) Peers() []peer.Member {
	ps := make([]peer.Member, len(c.Members))
	for i, m := range c.Members {
		ps[i] = peer.Member{ID: m.ID, ConsensusEndpoint: m.Consensus}
	}
	return ps
}

// PeerConfig returns member id's peer.Config on driver d: the members, the
// secret, the log multicast group (if any), and AppendDataMax set to
// consensus's AppendLog batch so that the consensus streams use small terms.
func (c Cluster) PeerConfig(d *transport.Driver, id consensus.MemberID) (peer.Config, error) {
	secret, err := c.SecretBytes()
	if err != nil {
		return peer.Config{}, err
	}
	return peer.Config{Driver: d, Self: id, Members: c.Peers(), Secret: secret,
		AppendDataMax: c.ConsensusConfig(id, nil).AppendBatchBytes, Multicast: c.Multicast()}, nil
}
