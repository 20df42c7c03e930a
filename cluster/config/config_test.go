package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"venue/cluster/consensus"
	"venue/cluster/peer"
	"venue/transport"
)

// exampleFile is the documented example with cmd/venue's tables beside ours.
const exampleFile = `
[venue]
name = "demo"

[cluster]
data_dir = "./venue-data"        # each member uses <data_dir>/member-<id> unless the member sets data_dir
fsync = "data"                   # none | data
secret = ""
heartbeat_interval = "25ms"
leader_heartbeat_timeout = "200ms"
election_timeout = "100ms"
session_timeout = "10s"
max_sessions = 256
max_message_bytes = 16384
session_ingress_limit = 1024
snapshot_keep = 3
snapshot_interval = "0s"         # 0 = no scheduled snapshots

[[member]]
id = 1
host = "127.0.0.1"
ingress = "127.0.0.1:9011"
consensus = "127.0.0.1:9021"
log = "127.0.0.1:9031"
catchup = "127.0.0.1:9041"
archive = "127.0.0.1:9051"

[[member]]
id = 0
host = "127.0.0.1"
ingress = "127.0.0.1:9010"
consensus = "127.0.0.1:9020"
log = "127.0.0.1:9030"
catchup = "127.0.0.1:9040"
archive = "127.0.0.1:9050"

[[member]]
id = 2
host = "127.0.0.1"
ingress = "127.0.0.1:9012"
consensus = "127.0.0.1:9022"
log = "127.0.0.1:9032"
catchup = "127.0.0.1:9042"
archive = "127.0.0.1:9052"
data_dir = "/srv/venue/m2"

[gateway]
listen = "0.0.0.0:9876"

[[instrument]]
symbol = "ABC"
`

func TestParseExample(t *testing.T) {
	c, err := Parse([]byte(exampleFile))
	if err != nil {
		t.Fatal(err)
	}
	want := Loopback(3, 9010, "./venue-data")
	want.Members[2].DataDir = "/srv/venue/m2"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if got := c.MemberDataDir(0); got != filepath.Join("venue-data", "member-0") {
		t.Errorf("member 0 data dir %q", got)
	}
	if got := c.MemberDataDir(2); got != "/srv/venue/m2" {
		t.Errorf("member 2 data dir %q", got)
	}
}

