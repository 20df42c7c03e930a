package fakecluster

import (
	"sync"

	"venue/engine"
)

// EngineService runs the venue's engine (engine.Engine) as the fake
// cluster's service, so that gateway tests exercise real matching. Its
// market-data sink keeps each price level's quantity for tests to check.
type EngineService struct {
	E      *engine.Engine
	mu     sync.Mutex
	levels map[LevelKey]int64
}

// LevelKey names one price level.
type LevelKey struct {
	Instrument uint32
	Side       engine.Side
	Price      int64
}

// NewEngineService returns the engine with bootstrapAdmin as its first
// admin and send as its egress.
func NewEngineService(bootstrapAdmin string, send func(session int64, msg []byte)) (*EngineService, error) {
	s := &EngineService{levels: map[LevelKey]int64{}}
	e, err := engine.New(engine.Config{BootstrapAdmin: bootstrapAdmin, Egress: egressFunc(send), MarketData: (*levelSink)(s)})
	if err != nil {
		return nil, err
	}
	e.OnRoleChange(engine.ClusterRoleLeader)
	s.E = e
	return s, nil
}

type egressFunc func(session int64, msg []byte)

func (f egressFunc) Send(session engine.SessionID, msg []byte) { f(int64(session), msg) }

// OnSessionOpen implements Service.
func (s *EngineService) OnSessionOpen(id int64, principal []byte, pos, t int64) {
	s.E.OnSessionOpen(engine.SessionID(id), principal, pos, t)
}

// OnSessionMessage implements Service.
func (s *EngineService) OnSessionMessage(id int64, pos, t int64, payload []byte) {
	s.E.OnSessionMessage(engine.SessionID(id), pos, t, payload)
}

// OnSessionClose implements Service.
func (s *EngineService) OnSessionClose(id int64, pos, t int64) {
	s.E.OnSessionClose(engine.SessionID(id), engine.CloseClient, pos, t)
}

// Level returns the resting quantity at one price level.
func (s *EngineService) Level(k LevelKey) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.levels[k]
}

// levelSink records level quantities (engine.MarketDataSink).
type levelSink EngineService

func (l *levelSink) OnInstrument(engine.InstrumentInfo, int64, int64) {}
func (l *levelSink) OnLevel(inst uint32, side engine.Side, price, qty int64, _ int32, _, _ int64) {
	l.mu.Lock()
	l.levels[LevelKey{inst, side, price}] = qty
	l.mu.Unlock()
}
func (l *levelSink) OnTrade(uint32, uint64, int64, int64, engine.Side, int64, int64) {}
func (l *levelSink) OnTradingState(uint32, engine.TradingState, int64, int64)        {}
func (l *levelSink) OnApplied(int64, int64)                                          {}
