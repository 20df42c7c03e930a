package archive

import (
	"fmt"
	"strconv"
	"strings"

	"venue/transport"
)

// Segment files. A recording's bytes live in segment files of a fixed length
// (a power of two and a multiple of the term length), preallocated when
// created, named "<recordingID>-<segmentBasePosition>.rec". Segment base
// positions are multiples of the segment length, so a term never straddles
// two segments and the file holding a position is found by arithmetic. Bytes
// past the recorded position read as zero (preallocated or zeroed by
// truncation and recovery), which is what ends a scan.
const segmentFileSuffix = ".rec"

func segmentFileName(recordingID int64, base transport.Position) string {
	return fmt.Sprintf("%d-%d%s", recordingID, base, segmentFileSuffix)
}

// parseSegmentFileName is the inverse of segmentFileName.
func parseSegmentFileName(name string) (recordingID int64, base transport.Position, ok bool) {
	stem, found := strings.CutSuffix(name, segmentFileSuffix)
	if !found {
		return 0, 0, false
	}
	idText, baseText, found := strings.Cut(stem, "-")
	if !found {
		return 0, 0, false
	}
	id, err1 := strconv.ParseInt(idText, 10, 64)
	b, err2 := strconv.ParseInt(baseText, 10, 64)
	if err1 != nil || err2 != nil || id < 0 || b < 0 || segmentFileName(id, transport.Position(b)) != name {
		return 0, 0, false
	}
	return id, transport.Position(b), true
}

// segmentBase returns the base position of the segment holding pos.
func segmentBase(pos transport.Position, segmentLength int32) transport.Position {
	return pos - pos%transport.Position(segmentLength)
}
