package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"venue/cluster/consensus"
)

// FileLengthMax bounds a configuration file in bytes.
const FileLengthMax = 1 << 20

// Fsync is the durability policy of a member's log.
type Fsync string

// Fsync policies.
const (
	// FsyncNone never fsyncs: a member that crashes with its host may lose
	// acknowledged log (the cluster survives as long as a majority of hosts
	// does not crash at once).
	FsyncNone Fsync = "none"
	// FsyncData fsyncs log data before the member acknowledges it.
	FsyncData Fsync = "data"
)

// Settings is the [cluster] table: what every member shares.
type Settings struct {
	// DataDir holds each member's data in <DataDir>/member-<id>, unless the
	// member sets its own data_dir.
	DataDir string `toml:"data_dir"`
	// Fsync is the log durability policy.
	Fsync Fsync `toml:"fsync"`
	// Secret is the member-to-member MAC key as written: plain text, or
	// "hex:" followed by hex digits. Empty: no MAC (source address checks
	// only). See SecretBytes.
	Secret string `toml:"secret"`
	// HeartbeatInterval: the leader's commit position and the followers'
	// append positions go out at least this often.
	HeartbeatInterval time.Duration `toml:"heartbeat_interval"`
	// LeaderHeartbeatTimeout: a follower that hears no leader for this long
	// starts an election (at least 3 heartbeat intervals).
	LeaderHeartbeatTimeout time.Duration `toml:"leader_heartbeat_timeout"`
	// ElectionTimeout bounds the canvass and ballot (at least 2 heartbeat
	// intervals).
	ElectionTimeout time.Duration `toml:"election_timeout"`
	// SessionTimeout: a client session silent for this long is closed
	// through the log.
	SessionTimeout time.Duration `toml:"session_timeout"`
	// MaxSessions bounds the open client sessions.
	MaxSessions int `toml:"max_sessions"`
	// MaxMessageBytes bounds one client message.
	MaxMessageBytes int `toml:"max_message_bytes"`
	// SessionIngressLimit bounds one session's messages in flight: accepted
	// by the leader but not yet committed. Beyond it the session's ingress
	// is back-pressured.
	SessionIngressLimit int `toml:"session_ingress_limit"`
	// SnapshotKeep is how many snapshots each member keeps.
	SnapshotKeep int `toml:"snapshot_keep"`
	// SnapshotInterval is the time between scheduled snapshots; 0: none.
	SnapshotInterval time.Duration `toml:"snapshot_interval"`
	// LogMulticast is the "ipv4:port" multicast group the leader
	// replicates the log on; empty: unicast to each follower (the
	// default). Catch-up and lagging followers always use unicast.
	LogMulticast string `toml:"log_multicast"`
	// LogMulticastInterface is the interface to send and join the group
	// on ("lo" for members on loopback); empty: the system default.
	LogMulticastInterface string `toml:"log_multicast_interface"`
	// LogMulticastTTL is the group's TTL in hops.
	LogMulticastTTL int `toml:"log_multicast_ttl"`
	// MTU is the largest datagram the members send, in bytes: log,
	// consensus messages and egress to clients. 0: LoopbackMTU when every
	// member is on a loopback address, else transport.MTULengthDefault
	// (fits an Ethernet frame). See Cluster.TransportMTU.
	MTU int `toml:"mtu"`
}

// Member is one [[member]] table.
type Member struct {
	// ID is the member id, 0..n-1.
	ID consensus.MemberID `toml:"id"`
	// Host is the member's IPv4 address on the cluster network. Its
	// consensus endpoint must be on it: member-to-member traffic is sent
	// from it and checked against it.
	Host string `toml:"host"`
	// Ingress is where clients (the FIX gateway) send to the member.
	Ingress string `toml:"ingress"`
	// Consensus is where the member receives consensus messages.
	Consensus string `toml:"consensus"`
	// Log is where the member receives the replicated log.
	Log string `toml:"log"`
	// Catchup is where the member receives log replays while it catches up.
	Catchup string `toml:"catchup"`
	// Archive is the member's archive control endpoint.
	Archive string `toml:"archive"`
	// DataDir overrides <cluster.data_dir>/member-<id>; empty: the default.
	DataDir string `toml:"data_dir"`
}

// Cluster is a whole configuration file: settings and members, in id order
// (Members[i].ID == i once validated).
type Cluster struct {
	Settings
	Members []Member
}

// DefaultSettings returns the [cluster] defaults: LAN timeouts that match
// consensus.DefaultConfig.
func DefaultSettings() Settings {
	return Settings{
		DataDir:                "./venue-data",
		Fsync:                  FsyncData,
		HeartbeatInterval:      25 * time.Millisecond,
		LeaderHeartbeatTimeout: 200 * time.Millisecond,
		ElectionTimeout:        100 * time.Millisecond,
		SessionTimeout:         10 * time.Second,
		MaxSessions:            256,
		MaxMessageBytes:        consensus.PayloadLengthMax,
		SessionIngressLimit:    1024,
		SnapshotKeep:           3,
		LogMulticastTTL:        1,
	}
}

