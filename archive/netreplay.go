package archive

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"

	"venue/transport"
)

// ErrReplayStopped: a replay to a publication was stopped (StopReplay, or
// the publication was closed under it).
var ErrReplayStopped = errors.New("archive: replay stopped")

// PublicationSink is a BlockSink that re-publishes replayed frames on a
// transport publication at exactly their recorded positions, so that a
// subscriber (a follower catching up, a replicating archive) receives the
// recorded stream itself: same positions, term ids, session id, flags,
// reserved values and payloads.
//
// transport.Publication has no way to append pre-framed blocks, so each
// data frame is re-published through TryClaim with its recorded flags and
// reserved value, which lays out the identical frame because the
// publication has the recording's term length and MTU and starts at the
// replay position (ReplayChannel). A pad frame is reproduced the way the
// original publisher made it: a term-end pad by offering a message that
// does not fit the rest of the term, a pad inside a term by an aborted claim.
//
// A block the publication refuses part-way (back pressure, not connected)
// is offered again by the replay; frames below the publication's position
// were published already and are skipped.
type PublicationSink struct {
	pub   *transport.Publication
	err   error
	zeros []byte // payload of the offers that make term-end pads
}

var _ BlockSink = (*PublicationSink)(nil)

// NewPublicationSink returns a sink over pub for a replay of recording d
// starting at from. pub must have been added on a channel made by
// ReplayChannel for the same recording and position.
func NewPublicationSink(pub *transport.Publication, d *Descriptor, from transport.Position) (*PublicationSink, error) {
	if pub.TermLength() != int(d.TermLength) || pub.InitialTermID() != d.InitialTermID ||
		pub.MaxPayloadLength() < int(d.MTULength)-transport.HeaderLength || pub.Position() != from {
		return nil, fmt.Errorf("%w: publication (term %d, initial term id %d, payload %d, position %d) "+
			"cannot carry recording %d (term %d, initial term id %d, mtu %d) from %d",
			ErrInvalidParams, pub.TermLength(), pub.InitialTermID(), pub.MaxPayloadLength(), pub.Position(),
			d.RecordingID, d.TermLength, d.InitialTermID, d.MTULength, from)
	}
	return &PublicationSink{pub: pub}, nil
}

// Publication returns the sink's publication.
func (s *PublicationSink) Publication() *transport.Publication { return s.pub }

// Err returns the error that stopped the sink, or nil. A Replayer ends a
// session whose sink reports an error.
func (s *PublicationSink) Err() error { return s.err }

// Stop makes the sink refuse everything from now on with ErrReplayStopped,
// which ends its Replayer session.
func (s *PublicationSink) Stop() {
	if s.err == nil {
		s.err = ErrReplayStopped
	}
}

// OfferBlock implements BlockSink.
func (s *PublicationSink) OfferBlock(position transport.Position, block []byte) bool {
	if s.err != nil {
		return false
	}
	for off := 0; off < len(block); {
		h := transport.FrameHeader(block[off:])
		aligned := transport.Align(int(h.FrameLength()), transport.FrameAlignment)
		at := position + transport.Position(off)
		if at >= s.pub.Position() && !s.offerFrame(at, block[off:off+int(h.FrameLength())]) {
			return false
		}
		off += aligned
	}
	return true
}

// offerFrame publishes one recorded data frame at at.
func (s *PublicationSink) offerFrame(at transport.Position, frame []byte) bool {
	if !s.atPosition(at) {
		return false
	}
	var claim transport.BufferClaim
	for {
		_, r := s.pub.TryClaim(len(frame)-transport.HeaderLength, &claim)
		switch {
		case r == transport.OfferOK:
			src := transport.FrameHeader(frame)
			claim.Header().SetFlags(src.Flags())
			claim.Header().SetReservedValue(src.ReservedValue())
			copy(claim.Buffer(), frame[transport.HeaderLength:])
			claim.Commit()
			return true
		case r == transport.AdminAction:
			// The publication padded the term where the recording has the
			// pad this frame follows: go on in the next term.
			if !s.atPosition(at) {
				return false
			}
		default:
			return s.refused(r)
		}
	}
}

