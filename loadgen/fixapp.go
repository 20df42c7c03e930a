package loadgen

import (
	"bytes"
	"strconv"

	"github.com/quickfixgo/quickfix"
)

// fixApp is the quickfixgo Application of the driver's sessions.
type fixApp struct{ d *FIXDriver }

func (a *fixApp) session(id quickfix.SessionID) (int, *fixSession) {
	i, ok := a.d.index[id]
	if !ok {
		return -1, nil
	}
	return i, a.d.sessions[i]
}

// OnCreate implements quickfix.Application.
func (a *fixApp) OnCreate(quickfix.SessionID) {}

// OnLogon implements quickfix.Application.
func (a *fixApp) OnLogon(id quickfix.SessionID) {
	if _, s := a.session(id); s != nil {
		s.reset()
		s.loggedOn.Store(true)
	}
}

// OnLogout implements quickfix.Application.
func (a *fixApp) OnLogout(id quickfix.SessionID) {
	if _, s := a.session(id); s != nil {
		s.loggedOn.Store(false)
		s.reset()
	}
}

// ToAdmin puts the password on the Logon.
func (a *fixApp) ToAdmin(m *quickfix.Message, _ quickfix.SessionID) {
	if m.IsMsgTypeOf(msgTypeLogon) {
		m.Body.SetString(tagPassword, a.d.cfg.Password)
	}
}

// ToApp remembers the MsgSeqNum each request goes out under (quickfixgo
// calls it after numbering the message, before sending it).
func (a *fixApp) ToApp(m *quickfix.Message, id quickfix.SessionID) error {
	_, s := a.session(id)
	if s == nil {
		return nil
	}
	seq, err := m.Header.GetInt(tagMsgSeqNum)
	if err != nil {
		return nil
	}
	s.remember(seq, bodyString(m, tagClOrdID))
	return nil
}

// FromAdmin passes session rejects on.
func (a *fixApp) FromAdmin(m *quickfix.Message, id quickfix.SessionID) quickfix.MessageRejectError {
	if m.IsMsgTypeOf(msgTypeReject) {
		a.deliver(m, id)
	}
	return nil
}

// FromApp passes reports on, and mass cancel reports to CancelAll.
func (a *fixApp) FromApp(m *quickfix.Message, id quickfix.SessionID) quickfix.MessageRejectError {
	if m.IsMsgTypeOf(msgTypeMassCancelReport) {
		if _, s := a.session(id); s != nil {
			n, err := strconv.ParseInt(bodyString(m, tagTotalAffectedOrders), 10, 64)
			if err != nil || bodyString(m, tagMassCancelResponse) == "0" {
				n = -1
			}
			select {
			case s.mass <- n:
			default:
			}
		}
		return nil
	}
	a.deliver(m, id)
	return nil
}

func (a *fixApp) deliver(m *quickfix.Message, id quickfix.SessionID) {
	i, s := a.session(id)
	if s == nil || a.d.sink == nil {
		return
	}
	if r, ok := parseFIX(m, s.resolve); ok {
		a.d.sink.OnReport(i, &r)
	}
}

// fixLogFactory gives each session a quickfixgo Log that logs nothing and
// hands the queue token back when an application message reaches the
// writer (quickfixgo calls OnOutgoing right after the hand-off).
type fixLogFactory struct{ d *FIXDriver }

// Create implements quickfix.LogFactory.
func (f fixLogFactory) Create() (quickfix.Log, error) { return fixLog{}, nil }

// CreateSessionLog implements quickfix.LogFactory.
func (f fixLogFactory) CreateSessionLog(id quickfix.SessionID) (quickfix.Log, error) {
	i, ok := f.d.index[id]
	if !ok {
		return fixLog{}, nil
	}
	return fixLog{s: f.d.sessions[i]}, nil
}

type fixLog struct{ s *fixSession }

func (l fixLog) OnIncoming([]byte)               {}
func (l fixLog) OnEvent(string)                  {}
func (l fixLog) OnEventf(string, ...interface{}) {}

// OnOutgoing returns the token of an application message.
func (l fixLog) OnOutgoing(msg []byte) {
	if l.s != nil && isQueuedType(msg) {
		l.s.handedOff()
	}
}

// isQueuedType reports whether a raw FIX message is one the driver queues
// (D, F, G or q): its MsgType field, "35=", follows BeginString and
// BodyLength.
func isQueuedType(msg []byte) bool {
	i := bytes.Index(msg, []byte("\x0135="))
	if i < 0 || i+6 > len(msg) || msg[i+5] != '\x01' {
		return false
	}
	switch msg[i+4] {
	case 'D', 'F', 'G', 'q':
		return true
	}
	return false
}
