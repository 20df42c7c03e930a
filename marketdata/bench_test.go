package marketdata

import (
	"testing"
	"time"
)

// BenchmarkSinkAbsorb: one level change and its command's OnApplied on the
// service goroutine, over 1000 instruments, with the agent's side played
// inline so the dirty list drains. Run with -benchmem: 0 allocs/op.
func BenchmarkSinkAbsorb(b *testing.B) {
	p := mustPublisher(b, PublisherConfig{Conn: &captureConn{}})
	feed := newBenchFeed(1000)
	feed.define(p)
	for range 100_000 {
		feed.command(p, 0)
	}
	drain := func() {
		for {
			idx, ok := p.dirty.pop()
			if !ok {
				return
			}
			p.table[idx].queued.Store(false)
			p.table[idx].tb.acquire()
		}
	}
	drain()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		feed.command(p, int64(i))
		if i&1023 == 0 {
			drain()
		}
	}
	b.ReportMetric(float64(b.N*benchChangesPerCommand)/b.Elapsed().Seconds(), "changes/s")
}

// BenchmarkPublisherDoWork: encoding and handing packets to a Conn that
// discards them, 256 dirty instruments per duty cycle.
func BenchmarkPublisherDoWork(b *testing.B) {
	p := mustPublisher(b, PublisherConfig{Conn: discardConn{}})
	feed := newBenchFeed(1000)
	feed.define(p)
	p.SetLeader(true, 1)
	for i := range 1000 { // grow every book to its steady size
		for range updatesPerDutyCycleMax {
			feed.command(p, 0)
		}
		p.DoWork(int64(i))
	}
	b.ReportAllocs()
	updates := int64(0)
	for i := 0; b.Loop(); i++ {
		for range updatesPerDutyCycleMax {
			feed.command(p, int64(i))
		}
		before := p.c.updates.Get()
		p.DoWork(int64(i))
		updates += p.c.updates.Get() - before
	}
	b.ReportMetric(float64(updates)/b.Elapsed().Seconds(), "updates/s")
}

// BenchmarkSubscriberApply: parsing and applying one packet of full-depth
// updates, each newer than the book it replaces.
func BenchmarkSubscriberApply(b *testing.B) {
	w := NewPacketWriter(MTUDefault)
	sub := mustSubscriber(b, SubscriberConfig{})
	v := sampleView(DepthDefault, DepthDefault)
	pkts := make([][]byte, 1024)
	for i := range pkts {
		w.Reset(make([]byte, MTUDefault))
		w.Begin(PacketUpdate, 1)
		for w.Remaining() >= UpdateLength(DepthDefault, DepthDefault) {
			v.InstrumentID++
			v.LogPosition++
			w.AppendUpdate(v)
		}
		pkts[i] = w.Finish(uint64(i+1), 0)
	}
	for _, p := range pkts {
		sub.OnPacket(p) // create the books
	}
	b.ReportAllocs()
	perPacket := (MTUDefault - packetHeaderLength) / UpdateLength(DepthDefault, DepthDefault)
	for i := 0; b.Loop(); i++ {
		p := pkts[i%len(pkts)]
		le.PutUint64(p[packetSequenceOffset:], uint64(len(pkts)+i+1))
		for off := packetHeaderLength; off < len(p); off += UpdateLength(DepthDefault, DepthDefault) {
			o := off + updateLogPositionOffset
			le.PutUint64(p[o:], le.Uint64(p[o:])+uint64(len(pkts)))
		}
		sub.OnPacket(p)
	}
	b.ReportMetric(float64(b.N*perPacket)/b.Elapsed().Seconds(), "updates/s")
}

type discardConn struct{}

func (discardConn) Send([]byte) error                          { return nil }
func (discardConn) TryReceive([]byte) (int, error)             { return 0, nil }
func (discardConn) Receive([]byte, time.Duration) (int, error) { return 0, nil }
func (discardConn) Close() error                               { return nil }
