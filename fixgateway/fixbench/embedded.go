package fixbench

import (
	"context"
	"errors"
	"fmt"
	"time"

	clusterclient "venue/cluster/client"
	"venue/cluster/clusterbench"
	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/member"
	"venue/engine"
	"venue/engine/clustered"
	"venue/fixgateway"
	"venue/fixgateway/clusterlink"
	"venue/fixgateway/fakecluster"
	"venue/transport"
)

// Cluster kinds (Config.Cluster, Result.Cluster).
const (
	// ClusterEmbedded is a replicated cluster in this process: members on
	// loopback UDP with their log stores, each running the engine, the
	// gateway connected through clusterlink, as `venue run` has it.
	ClusterEmbedded = "embedded"
	// ClusterInProcess is fakecluster: the engine behind one in-process
	// log, no consensus and no replication (isolates the gateway).
	ClusterInProcess = "in-process"
)

// Embedded cluster bounds.
const (
	// embeddedMembers is the embedded cluster's size (`venue run`'s).
	embeddedMembers = config.DefaultMembers
	// leaderWait bounds waiting for the first leader.
	leaderWait = 10 * time.Second
	// provisionWait bounds provisioning through the log.
	provisionWait = 10 * time.Second
	// provisionPollWait bounds one wait for the provisioning session's
	// acknowledgements.
	provisionPollWait = time.Millisecond
	// leaderPollInterval is how often the members are asked who leads.
	leaderPollInterval = 5 * time.Millisecond
)

// embedded is a running embedded cluster.
type embedded struct {
	cc    config.Cluster
	nodes []*member.Node
}

// startEmbedded starts an embedded cluster with its data under dir (free
// loopback ports, the embedded default's settings with fsync as asked),
// waits for a leader and provisions spec through the log from the
// bootstrap admin's session.
func startEmbedded(ctx context.Context, dir string, fsync config.Fsync, spec fakecluster.Spec) (*embedded, error) {
	base, err := clusterbench.FreeBasePort(embeddedMembers)
	if err != nil {
		return nil, fmt.Errorf("fixbench: embedded cluster: %w", err)
	}
	e := &embedded{cc: config.Loopback(embeddedMembers, base, dir)}
	if fsync != "" {
		e.cc.Fsync = fsync
	}
	if err := e.cc.Validate(); err != nil {
		return nil, fmt.Errorf("fixbench: embedded cluster: %w", err)
	}
	// Fresh logs start on prepared segments, as a member that ran before
	// does (member.PrepareLogs).
	if err := member.PrepareLogs(e.cc, member.Options{}); err != nil {
		return nil, fmt.Errorf("fixbench: %w", err)
	}
	for i := range embeddedMembers {
		svc, err := clustered.New(engine.Config{BootstrapAdmin: fakecluster.AdminPrincipal})
		if err != nil {
			e.close()
			return nil, fmt.Errorf("fixbench: member %d: engine: %w", i, err)
		}
		n, err := member.Launch(e.cc, consensus.MemberID(i), svc, member.Options{})
		if err != nil {
			e.close()
			return nil, fmt.Errorf("fixbench: %w", err)
		}
		e.nodes = append(e.nodes, n)
	}
	if err := e.awaitLeader(ctx); err != nil {
		e.close()
		return nil, err
	}
	if err := e.provision(ctx, fakecluster.ProvisionMessages(spec)); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

// ingress returns the members' client ingress endpoints by id.
func (e *embedded) ingress() []string {
	eps := make([]string, len(e.cc.Members))
	for i, m := range e.cc.Members {
		eps[i] = m.Ingress
	}
	return eps
}

// link returns a cluster client for the gateway.
func (e *embedded) link() (fixgateway.ClusterClient, error) {
	return clusterlink.NewWithConfig(clusterlink.Config{Members: e.ingress(), MTU: e.cc.TransportMTU(),
		WindowMax: e.cc.SessionIngressLimit})
}

func (e *embedded) awaitLeader(ctx context.Context) error {
	deadline := time.Now().Add(leaderWait)
	for time.Now().Before(deadline) {
		for _, n := range e.nodes {
			if n.Status().Role == consensus.RoleLeader {
				return nil
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("fixbench: embedded cluster: %w", ctx.Err())
		}
		time.Sleep(leaderPollInterval)
	}
	return fmt.Errorf("fixbench: embedded cluster: no leader within %v", leaderWait)
}

// provision offers msgs from the bootstrap admin's session and waits until
// the leader has acknowledged every one (committed).
func (e *embedded) provision(ctx context.Context, msgs [][]byte) error {
	ctx, cancel := context.WithTimeout(ctx, provisionWait)
	defer cancel()
	d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker, MTU: e.cc.TransportMTU()})
	if err != nil {
		return fmt.Errorf("fixbench: provision: %w", err)
	}
	defer d.Close()
	c, err := clusterclient.Connect(ctx, clusterclient.Config{Driver: d, InvokeDriver: true, Members: e.ingress(),
		Credentials: []byte(fakecluster.AdminPrincipal)})
	if err != nil {
		return fmt.Errorf("fixbench: provision: %w", err)
	}
	defer c.Close()
	var h unknownCounter
	for _, m := range msgs {
		for {
			_, err := c.Offer(m)
			if err == nil {
				break
			}
			if errors.Is(err, clusterclient.ErrClosed) || errors.Is(err, clusterclient.ErrTooLarge) {
				return fmt.Errorf("fixbench: provision: %w", err)
			}
			if ctx.Err() != nil {
				return fmt.Errorf("fixbench: provision: %w", ctx.Err())
			}
			c.Poll(&h, 0)
		}
	}
	for c.Outstanding() > 0 {
		if ctx.Err() != nil {
			return fmt.Errorf("fixbench: provision: %d commands not acknowledged: %w", c.Outstanding(), ctx.Err())
		}
		if c.Poll(&h, 0) == 0 {
			d.WaitReadable(provisionPollWait)
		}
	}
	if h.unknown > 0 {
		return fmt.Errorf("fixbench: provision: %d commands not in the log", h.unknown)
	}
	return nil
}

// close stops the members (the gateway's session is closed before).
func (e *embedded) close() {
	for _, n := range e.nodes {
		_ = n.Close()
	}
	e.nodes = nil
}

// unknownCounter is a client.Handler that counts handed-back messages and
// ignores the rest (the admin's reports).
type unknownCounter struct{ unknown int }

func (*unknownCounter) OnMessage(int64, int64, []byte)           {}
func (*unknownCounter) OnNewLeader(int32, int64)                 {}
func (u *unknownCounter) OnUnknownOutcome(int64, []byte, string) { u.unknown++ }
