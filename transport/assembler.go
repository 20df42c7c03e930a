package transport

// FragmentAssembler reassembles fragmented messages before handing them to
// a FragmentHandler. Unfragmented messages pass straight through without a
// copy. One assembler serves every session of a subscription; each session
// has its own buffer, grown as needed and reused.
type FragmentAssembler struct {
	handler  FragmentHandler
	builders map[int32]*fragmentBuilder
	fn       FragmentHandler
}

type fragmentBuilder struct {
	buf    []byte
	active bool
}

// NewFragmentAssembler wraps handler.
func NewFragmentAssembler(handler FragmentHandler) *FragmentAssembler {
	a := &FragmentAssembler{handler: handler, builders: map[int32]*fragmentBuilder{}}
	a.fn = a.OnFragment
	return a
}

// Handler returns the assembling FragmentHandler to pass to Poll (one
// method value, created once, so that polling does not allocate).
func (a *FragmentAssembler) Handler() FragmentHandler { return a.fn }

// OnFragment handles one fragment.
func (a *FragmentAssembler) OnFragment(payload []byte, h *Header) {
	flags := h.Flags()
	if flags&FlagsUnfragmented == FlagsUnfragmented {
		a.handler(payload, h)
		return
	}
	b := a.builders[h.SessionID()]
	if b == nil {
		b = &fragmentBuilder{}
		a.builders[h.SessionID()] = b
	}
	if flags&FlagBegin != 0 {
		b.buf = append(b.buf[:0], payload...)
		b.active = true
		return
	}
	if !b.active {
		return // joined mid-message: skip to the next begin
	}
	b.buf = append(b.buf, payload...)
	if flags&FlagEnd != 0 {
		b.active = false
		a.handler(b.buf, h)
	}
}
