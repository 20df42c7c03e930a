package archive

import (
	"fmt"
	"io"

	"venue/transport"
)

// Crash recovery. Open runs it once per valid recording:
//
//  1. Segment files wholly before the start position (a purge interrupted
//     between its catalog update and its file removals) are removed, as are
//     all files of deleted recordings and files wholly past a clean stop.
//  2. The end of the recording is found by scanning frames: from the last
//     segment backwards, skipping segments that hold no valid frame at their
//     start (created, then the crash came before their data was durable). A
//     recording that was active at the crash (stop position NullPosition) is
//     scanned without bound; a stopped one up to its stop position.
//  3. Garbage after the end in its segment — a torn frame, sectors of a
//     later write that reached the disk before earlier ones — is zeroed and
//     synced, so that later extensions can never make old bytes look like
//     frames again.
//  4. The catalog's stop position is set to the end found. A stopped
//     recording whose files end before its stop position is reconciled down
//     and the trimmed-tails counter says so; missing segments in the middle
//     make the recording invalid.
func (a *Archive) recover() error {
	names, err := a.cfg.FS.ReadDir(a.cfg.Dir)
	if err != nil {
		return fmt.Errorf("archive: list %s: %w", a.cfg.Dir, err)
	}
	files := map[int64][]transport.Position{}
	for _, n := range names {
		if id, base, ok := parseSegmentFileName(n); ok {
			files[id] = append(files[id], base)
		}
	}
	for id := range files {
		sortPositions(files[id])
		a.cat.reserve(id) // never reuse the id of an orphan segment file
	}
	for id := int64(0); id < a.cat.nextID(); id++ {
		e := a.cat.get(id)
		if e == nil {
			continue
		}
		if err := a.recoverRecording(e, files[id]); err != nil {
			return err
		}
	}
	return nil
}

func sortPositions(p []transport.Position) {
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j] < p[j-1]; j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

func (a *Archive) recoverRecording(e *catalogEntry, bases []transport.Position) error {
	d := e.desc
	if d.State == RecordingDeleted {
		return a.removeSegments(d.RecordingID, bases)
	}
	if d.State != RecordingValid {
		return nil
	}
	bases, err := a.removeOutside(&d, bases)
	if err != nil {
		return err
	}
	end, err := a.findEnd(&d, bases)
	if err != nil {
		return err
	}
	if !segmentsContiguous(&d, bases, end) {
		d.State = RecordingInvalid
		a.errorsCounter.Increment()
	}
	if d.StopPosition != NullPosition && end < d.StopPosition {
		a.trimmedCounter.Increment() // data the catalog counted on is gone
	}
	if d.StopPosition == end && d.State == RecordingValid {
		return nil
	}
	if d.StopPosition == NullPosition {
		d.StopTimestampNs = a.cfg.EpochClockNs()
	}
	d.StopPosition = end
	if err := a.cat.put(&d); err != nil {
		return fmt.Errorf("archive: recover recording %d: %w", d.RecordingID, err)
	}
	return nil
}

// removeOutside removes segment files wholly before the start position or,
// for a stopped recording, wholly at or after its stop position.
func (a *Archive) removeOutside(d *Descriptor, bases []transport.Position) ([]transport.Position, error) {
	var keep, drop []transport.Position
	for _, b := range bases {
		end := b + transport.Position(d.SegmentLength)
		pastStop := d.StopPosition != NullPosition && b >= d.StopPosition && b > segmentBase(d.StartPosition, d.SegmentLength)
		if end <= d.StartPosition || pastStop {
			drop = append(drop, b)
		} else {
			keep = append(keep, b)
		}
	}
	return keep, a.removeSegments(d.RecordingID, drop)
}

// findEnd scans backwards from the last segment for the end of the
// recording's valid frames, removing trailing segments with none.
func (a *Archive) findEnd(d *Descriptor, bases []transport.Position) (transport.Position, error) {
	geom := newFrameGeometry(d)
	for i := len(bases) - 1; i >= 0; i-- {
		base := bases[i]
		from := max(base, d.StartPosition)
		end, err := a.recoverSegment(d, &geom, base, from)
		if err != nil {
			return 0, err
		}
		if end > from || from == d.StartPosition {
			return end, nil
		}
		if err := a.removeSegments(d.RecordingID, []transport.Position{base}); err != nil {
			return 0, err
		}
	}
	return d.StartPosition, nil
}

