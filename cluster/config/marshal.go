package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// commentColumn is where Marshal starts a value's trailing comment.
const commentColumn = 36

// fileHeader opens every file Marshal writes.
const fileHeader = `# venue cluster configuration: one file describes every member.
# Start each member with: venue node --config FILE --id N
# Durations are Go duration strings ("25ms", "10s"); sizes are in bytes.
# cmd/venue may add its own tables ([venue], [gateway], ...) to this file.
`

// Marshal encodes c as a commented TOML file that Parse reads back to c.
// It fails only for strings TOML cannot hold (invalid UTF-8).
func Marshal(c Cluster) ([]byte, error) {
	w := &tomlWriter{}
	w.raw(fileHeader)
	w.raw("\n[cluster]\n")
	s := c.Settings
	w.str("data_dir", s.DataDir, "each member uses <data_dir>/member-<id> unless it sets data_dir")
	w.str("fsync", string(s.Fsync), `"none" | "data": fsync log data before acknowledging it`)
	w.str("secret", s.Secret, `member-to-member MAC key, >= 16 bytes: plain text or "hex:"+digits; "" = none`)
	w.dur("heartbeat_interval", s.HeartbeatInterval, "leader and followers send positions at least this often")
	w.dur("leader_heartbeat_timeout", s.LeaderHeartbeatTimeout, ">= 3 heartbeats: silence before an election")
	w.dur("election_timeout", s.ElectionTimeout, ">= 2 heartbeats: bounds canvass and ballot")
	w.dur("session_timeout", s.SessionTimeout, "a silent client session is closed after this")
	w.num("max_sessions", s.MaxSessions, "open client sessions")
	w.num("max_message_bytes", s.MaxMessageBytes, "one client message")
	w.num("session_ingress_limit", s.SessionIngressLimit, "per-session messages accepted but not yet committed")
	w.num("snapshot_keep", s.SnapshotKeep, "snapshots kept per member")
	w.dur("snapshot_interval", s.SnapshotInterval, `"0s" = no scheduled snapshots`)
	w.str("log_multicast", s.LogMulticast, `"group:port" to replicate the log by multicast; "" = unicast`)
	w.str("log_multicast_interface", s.LogMulticastInterface, `e.g. "lo" on loopback; "" = system default`)
	w.num("log_multicast_ttl", s.LogMulticastTTL, "multicast hops")
	w.num("mtu", s.MTU, "largest datagram in bytes; 0 = 8192 on loopback, else 1408")
	for i, m := range c.Members {
		note := func(s string) string { return map[bool]string{true: s}[i == 0] } // comment the first only
		w.raw("\n[[member]]\n")
		w.num("id", int(m.ID), note("0..n-1"))
		w.str("host", m.Host, note("IPv4 address on the cluster network; consensus is sent from it"))
		w.str("ingress", m.Ingress, note("clients (the FIX gateway) send here"))
		w.str("consensus", m.Consensus, note("consensus messages from other members; on host"))
		w.str("log", m.Log, note("the replicated log from the leader"))
		w.str("catchup", m.Catchup, note("log replay while catching up"))
		w.str("archive", m.Archive, note("archive control"))
		if m.DataDir != "" {
			w.str("data_dir", m.DataDir, "")
		}
	}
	if w.err != nil {
		return nil, w.err
	}
	return w.buf.Bytes(), nil
}

// WriteExample writes the embedded default cluster (DefaultMembers on
// loopback from DefaultBasePort) as a commented file.
func WriteExample(w io.Writer) error {
	b, err := Marshal(Loopback(DefaultMembers, DefaultBasePort, DefaultSettings().DataDir))
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("config: write example: %w", err)
	}
	return nil
}

// WriteFile writes c to path atomically (a temporary file renamed over
// path), readable by the owner only because it may hold the secret.
func WriteFile(path string, c Cluster) error {
	b, err := Marshal(c)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("config: write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("config: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("config: sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("config: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("config: write %s: %w", path, err)
	}
	return nil
}

// tomlWriter writes key = value lines with aligned trailing comments.
type tomlWriter struct {
	buf bytes.Buffer
	err error
}

func (w *tomlWriter) raw(s string) { w.buf.WriteString(s) }

func (w *tomlWriter) line(key, value, comment string) {
	l := key + " = " + value
	if comment != "" {
		l += strings.Repeat(" ", max(1, commentColumn-len(l))) + "# " + comment
	}
	w.buf.WriteString(l + "\n")
}

func (w *tomlWriter) str(key, v, comment string) {
	q, err := quote(v)
	if err != nil && w.err == nil {
		w.err = fmt.Errorf("config: marshal %s: %w", key, err)
	}
	w.line(key, q, comment)
}

func (w *tomlWriter) num(key string, v int, comment string) { w.line(key, fmt.Sprint(v), comment) }

func (w *tomlWriter) dur(key string, d time.Duration, comment string) {
	w.line(key, `"`+d.String()+`"`, comment)
}

// quote returns s as a TOML basic string: quotes and backslashes escaped,
// control characters as \u escapes of four hex digits (TOML forbids them
// raw).
func quote(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%q is not valid UTF-8", s)
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}
