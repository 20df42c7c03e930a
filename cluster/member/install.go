package member

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"

	"venue/cluster/consensus"
	"venue/cluster/logstore"
)

// Snapshot installation: a member that needs log its leader purged
// (consensus MsgInstallSnapshot, handed out as Ready.SnapshotOffer) fetches
// the leader's snapshot in chunks over the consensus channel, keeps it in
// memory until it is whole and its checksum holds, then stores it as a
// local snapshot (logstore: recorded only once durable), resets its log to
// start empty at the snapshot's position, and loads it into the session
// layer, container and service — or, if its service already started, asks
// for a restart, which loads it (a ClusteredService starts once).
//
// A crash or abort mid-transfer leaves nothing on disk: the bytes were
// only in memory. A crash after the snapshot is recorded but before the
// log reset completes leaves a snapshot past the log's end, which recovery
// does not use (logstore.RecoveryPlan); the member starts as before and
// the leader offers the snapshot again.
//
// The installing member stores the snapshot and resets its log on its own
// duty cycle: it serves no one yet, so only its own progress waits for the
// write (if that outlasts the leader heartbeat timeout it canvasses once and
// the leader takes it back); the rest of the cluster does not wait.
//
// Every member serves the snapshot it holds in memory (the latest it took,
// recovered or installed) to whoever asks, from its duty cycle:
// snapshotChunksPerCycle chunks per cycle from a bounded request queue.
const (
	// snapshotChunkBytes is the snapshot bytes per chunk message.
	snapshotChunkBytes = consensus.SnapshotChunkBytesMax
	// snapshotChunksInFlight bounds the chunk requests a fetch has
	// outstanding (so the bytes in flight to one fetcher).
	snapshotChunksInFlight = 8
	// snapshotChunkRetryNs: a fetch that received nothing for this long
	// requests its missing in-flight chunks again.
	snapshotChunkRetryNs = 100_000_000
	// snapshotFetchTimeoutNs: a fetch that received nothing for this long
	// is abandoned (its memory freed); the leader offers again.
	snapshotFetchTimeoutNs = 3_000_000_000
	// snapshotServeQueueMax bounds chunk requests waiting to be served; a
	// request that finds it full is dropped (the fetcher asks again).
	snapshotServeQueueMax = 4 * snapshotChunksInFlight
	// snapshotChunksPerCycle bounds the chunks served per duty cycle.
	snapshotChunksPerCycle = 4
	// installBytesMax bounds a snapshot a member accepts from a peer.
	installBytesMax = min(snapshotBytesMax, consensus.SnapshotLengthMax)
)

// ErrRestartToInstall: this member installed a snapshot from a peer after
// its service had started; restart the member to load it.
var ErrRestartToInstall = errors.New("member: snapshot installed from a peer; restart the member to load it")

// logResetter is a log store that can start over at a snapshot's position
// (logstore.Store, consensus.MemLogStore).
type logResetter interface {
	ResetTo(pos consensus.Position, rec consensus.TermRecord) error
}

