package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"venue/cluster/consensus"
	"venue/cluster/peer"
	"venue/transport"
)

// Bounds checked by Validate.
const (
	// MembersMax bounds the members of a cluster: 7 tolerates 3 failures,
	// and more members only slow the quorum down.
	MembersMax = 7
	// heartbeatIntervalMin and heartbeatIntervalMax bound heartbeat_interval.
	heartbeatIntervalMin = time.Millisecond
	heartbeatIntervalMax = time.Second
	// timeoutMax bounds leader_heartbeat_timeout and election_timeout.
	timeoutMax = time.Minute
	// sessionTimeoutMax bounds session_timeout.
	sessionTimeoutMax = time.Hour
	// sessionTimeoutFailovers: a session must outlive this many failovers
	// (leader_heartbeat_timeout + election_timeout each) without traffic.
	sessionTimeoutFailovers = 2
	// maxSessionsMax bounds max_sessions.
	maxSessionsMax = 1 << 16
	// sessionIngressLimitMax bounds session_ingress_limit in messages.
	sessionIngressLimitMax = 1 << 16
	// snapshotKeepMax bounds snapshot_keep.
	snapshotKeepMax = 1000
	// snapshotIntervalMin and snapshotIntervalMax bound a non-zero
	// snapshot_interval.
	snapshotIntervalMin = time.Second
	snapshotIntervalMax = 7 * 24 * time.Hour
	// secretLengthMin and secretLengthMax bound the secret in bytes.
	secretLengthMin = 16
	secretLengthMax = 1024
	// secretHexPrefix marks a secret written as hex digits.
	secretHexPrefix = "hex:"
	// MTUMax bounds mtu in bytes: members answer clients with datagrams
	// of the cluster's MTU, and a client's transport receives datagrams up
	// to transport.MaxDatagramLengthDefault unless configured otherwise.
	MTUMax = transport.MaxDatagramLengthDefault
)

// SecretBytes returns the member-to-member MAC key: the secret's bytes, or
// the decoded digits after "hex:". Nil when no secret is set.
func (s Settings) SecretBytes() ([]byte, error) {
	b, err := s.secretBytes()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return b, nil
}

func (s Settings) secretBytes() ([]byte, error) {
	if s.Secret == "" {
		return nil, nil
	}
	if digits, ok := strings.CutPrefix(s.Secret, secretHexPrefix); ok {
		b, err := hex.DecodeString(digits)
		if err != nil {
			return nil, fmt.Errorf("[cluster] secret: after %q want an even number of hex digits: %v", secretHexPrefix, err)
		}
		return b, nil
	}
	return []byte(s.Secret), nil
}

// Validate checks every setting and member and returns all problems found,
// joined, each wrapping ErrInvalid.
func (c Cluster) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...))
	}
	c.Settings.validate(add)
	c.validateMembers(add)
	if len(errs) == 0 { // the rules above imply consensus's; check anyway
		for _, m := range c.Members {
			cfg := c.ConsensusConfig(m.ID, fixedRand{})
			if err := cfg.Validate(); err != nil {
				add("member %d: consensus rejects the timeouts: %v", m.ID, err)
			}
		}
	}
	return errors.Join(errs...)
}

type adder func(format string, args ...any)

func (s Settings) validate(add adder) {
	if strings.TrimSpace(s.DataDir) == "" {
		add(`[cluster] data_dir is empty: set a directory for member data, e.g. data_dir = "./venue-data"`)
	}
	if s.Fsync != FsyncNone && s.Fsync != FsyncData {
		add(`[cluster] fsync = %q: want "none" or "data"`, s.Fsync)
	}
	if b, err := s.secretBytes(); err != nil {
		add("%v", err)
	} else if b != nil && (len(b) < secretLengthMin || len(b) > secretLengthMax) {
		add(`[cluster] secret is %d bytes: use %d to %d (e.g. secret = "hex:" + the output of openssl rand -hex 32), or "" for none`,
			len(b), secretLengthMin, secretLengthMax)
	}
	hb, lht, et := s.HeartbeatInterval, s.LeaderHeartbeatTimeout, s.ElectionTimeout
	inRange(add, "heartbeat_interval", hb, heartbeatIntervalMin, heartbeatIntervalMax)
	inRange(add, "leader_heartbeat_timeout", lht, 3*hb, timeoutMax)
	inRange(add, "election_timeout", et, 2*hb, timeoutMax)
	inRange(add, "session_timeout", s.SessionTimeout, sessionTimeoutFailovers*(lht+et), sessionTimeoutMax)
	if s.SnapshotInterval != 0 {
		inRange(add, "snapshot_interval", s.SnapshotInterval, snapshotIntervalMin, snapshotIntervalMax)
	}
	intRange(add, "max_sessions", s.MaxSessions, 1, maxSessionsMax)
	intRange(add, "max_message_bytes", s.MaxMessageBytes, 1, consensus.PayloadLengthMax)
	intRange(add, "session_ingress_limit", s.SessionIngressLimit, 1, sessionIngressLimitMax)
	intRange(add, "snapshot_keep", s.SnapshotKeep, 1, snapshotKeepMax)
	if s.MTU != 0 && (s.MTU < transport.MTULengthMin || s.MTU > MTUMax || s.MTU%transport.FrameAlignment != 0) {
		add("[cluster] mtu = %d: want 0 (automatic) or a multiple of %d in [%d, %d]",
			s.MTU, transport.FrameAlignment, transport.MTULengthMin, MTUMax)
	}
	s.validateMulticast(add)
}

