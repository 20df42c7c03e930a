package consensus

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var rewrite = flag.Bool("rewrite", false, "rewrite testdata/*.txt with the actual output")

// TestInteraction runs the protocol scripts in testdata/*.txt. Each file is
// a prose header (lines starting with #) and blocks of
//
//	command args...
//	----
//	expected output
//	<blank line>
//
// The commands (handled in scriptHarness.run) drive members over a perfect
// in-process network; with -rewrite the expected output is regenerated:
//
//	members N SEED     start N members (random sources seeded from SEED)
//	tick Nms           advance time 1 ms at a time, delivering every message;
//	                   prints each member's state changes as "Tms id: state"
//	propose ID TEXT    propose a session message on member ID
//	proposen ID N      propose N session messages on member ID, quietly
//	terminate ID       orderly shutdown from member ID
//	isolate ID, heal   cut member ID off from everyone; undo all cuts
//	freeze ID...       stop driving members (a stalled process): no ticks,
//	                   messages to them wait in their socket
//	thaw ID...         drive them again: each first reads what waited, as
//	                   a duty cycle polls before it ticks
//	hold, release      stop delivering messages (they queue); deliver them
//	crash ID, restart ID   lose unsynced writes and the node; start it again
//	nosync ID, sync ID stall member ID's fsync; resume it
//	status, log ID, counters ID   print state, a member's log, its counters
//	snapshot ID        member ID can serve a snapshot at its applied position
//	purge ID           member ID's store drops the log below its snapshot
//	wipe ID            member ID loses its node, log and hard state (a
//	                   wiped data directory); restart ID starts it empty
//
// A member that takes a snapshot offer installs it at once: its store is
// reset to start at the offer's position, and the install is printed.
func TestInteraction(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	if len(files) == 0 {
		t.Fatal("no scripts")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScript(t, file) })
	}
}

