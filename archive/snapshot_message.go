package archive

import (
	"fmt"

	"venue/transport"
)

// AppendMessages records a prefix of data as consecutive unfragmented data
// frames, each carrying at most MTULength-HeaderLength bytes of it, at the
// recorded position, as one write batch (one Append: one write and one sync
// under the fsync policy), and returns how many bytes of data it recorded:
// all of it, or as much as fits in BlockLengthMax. A pad frame goes where a
// term cannot hold the next frame, as a publication would put one.
//
// It lets a producer that is not a transport publication record a byte
// stream without building frames: the cluster stores each service snapshot
// as a recording this way, and a replay hands the chunks back in order. The
// same goroutine rules and errors as Append apply.
func (r *Recording) AppendMessages(data []byte) (int, error) {
	if len(data) == 0 {
		return 0, nil
	}
	pos := r.RecordedPosition()
	b := newFrameBuilder(&r.desc, pos)
	b.checksums = false // Append stamps them
	payloadMax := int(r.desc.MTULength) - transport.HeaderLength
	frameMax := transport.Align(transport.HeaderLength+payloadMax, transport.FrameAlignment)
	// A pad before a frame is shorter than the frame it makes room for.
	block := make([]byte, 0, min(BlockLengthMax, 2*frameMax*(len(data)/payloadMax+1)))
	n := 0
	for n < len(data) {
		chunk := min(len(data)-n, payloadMax)
		aligned := transport.Align(transport.HeaderLength+chunk, transport.FrameAlignment)
		if len(block)+2*aligned > BlockLengthMax {
			break
		}
		block = b.appendMessageInPlace(block, data[n:n+chunk])
		n += chunk
	}
	if err := r.Append(pos, block); err != nil {
		return 0, fmt.Errorf("archive: append %d message bytes: %w", n, err)
	}
	return n, nil
}