// Keys left out of [cluster] take the defaults; [cluster] itself may go.
func TestDefaults(t *testing.T) {
	members := exampleFile[strings.Index(exampleFile, "[[member]]"):strings.Index(exampleFile, "[gateway]")]
	for _, text := range []string{members, "[cluster]\nmax_sessions = 9\n" + members} {
		c, err := Parse([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		want := DefaultSettings()
		if strings.Contains(text, "max_sessions") {
			want.MaxSessions = 9
		}
		if c.Settings != want {
			t.Errorf("settings %+v, want %+v", c.Settings, want)
		}
	}
}

// loopbackWith returns the 3-member loopback cluster changed by f.
func loopbackWith(f func(c *Cluster)) Cluster {
	c := Loopback(3, 9010, "data")
	f(&c)
	return c
}

func TestValidationErrors(t *testing.T) {
	cases := []struct {
		name string
		c    Cluster
		want []string // substrings of the error
	}{
		{"data_dir", loopbackWith(func(c *Cluster) { c.DataDir = " " }), []string{"data_dir is empty"}},
		{"fsync", loopbackWith(func(c *Cluster) { c.Fsync = "always" }), []string{`fsync = "always"`, `"none" or "data"`}},
		{"secret short", loopbackWith(func(c *Cluster) { c.Secret = "short" }), []string{"secret is 5 bytes"}},
		{"secret hex short", loopbackWith(func(c *Cluster) { c.Secret = "hex:00ff" }), []string{"secret is 2 bytes"}},
		{"secret bad hex", loopbackWith(func(c *Cluster) { c.Secret = "hex:zz" }), []string{"secret", "hex digits"}},
		{"secret long", loopbackWith(func(c *Cluster) { c.Secret = strings.Repeat("x", secretLengthMax+1) }), []string{"secret is 1025 bytes"}},
		{"heartbeat zero", loopbackWith(func(c *Cluster) { c.HeartbeatInterval = 0 }), []string{"heartbeat_interval", "must be positive"}},
		{"heartbeat negative", loopbackWith(func(c *Cluster) { c.HeartbeatInterval = -time.Second }), []string{"heartbeat_interval", "positive"}},
		{"heartbeat tiny", loopbackWith(func(c *Cluster) { c.HeartbeatInterval = time.Microsecond }), []string{"heartbeat_interval", "between 1ms and 1s"}},
		{"heartbeat huge", loopbackWith(func(c *Cluster) {
			c.HeartbeatInterval = 2 * time.Second
			c.LeaderHeartbeatTimeout, c.ElectionTimeout = 10*time.Second, 5*time.Second
			c.SessionTimeout = time.Minute
		}), []string{"heartbeat_interval", "between 1ms and 1s"}},
		{"leader timeout vs heartbeat", loopbackWith(func(c *Cluster) { c.LeaderHeartbeatTimeout = 50 * time.Millisecond }),
			[]string{"leader_heartbeat_timeout", "between 75ms and 1m0s", "3 heartbeat intervals"}},
		{"leader timeout zero", loopbackWith(func(c *Cluster) { c.LeaderHeartbeatTimeout = 0 }), []string{"leader_heartbeat_timeout", "positive"}},
		{"leader timeout huge", loopbackWith(func(c *Cluster) { c.LeaderHeartbeatTimeout = time.Hour }), []string{"leader_heartbeat_timeout", "between"}},
		{"election vs heartbeat", loopbackWith(func(c *Cluster) { c.ElectionTimeout = 30 * time.Millisecond }),
			[]string{"election_timeout", "between 50ms", "2 heartbeat intervals"}},
		{"election zero", loopbackWith(func(c *Cluster) { c.ElectionTimeout = 0 }), []string{"election_timeout", "positive"}},
		{"session vs failover", loopbackWith(func(c *Cluster) { c.SessionTimeout = 500 * time.Millisecond }),
			[]string{"session_timeout", "between 600ms and 1h0m0s", "survive a failover"}},
		{"session huge", loopbackWith(func(c *Cluster) { c.SessionTimeout = 2 * time.Hour }), []string{"session_timeout", "between"}},
		{"snapshot interval short", loopbackWith(func(c *Cluster) { c.SnapshotInterval = time.Millisecond }), []string{"snapshot_interval", "between 1s"}},
		{"snapshot interval negative", loopbackWith(func(c *Cluster) { c.SnapshotInterval = -time.Second }), []string{"snapshot_interval", "positive"}},
		{"max_sessions", loopbackWith(func(c *Cluster) { c.MaxSessions = 0 }), []string{"max_sessions = 0", "between 1 and 65536"}},
		{"max_sessions huge", loopbackWith(func(c *Cluster) { c.MaxSessions = maxSessionsMax + 1 }), []string{"max_sessions"}},
		{"max_message_bytes", loopbackWith(func(c *Cluster) { c.MaxMessageBytes = consensus.PayloadLengthMax + 1 }), []string{"max_message_bytes = 16385", "between 1 and 16384"}},
		{"session_ingress_limit", loopbackWith(func(c *Cluster) { c.SessionIngressLimit = -1 }), []string{"session_ingress_limit = -1"}},
		{"snapshot_keep", loopbackWith(func(c *Cluster) { c.SnapshotKeep = 0 }), []string{"snapshot_keep = 0"}},
		{"no members", loopbackWith(func(c *Cluster) { c.Members = nil }), []string{"no [[member]] tables"}},
		{"too many members", Loopback(MembersMax+1, 9010, "d"), []string{"8 [[member]] tables: at most 7"}},
		{"id gap", loopbackWith(func(c *Cluster) { c.Members[2].ID = 3 }), []string{"ids must run 0..2", "found id 3 where 2 belongs"}},
		{"id repeated", loopbackWith(func(c *Cluster) { c.Members[2].ID = 1 }), []string{"ids must run 0..2"}},
		{"host missing", loopbackWith(func(c *Cluster) { c.Members[1].Host = "" }), []string{"id = 1: host is missing"}},
		{"host name", loopbackWith(func(c *Cluster) { c.Members[1].Host = "node1" }), []string{`id = 1: host = "node1"`, "IPv4"}},
		{"host ipv6", loopbackWith(func(c *Cluster) { c.Members[1].Host = "::1" }), []string{`host = "::1"`, "IPv4"}},
		{"host unspecified", loopbackWith(func(c *Cluster) {
			c.Members[1].Host = "0.0.0.0"
		}), []string{`host = "0.0.0.0"`, "unicast"}},
		{"endpoint missing", loopbackWith(func(c *Cluster) { c.Members[0].Log = "" }), []string{"id = 0: log is missing"}},
		{"endpoint no port", loopbackWith(func(c *Cluster) { c.Members[0].Ingress = "127.0.0.1" }), []string{"id = 0: ingress", "ipv4:port"}},
		{"endpoint port 0", loopbackWith(func(c *Cluster) { c.Members[0].Catchup = "127.0.0.1:0" }), []string{"id = 0: catchup", "non-zero port"}},
		{"endpoint port range", loopbackWith(func(c *Cluster) { c.Members[0].Archive = "127.0.0.1:70000" }), []string{"id = 0: archive"}},
		{"endpoint name", loopbackWith(func(c *Cluster) { c.Members[0].Archive = "localhost:9050" }), []string{"id = 0: archive", "ipv4:port"}},
		{"endpoint multicast", loopbackWith(func(c *Cluster) { c.Members[0].Log = "239.1.1.1:9030" }), []string{"id = 0: log", "unicast"}},
		{"endpoint duplicate across members", loopbackWith(func(c *Cluster) { c.Members[2].Consensus = c.Members[0].Consensus }),
			[]string{`id = 2: consensus = "127.0.0.1:9020": already used by [[member]] id = 0: consensus`}},
		{"endpoint duplicate within member", loopbackWith(func(c *Cluster) { c.Members[1].Log = c.Members[1].Ingress }),
			[]string{"id = 1: log", "already used by [[member]] id = 1: ingress"}},
		{"consensus off host", loopbackWith(func(c *Cluster) { c.Members[1].Consensus = "127.0.0.2:9021" }),
			[]string{"id = 1: consensus", `is not on host "127.0.0.1"`}},
		{"data dirs collide", loopbackWith(func(c *Cluster) { c.Members[1].DataDir = "data/member-0" }),
			[]string{"id = 1: data directory", "also member 0's"}},
		{"log_multicast not multicast", loopbackWith(func(c *Cluster) { c.LogMulticast = "10.0.0.1:40201" }),
			[]string{"[cluster] log_multicast", "IPv4 multicast address", `or ""`}},
		{"log_multicast no port", loopbackWith(func(c *Cluster) { c.LogMulticast = "239.255.20.1" }),
			[]string{"[cluster] log_multicast", "ipv4:port"}},
		{"log_multicast port 0", loopbackWith(func(c *Cluster) { c.LogMulticast = "239.255.20.1:0" }),
			[]string{"[cluster] log_multicast", "non-zero port"}},
		{"log_multicast_interface", loopbackWith(func(c *Cluster) {
			c.LogMulticast, c.LogMulticastInterface = "239.255.20.1:40201", "lo|ttl=9"
		}), []string{"[cluster] log_multicast", "not an interface name"}},
		{"log_multicast_ttl zero", loopbackWith(func(c *Cluster) { c.LogMulticastTTL = 0 }),
			[]string{"log_multicast_ttl = 0", "between 1 and 255"}},
		{"log_multicast_ttl huge", loopbackWith(func(c *Cluster) { c.LogMulticast, c.LogMulticastTTL = "239.255.20.1:1", 256 }),
			[]string{"log_multicast_ttl = 256"}},
		{"mtu too small", loopbackWith(func(c *Cluster) { c.MTU = 32 }), []string{"[cluster] mtu = 32", "multiple of 32"}},
		{"mtu unaligned", loopbackWith(func(c *Cluster) { c.MTU = 1400 }), []string{"[cluster] mtu = 1400"}},
		{"mtu above clients' buffers", loopbackWith(func(c *Cluster) { c.MTU = 16384 }), []string{"[cluster] mtu = 16384", "8192]"}},
		{"two problems at once", loopbackWith(func(c *Cluster) { c.Fsync = "x"; c.MaxSessions = 0 }),
			[]string{"fsync", "max_sessions"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			if err == nil {
				t.Fatal("valid")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

// Errors found while reading the file, before validation.
func TestParseErrors(t *testing.T) {
	member := "[[member]]\nid = 0\nhost = \"127.0.0.1\"\ningress = \"127.0.0.1:1\"\nconsensus = \"127.0.0.1:2\"\n" +
		"log = \"127.0.0.1:3\"\ncatchup = \"127.0.0.1:4\"\narchive = \"127.0.0.1:5\"\n"
	if _, err := Parse([]byte(member)); err != nil {
		t.Fatalf("the base file is invalid: %v", err)
	}
	cases := []struct {
		name, text string
		want       []string
	}{
		{"syntax", "[cluster\n" + member, []string{"toml: line 2"}},
		{"unknown cluster key", "[cluster]\nheartbeat_intervall = \"25ms\"\n" + member, []string{"unknown key", "cluster.heartbeat_intervall"}},
		{"unknown member key", member + "hots = \"x\"\n", []string{"unknown key", "member.hots"}},
		{"cluster subtable", "[cluster.extra]\na = 1\n" + member, []string{"unknown key", "cluster.extra"}},
		{"integer duration", "[cluster]\nheartbeat_interval = 25\n" + member, []string{"heartbeat_interval: want a duration string", `"25ms"`, "got TOML integer"}},
		{"bad duration", "[cluster]\nelection_timeout = \"100 ms\"\n" + member, []string{"election_timeout"}},
		{"wrong type", "[cluster]\nmax_sessions = \"many\"\n" + member, []string{"max_sessions"}},
		{"missing id", strings.Replace(member, "id = 0\n", "", 1), []string{"#1", "has no id"}},
		{"negative id", strings.Replace(member, "id = 0", "id = -1", 1), []string{"id = -1"}},
		{"huge id", strings.Replace(member, "id = 0", "id = 99999999999", 1), []string{"id = 99999999999"}},
		{"float id", strings.Replace(member, "id = 0", "id = 0.5", 1), []string{"id"}},
		{"member not a table", "member = 3\n", []string{"member"}},
		{"too big", strings.Repeat("#", FileLengthMax+1), []string{"at most"}},
		{"validation", strings.Replace(member, `"127.0.0.1:5"`, `"127.0.0.1:4"`, 1), []string{"already used"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.text))
			if err == nil {
				t.Fatal("parsed")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestLoopbackValidates(t *testing.T) {
	for n := 1; n <= MembersMax; n++ {
		c := Loopback(n, DefaultBasePort, "d")
		if err := c.Validate(); err != nil {
			t.Errorf("%d members: %v", n, err)
		}
		for i, m := range c.Members {
			if int(m.ID) != i || m.Consensus != "127.0.0.1:"+strconv.Itoa(9020+i) || m.Archive != "127.0.0.1:"+strconv.Itoa(9050+i) {
				t.Errorf("member %d: %+v", i, m)
			}
		}
	}
	if Loopback(0, 9010, "d").Validate() == nil || Loopback(3, 65500, "d").Validate() == nil {
		t.Error("bad loopback clusters validate")
	}
}

func TestRoundTrip(t *testing.T) {
	odd := loopbackWith(func(c *Cluster) {
		c.DataDir = "data \"quoted\" \\ back\tslash\x01 ünï"
		c.Secret = "hex:" + strings.Repeat("ab", 32)
		c.Fsync = FsyncNone
		c.HeartbeatInterval = 10 * time.Millisecond
		c.LeaderHeartbeatTimeout = 1500 * time.Millisecond
		c.ElectionTimeout = 90 * time.Millisecond
		c.SessionTimeout = 90 * time.Minute / 2
		c.SnapshotInterval = time.Hour + 30*time.Second
		c.MaxSessions, c.MaxMessageBytes, c.SessionIngressLimit, c.SnapshotKeep = 7, 512, 3, 9
		c.LogMulticast, c.LogMulticastInterface, c.LogMulticastTTL = "239.255.20.1:40201", "eth1", 4
		c.MTU = 4096
		c.Members[1].DataDir = "/srv/m1"
	})
	for _, c := range []Cluster{Loopback(1, 9010, "d"), Loopback(3, 9010, "./venue-data"), Loopback(7, 20000, "/x"), odd} {
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		b, err := Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("%v in\n%s", err, b)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip:\n got %+v\nwant %+v\n%s", got, c, b)
		}
	}
	if _, err := Marshal(loopbackWith(func(c *Cluster) { c.DataDir = "\xff" })); err == nil {
		t.Error("invalid UTF-8 marshalled")
	}
}

func TestWriteExample(t *testing.T) {
	var b bytes.Buffer
	if err := WriteExample(&b); err != nil {
		t.Fatal(err)
	}
	c, err := Parse(b.Bytes())
	if err != nil {
		t.Fatalf("%v in\n%s", err, b.String())
	}
	if !reflect.DeepEqual(c, Loopback(DefaultMembers, DefaultBasePort, DefaultSettings().DataDir)) {
		t.Errorf("example is %+v", c)
	}
	for _, want := range []string{"[cluster]", "[[member]]", "# ", `heartbeat_interval = "25ms"`, `consensus = "127.0.0.1:9020"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("example lacks %q", want)
		}
	}
}

func TestWriteFileLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "venue.toml")
	c := loopbackWith(func(c *Cluster) { c.Secret = "a long enough shared secret" })
	if err := WriteFile(path, c); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v", fi.Mode(), err)
	}
	got, err := Load(path)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("load: %v %+v", err, got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := os.WriteFile(path, []byte("[cluster]\nfsync = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, ErrInvalid) {
		t.Errorf("load of a bad file: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("load of a missing file: %v", err)
	}
	if err := os.WriteFile(path, bytes.Repeat([]byte("#"), FileLengthMax+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("load of a huge file: %v", err)
	}
}

func TestConsensusConfig(t *testing.T) {
	c := Loopback(3, 9010, "d")
	got := c.ConsensusConfig(2, nil)
	if want := consensus.DefaultConfig(2, 3, nil); got != want {
		t.Errorf("defaults do not map onto consensus defaults:\n got %+v\nwant %+v", got, want)
	}
	c.HeartbeatInterval, c.LeaderHeartbeatTimeout, c.ElectionTimeout = 5*time.Millisecond, 15*time.Millisecond, 10*time.Millisecond
	got = c.ConsensusConfig(1, fixedRand{})
	if got.HeartbeatIntervalNs != 5e6 || got.LeaderHeartbeatTimeoutNs != 15e6 || got.ElectionTimeoutNs != 10e6 ||
		got.RetransmitTimeoutNs != 10e6 || got.NominationDelayMaxNs != 4e6 || got.Members != 3 || got.ID != 1 {
		t.Errorf("mapped %+v", got)
	}
	if err := got.Validate(); err != nil {
		t.Error(err)
	}
}

func TestPeerConfig(t *testing.T) {
	c := loopbackWith(func(c *Cluster) { c.Secret = "hex:" + strings.Repeat("0f", 16) })
	pc, err := c.PeerConfig(nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if pc.Self != 1 || len(pc.Members) != 3 || pc.Members[2].ConsensusEndpoint != "127.0.0.1:9022" ||
		!bytes.Equal(pc.Secret, bytes.Repeat([]byte{0x0f}, 16)) || pc.AppendDataMax != 64<<10 {
		t.Errorf("peer config %+v", pc)
	}
	if pc.Multicast.Enabled() {
		t.Errorf("multicast on by default: %+v", pc.Multicast)
	}
	c.LogMulticast, c.LogMulticastInterface = "239.255.20.1:40201", "lo"
	if pc, err = c.PeerConfig(nil, 1); err != nil || pc.Multicast != (peer.MulticastConfig{Group: "239.255.20.1:40201", Interface: "lo", TTL: 1}) {
		t.Errorf("multicast peer config %+v, %v", pc.Multicast, err)
	}
	c.Secret = "hex:0"
	if _, err := c.PeerConfig(nil, 1); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad secret: %v", err)
	}
}

func TestTransportMTU(t *testing.T) {
	cases := []struct {
		name string
		c    Cluster
		want int
	}{
		{"loopback: automatic", Loopback(3, 9010, "d"), LoopbackMTU},
		{"loopback: set", loopbackWith(func(c *Cluster) { c.MTU = 1408 }), 1408},
		{"one member off loopback", loopbackWith(func(c *Cluster) { c.Members[2].Host = "10.0.0.3" }), transport.MTULengthDefault},
		{"other loopback addresses", loopbackWith(func(c *Cluster) { c.Members[1].Host = "127.0.0.2" }), LoopbackMTU},
		{"LAN: set", loopbackWith(func(c *Cluster) { c.Members[0].Host, c.MTU = "10.0.0.1", 8192 }), 8192},
		{"no members", Cluster{Settings: DefaultSettings()}, transport.MTULengthDefault},
	}
	for _, tc := range cases {
		if got := tc.c.TransportMTU(); got != tc.want {
			t.Errorf("%s: TransportMTU() = %d, want %d", tc.name, got, tc.want)
		}
	}
	if err := transport.CheckMTU(LoopbackMTU); err != nil || LoopbackMTU > MTUMax {
		t.Errorf("LoopbackMTU %d: %v (max %d)", LoopbackMTU, err, MTUMax)
	}
}

// cmd/venue decodes the same file into its own tables and checks its keys.
func TestCmdTables(t *testing.T) {
	var v struct {
		Venue   struct{ Name string } `toml:"venue"`
		Gateway struct {
			Listen string `toml:"listen"`
		} `toml:"gateway"`
		Instrument []struct {
			Symbol string `toml:"symbol"`
		} `toml:"instrument"`
	}
	md, err := toml.Decode(exampleFile, &v)
	if err != nil {
		t.Fatal(err)
	}
	if err := UnknownKeys(md, "venue", "gateway", "instrument"); err != nil {
		t.Error(err)
	}
	if err := CheckTopLevel(md, "venue", "gateway", "instrument"); err != nil {
		t.Error(err)
	}
	if err := CheckTopLevel(md, "venue", "gateway"); err == nil || !strings.Contains(err.Error(), "instrument") {
		t.Errorf("unknown table not reported: %v", err)
	}
	md, err = toml.Decode(exampleFile+"\n[gateway.tls]\ncert = \"x\"\n", &v)
	if err != nil {
		t.Fatal(err)
	}
	if err := UnknownKeys(md, "venue", "gateway", "instrument"); err == nil || !strings.Contains(err.Error(), "gateway.tls") {
		t.Errorf("unknown gateway key not reported: %v", err)
	}
}

func TestConstants(t *testing.T) {
	cc := consensus.DefaultConfig(0, MembersMax, fixedRand{})
	if cc.Validate() != nil {
		t.Error("consensus does not take MembersMax members")
	}
	d := DefaultSettings()
	if d.MaxMessageBytes != consensus.PayloadLengthMax || DefaultMembers > MembersMax ||
		DefaultBasePort+4*loopbackPortStride+MembersMax > 65535 || MembersMax >= loopbackPortStride {
		t.Error("bounds out of order")
	}
}
