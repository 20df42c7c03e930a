package engine

import (
	"encoding/binary"

	"venue/orderbook"
)

// Identifier widths, as in the schema.
const (
	principalNameBytes = 16
	accountNameBytes   = 16
	clOrdIDBytes       = 32
	symbolBytes        = 16
)

// nilIndex marks "none" in slab links and indexes.
const nilIndex int32 = -1

// state is everything the engine replicates: the snapshot holds exactly
// this, and the digest is computed over it.
type state struct {
	instruments    []*instrument // sorted by id
	instrumentIDs  []uint32      // instruments' ids, for a search without pointers
	instrumentByID []int32       // small id -> index into instruments, or nilIndex
	accounts       []account     // index = the book's orderbook.Account
	accountIdx     nameIndex
	principals     []principal // creation order
	principalIdx   nameIndex
	sessions       map[SessionID]*session
	orders         orderStore
	pending        []pendingState // scheduled state changes, by correlation id

	nextOrderID uint64 // last order id assigned
	nextExecID  uint64 // last ExecID assigned
	nextTradeID uint64 // last TradeID assigned
	nextTimerID int64  // last timer correlation id assigned
}

func (s *state) init() {
	s.instruments = nil
	s.instrumentIDs, s.instrumentByID = nil, nil
	s.accounts = nil
	s.accountIdx.init()
	s.principals = nil
	s.principalIdx.init()
	s.sessions = make(map[SessionID]*session)
	s.orders.init(0)
	s.pending = nil
	s.nextOrderID, s.nextExecID, s.nextTradeID, s.nextTimerID = 0, 0, 0, 0
}

// instrument is one listed instrument and its book.
type instrument struct {
	info InstrumentInfo
	band int64 // band half-width in price units, derived from BandBps
	book *orderbook.Book
}

// account is a trading account. Its index in state.accounts is the
// orderbook.Account its orders carry.
type account struct {
	name [accountNameBytes]byte
	stp  STPMode
}

// principal is an identity that sessions authenticate as.
type principal struct {
	name      [principalNameBytes]byte
	session   SessionID // where its reports go; 0 = none
	senderSeq uint64    // highest SenderSeq applied (exactly-once)
	// first and firstName are accounts[0] and its name (nilIndex if it
	// trades none): most principals trade one account, and an order that
	// names it is authorized without a lookup. Derived, not snapshotted.
	firstName [accountNameBytes]byte
	first     int32
	role      Role
	cod       bool    // cancel its resting DAY orders when it disconnects
	accounts  []int32 // accounts it may trade, ascending
	// live counts its live orders. There is no per-principal list: keeping
	// one costs two cache misses whenever an order ends, on the hot path,
	// while the operations that need the set (cancel on disconnect, mass
	// cancel by principal) are rare and scan the live slab instead.
	live int
}

// session is an open cluster session.
type session struct {
	id        SessionID
	name      [principalNameBytes]byte // the principal it authenticated as
	principal int32                    // index, or nilIndex while unknown
}

// pendingState is a trading-state change waiting for its cluster timer.
type pendingState struct {
	correlationID int64
	deadlineNs    int64
	instrument    uint32 // or AllInstruments
	state         TradingState
}

// setAccounts replaces the accounts p may trade (ascending) and keeps
// first and firstName in step.
func (p *principal) setAccounts(list []int32, accounts []account) {
	p.accounts = list
	p.first = nilIndex
	p.firstName = [accountNameBytes]byte{}
	if len(list) > 0 {
		p.first, p.firstName = list[0], accounts[list[0]].name
	}
}

// tradedAccount returns the account named acct if p may trade it, when
// that is its first account; ok false means "look it up".
func (p *principal) tradedAccount(acct *[accountNameBytes]byte) (int32, bool) {
	if p.first == nilIndex || !sameName(&p.firstName, acct) {
		return 0, false
	}
	return p.first, true
}

// sameName compares two 16-byte names a word at a time.
func sameName(a, b *[16]byte) bool {
	return binary.LittleEndian.Uint64(a[0:8]) == binary.LittleEndian.Uint64(b[0:8]) &&
		binary.LittleEndian.Uint64(a[8:16]) == binary.LittleEndian.Uint64(b[8:16])
}

// mayTrade reports whether principal p may act on account a.
func (p *principal) mayTrade(a int32) bool {
	lo, hi := 0, len(p.accounts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch v := p.accounts[m]; {
		case v == a:
			return true
		case v < a:
			lo = m + 1
		default:
			hi = m
		}
	}
	return false
}