// recoverSegment scans one segment from position from and zeroes what
// follows the last valid frame.
func (a *Archive) recoverSegment(d *Descriptor, geom *frameGeometry, base, from transport.Position) (transport.Position, error) {
	f, err := a.cfg.FS.OpenFile(a.segmentPath(d.RecordingID, base), false)
	if err != nil {
		return 0, fmt.Errorf("archive: recover segment %d-%d: %w", d.RecordingID, base, err)
	}
	defer f.Close()
	limit := base + transport.Position(d.SegmentLength)
	if d.StopPosition != NullPosition {
		limit = min(limit, d.StopPosition)
	}
	buf := make([]byte, replayBufferLength)
	end, err := scanSegment(f, geom, buf, base, from, limit)
	if err != nil {
		return 0, fmt.Errorf("archive: scan segment %d-%d: %w", d.RecordingID, base, err)
	}
	// A recording stopped cleanly has nothing after its stop unless a
	// truncation was interrupted; one glance at the next header is enough.
	wholeTail := d.StopPosition == NullPosition || end < d.StopPosition
	zeroed, err := zeroTail(f, buf, base, end, d.SegmentLength, wholeTail)
	if err != nil {
		return 0, fmt.Errorf("archive: zero tail of segment %d-%d at %d: %w", d.RecordingID, base, end, err)
	}
	if zeroed {
		a.trimmedCounter.Increment()
	}
	return end, nil
}

// scanSegment returns the end of the whole valid frames of the segment file
// f (at base) from position from, reading at most up to limit, through buf.
func scanSegment(f File, geom *frameGeometry, buf []byte, base, from, limit transport.Position) (transport.Position, error) {
	pos := from
	for pos < limit {
		want := int(min(int64(len(buf)), int64(limit-pos)))
		n, err := f.ReadAt(buf[:want], int64(pos-base))
		if err != nil && err != io.EOF {
			return 0, err
		}
		k := geom.scan(buf[:n], pos, int64(limit-pos))
		pos += transport.Position(k)
		// A frame cut by the end of a full buffer is read again whole.
		cutByBuffer := k > 0 && n == want && want == len(buf) && n-k < int(geom.mtuLength)
		if k == 0 || (k < n && !cutByBuffer) || n < want {
			break
		}
	}
	return pos, nil
}

// zeroTail zeroes the segment from end: the whole rest of it when
// wholeTail, else only if the header at end is not zero. It reports whether
// anything was written.
func zeroTail(f File, buf []byte, base, end transport.Position, segLen int32, wholeTail bool) (bool, error) {
	off := int64(end - base)
	if !wholeTail {
		n, err := f.ReadAt(buf[:transport.HeaderLength], off)
		if (err != nil && err != io.EOF) || off >= int64(segLen) || isZero(buf[:n]) {
			return false, err
		}
	}
	zeroed := false
	for ; off < int64(segLen); off += zeroChunkLength {
		chunk := buf[:min(zeroChunkLength, int64(segLen)-off)]
		n, err := f.ReadAt(chunk, off)
		if err != nil && err != io.EOF {
			return zeroed, err
		}
		if isZero(chunk[:n]) {
			continue
		}
		clear(chunk[:n])
		if _, err := f.WriteAt(chunk[:n], off); err != nil {
			return zeroed, err
		}
		zeroed = true
	}
	if zeroed {
		return true, f.SyncData()
	}
	return false, nil
}

// segmentsContiguous reports whether every segment from the one holding
// the start position to the one holding the last byte before end exists.
func segmentsContiguous(d *Descriptor, bases []transport.Position, end transport.Position) bool {
	if end == d.StartPosition {
		return true
	}
	want := segmentBase(d.StartPosition, d.SegmentLength)
	last := segmentBase(end-1, d.SegmentLength)
	for _, b := range bases {
		if b > last {
			break
		}
		if b != want {
			return false
		}
		want += transport.Position(d.SegmentLength)
	}
	return want > last
}
