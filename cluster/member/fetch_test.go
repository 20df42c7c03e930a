package member

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/rand/v2"
	"testing"

	"venue/cluster/consensus"
)

// testOffer is the offer the fetch tests fetch.
var testOffer = consensus.SnapshotOffer{Leader: 1, Term: 3, Position: 4096, LogTerm: 2, TermBase: 1024}

// chunksOf cuts blob into the chunk messages a serving member sends.
func chunksOf(blob []byte) []consensus.Message {
	var out []consensus.Message
	sum := crc32.Checksum(blob, castagnoli)
	for off := int64(0); off < int64(len(blob)); off += snapshotChunkBytes {
		end := min(int64(len(blob)), off+snapshotChunkBytes)
		out = append(out, consensus.Message{Type: consensus.MsgSnapshotChunk, From: testOffer.Leader,
			Term: testOffer.Term, Position: testOffer.Position, Offset: off, Length: int64(len(blob)),
			Checksum: sum, Data: blob[off:end]})
	}
	return out
}

// TestFetchAssemblesAnyOrder: chunks arriving in any order, duplicated,
// complete the snapshot exactly once, with the right bytes; the request
// window never runs past snapshotChunksInFlight chunks beyond the first
// missing one, and asks for every chunk.
func TestFetchAssemblesAnyOrder(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		blob := make([]byte, snapshotHeaderLength+rng.IntN(10*snapshotChunkBytes))
		for i := range blob {
			blob[i] = byte(rng.Uint32())
		}
		chunks := chunksOf(blob)
		f := newFetch(testOffer, 0)
		if got := f.due(nil, 0); len(got) != 1 || got[0] != 0 {
			t.Fatalf("seed %d: first requests %v, want [0]", seed, got)
		}
		asked := map[int64]bool{0: true}
		var arrivals []consensus.Message
		arrivals = append(arrivals, chunks[0])
		for i := range chunks {
			arrivals = append(arrivals, chunks[rng.IntN(i+1)]) // duplicates
		}
		rng.Shuffle(len(arrivals)-1, func(i, j int) { arrivals[i+1], arrivals[j+1] = arrivals[j+1], arrivals[i+1] })
		arrivals = append(arrivals, chunks...) // every chunk at least once
		done := 0
		for k := range arrivals {
			switch r := f.take(&arrivals[k], int64(k)); r {
			case takeDone:
				done++
			case takeMore:
				for _, off := range f.due(nil, int64(k)) {
					asked[off] = true
				}
				if f.sentUpTo > f.low+snapshotChunksInFlight {
					t.Fatalf("seed %d: asked up to chunk %d with chunk %d missing", seed, f.sentUpTo, f.low)
				}
			default:
				t.Fatalf("seed %d: chunk at %d: result %d", seed, arrivals[k].Offset, r)
			}
		}
		if done == 0 || !bytes.Equal(f.buf, blob) {
			t.Fatalf("seed %d: done %d times, bytes equal %t", seed, done, bytes.Equal(f.buf, blob))
		}
		for i := range chunks {
			if !asked[int64(i)*snapshotChunkBytes] && i > 0 && i < snapshotChunksInFlight {
				t.Fatalf("seed %d: chunk %d never asked for", seed, i)
			}
		}
	}
}