// ErrInvalid wraps every error about the file's content (syntax, unknown
// keys, validation).
var ErrInvalid = errors.New("config: invalid")

// Tables are the top-level tables this package decodes.
var Tables = []string{"cluster", "member"}

// durationKeys are the [cluster] keys that must be written as strings.
var durationKeys = []string{"heartbeat_interval", "leader_heartbeat_timeout", "election_timeout",
	"session_timeout", "snapshot_interval"}

// fileMember is a [[member]] table as decoded: a pointer id, so that a
// missing id is not taken for 0.
type fileMember struct {
	ID        *int64 `toml:"id"`
	Host      string `toml:"host"`
	Ingress   string `toml:"ingress"`
	Consensus string `toml:"consensus"`
	Log       string `toml:"log"`
	Catchup   string `toml:"catchup"`
	Archive   string `toml:"archive"`
	DataDir   string `toml:"data_dir"`
}

type file struct {
	Cluster Settings     `toml:"cluster"`
	Member  []fileMember `toml:"member"`
}

// Parse decodes and validates a configuration file.
func Parse(data []byte) (Cluster, error) {
	c, err := decode(data)
	if err != nil {
		return Cluster{}, err
	}
	if err := c.Validate(); err != nil {
		return Cluster{}, err
	}
	return c, nil
}

// decode reads the [cluster] and [[member]] tables without validating
// their values.
func decode(data []byte) (Cluster, error) {
	if len(data) > FileLengthMax {
		return Cluster{}, fmt.Errorf("%w: file is %d bytes, at most %d", ErrInvalid, len(data), FileLengthMax)
	}
	f := file{Cluster: DefaultSettings()}
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		return Cluster{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := UnknownKeys(md, Tables...); err != nil {
		return Cluster{}, err
	}
	for _, k := range durationKeys {
		if typ := md.Type("cluster", k); typ != "" && typ != "String" {
			return Cluster{}, fmt.Errorf("%w: [cluster] %s: want a duration string such as %s = \"25ms\" (got TOML %s)",
				ErrInvalid, k, k, strings.ToLower(typ))
		}
	}
	c := Cluster{Settings: f.Cluster, Members: make([]Member, 0, len(f.Member))}
	for i, m := range f.Member {
		if m.ID == nil {
			return Cluster{}, fmt.Errorf("%w: [[member]] #%d (host %q) has no id: add id = <0..n-1>", ErrInvalid, i+1, m.Host)
		}
		id := *m.ID
		if id < 0 || id >= MembersMax {
			return Cluster{}, fmt.Errorf("%w: [[member]] #%d id = %d: ids run from 0 to members-1 (at most %d members)",
				ErrInvalid, i+1, id, MembersMax)
		}
		c.Members = append(c.Members, Member{ID: consensus.MemberID(id), Host: m.Host, Ingress: m.Ingress,
			Consensus: m.Consensus, Log: m.Log, Catchup: m.Catchup, Archive: m.Archive, DataDir: m.DataDir})
	}
	sort.SliceStable(c.Members, func(i, j int) bool { return c.Members[i].ID < c.Members[j].ID })
	return c, nil
}

// UnknownKeys returns an error naming every key of md, under the given
// top-level tables, that decoding did not use: cmd/venue calls it with its
// own tables after decoding the same file into its own struct.
func UnknownKeys(md toml.MetaData, tables ...string) error {
	var bad []string
	for _, k := range md.Undecoded() {
		if len(k) > 1 && slices.Contains(tables, k[0]) {
			bad = append(bad, k.String())
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%w: unknown key(s) %s: check the spelling (keys here are never ignored)",
		ErrInvalid, strings.Join(bad, ", "))
}

// CheckTopLevel returns an error naming top-level keys or tables of md that
// are neither this package's (Tables) nor in known, catching a misspelt
// table name that every decoder would otherwise ignore.
func CheckTopLevel(md toml.MetaData, known ...string) error {
	var bad []string
	for _, k := range md.Keys() {
		if len(k) == 1 && !slices.Contains(Tables, k[0]) && !slices.Contains(known, k[0]) {
			bad = append(bad, k[0])
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%w: unknown top-level key(s) or table(s) %s: expected %s",
		ErrInvalid, strings.Join(bad, ", "), strings.Join(append(slices.Clone(Tables), known...), ", "))
}

// ReadFile reads a configuration file of at most FileLengthMax bytes.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, FileLengthMax+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	if len(data) > FileLengthMax {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalid, path, FileLengthMax)
	}
	return data, nil
}

// Load reads and parses the configuration file at path.
func Load(path string) (Cluster, error) {
	data, err := ReadFile(path)
	if err != nil {
		return Cluster{}, err
	}
	c, err := Parse(data)
	if err != nil {
		return Cluster{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}
