package sim

// Rand is a small deterministic PRNG (splitmix64). It is the simulator's
// only source of randomness, and each member's consensus core gets its own,
// seeded from the run's seed, so one seed fixes a whole run.
type Rand struct{ state uint64 }

// NewRand returns a Rand seeded with seed.
func NewRand(seed uint64) *Rand { return &Rand{state: seed} }

// Uint64 returns the next pseudo-random value.
func (r *Rand) Uint64() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Intn returns a value in [0, n); n must be positive.
func (r *Rand) Intn(n int) int { return int(r.Uint64() % uint64(n)) }

// Int63n returns a value in [0, n); n must be positive.
func (r *Rand) Int63n(n int64) int64 { return int64(r.Uint64() % uint64(n)) }

// Between returns a value in [lo, hi].
func (r *Rand) Between(lo, hi int64) int64 { return lo + r.Int63n(hi-lo+1) }

// Ratio is a probability as an integer ratio Num/Den, so that fault options
// print exactly and replay without floating point.
type Ratio struct{ Num, Den uint32 }

// Chance returns true with probability r.
func (g *Rand) Chance(r Ratio) bool {
	if r.Num == 0 || r.Den == 0 {
		return false
	}
	return uint32(g.Uint64()%uint64(r.Den)) < r.Num
}