// TestFetchRejects: chunks that do not fit the fetch are refused without
// changing it, and an announced length out of bounds abandons it.
func TestFetchRejects(t *testing.T) {
	blob := make([]byte, 3*snapshotChunkBytes/2)
	good := chunksOf(blob)
	cases := []struct {
		name   string
		mutate func(m *consensus.Message)
		want   takeResult
	}{
		{"another leader", func(m *consensus.Message) { m.From = 2 }, takeIgnored},
		{"another position", func(m *consensus.Message) { m.Position += 8 }, takeIgnored},
		{"a request", func(m *consensus.Message) { m.Type = consensus.MsgSnapshotChunkRequest }, takeIgnored},
		{"another length", func(m *consensus.Message) { m.Length++ }, takeBad},
		{"another checksum", func(m *consensus.Message) { m.Checksum++ }, takeBad},
		{"off a chunk boundary", func(m *consensus.Message) { m.Offset = 8 }, takeBad},
		{"past the end", func(m *consensus.Message) { m.Offset = 2 * snapshotChunkBytes }, takeBad},
		{"negative offset", func(m *consensus.Message) { m.Offset = -snapshotChunkBytes }, takeBad},
		{"short data", func(m *consensus.Message) { m.Data = m.Data[:10] }, takeBad},
	}
	for _, tc := range cases {
		f := newFetch(testOffer, 0)
		if r := f.take(&good[0], 0); r != takeMore {
			t.Fatalf("first chunk: %d", r)
		}
		m := good[1]
		tc.mutate(&m)
		if r := f.take(&m, 1); r != tc.want || f.low != 1 || f.have[1] {
			t.Errorf("%s: result %d, low %d", tc.name, r, f.low)
		}
	}
	for _, length := range []int64{snapshotHeaderLength - 1, installBytesMax + 1} {
		m := good[0]
		m.Length = length
		if r := newFetch(testOffer, 0).take(&m, 0); r != takeAbandon {
			t.Errorf("length %d: result %d, want abandon", length, r)
		}
	}
}

// fuzzLengthMax bounds the snapshot lengths FuzzFetchTake lets through.
const fuzzLengthMax = 1 << 20

// FuzzFetchTake: any sequence of decoded chunk messages from the offer's
// leader never panics a fetch, and a fetch only completes with every chunk
// in place and the length the first chunk announced.
func FuzzFetchTake(f *testing.F) {
	frame := func(ms ...consensus.Message) []byte {
		var out []byte
		for _, m := range ms {
			b := consensus.AppendMessage(nil, &m)
			out = binary.LittleEndian.AppendUint16(out, uint16(len(b)))
			out = append(out, b...)
		}
		return out
	}
	blob := make([]byte, snapshotChunkBytes+100)
	chunks := chunksOf(blob)
	f.Add(frame(chunks...))                       // a whole snapshot in order
	f.Add(frame(chunks[1], chunks[1], chunks[0])) // reordered, duplicated
	bad := chunks[0]
	bad.Length = 1 << 40
	f.Add(frame(bad))            // an absurd length
	f.Add([]byte{0xff, 0xff, 1}) // a frame longer than the input
	f.Fuzz(func(t *testing.T, data []byte) {
		ft := newFetch(testOffer, 0)
		for len(data) >= 2 {
			l := int(binary.LittleEndian.Uint16(data))
			data = data[2:]
			if l > len(data) {
				return
			}
			var m consensus.Message
			// Lengths past fuzzLengthMax would only make the fetch allocate
			// them (bounded by installBytesMax, tested in TestFetchRejects).
			if consensus.DecodeMessage(data[:l], &m) == nil && m.Length <= fuzzLengthMax {
				m.From, m.Position = testOffer.Leader, testOffer.Position // reach the checks past the address
				switch ft.take(&m, 1) {
				case takeAbandon:
					return
				case takeDone:
					for i, ok := range ft.have {
						if !ok {
							t.Fatalf("done with chunk %d missing", i)
						}
					}
					if int64(len(ft.buf)) != ft.length {
						t.Fatalf("done with %d bytes of %d", len(ft.buf), ft.length)
					}
				}
				_ = ft.due(nil, 1)
			}
			data = data[l:]
		}
	})
}

// TestTransferConstants pins the relations between the transfer's bounds.
func TestTransferConstants(t *testing.T) {
	switch {
	case snapshotChunkBytes > consensus.SnapshotChunkBytesMax:
		t.Error("a chunk larger than the consensus codec takes")
	case snapshotChunkRetryNs >= snapshotFetchTimeoutNs:
		t.Error("a fetch would time out before it asks again")
	case snapshotServeQueueMax < snapshotChunksInFlight:
		t.Error("the serving queue cannot hold one fetcher's window")
	case snapshotChunksPerCycle > snapshotServeQueueMax:
		t.Error("a cycle serves more than the queue holds")
	case installBytesMax < snapshotHeaderLength:
		t.Error("no snapshot fits the install bound")
	}
}
