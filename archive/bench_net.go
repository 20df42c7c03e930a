package archive

import (
	"fmt"
	"net"
	"time"

	"venue/transport"
)

// Replication benchmark settings: the request, response and replay streams
// on loopback, and the transport windows for 16 MiB terms.
const (
	benchRequestStream  = 1000
	benchResponseStream = 1001
	benchWindowLength   = 2 << 20
	// benchReplicateTimeout bounds the whole replication phase.
	benchReplicateTimeout = 10 * time.Minute
)

// benchReplicate copies recording id of a from a ControlServer to a second
// archive in dir over loopback UDP (RemoteReplication), with both sides'
// drivers and agents on this goroutine, and records its throughput.
func benchReplicate(a *Archive, id int64, dir string, res *BenchResult) error {
	var drivers [2]*transport.Driver
	for i := range drivers {
		d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker, Seed: int64(i + 1),
			TermLength: benchTermLength, PublicationWindow: benchWindowLength, ReceiverWindow: benchWindowLength})
		if err != nil {
			return fmt.Errorf("archive: bench replicate: %w", err)
		}
		defer d.Close()
		drivers[i] = d
	}
	var ports [3]string
	for i := range ports {
		p, err := freeLoopbackEndpoint()
		if err != nil {
			return err
		}
		ports[i] = "udp?endpoint=" + p
	}
	server, err := NewControlServer(a, ControlServerConfig{Driver: drivers[0], RequestChannel: ports[0], RequestStreamID: benchRequestStream})
	if err != nil {
		return err
	}
	defer server.OnClose()
	step := func(nowNs int64) int {
		return drivers[0].DoWork(nowNs) + server.DoWork(nowNs) + drivers[1].DoWork(nowNs)
	}
	client, err := ConnectRemote(RemoteArchiveConfig{Driver: drivers[1], RequestChannel: ports[0], RequestStreamID: benchRequestStream,
		ResponseChannel: ports[1], ResponseStreamID: benchResponseStream, Invoke: step})
	if err != nil {
		return err
	}
	defer client.Close()
	replica, err := Open(Config{Dir: joinPath(dir, "replica"), Fsync: a.cfg.Fsync, SegmentLength: a.cfg.SegmentLength})
	if err != nil {
		return err
	}
	defer replica.Close()
	start := time.Now()
	r, err := ReplicateRemote(RemoteReplicationParams{Source: client, SourceRecordingID: id, Destination: replica,
		DestinationRecordingID: NullRecordingID, Driver: drivers[1], ReplayChannel: ports[2]})
	if err != nil {
		return err
	}
	for !r.Done() {
		now := transport.MonotonicNanos()
		r.DoWork(now)
		step(now)
		if time.Since(start) > benchReplicateTimeout {
			r.OnClose()
			return fmt.Errorf("archive: bench replicate: not done after %v", benchReplicateTimeout)
		}
	}
	if r.Err() != nil {
		return r.Err()
	}
	secs := time.Since(start).Seconds()
	res.ReplicateMBPerSec = float64(res.Bytes) / bytesPerMB / secs
	res.ReplicateMsgsPerSec = float64(res.Messages) / secs
	return nil
}

// freeLoopbackEndpoint returns a 127.0.0.1 address whose UDP port was just free.
func freeLoopbackEndpoint() (string, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("archive: bench: find a free port: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().String(), nil
}