// validateMulticast checks the log multicast keys; the interface only
// matters, and is checked, when log_multicast is set.
func (s Settings) validateMulticast(add adder) {
	intRange(add, "log_multicast_ttl", s.LogMulticastTTL, 1, peer.TTLMax)
	if s.LogMulticast == "" || s.LogMulticastTTL < 1 || s.LogMulticastTTL > peer.TTLMax {
		return
	}
	if err := s.Multicast().Validate(); err != nil {
		add(`[cluster] log_multicast: %v (or "" to replicate by unicast)`, err)
	}
}

// Multicast returns the log multicast settings as peer takes them.
func (s Settings) Multicast() peer.MulticastConfig {
	return peer.MulticastConfig{Group: s.LogMulticast, Interface: s.LogMulticastInterface, TTL: s.LogMulticastTTL}
}

// inRange checks a duration; the minimum may derive from other keys, so the
// message shows the number.
func inRange(add adder, key string, d, lo, hi time.Duration) {
	switch {
	case d <= 0:
		add(`[cluster] %s = "%v": must be positive`, key, d)
	case d < lo || d > hi:
		add(`[cluster] %s = "%v": must be between %v and %v%s`, key, d, lo, hi, rangeWhy(key))
	}
}

// rangeWhy says where a derived minimum comes from.
func rangeWhy(key string) string {
	switch key {
	case "leader_heartbeat_timeout":
		return " (at least 3 heartbeat intervals, so that a lost heartbeat or two does not start an election)"
	case "election_timeout":
		return " (at least 2 heartbeat intervals, for a canvass round)"
	case "session_timeout":
		return fmt.Sprintf(" (at least %d x (leader_heartbeat_timeout + election_timeout), so that sessions survive a failover)",
			sessionTimeoutFailovers)
	}
	return ""
}

func intRange(add adder, key string, v, lo, hi int) {
	if v < lo || v > hi {
		add("[cluster] %s = %d: must be between %d and %d", key, v, lo, hi)
	}
}

func (c Cluster) validateMembers(add adder) {
	n := len(c.Members)
	if n == 0 {
		add("no [[member]] tables: add one per member (id, host, ingress, consensus, log, catchup, archive)")
		return
	}
	if n > MembersMax {
		add("%d [[member]] tables: at most %d members", n, MembersMax)
	}
	for i, m := range c.Members {
		if int(m.ID) != i {
			add("[[member]] ids must run 0..%d with none missing or repeated: found id %d where %d belongs", n-1, m.ID, i)
			return // the checks below index members by id
		}
	}
	endpoints := map[netip.AddrPort]string{}
	dirs := map[string]consensus.MemberID{}
	for _, m := range c.Members {
		m.validate(add, endpoints)
		dir := filepath.Clean(c.MemberDataDir(m.ID))
		if other, dup := dirs[dir]; dup {
			add("[[member]] id = %d: data directory %q is also member %d's: give each member its own data_dir", m.ID, dir, other)
		}
		dirs[dir] = m.ID
	}
}

// validate checks one member's addresses; endpoints maps every endpoint
// seen so far to its owner's key, to report duplicates.
func (m Member) validate(add adder, endpoints map[netip.AddrPort]string) {
	host, err := netip.ParseAddr(m.Host)
	switch {
	case m.Host == "":
		add(`[[member]] id = %d: host is missing: set it to the member's IPv4 address on the cluster network`, m.ID)
	case err != nil || !host.Is4():
		add(`[[member]] id = %d: host = %q: want an IPv4 address (names are not resolved)`, m.ID, m.Host)
	case host.IsUnspecified() || host.IsMulticast():
		add(`[[member]] id = %d: host = %q: want the unicast address other members reach it on`, m.ID, m.Host)
	}
	for _, e := range []struct{ key, val string }{{"ingress", m.Ingress}, {"consensus", m.Consensus},
		{"log", m.Log}, {"catchup", m.Catchup}, {"archive", m.Archive}} {
		key := fmt.Sprintf("[[member]] id = %d: %s", m.ID, e.key)
		if e.val == "" {
			add(`%s is missing: set it to "ipv4:port"`, key)
			continue
		}
		ap, err := peer.ParseEndpoint(e.val)
		if err != nil {
			add("%s: %v", key, err)
			continue
		}
		if owner, dup := endpoints[ap]; dup {
			add("%s = %q: already used by %s: every endpoint needs its own port", key, e.val, owner)
		}
		endpoints[ap] = key
		if e.key == "consensus" && host.IsValid() && ap.Addr() != host {
			add(`%s = %q is not on host %q: members send consensus traffic from their host and are checked against it`,
				key, e.val, m.Host)
		}
	}
}

// MemberDataDir returns member id's data directory: its data_dir, or
// <data_dir>/member-<id>.
func (c Cluster) MemberDataDir(id consensus.MemberID) string {
	if m, ok := c.Member(id); ok && m.DataDir != "" {
		return m.DataDir
	}
	return filepath.Join(c.DataDir, fmt.Sprintf("member-%d", id))
}

// Member returns the member with id.
func (c Cluster) Member(id consensus.MemberID) (Member, bool) {
	for _, m := range c.Members {
		if m.ID == id {
			return m, true
		}
	}
	return Member{}, false
}

// fixedRand satisfies consensus.Config.Validate's need for a random source.
type fixedRand struct{}

func (fixedRand) Uint64() uint64 { return 0 }
