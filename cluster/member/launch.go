package member

import (
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"

	"venue/archive"
	"venue/cluster"
	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/logstore"
	"venue/cluster/module"
	"venue/cluster/peer"
	"venue/transport"
)

// Node is a member with everything it owns: its transport driver, its
// consensus transport and its log store. It is what `venue node` runs, and
// `venue run` runs three of in one process.
type Node struct {
	*Member
	driver *transport.Driver
	peers  *peer.Transport
	store  *logstore.Store
}

// Options are a launched node's settings that the cluster file does not hold.
type Options struct {
	// Authenticator checks client credentials (nil: accept everyone).
	Authenticator module.Authenticator
	// AdminPrincipals may ask for a snapshot from their client sessions
	// (client.RequestSnapshot); nobody else may.
	AdminPrincipals []string
	// Counters is the process's counters file (nil: in memory).
	Counters *transport.CountersManager
	// LogSegmentLength overrides the log store's segment length (0: the
	// default); tests use small segments so that retention purges soon.
	LogSegmentLength int64
}

// DataDir returns member id's data directory under the cluster's settings.
func DataDir(c config.Cluster, id consensus.MemberID) string {
	if d := c.Members[id].DataDir; d != "" {
		return d
	}
	return filepath.Join(c.DataDir, fmt.Sprintf("member-%d", id))
}

// PrepareLogs writes the spare log segment of every member of c before
// they start (logstore.PrepareSpare, the members in parallel, as their
// preparers would run), so that fresh logs run on prepared segments from
// their first append, as the logs of members that ran before do. It is for
// benchmarks that start a fresh cluster and measure it at once: without it
// the measured seconds hold the fresh logs' start-up, a fallocated first
// segment whose every sync writes extent metadata too while each member's
// preparer zero-fills a segment under the traffic. It does nothing without
// data fsync, and must not run while a member of c is open.
func PrepareLogs(c config.Cluster, opts Options) error {
	if c.Fsync != config.FsyncData {
		return nil
	}
	errs := make([]error, len(c.Members))
	var wg sync.WaitGroup
	for i := range c.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := consensus.MemberID(i)
			cfg := logstore.Config{Dir: DataDir(c, id), Fsync: archive.FsyncData, SegmentLength: opts.LogSegmentLength}
			if err := logstore.PrepareSpare(cfg); err != nil {
				errs[i] = fmt.Errorf("member %d: prepare log: %w", id, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Launch starts member id of cluster c running service: it opens the
// member's log store, its transport driver (one goroutine for the whole
// member: the driver is invoked from the member's duty cycle) and its
// consensus transport, and starts the member.
func Launch(c config.Cluster, id consensus.MemberID, service cluster.ClusteredService, opts Options) (*Node, error) {
	if int(id) < 0 || int(id) >= len(c.Members) {
		return nil, fmt.Errorf("member: id %d not in the cluster's %d members", id, len(c.Members))
	}
	fsync := archive.FsyncNone
	if c.Fsync == config.FsyncData {
		fsync = archive.FsyncData
	}
	dir := DataDir(c, id)
	store, err := logstore.Open(logstore.Config{Dir: dir, Fsync: fsync, SegmentLength: opts.LogSegmentLength,
		DeferWrites: true})
	if err != nil {
		return nil, fmt.Errorf("member %d: log store in %s: %w", id, dir, err)
	}
	n := &Node{store: store}
	driver, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker,
		Counters: opts.Counters, MTU: c.TransportMTU()})
	if err != nil {
		n.close()
		return nil, fmt.Errorf("member %d: transport: %w", id, err)
	}
	n.driver = driver
	// The syncer (FsyncData) wakes the member when the durable position
	// advances: a follower acknowledges, and a leader counts itself in the
	// quorum, without waiting for the next datagram or the poll timeout.
	store.SetDurableHook(driver.Wake)
	pc, err := c.PeerConfig(driver, id)
	if err != nil {
		n.close()
		return nil, fmt.Errorf("member %d: %w", id, err)
	}
	if n.peers, err = peer.New(pc); err != nil {
		n.close()
		return nil, fmt.Errorf("member %d: consensus transport: %w", id, err)
	}
	var seed [16]byte
	_, _ = cryptorand.Read(seed[:]) // election delays only; never fails on Linux
	rnd := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	m, err := Start(Config{
		Consensus:       c.ConsensusConfig(id, rnd),
		Driver:          driver,
		InvokeDriver:    true,
		Peers:           n.peers,
		Store:           store,
		Hard:            store,
		OnLogAppended:   store.LogAppended,
		IngressEndpoint: c.Members[id].Ingress,
		Sessions: module.SessionConfig{SessionsMax: c.MaxSessions, SessionTimeoutNs: int64(c.SessionTimeout),
			IngressLimit: c.SessionIngressLimit, Authenticator: opts.Authenticator,
			AdminPrincipals: opts.AdminPrincipals},
		Service:            service,
		Counters:           opts.Counters,
		Snapshots:          store,
		SnapshotKeep:       c.SnapshotKeep,
		SnapshotIntervalNs: int64(c.SnapshotInterval),
	})
	if err != nil {
		n.close()
		return nil, err
	}
	n.Member = m
	return n, nil
}

// PeerCounters returns the counters of the node's consensus transport
// (safe from any goroutine): drops, and with log multicast on, how the log
// went out and came in.
func (n *Node) PeerCounters() peer.Counters { return n.peers.Counters() }

// Store returns the node's log store (read-only use from other goroutines:
// positions, the recording log).
func (n *Node) Store() *logstore.Store { return n.store }

// Close stops the member and releases its transport and store.
func (n *Node) Close() error {
	var err error
	if n.Member != nil {
		err = n.Member.Close()
	}
	if cerr := n.close(); err == nil {
		err = cerr
	}
	return err
}

func (n *Node) close() error {
	var err error
	if n.peers != nil {
		n.peers.Close()
	}
	if n.store != nil {
		n.store.SetDurableHook(nil) // before the driver it wakes goes
	}
	if n.driver != nil {
		err = n.driver.Close()
	}
	if n.store != nil {
		if cerr := n.store.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
