package container

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"venue/cluster"
	"venue/cluster/consensus"
)

// ErrBadState: a container state in a snapshot did not decode.
var ErrBadState = errors.New("container: bad snapshot state")

// containerStateVersion is the version of AppendState's encoding.
const containerStateVersion = 1

// AppendState appends the container's own replicated state — cluster time,
// open sessions with their principals, pending timers — to dst, in id
// order, so every member writes the same bytes at the same position.
func (c *Container) AppendState(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, containerStateVersion)
	dst = binary.AppendVarint(dst, c.timeNs)
	ids := make([]cluster.SessionID, 0, len(c.sessions))
	for id := range c.sessions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	dst = binary.AppendUvarint(dst, uint64(len(ids)))
	for _, id := range ids {
		s := c.sessions[id]
		dst = binary.AppendVarint(dst, int64(id))
		dst = binary.AppendUvarint(dst, uint64(len(s.principal)))
		dst = append(dst, s.principal...)
	}
	timers := c.timers.sorted()
	dst = binary.AppendUvarint(dst, uint64(len(timers)))
	for _, t := range timers {
		dst = binary.AppendVarint(dst, t.CorrelationID)
		dst = binary.AppendVarint(dst, t.DeadlineNs)
	}
	return dst
}

// StartFrom starts the service from a snapshot taken at log position from:
// state is the container's (AppendState), service the service's own
// snapshot, handed to OnStart.
func (c *Container) StartFrom(state []byte, service io.Reader, from cluster.Position) error {
	if err := c.restoreState(state); err != nil {
		return err
	}
	return c.Start(service, from)
}

func (c *Container) restoreState(b []byte) error {
	r := stateReader{b: b}
	if v := r.uvarint(); v != containerStateVersion {
		return fmt.Errorf("%w: version %d", ErrBadState, v)
	}
	c.timeNs = r.varint()
	n := r.count(timersMax)
	for range n {
		id := cluster.SessionID(r.varint())
		principal := r.bytes(consensus.PayloadLengthMax)
		c.sessions[id] = &session{id: id, principal: principal, c: c}
	}
	n = r.count(timersMax)
	for range n {
		corr := r.varint()
		c.timers.schedule(corr, r.varint())
	}
	if r.err != nil || len(r.b) != 0 {
		return fmt.Errorf("%w: %v (%d bytes left)", ErrBadState, r.err, len(r.b))
	}
	return nil
}

// OnSnapshot registers f to be called when a snapshot action is applied,
// with the position after it and its cluster time: every member calls it at
// the same point of the log. f takes the snapshot (AppendState, the
// service's OnTakeSnapshot) before the next entry is applied.
func (c *Container) OnSnapshot(f func(position cluster.Position, timeNs int64)) { c.snapshot = f }

// TakeServiceSnapshot asks the service for its snapshot.
func (c *Container) TakeServiceSnapshot(w io.Writer) error {
	if err := c.service.OnTakeSnapshot(w); err != nil {
		return fmt.Errorf("container: service snapshot at %d: %w", c.position, err)
	}
	return nil
}

// stateReader decodes varint-encoded state, remembering the first error.
type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *stateReader) count(limit int) int {
	n := r.uvarint()
	if n > uint64(limit) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *stateReader) bytes(limit int) []byte {
	n := r.count(limit)
	if n > len(r.b) {
		r.fail()
		return nil
	}
	v := slices.Clone(r.b[:n])
	r.b = r.b[n:]
	return v
}

func (r *stateReader) fail() {
	if r.err == nil {
		r.err = io.ErrUnexpectedEOF
	}
	r.b = nil
}
