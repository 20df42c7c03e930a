package archive

import (
	"venue/transport"
)

// ImageSource adapts a transport Image (a network image, or a spy on a
// local network publication) to a Recorder's BlockSource: the blocks a
// Recording appends are the frames exactly as they lie in the image's term
// buffer, padding included, at the image's positions.
//
// transport.Image.BlockPoll consumes a block whatever its handler does, so
// a block the recording refuses (a full disk) is copied into the source's
// pending buffer and offered again, first, on the next polls: the recording
// still sees every frame once, in order, and the copy happens only on the
// error path. The pending buffer holds at most one block (lengthMax bytes).
//
// The image must be polled only through its ImageSource, on the recorder's
// goroutine.
type ImageSource struct {
	image   *transport.Image
	handler BlockHandler
	err     error

	pending    []byte
	pendingPos transport.Position
	pendingLen int

	onTermBlock transport.BlockHandler // bound once so polls never allocate
}

var _ BlockSource = (*ImageSource)(nil)

// NewImageSource returns a BlockSource over img.
func NewImageSource(img *transport.Image) *ImageSource {
	s := &ImageSource{image: img}
	s.onTermBlock = s.onBlock
	return s
}

// Image returns the image recorded.
func (s *ImageSource) Image() *transport.Image { return s.image }

// Position returns the position of the next block the source hands out:
// the image position, less a refused block held for another offer.
func (s *ImageSource) Position() transport.Position {
	if s.pendingLen > 0 {
		return s.pendingPos
	}
	return s.image.Position()
}

// IsEndOfStream reports whether the source has handed out everything up to
// the end of its stream (the publisher closed it).
func (s *ImageSource) IsEndOfStream() bool { return s.pendingLen == 0 && s.image.IsEndOfStream() }

// BlockPoll implements BlockSource: a pending refused block first, else
// the next block of the image.
func (s *ImageSource) BlockPoll(handler BlockHandler, lengthMax int) int {
	if s.pendingLen > 0 {
		if handler(s.pendingPos, s.pending[:s.pendingLen]) != nil {
			return 0
		}
		n := s.pendingLen
		s.pendingLen = 0
		return n
	}
	s.handler, s.err = handler, nil
	n := s.image.BlockPoll(s.onTermBlock, lengthMax)
	s.handler = nil
	if s.err != nil {
		return 0
	}
	return n
}

func (s *ImageSource) onBlock(block []byte, position transport.Position, _, _ int32) {
	if s.err = s.handler(position, block); s.err != nil {
		if cap(s.pending) < len(block) {
			s.pending = make([]byte, len(block))
		}
		s.pendingLen = copy(s.pending[:len(block)], block)
		s.pendingPos = position
	}
}

// RecordingParamsOf describes the stream img receives, for StartRecording:
// the recording starts at the image's current position.
func RecordingParamsOf(img *transport.Image, channel string) RecordingParams {
	lb := img.Log()
	return RecordingParams{
		Channel:       channel,
		StreamID:      img.StreamID(),
		SessionID:     img.SessionID(),
		InitialTermID: img.InitialTermID(),
		TermLength:    int32(img.TermLength()),
		MTULength:     int32(lb.MTU()),
		StartPosition: img.Position(),
	}
}
