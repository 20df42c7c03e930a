package orderbook

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected events in testdata/scripts/*.txt from the book's actual events")

// TestScripts runs the order-book scripts in testdata/scripts. A script is
// prose and commands, read top to bottom:
//
//	# a comment                  kept as is
//	book NAME                    start a fresh book (and reference book)
//	config tick=5 lot=2 band=50 max=1
//	                             instrument parameters of that book
//	> COMMAND                    apply a command (syntax: parseCommand);
//	EVENT                        the events it must produce, one per line,
//	EVENT                        exactly and in order, up to a blank line
//
// The book and the naive reference book both run every command, must both
// produce exactly the listed events, and the book's invariants must hold
// after each command. With -rewrite the event lines are replaced by what
// the book produced, for review in the diff.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/scripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) { runScript(t, path) })
	}
}

// scriptRun holds the state of one script as it is read.
type scriptRun struct {
	t       *testing.T
	path    string
	out     strings.Builder // the rewritten script
	name    string
	cfg     Config
	book    *Book
	ref     *refBook
	rec     recorder
	refRec  recorder
	cmdLine int
	got     []string // events of the current command
	want    []string
}

func runScript(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptRun{t: t, path: path}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for n := 1; sc.Scan(); n++ {
		s.line(n, sc.Text())
	}
	s.finishCommand()
	if *rewrite {
		if err := os.WriteFile(path, []byte(s.out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *scriptRun) line(n int, line string) {
	switch {
	case strings.HasPrefix(line, "> "):
		s.finishCommand()
		s.command(n, line[2:])
	case strings.HasPrefix(line, "#"):
		s.finishCommand()
		s.out.WriteString(line + "\n")
	case line == "":
		s.finishCommand()
		s.out.WriteString("\n")
	case s.got != nil:
		s.want = append(s.want, line) // an expected event
	case strings.HasPrefix(line, "book "):
		s.name, s.cfg, s.book = strings.TrimPrefix(line, "book "), Config{}, nil
		s.out.WriteString(line + "\n")
	case strings.HasPrefix(line, "config "):
		s.cfg = parseConfig(s.t, line)
		s.out.WriteString(line + "\n")
	default:
		s.t.Fatalf("%s:%d: cannot read %q", s.path, n, line)
	}
}

func (s *scriptRun) command(n int, text string) {
	if s.book == nil {
		s.book = New(s.cfg, &s.rec)
		s.ref = newRefBook(s.cfg, &s.refRec)
	}
	c := parseCommand(text)
	c.apply(s.book)
	c.apply(s.ref)
	if err := s.book.Check(); err != nil {
		s.t.Fatalf("%s:%d (%s): %v", s.path, n, s.name, err)
	}
	s.cmdLine = n
	got := s.rec.take()
	s.got = append(formatEvents(got), []string{}...) // non-nil even when empty
	if d := diffRecorded(s.refRec.take(), got); d != "" {
		s.t.Errorf("%s:%d (%s): reference book disagrees with book: %s", s.path, n, s.name, d)
	}
	s.out.WriteString("> " + text + "\n")
}

// finishCommand compares (or, with -rewrite, records) the events of the
// command just read.
func (s *scriptRun) finishCommand() {
	if s.got == nil {
		return
	}
	if !*rewrite {
		if d := diffEvents(s.got, s.want); d != "" {
			s.t.Errorf("%s:%d (%s): %s", s.path, s.cmdLine, s.name, d)
		}
	}
	for _, e := range s.got {
		s.out.WriteString(e + "\n")
	}
	s.got, s.want = nil, nil
}

// parseConfig reads "config tick=N lot=N band=N max=N".
func parseConfig(t *testing.T, line string) Config {
	var c Config
	for _, kv := range strings.Fields(line)[1:] {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("config %q: %v", line, err)
		}
		switch k {
		case "tick":
			c.TickSize = n
		case "lot":
			c.LotSize = n
		case "band":
			c.BandTicks = n
		case "max":
			c.OrdersMax = int(n)
		default:
			t.Fatalf("config %q: unknown key %s", line, k)
		}
	}
	return c
}

// formatConfig is parseConfig's inverse, for writing scripts.
func formatConfig(c Config) string {
	var parts []string
	for _, kv := range []struct {
		k string
		v int64
	}{{"tick", c.TickSize}, {"lot", c.LotSize}, {"band", c.BandTicks}, {"max", int64(c.OrdersMax)}} {
		if kv.v != 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", kv.k, kv.v))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "config " + strings.Join(parts, " ")
}
