package failover

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"venue/archive"
	"venue/cluster/consensus"
	"venue/cluster/logstore"
)

// testEntry is a session message of the load's shape: seq in the payload,
// correlation id seq+1 (corr overrides it when set).
type testEntry struct {
	seq  int64
	corr int64
}

// writeLog writes a member log of a term-1 leadership entry followed by
// the session messages of entries, in dir, and returns its end.
func writeLog(t *testing.T, dir string, session consensus.SessionID, entries []testEntry) consensus.Position {
	t.Helper()
	st, err := logstore.Open(logstore.Config{Dir: dir, Fsync: archive.FsyncNone})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := consensus.AppendEntry(nil, &consensus.LogEntry{Type: consensus.EntryNewLeadershipTerm, TermID: 1})
	for _, e := range entries {
		p := make([]byte, loadPayloadMin)
		binary.LittleEndian.PutUint64(p, uint64(e.seq))
		corr := e.corr
		if corr == 0 {
			corr = e.seq + 1
		}
		b = consensus.AppendEntry(b, &consensus.LogEntry{Type: consensus.EntrySessionMessage, SessionID: session,
			CorrelationID: corr, Payload: p})
	}
	if err := st.Append(1, b); err != nil {
		t.Fatal(err)
	}
	return st.End()
}

func seqs(from, to int64) []testEntry {
	var es []testEntry
	for s := from; s < to; s++ {
		es = append(es, testEntry{seq: s})
	}
	return es
}

// entryLength is one test message entry's length in the log.
var entryLength = consensus.Position(consensus.EntryLength(&consensus.LogEntry{Type: consensus.EntrySessionMessage,
	Payload: make([]byte, loadPayloadMin)}))

// TestAuditLogs: the committed prefix compared across members: identical,
// shorter (a member down at the end), different (divergent), and the
// session's correlation ids in order.
func TestAuditLogs(t *testing.T) {
	const session = 3
	for _, tc := range []struct {
		name                 string
		logs                 [][]testEntry
		committed            int // entries of logs[0] (after the term entry) committed
		short, divergent     int
		outOfOrder, messages int64
	}{
		{"identical", [][]testEntry{seqs(0, 10), seqs(0, 10), seqs(0, 10)}, 10, 0, 0, 0, 10},
		{"uncommitted tails may differ", [][]testEntry{seqs(0, 10), seqs(0, 8), append(seqs(0, 8), testEntry{seq: 99})}, 8, 0, 0, 0, 8},
		{"one short", [][]testEntry{seqs(0, 10), seqs(0, 4), seqs(0, 10)}, 10, 1, 0, 0, 10},
		{"one divergent", [][]testEntry{seqs(0, 10), append(seqs(0, 5), seqs(6, 11)...), seqs(0, 10)}, 10, 0, 1, 0, 10},
		{"short and divergent", [][]testEntry{seqs(0, 10), seqs(1, 4), seqs(0, 10)}, 10, 1, 1, 0, 10},
		{"a message twice", [][]testEntry{append(seqs(0, 5), seqs(4, 6)...)}, 7, 0, 0, 1, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			var dirs []string
			for i, l := range tc.logs {
				dirs = append(dirs, filepath.Join(root, string(rune('a'+i))))
				writeLog(t, dirs[i], session, l)
			}
			committed := consensus.Position(consensus.EntryLength(&consensus.LogEntry{Type: consensus.EntryNewLeadershipTerm})) +
				consensus.Position(tc.committed)*entryLength
			var seen int64
			a, err := AuditLogs(dirs, committed, func(_ consensus.Position, e *consensus.LogEntry) {
				if e.Type == consensus.EntrySessionMessage {
					seen++
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if a.Short != tc.short || a.Divergent != tc.divergent || a.OutOfOrder != tc.outOfOrder ||
				a.SessionMessages != tc.messages || seen != tc.messages || a.Entries != tc.messages+1 {
				t.Fatalf("got %+v (seen %d)", a, seen)
			}
		})
	}
}

func TestAuditLogsNeedsAMemberWithTheWholeLog(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "m")
	end := writeLog(t, dir, 1, seqs(0, 3))
	if _, err := AuditLogs([]string{dir}, end+entryLength, nil); err == nil || !strings.Contains(err.Error(), "no member") {
		t.Fatalf("audit past every log's end: %v", err)
	}
	if _, err := AuditLogs([]string{filepath.Join(t.TempDir(), "missing")}, 0, nil); err == nil {
		t.Fatal("audit of a missing directory succeeded")
	}
}

// loadWith is a Load as CheckLoad sees it: statuses only.
func loadWith(status ...uint8) *Load {
	return &Load{status: status, stats: LoadStats{Sent: int64(len(status))}}
}

// TestCheckLoad: each message's fate as the client saw it against the
// committed log.
func TestCheckLoad(t *testing.T) {
	const session = 5
	acked, echoed, unknown := msgSent|msgAcked, msgSent|msgAcked|msgEchoed, msgSent|msgUnknown
	for _, tc := range []struct {
		name   string
		load   *Load
		log    []testEntry
		want   Safety
		unsafe bool
	}{
		{"all there", loadWith(echoed, echoed, acked), seqs(0, 3), Safety{AckedNotEchoed: 1}, false},
		{"acked lost", loadWith(echoed, acked, echoed), []testEntry{{seq: 0}, {seq: 2}}, Safety{Lost: 1, AckedNotEchoed: 1}, true},
		{"echoed only, lost", loadWith(msgSent | msgEchoed), nil, Safety{Lost: 1}, true},
		{"unresolved may be missing", loadWith(echoed, msgSent), seqs(0, 1), Safety{}, false},
		{"handed back and absent", loadWith(echoed, unknown), seqs(0, 1), Safety{}, false},
		{"handed back but present", loadWith(echoed, unknown), seqs(0, 2), Safety{UnknownInLog: 1}, true},
		{"twice", loadWith(echoed, echoed), []testEntry{{seq: 0}, {seq: 1}, {seq: 1}}, Safety{Duplicates: 1}, true},
		{"never sent", loadWith(echoed), []testEntry{{seq: 0}, {seq: 7}}, Safety{Duplicates: 1}, true},
		{"wrong correlation id", loadWith(echoed, acked), []testEntry{{seq: 0}, {seq: 1, corr: 9}},
			Safety{Duplicates: 1, Lost: 1, AckedNotEchoed: 1}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "m")
			end := writeLog(t, dir, session, tc.log)
			s, err := CheckLoad([]string{dir}, tc.load, session, end)
			if err != nil {
				t.Fatal(err)
			}
			if (len(s.Examples) > 0) != tc.unsafe {
				t.Errorf("examples %q", s.Examples)
			}
			s.LogEntries, s.Examples, s.OutOfOrder, s.EchoGaps = 0, nil, 0, nil
			if !reflect.DeepEqual(s, tc.want) {
				t.Fatalf("got %+v, want %+v", s, tc.want)
			}
			if err := s.Check(); (err != nil) != tc.unsafe || (err != nil && !errors.Is(err, ErrUnsafe)) {
				t.Fatalf("Check: %v", err)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	s := []int64{50, 10, 40, 20, 30}
	for _, tc := range []struct {
		q    float64
		want int64
	}{{0, 10}, {20, 10}, {21, 20}, {50, 30}, {99, 50}, {100, 50}} {
		if got := percentile(s, tc.q); got != tc.want {
			t.Errorf("p%v = %d, want %d", tc.q, got, tc.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
	if s[0] != 50 {
		t.Error("percentile sorted its argument")
	}
}
