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

// TestValidName32 checks the branch-free 32-byte check against the byte
// loop, exhaustively for where the first NUL falls and what follows it,
// and on random fields.
func TestValidName32(t *testing.T) {
	check := func(b *[32]byte) {
		t.Helper()
		if got, want := validName32(b), validNameBytes(b[:]); got != want {
			t.Fatalf("%q: validName32 %v, bytes %v", b[:], got, want)
		}
	}
	for n := 0; n <= 32; n++ { // n characters, then NULs
		for _, c := range []byte{'a', '!', '~', ' ', 0x7f, 0x80, 0xff, 0x01} {
			var b [32]byte
			for i := range n {
				b[i] = 'x'
			}
			check(&b)
			for i := range 32 { // one odd byte anywhere
				d := b
				d[i] = c
				check(&d)
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{0, 0, 0, ' ', '!', 'a', '~', 0x7f, 0x80, 0xff, 0x20, 0x21, '0', 0x01}
	for range 100000 {
		var b [32]byte
		n := rng.IntN(33)
		for i := range n {
			b[i] = byte(0x21 + rng.IntN(0x5e))
			if rng.IntN(8) == 0 {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		if rng.IntN(4) == 0 {
			b[rng.IntN(32)] = alphabet[rng.IntN(len(alphabet))]
		}
		check(&b)
	}
}