func runScript(t *testing.T, file string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	h := &scriptHarness{t: t}
	var out strings.Builder
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			continue
		}
		want := []string{}
		j := i + 1
		if j < len(lines) && lines[j] == "----" {
			for j++; j < len(lines) && lines[j] != ""; j++ {
				want = append(want, lines[j])
			}
		}
		got := h.run(line)
		if !*rewrite && strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:%d: %s\n--- got\n%s\n--- want\n%s", file, i+1, line,
				strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		out.WriteString(line + "\n----\n")
		for _, g := range got {
			out.WriteString(g + "\n")
		}
		i = j - 1
	}
	if *rewrite {
		if err := os.WriteFile(file, []byte(strings.TrimRight(out.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// scriptHarness is a cluster of Nodes over a perfect FIFO network that can
// isolate members, with each member's disk (store + hard state) kept across
// crashes.
type scriptHarness struct {
	t        *testing.T
	nodes    []*Node
	stores   []*MemLogStore
	hard     []HardState
	nosync   []bool
	isolated []bool
	frozen   []bool
	held     []Message  // messages waiting for a frozen member
	snaps    []Position // the snapshot each member can serve
	holding  bool       // messages queue undelivered
	seed     uint64
	nowNs    int64
	// commitIntervalNs is the members' CommitBroadcastIntervalNs.
	commitIntervalNs int64
	queue            []Message
	events           []string
}

func (h *scriptHarness) run(line string) []string {
	f := strings.Fields(line)
	h.events = nil
	switch f[0] {
	case "members":
		h.members(atoi(h.t, f[1]), uint64(atoi(h.t, f[2])))
	case "commit-interval": // for the members started after it
		d, err := parseMs(f[1])
		if err != nil {
			h.t.Fatal(err)
		}
		h.commitIntervalNs = d
	case "tick":
		h.tick(f[1])
	case "propose":
		h.propose(atoi(h.t, f[1]), strings.Join(f[2:], " "))
	case "proposen":
		h.proposeN(atoi(h.t, f[1]), atoi(h.t, f[2]))
	case "isolate":
		h.isolated[atoi(h.t, f[1])] = true
	case "heal":
		clear(h.isolated)
	case "freeze":
		for _, id := range f[1:] {
			h.frozen[atoi(h.t, id)] = true
		}
	case "thaw":
		h.thaw(f[1:])
	case "hold":
		h.holding = true
	case "release":
		h.holding = false
		h.settle()
	case "crash":
		m := atoi(h.t, f[1])
		h.stores[m].Crash()
		h.nodes[m] = nil
	case "restart":
		h.start(atoi(h.t, f[1]))
	case "nosync":
		h.nosync[atoi(h.t, f[1])] = true
	case "sync":
		m := atoi(h.t, f[1])
		h.nosync[m] = false
		h.stores[m].Sync()
		h.settle()
	case "status":
		h.status()
	case "terminate":
		m := atoi(h.t, f[1])
		p, err := h.nodes[m].Terminate(h.nowNs)
		h.events = append(h.events, fmt.Sprintf("%d: terminate at %d err=%v", m, p, err))
		h.settle()
	case "counters":
		m := atoi(h.t, f[1])
		h.events = append(h.events, fmt.Sprintf("%d: %+v", m, h.nodes[m].Counters()))
	case "log":
		h.log(atoi(h.t, f[1]))
	case "snapshot":
		m := atoi(h.t, f[1])
		p := h.nodes[m].Status().Applied
		h.snaps[m] = p
		h.nodes[m].SnapshotAvailable(p)
		h.events = append(h.events, fmt.Sprintf("%d: snapshot at %d", m, p))
	case "purge":
		m := atoi(h.t, f[1])
		err := h.stores[m].PurgeBefore(h.snaps[m])
		h.events = append(h.events, fmt.Sprintf("%d: log starts at %d err=%v", m, h.stores[m].Start(), err))
	case "wipe":
		m := atoi(h.t, f[1])
		h.stores[m], h.hard[m], h.nodes[m], h.snaps[m] = NewMemLogStore(), HardState{Vote: NoMember}, nil, 0
	default:
		h.t.Fatalf("unknown command %q", f[0])
	}
	return h.events
}

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (h *scriptHarness) members(n int, seed uint64) {
	h.seed = seed
	h.nodes, h.stores = make([]*Node, n), make([]*MemLogStore, n)
	h.hard, h.nosync, h.isolated = make([]HardState, n), make([]bool, n), make([]bool, n)
	h.frozen = make([]bool, n)
	h.snaps = make([]Position, n)
	for i := range n {
		h.stores[i] = NewMemLogStore()
		h.hard[i] = HardState{Vote: NoMember}
		h.start(i)
	}
}

func (h *scriptHarness) start(i int) {
	cfg := DefaultConfig(MemberID(i), len(h.nodes), &seqRand{x: h.seed*31 + uint64(i)})
	// Scripts show the protocol one commit advance at a time unless they
	// set an interval (commit-interval).
	cfg.CommitBroadcastIntervalNs = h.commitIntervalNs
	n, err := NewNode(cfg, h.stores[i], h.hard[i], h.snaps[i], h.nowNs)
	if err != nil {
		h.t.Fatal(err)
	}
	if h.snaps[i] > 0 {
		n.SnapshotAvailable(h.snaps[i])
	}
	h.nodes[i] = n
}

// tick advances time in 1 ms steps, ticking every live member and
// delivering every message after each step.
func (h *scriptHarness) tick(d string) {
	dur, err := parseMs(d)
	if err != nil {
		h.t.Fatal(err)
	}
	for end := h.nowNs + dur; h.nowNs < end; {
		h.nowNs += 1_000_000
		for i, n := range h.nodes {
			if n != nil && !h.frozen[i] {
				_ = n.Tick(h.nowNs)
			}
		}
		h.settle()
	}
}

// thaw drives the given frozen members again: each steps the messages that
// waited for it, at the current time, before anything else happens.
func (h *scriptHarness) thaw(ids []string) {
	for _, id := range ids {
		h.frozen[atoi(h.t, id)] = false
	}
	held := h.held
	h.held = nil
	for _, m := range held {
		switch n := h.nodes[m.To]; {
		case h.frozen[m.To]:
			h.held = append(h.held, m)
		case n != nil:
			_ = n.Step(h.nowNs, &m)
		}
	}
	h.settle()
}

func parseMs(s string) (int64, error) {
	ms, err := strconv.Atoi(strings.TrimSuffix(s, "ms"))
	return int64(ms) * 1_000_000, err
}

// settle runs Ready/Advance on every member and delivers messages until
// nothing is left to do.
func (h *scriptHarness) settle() {
	for range 10_000 {
		busy := false
		for i, n := range h.nodes {
			if n != nil && n.HasReady() {
				busy = true
				h.ready(i, n)
			}
		}
		if len(h.queue) > 0 && !h.holding {
			busy = true
			q := h.queue
			h.queue = nil
			for _, m := range q {
				switch n := h.nodes[m.To]; {
				case n == nil || h.isolated[m.To] || h.isolated[m.From]:
				case h.frozen[m.To]:
					h.held = append(h.held, m)
				default:
					_ = n.Step(h.nowNs, &m)
				}
			}
		}
		if !busy {
			return
		}
	}
	h.t.Fatal("no quiescence")
}

func (h *scriptHarness) ready(i int, n *Node) {
	rd := n.Ready()
	if rd.HardStateChanged {
		h.hard[i] = rd.HardState
	}
	if rd.LogAppended && !h.nosync[i] {
		h.stores[i].Sync()
	}
	for _, m := range rd.Messages {
		m.Data = append([]byte(nil), m.Data...)
		h.queue = append(h.queue, m)
	}
	if rd.StatusChanged {
		st := rd.Status
		h.events = append(h.events, fmt.Sprintf("%dms %d: %v term=%d leader=%d",
			h.nowNs/1_000_000, i, st.State, st.Term, st.Leader))
	}
	n.Advance(rd)
	if o := rd.SnapshotOffer; o.Position > 0 {
		h.install(i, n, o)
	}
}

// install does what a member does with a snapshot offer: it fetches the
// leader's snapshot (here: nothing to fetch, the harness has no service),
// resets its log to start at the offer's position, and tells the node.
func (h *scriptHarness) install(i int, n *Node, o SnapshotOffer) {
	err := h.stores[i].ResetTo(o.Position, TermRecord{Term: o.LogTerm, Base: o.TermBase})
	if err == nil {
		err = n.SnapshotInstalled(h.nowNs, o.Position, 0)
	}
	if err == nil {
		h.snaps[i] = o.Position
	}
	h.events = append(h.events, fmt.Sprintf("%dms %d: install snapshot at %d from %d (term %d base %d) err=%v",
		h.nowNs/1_000_000, i, o.Position, o.Leader, o.LogTerm, o.TermBase, err))
}

func (h *scriptHarness) propose(i int, text string) {
	n := h.nodes[i]
	if n == nil {
		h.events = append(h.events, fmt.Sprintf("%d: down", i))
		return
	}
	start := h.stores[i].End()
	end, err := n.ProposeMessage(h.nowNs, 1, int64(start), []byte(text))
	if err != nil {
		h.events = append(h.events, fmt.Sprintf("%d: %v", i, err))
		return
	}
	h.events = append(h.events, fmt.Sprintf("%d: %q at [%d,%d)", i, text, start, end))
	h.settle()
}

// proposeN proposes n messages on member i, settling after each batch the
// leader's uncommitted bound allows; it prints only the log end.
func (h *scriptHarness) proposeN(i, n int) {
	for k := range n {
		if _, err := h.nodes[i].ProposeMessage(h.nowNs, 1, int64(k), []byte("x")); err != nil {
			h.settle()
			if _, err := h.nodes[i].ProposeMessage(h.nowNs, 1, int64(k), []byte("x")); err != nil {
				h.events = append(h.events, fmt.Sprintf("%d: %v", i, err))
				return
			}
		}
	}
	h.settle()
	h.events = append(h.events, fmt.Sprintf("%d: %d proposed, log end %d", i, n, h.stores[i].End()))
}

func (h *scriptHarness) status() {
	for i, n := range h.nodes {
		if n == nil {
			h.events = append(h.events, fmt.Sprintf("%d: down", i))
			continue
		}
		st := n.Status()
		h.events = append(h.events, fmt.Sprintf("%d: %v term=%d leader=%d end=%d durable=%d commit=%d applied=%d",
			i, st.State, st.Term, st.Leader, st.LogEnd, st.Durable, st.Commit, st.Applied))
	}
}

// log prints member i's log: each entry with its position and term.
func (h *scriptHarness) log(i int) {
	s := h.stores[i]
	b, _ := s.Read(s.Start(), s.End(), nil)
	if s.Start() > 0 {
		h.events = append(h.events, fmt.Sprintf("(log starts at %d)", s.Start()))
	}
	for p := 0; p < len(b); {
		var e LogEntry
		l, err := DecodeEntry(b[p:], &e)
		if err != nil {
			h.events = append(h.events, fmt.Sprintf("%d: bad entry: %v", p, err))
			return
		}
		desc := fmt.Sprintf("%q", e.Payload)
		if e.Type == EntryNewLeadershipTerm {
			desc = fmt.Sprintf("leader=%d", e.LeaderID)
		}
		at := s.Start() + Position(p)
		h.events = append(h.events, fmt.Sprintf("%d term=%d %v %s", at, h.nodes[0].termAtIn(s, at), e.Type, desc))
		p += l
	}
}

// termAtIn returns the term of position p in store s.
func (n *Node) termAtIn(s LogStore, p Position) TermID {
	i := termIndexAt(s.Terms(), p)
	if i < 0 {
		return 0
	}
	return s.Terms()[i].Term
}