// AppendPadding implements BlockSink.
func (s *PublicationSink) AppendPadding(position transport.Position, length int) bool {
	if s.err != nil {
		return false
	}
	pubPos := s.pub.Position()
	if position+transport.Position(length) <= pubPos {
		return true // made already (a data frame's claim padded the term)
	}
	if !s.atPosition(position) {
		return false
	}
	termLength := s.pub.TermLength()
	termOffset := int(int64(position) & int64(termLength-1))
	if termOffset+length == termLength {
		return s.padTermEnd(length)
	}
	return s.padInTerm(length)
}

// padTermEnd pads the rest of the term with an offer too long for it: the
// publication pads and rotates without writing the message.
func (s *PublicationSink) padTermEnd(remaining int) bool {
	if remaining > s.pub.MaxMessageLength() {
		s.fail(fmt.Errorf("%w: a %d-byte term-end pad is longer than any message the publication takes",
			ErrInvalidFrame, remaining))
		return false
	}
	if len(s.zeros) < remaining {
		s.zeros = make([]byte, remaining)
	}
	_, r := s.pub.Offer(s.zeros[:remaining])
	if r == transport.AdminAction {
		return true
	}
	if r == transport.OfferOK {
		assertFailed("a %d-byte offer fitted a %d-byte term end", remaining, remaining)
	}
	return s.refused(r)
}

// padInTerm makes a pad frame inside a term by aborting a claim of its size.
func (s *PublicationSink) padInTerm(length int) bool {
	if length-transport.HeaderLength > s.pub.MaxPayloadLength() || length < transport.HeaderLength {
		s.fail(fmt.Errorf("%w: a %d-byte pad inside a term", ErrInvalidFrame, length))
		return false
	}
	var claim transport.BufferClaim
	_, r := s.pub.TryClaim(length-transport.HeaderLength, &claim)
	if r != transport.OfferOK {
		return s.refused(r)
	}
	claim.Abort()
	return true
}

// atPosition checks that the publication is where the recording says the
// next frame lies; if not, the stream cannot be reproduced and the sink fails.
func (s *PublicationSink) atPosition(at transport.Position) bool {
	if p := s.pub.Position(); p != at {
		s.fail(fmt.Errorf("%w: publication at %d, recorded frame at %d", ErrInvalidPosition, p, at))
		return false
	}
	return true
}

// refused maps a refused offer: transient results wait; the rest fail the sink.
func (s *PublicationSink) refused(r transport.OfferResult) bool {
	switch r {
	case transport.BackPressured, transport.NotConnected, transport.AdminAction:
	case transport.Closed:
		s.fail(ErrReplayStopped)
	default:
		s.fail(fmt.Errorf("archive: replay to publication: offer: %v", r))
	}
	return false
}

func (s *PublicationSink) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// ReplayChannel returns channel with the parameters that make a new
// publication on it continue recording d from position from: its initial
// term id, term id and offset, session id and term length. The MTU is the
// recording's or the transport's default, whichever is larger: every
// recorded frame fits either way, and a recording of small frames still
// travels many frames to a datagram.
func ReplayChannel(channel string, d *Descriptor, from transport.Position) string {
	shift := bits.TrailingZeros32(uint32(d.TermLength))
	termID := d.InitialTermID + int32(int64(from)>>shift)
	termOffset := int64(from) & int64(d.TermLength-1)
	return withChannelParams(channel, fmt.Sprintf("init-term-id=%d|term-id=%d|term-offset=%d|session-id=%d|term-length=%d|mtu=%d",
		d.InitialTermID, termID, termOffset, d.SessionID, d.TermLength, max(d.MTULength, transport.MTULengthDefault)))
}

// withChannelParams appends "|"-separated parameters to a channel URI. The
// transport applies parameters in order, so these override any of the same
// name already in channel.
func withChannelParams(channel, params string) string {
	if strings.Contains(channel, "?") {
		return channel + "|" + params
	}
	return channel + "?" + params
}
