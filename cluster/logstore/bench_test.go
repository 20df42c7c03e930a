package logstore

import (
	"fmt"
	"testing"
	"time"

	"venue/archive"
	"venue/cluster/consensus"
)

// benchLogMax bounds the disk a benchmark uses: the log is truncated back
// to empty (timer stopped) when it grows past this.
const benchLogMax = 256 << 20

// benchEntryLength is the "small" entry: 200 bytes aligned.
const benchEntryLength = 200

// benchBatch returns a batch of whole entries of about length bytes, each
// a session message benchEntryLength long.
func benchBatch(length int) []byte {
	payload := make([]byte, benchEntryLength-consensus.EntryHeaderLength-24)
	var b []byte
	for i := 0; len(b) < length; i++ {
		b = consensus.AppendEntry(b, &consensus.LogEntry{Type: consensus.EntrySessionMessage,
			SessionID: 1, CorrelationID: int64(i), Timestamp: int64(i), Payload: payload})
	}
	return b
}

func benchStore(b *testing.B, fsync archive.FsyncPolicy) *Store {
	s, err := Open(Config{Dir: b.TempDir(), Fsync: fsync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkAppend appends 64 KiB batches and single 200-byte entries to a
// store on the real disk. Under FsyncData each Append is followed by
// Notify, as the consensus module does, and the background syncer writes
// and fdatasyncs what accumulated (group commit); the benchmark ends when
// the last byte is durable. data-append-only is the Append call alone (the
// syncer catches up while the timer is stopped); data-sync-each calls Sync
// after every Append: the latency of one durable append. max_append_ns is
// the longest Append call (under FsyncData, a roll to a new segment).
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{64 << 10, benchEntryLength} {
		batch := benchBatch(size)
		for _, mode := range []string{"none", "data", "data-append-only", "data-sync-each"} {
			b.Run(fmt.Sprintf("%dB/%s", len(batch), mode), func(b *testing.B) {
				fsync := archive.FsyncData
				if mode == "none" {
					fsync = archive.FsyncNone
				}
				s := benchStore(b, fsync)
				warmUp(b, s, batch)
				b.SetBytes(int64(len(batch)))
				b.ReportAllocs()
				var slowest time.Duration // the longest Append: a roll's, under FsyncData
				b.ResetTimer()
				for range b.N {
					if s.End() >= benchLogMax {
						b.StopTimer()
						waitDurableB(b, s)
						if err := s.Truncate(consensus.Position(len(batch))); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					t0 := time.Now()
					if err := s.Append(1, batch); err != nil {
						b.Fatal(err)
					}
					slowest = max(slowest, time.Since(t0))
					switch mode {
					case "data":
						s.Notify()
					case "data-sync-each":
						if err := s.Sync(); err != nil {
							b.Fatal(err)
						}
					}
				}
				waitDurableB(b, s)
				b.ReportMetric(float64(slowest.Nanoseconds()), "max_append_ns")
			})
		}
	}
}

// warmUp rolls the store twice, so both tail mirrors exist, and truncates
// it back to its first batch: the steady state a long-running member is in.
func warmUp(b *testing.B, s *Store, batch []byte) {
	for len(s.segs) < 3 {
		if err := s.Append(1, batch); err != nil {
			b.Fatal(err)
		}
	}
	waitDurableB(b, s)
	if err := s.Truncate(consensus.Position(len(batch))); err != nil {
		b.Fatal(err)
	}
}

func waitDurableB(b *testing.B, s *Store) {
	for s.DurablePosition() < s.End() {
		if err := s.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead reads 64 KiB at a time, of whole entries, from the tail
// segment (aliased memory) and from an older segment (pread into the
// caller's buffer).
func BenchmarkRead(b *testing.B) {
	const readLength = 64 << 10
	s := benchStore(b, archive.FsyncNone)
	batch := benchBatch(readLength)
	for len(s.segs) < 2 || s.End()-s.tail.base < 4*readLength {
		if err := s.Append(1, batch); err != nil {
			b.Fatal(err)
		}
	}
	n := consensus.Position(len(batch))
	for _, where := range []string{"tail", "older"} {
		b.Run(where, func(b *testing.B) {
			from := s.tail.base
			if where == "older" {
				from = s.segs[0].base
			}
			buf := make([]byte, 0, n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				p := from + consensus.Position(i%3)*n
				out, err := s.Read(p, p+n, buf)
				if err != nil || len(out) != int(n) {
					b.Fatal(err)
				}
			}
		})
	}
}
