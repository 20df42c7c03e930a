package engine

import (
	"math/rand/v2"
	"testing"
)

// TestValidNameWords checks the word-at-a-time check against the byte
// loop on edge cases and random fields.
func TestValidNameWords(t *testing.T) {
	cases := [][]byte{
		make([]byte, 16), // all NUL: empty, invalid
		append([]byte("abc"), make([]byte, 13)...),
		append([]byte("abcdefgh"), make([]byte, 8)...),                // NUL at a word boundary
		[]byte("abcdefghabcdefgh"),                                    // full width
		append([]byte("a b"), make([]byte, 13)...),                    // space
		append([]byte("ab\x00c"), make([]byte, 12)...),                // byte after NUL
		append(append([]byte("ab"), make([]byte, 10)...), 1, 0, 0, 0), // byte in a later word
		append([]byte("~!\x7f"), make([]byte, 13)...),                 // DEL
		append([]byte("\x80"), make([]byte, 15)...),                   // high bit
		append([]byte("\x21\x7e"), make([]byte, 30)...),               // the range's ends, 32 bytes
	}
	for _, c := range cases {
		if got, want := validNameWords(c), validNameBytes(c); got != want {
			t.Fatalf("%q: words %v, bytes %v", c, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0, 0, 0, ' ', '!', 'a', '~', 0x7f, 0x80, 0xff, 0x20, 0x21, '0'}
	for range 200000 {
		b := make([]byte, 8*(1+rng.IntN(4)))
		n := rng.IntN(len(b) + 1)
		for i := range n {
			b[i] = alphabet[rng.IntN(len(alphabet))]
			if rng.IntN(3) > 0 {
				b[i] = byte(0x21 + rng.IntN(0x5e))
			}
		}
		if got, want := validNameWords(b), validNameBytes(b); got != want {
			t.Fatalf("%q: words %v, bytes %v", b, got, want)
		}
	}
}
