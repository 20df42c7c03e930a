package consensus

// membersMax bounds the cluster size; quorum math uses fixed arrays of it.
const membersMax = 9

// quorumSize returns the number of members that make a majority of n.
func quorumSize(n int) int { return n/2 + 1 }

// QuorumPosition returns the highest position that a majority of the given
// member positions has reached: the (n/2+1)-th largest. It sorts a copy on the
// stack (insertion sort; n is at most membersMax), so it does not allocate.
func QuorumPosition(positions []Position) Position {
	n := len(positions)
	assert(n > 0 && n <= membersMax, "quorum of %d members", n)
	var s [membersMax]Position
	copy(s[:], positions)
	for i := 1; i < n; i++ {
		v := s[i]
		j := i
		for ; j > 0 && s[j-1] < v; j-- { // descending
			s[j] = s[j-1]
		}
		s[j] = v
	}
	return s[quorumSize(n)-1]
}

// quorumPositionNaive is the obviously-correct reference for QuorumPosition:
// the largest candidate position that at least a majority has reached.
func quorumPositionNaive(positions []Position) Position {
	best := Position(-1 << 63)
	for _, c := range positions {
		count := 0
		for _, p := range positions {
			if p >= c {
				count++
			}
		}
		if count >= quorumSize(len(positions)) && c > best {
			best = c
		}
	}
	return best
}
