package container

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTimerQueueMatchesModel: random schedule / reschedule / cancel / due
// against a plain map, over many seeds.
func TestTimerQueueMatchesModel(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 1))
		q := newTimerQueue()
		model := map[int64]int64{}
		for range 500 {
			corr := rng.Int64N(64)
			switch op := rng.IntN(10); {
			case op < 5:
				d := rng.Int64N(1000)
				q.schedule(corr, d)
				model[corr] = d
			case op < 8:
				_, want := model[corr]
				if got := q.cancel(corr); got != want {
					t.Fatalf("seed %d: cancel %d = %v, want %v", seed, corr, got, want)
				}
				delete(model, corr)
			default:
				now := rng.Int64N(1000)
				var want []Timer
				for c, d := range model {
					if d <= now {
						want = append(want, Timer{c, d})
					}
				}
				slices.SortFunc(want, func(a, b Timer) int {
					if timerLess(a, b) {
						return -1
					}
					return 1
				})
				if got := q.appendDue(nil, now); !slices.Equal(got, want) {
					t.Fatalf("seed %d: due at %d = %v, want %v", seed, now, got, want)
				}
			}
			if q.len() != len(model) {
				t.Fatalf("seed %d: %d timers, want %d", seed, q.len(), len(model))
			}
		}
	}
}

// BenchmarkDueTimersWith100kPending: the leader asks for due timers every
// duty cycle; with 100 k pending and none due it must cost next to nothing.
func BenchmarkDueTimersWith100kPending(b *testing.B) {
	q := newTimerQueue()
	for i := range int64(100_000) {
		q.schedule(i, 1_000_000+i)
	}
	var due []Timer
	b.ReportAllocs()
	for b.Loop() {
		due = q.appendDue(due[:0], 999_999)
	}
	if len(due) != 0 {
		b.Fatal(due)
	}
}