// servedSnapshot is the snapshot this member can send to peers.
type servedSnapshot struct {
	blob     []byte
	position consensus.Position
	checksum uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// serve makes blob, the snapshot at p, the one this member serves, and
// tells the node (on the member's goroutine).
func (m *Member) serve(blob []byte, p consensus.Position) {
	if p < m.served.position {
		return
	}
	m.served = servedSnapshot{blob: blob, position: p, checksum: crc32.Checksum(blob, castagnoli)}
	if m.agent != nil {
		m.agent.Node().SnapshotAvailable(p)
	}
}

// TransferStats counts snapshot transfers.
type TransferStats struct {
	// Installed: snapshots installed from a peer. Fetches: fetches started;
	// Abandoned: those given up (timeout, a bad snapshot, a failed install).
	Installed, Fetches, Abandoned int64
	// ChunksServed to peers; RequestsDropped: chunk requests not served
	// (queue full, or for a snapshot this member does not hold).
	ChunksServed, RequestsDropped int64
	// BadChunks: chunks that did not fit the fetch they claimed.
	BadChunks int64
}

// transfer is the member's consensus.SnapshotTransfer: one fetch at a time
// and the serving queue. It runs on the member's goroutine.
type transfer struct {
	m     *Member
	fetch *fetch
	queue []consensus.Message // chunk requests to serve
	stats TransferStats
	// offsets is request's reused list of offsets to ask for.
	offsets []int64
}

func newTransfer(m *Member) *transfer {
	return &transfer{m: m, queue: make([]consensus.Message, 0, snapshotServeQueueMax)}
}

// fetch is one snapshot being fetched from its offer's leader: the chunks
// received so far and the request window. It does no I/O (transfer sends
// what due returns), so it is tested and fuzzed on its own.
type fetch struct {
	offer      consensus.SnapshotOffer
	length     int64 // -1 until the first chunk says
	checksum   uint32
	buf        []byte
	have       []bool // per chunk
	low        int    // first chunk not yet received
	sentUpTo   int    // chunks [low, sentUpTo) were requested
	progressNs int64  // when a chunk last arrived (or the fetch began)
	requestNs  int64  // when requests were last sent
}

func newFetch(o consensus.SnapshotOffer, nowNs int64) *fetch {
	return &fetch{offer: o, length: -1, progressNs: nowNs}
}

// takeResult is what fetch.take made of a chunk.
type takeResult uint8

const (
	takeIgnored takeResult = iota // another fetch's (late, or another leader's)
	takeBad                       // claims this fetch but does not fit it
	takeAbandon                   // announces a length out of bounds: give up
	takeMore                      // taken (or a duplicate); chunks still missing
	takeDone                      // taken; the snapshot is whole
)

// take copies a chunk into the fetch. The first chunk fixes the length and
// checksum every later chunk must repeat; a chunk must start on a chunk
// boundary and be exactly as long as that chunk is.
func (f *fetch) take(msg *consensus.Message, nowNs int64) takeResult {
	if msg.Type != consensus.MsgSnapshotChunk || msg.From != f.offer.Leader || msg.Position != f.offer.Position {
		return takeIgnored
	}
	if f.length < 0 {
		if msg.Length > installBytesMax || msg.Length < snapshotHeaderLength {
			return takeAbandon
		}
		f.length, f.checksum = msg.Length, msg.Checksum
		f.buf = make([]byte, f.length)
		f.have = make([]bool, (f.length+snapshotChunkBytes-1)/snapshotChunkBytes)
	}
	if msg.Length != f.length || msg.Checksum != f.checksum || msg.Offset < 0 || msg.Offset >= f.length ||
		msg.Offset%snapshotChunkBytes != 0 || int64(len(msg.Data)) != min(snapshotChunkBytes, f.length-msg.Offset) {
		return takeBad
	}
	if i := int(msg.Offset / snapshotChunkBytes); !f.have[i] {
		copy(f.buf[msg.Offset:], msg.Data)
		f.have[i] = true
		f.progressNs = nowNs
	}
	for f.low < len(f.have) && f.have[f.low] {
		f.low++
	}
	if f.low < len(f.have) {
		return takeMore
	}
	return takeDone
}

// due appends to dst the offsets to request now — the in-flight window's
// chunks not yet asked for (before the length is known: offset 0) — and
// marks them asked.
func (f *fetch) due(dst []int64, nowNs int64) []int64 {
	f.requestNs = nowNs
	if f.length < 0 { // the first chunk tells the length
		return append(dst, 0)
	}
	for ; f.sentUpTo < min(len(f.have), f.low+snapshotChunksInFlight); f.sentUpTo++ {
		if !f.have[f.sentUpTo] {
			dst = append(dst, int64(f.sentUpTo)*snapshotChunkBytes)
		}
	}
	return dst
}

// OnSnapshotOffer starts fetching an offered snapshot unless that fetch
// is already under way.
func (t *transfer) OnSnapshotOffer(nowNs int64, o consensus.SnapshotOffer) {
	if f := t.fetch; f != nil && f.offer.Position == o.Position && f.offer.Leader == o.Leader {
		return
	}
	t.stats.Fetches++
	t.fetch = newFetch(o, nowNs)
	t.request(nowNs)
}

// request sends the fetch's due chunk requests.
func (t *transfer) request(nowNs int64) {
	f := t.fetch
	t.offsets = f.due(t.offsets[:0], nowNs)
	for _, off := range t.offsets {
		t.m.agent.Send(&consensus.Message{Type: consensus.MsgSnapshotChunkRequest, From: t.m.ID(),
			To: f.offer.Leader, Term: f.offer.Term, Position: f.offer.Position, Offset: off})
	}
}

// OnSnapshotMessage serves a chunk request (queued) or takes a chunk.
func (t *transfer) OnSnapshotMessage(nowNs int64, msg *consensus.Message) {
	switch msg.Type {
	case consensus.MsgSnapshotChunkRequest:
		if len(t.queue) == cap(t.queue) || msg.Position != t.m.served.position || t.m.served.blob == nil {
			t.stats.RequestsDropped++
			return
		}
		t.queue = append(t.queue, *msg)
	case consensus.MsgSnapshotChunk:
		t.onChunk(nowNs, msg)
	}
}

// onChunk gives a chunk to the fetch and, once the snapshot is whole,
// installs it.
func (t *transfer) onChunk(nowNs int64, msg *consensus.Message) {
	f := t.fetch
	if f == nil {
		return // a late chunk of a fetch that ended
	}
	switch f.take(msg, nowNs) {
	case takeIgnored:
		return
	case takeBad:
		t.stats.BadChunks++
		return
	case takeAbandon:
		t.abandon()
		return
	case takeMore:
		t.request(nowNs)
		return
	}
	t.fetch = nil
	if fatal, err := t.m.installSnapshot(nowNs, f); err != nil {
		t.stats.Abandoned++
		if fatal {
			t.m.agent.Fail(err)
		}
		return
	}
	t.stats.Installed++
}

func (t *transfer) abandon() {
	t.fetch = nil
	t.stats.Abandoned++
}

// DoWork serves up to snapshotChunksPerCycle queued chunk requests and
// keeps a fetch going (re-requests, timeout).
func (t *transfer) DoWork(nowNs int64) int {
	work := 0
	for ; work < snapshotChunksPerCycle && len(t.queue) > 0; work++ {
		t.serveChunk(&t.queue[0])
		t.queue = t.queue[:copy(t.queue, t.queue[1:])]
	}
	if f := t.fetch; f != nil {
		switch {
		case nowNs-f.progressNs >= snapshotFetchTimeoutNs:
			t.abandon()
		case nowNs-f.requestNs >= snapshotChunkRetryNs:
			f.sentUpTo = f.low // ask again for what did not come
			t.request(nowNs)
			work++
		}
	}
	return work
}

func (t *transfer) serveChunk(req *consensus.Message) {
	s := &t.m.served
	length := int64(len(s.blob))
	if req.Position != s.position || req.Offset >= length || req.Offset%snapshotChunkBytes != 0 {
		t.stats.RequestsDropped++
		return
	}
	end := min(length, req.Offset+snapshotChunkBytes)
	if t.m.agent.Send(&consensus.Message{Type: consensus.MsgSnapshotChunk, From: t.m.ID(), To: req.From,
		Term: t.m.agent.Status().Term, Position: s.position, Offset: req.Offset, Length: length,
		Checksum: s.checksum, Data: s.blob[req.Offset:end]}) {
		t.stats.ChunksServed++
	}
}

// installSnapshot checks a fetched snapshot, stores it durably, resets the
// log to start at its position, and loads it. An error before anything was
// stored abandons the snapshot; one after is fatal (fatal true): the log
// and the service no longer agree until a restart. If the service had
// already started, it stores the snapshot and resets the log, and returns
// ErrRestartToInstall (fatal): a restart loads it.
func (m *Member) installSnapshot(nowNs int64, f *fetch) (fatal bool, _ error) {
	o := f.offer
	if crc32.Checksum(f.buf, castagnoli) != f.checksum {
		return false, fmt.Errorf("%w: from member %d at %d: checksum", ErrBadSnapshot, o.Leader, o.Position)
	}
	b, err := DecodeSnapshotBlob(f.buf)
	if err != nil {
		return false, err
	}
	if b.Position != o.Position {
		return false, fmt.Errorf("%w: offered at %d, holds %d", ErrBadSnapshot, o.Position, b.Position)
	}
	reset, ok := m.cfg.Store.(logResetter)
	if !ok || m.snapshots == nil {
		return false, fmt.Errorf("member %d: the log store cannot start at a snapshot", m.ID())
	}
	if st := m.agent.Node().Status(); o.Position <= st.Commit || st.Role == consensus.RoleLeader {
		return false, fmt.Errorf("member %d: snapshot at %d overtaken (commit %d, %v)", m.ID(), o.Position,
			st.Commit, st.Role)
	}
	if _, err := m.snapshots.WriteSnapshot(logstore.SnapshotMeta{ServiceID: snapshotServiceID, Term: b.Term,
		Position: b.Position, TimestampNs: b.TimeNs}, bytes.NewReader(f.buf)); err != nil {
		return false, fmt.Errorf("member %d: store snapshot from member %d at %d: %w", m.ID(), o.Leader, o.Position, err)
	}
	if err := reset.ResetTo(o.Position, consensus.TermRecord{Term: o.LogTerm, Base: o.TermBase}); err != nil {
		return true, fmt.Errorf("member %d: reset log to %d: %w", m.ID(), o.Position, err)
	}
	m.lastSnapshotPosition.Store(int64(o.Position))
	if m.agent.Started() {
		return true, fmt.Errorf("%w (member %d, snapshot at %d from member %d)", ErrRestartToInstall, m.ID(),
			o.Position, o.Leader)
	}
	m.pending = pendingStart{snapshot: &b}
	if err := m.agent.Node().SnapshotInstalled(nowNs, o.Position, b.TimeNs); err != nil {
		return true, fmt.Errorf("member %d: %w", m.ID(), err)
	}
	m.serve(f.buf, o.Position)
	if err := m.snapshots.Retain(m.cfg.SnapshotKeep); err != nil { // records of snapshots below the new log
		m.snapshotErrors.Add(1)
	}
	return false, nil
}

// TransferStats returns the member's snapshot transfer counters (zero
// without a snapshot store).
func (m *Member) TransferStats() TransferStats {
	var s TransferStats
	m.do(func(int64) {
		if m.transfer != nil {
			s = m.transfer.stats
		}
	})
	return s
}
