package archive

import (
	"fmt"

	"venue/transport"
)

// Truncate cuts a stopped recording at pos, which must be a frame boundary
// between its start and stop positions (a position inside a frame is
// ErrInvalidPosition). Used for Raft log truncation.
//
// Order of effects, so a crash at any point recovers to a consistent state:
// the bytes after pos are zeroed and synced first (a recovery scan then ends
// at pos), later segment files are removed and the directory synced, and
// the catalog's stop position is written last.
func (a *Archive) Truncate(id int64, pos transport.Position) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, err := a.stoppedEntry(id, "truncate")
	if err != nil {
		return err
	}
	d := e.desc
	if pos < d.StartPosition || pos > d.StopPosition || pos%transport.FrameAlignment != 0 {
		return fmt.Errorf("archive: truncate recording %d at %d: %w: outside [%d, %d]",
			id, pos, ErrInvalidPosition, d.StartPosition, d.StopPosition)
	}
	if pos == d.StopPosition {
		return nil
	}
	if err := a.cutSegment(&d, pos); err != nil {
		return a.classify(err)
	}
	bases, err := a.segmentFiles(id)
	if err != nil {
		return a.classify(err)
	}
	var later []transport.Position
	for _, b := range bases {
		if b > segmentBase(pos, d.SegmentLength) || (b == pos && b > d.StartPosition) {
			later = append(later, b)
		}
	}
	if err := a.removeSegments(id, later); err != nil {
		return a.classify(err)
	}
	d.StopPosition = pos
	if err := a.cat.put(&d); err != nil {
		return a.classify(err)
	}
	a.liveOf(&d)
	return nil
}

// cutSegment checks that pos is a frame boundary and zeroes the segment
// holding pos from pos to the old stop position.
func (a *Archive) cutSegment(d *Descriptor, pos transport.Position) error {
	base := segmentBase(pos, d.SegmentLength)
	f, err := a.cfg.FS.OpenFile(a.segmentPath(d.RecordingID, base), false)
	if err != nil {
		return fmt.Errorf("archive: truncate recording %d: open segment %d: %w", d.RecordingID, base, err)
	}
	defer f.Close()
	from := max(base, d.StartPosition)
	geom := newFrameGeometry(d)
	buf := make([]byte, replayBufferLength)
	end, err := scanSegment(f, &geom, buf, base, from, pos)
	if err != nil {
		return fmt.Errorf("archive: truncate recording %d: scan segment %d: %w", d.RecordingID, base, err)
	}
	if end != pos {
		return fmt.Errorf("archive: truncate recording %d at %d: %w: inside the frame at %d", d.RecordingID, pos, ErrInvalidPosition, end)
	}
	stop := min(d.StopPosition, base+transport.Position(d.SegmentLength))
	zeros := buf[:zeroChunkLength]
	clear(zeros)
	for off := pos; off < stop; off += zeroChunkLength {
		n := min(int64(zeroChunkLength), int64(stop-off))
		if _, err := f.WriteAt(zeros[:n], int64(off-base)); err != nil {
			return fmt.Errorf("archive: truncate recording %d: zero segment %d: %w", d.RecordingID, base, err)
		}
	}
	if err := f.SyncData(); err != nil {
		return fmt.Errorf("archive: truncate recording %d: sync segment %d: %w", d.RecordingID, base, err)
	}
	return nil
}

// Purge removes the segment files of a recording wholly before pos (log
// retention after a snapshot) and returns the new start position: the base
// of the segment holding pos, or the old start if nothing was whole. It may
// run while the recording is recorded, not while it is replayed. The catalog
// start moves first; recovery removes files a crash left behind.
func (a *Archive) Purge(id int64, pos transport.Position) (transport.Position, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, err := a.entry(id)
	if err != nil {
		return 0, err
	}
	d := e.desc
	end := d.StopPosition
	if r, ok := a.active[id]; ok {
		end = r.RecordedPosition()
	}
	switch {
	case a.readers[id] > 0:
		return 0, fmt.Errorf("%w: purge recording %d while %d replays read it", ErrRecordingActive, id, a.readers[id])
	case d.State != RecordingValid:
		return 0, fmt.Errorf("%w: purge recording %d in state %s", ErrInvalidParams, id, d.State)
	case pos < d.StartPosition || pos > end:
		return 0, fmt.Errorf("archive: purge recording %d to %d: %w: outside [%d, %d]", id, pos, ErrInvalidPosition, d.StartPosition, end)
	}
	newStart := segmentBase(pos, d.SegmentLength)
	if newStart <= d.StartPosition {
		return d.StartPosition, nil
	}
	d.StartPosition = newStart
	if err := a.cat.put(&d); err != nil {
		return 0, a.classify(err)
	}
	bases, err := a.segmentFiles(id)
	if err != nil {
		return 0, a.classify(err)
	}
	var before []transport.Position
	for _, b := range bases {
		if b < newStart {
			before = append(before, b)
		}
	}
	return newStart, a.removeSegments(id, before)
}

// Delete marks a stopped recording deleted in the catalog, then removes its
// files. Its id is never reused.
func (a *Archive) Delete(id int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, err := a.entry(id)
	if err != nil {
		return err
	}
	if _, ok := a.active[id]; ok || a.readers[id] > 0 {
		return fmt.Errorf("%w: delete recording %d while it is recorded or replayed", ErrRecordingActive, id)
	}
	d := e.desc
	d.State = RecordingDeleted
	if err := a.cat.put(&d); err != nil {
		return a.classify(err)
	}
	delete(a.live, id)
	bases, err := a.segmentFiles(id)
	if err != nil {
		return a.classify(err)
	}
	return a.removeSegments(id, bases)
}
