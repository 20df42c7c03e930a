package fixgateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"

	"venue/engine"
)

// Gateway settings that extend quickfixgo's settings file. quickfixgo
// ignores keys it does not know, so one file configures both the acceptor
// (ports, store, TLS, heartbeats: quickfixgo's own keys) and the venue's
// view of each session.
const (
	// KeyGatewayPrincipal ([DEFAULT]) is the principal the gateway itself
	// authenticates to the cluster as; it must hold the Gateway role.
	KeyGatewayPrincipal = "VenueGatewayPrincipal"
	// KeyGatewayPassword ([DEFAULT]) is the gateway's cluster credential.
	KeyGatewayPassword = "VenueGatewayPassword"
	// KeyClusterEndpoints ([DEFAULT]) lists the cluster members
	// (host:port,host:port,...), for the cluster client.
	KeyClusterEndpoints = "VenueClusterEndpoints"
	// KeyPrincipal ([SESSION]) is the principal the FIX session trades as;
	// the session's TargetCompID when absent.
	KeyPrincipal = "VenuePrincipal"
	// KeyAccounts ([SESSION]) lists the accounts the session may trade,
	// comma-separated; the first is used when an order names none.
	KeyAccounts = "VenueAccounts"
	// KeyPassword ([SESSION]) is the logon password (tag 554) in clear.
	KeyPassword = "VenuePassword"
	// KeyPasswordSHA256 ([SESSION]) is the hex SHA-256 of the logon
	// password, an alternative to KeyPassword that keeps it out of the file.
	KeyPasswordSHA256 = "VenuePasswordSHA256"
	// KeyCancelOnDisconnect ([SESSION], Y/N) asks the engine to cancel the
	// session's resting DAY orders when it logs off or disconnects.
	KeyCancelOnDisconnect = "VenueCancelOnDisconnect"
	// KeyFIXStore ([DEFAULT]) chooses the FIX message store: FIXStoreJournal,
	// FIXStoreFile or FIXStoreMemory. When absent: quickfixgo's file store
	// if FileStorePath is set (what such a file meant before the key
	// existed), its memory store otherwise. Switching between the journal
	// and the file store keeps each session's sequence numbers (those of
	// the store written last; its messages are not carried over).
	KeyFIXStore = "VenueFIXStore"
	// KeyJournalRetainBytes ([DEFAULT] or [SESSION]) bounds the bytes of
	// outbound messages a session's journal (FIXStoreJournal) keeps for
	// resends, 256 MiB when absent (about 900,000 execution reports),
	// 64 KiB to 16 GiB. Past it the oldest messages are deleted a segment
	// at a time; a resend of them is answered with a gap fill.
	KeyJournalRetainBytes = "VenueJournalRetainBytes"
)

// FIX message stores (KeyFIXStore).
const (
	// FIXStoreJournal is the gateway's journal (NewJournalStoreFactory):
	// one append-only file per session in FileStorePath, one write per
	// outbound message, fsynced unless FileStoreSync=N.
	FIXStoreJournal = "journal"
	// FIXStoreFile is quickfixgo's file store in FileStorePath (six system
	// calls per outbound message), fsynced unless FileStoreSync=N.
	FIXStoreFile = "file"
	// FIXStoreMemory keeps nothing across a restart.
	FIXStoreMemory = "memory"
)

// Protocol versions the gateway accepts. Its messages are FIX 4.4's, which
// FIX 5.0 SP2 keeps for everything the gateway reads and writes, so a
// FIXT.1.1 session with FIX 5.0 SP2 as its default application version is
// served the same way.
const (
	// BeginStringFIX44 is FIX 4.4 (the demo's version).
	BeginStringFIX44 = "FIX.4.4"
	// BeginStringFIXT11 is FIXT 1.1, the session layer of FIX 5.0 SP2; such
	// a session needs DefaultApplVerID=FIX.5.0SP2 (or its code, 9).
	BeginStringFIXT11 = "FIXT.1.1"
	// applVerIDFIX50SP2 is FIX 5.0 SP2's ApplVerID code (tag 1128/1137).
	applVerIDFIX50SP2 = "9"
	// keyDefaultApplVerID is quickfixgo's setting for a FIXT session's
	// default application version.
	keyDefaultApplVerID = "DefaultApplVerID"
)

// Identifier limits, as in the engine's schema (char16 / char32 fields).
const (
	principalBytesMax = 16
	accountBytesMax   = 16
	clOrdIDBytesMax   = 32
	symbolBytesMax    = 16
)

// ErrConfig marks an invalid gateway configuration.
var ErrConfig = errors.New("fixgateway: bad config")

// Config is a gateway's configuration: quickfixgo's acceptor settings plus
// the venue's view of each FIX session.
type Config struct {
	// Settings are the quickfixgo acceptor settings, as parsed.
	Settings *quickfix.Settings
	// GatewayPrincipal is the principal the gateway connects to the
	// cluster as (Gateway role).
	GatewayPrincipal string
	// GatewayPassword is the gateway's cluster credential.
	GatewayPassword string
	// ClusterEndpoints are the cluster members, for the cluster client.
	ClusterEndpoints []string
	// Sessions are the FIX sessions the gateway accepts, one per
	// [SESSION] section.
	Sessions []SessionConfig
	// FIXStore is the FIX message store (KeyFIXStore), resolved: one of
	// FIXStoreJournal, FIXStoreFile, FIXStoreMemory.
	FIXStore string
}

// SessionConfig is one FIX session's venue-side configuration.
type SessionConfig struct {
	// ID is the acceptor-side session id (SenderCompID = the venue).
	ID quickfix.SessionID
	// Principal is what the engine knows the session as.
	Principal string
	// Accounts the session may trade; Accounts[0] is the default.
	Accounts []string
	// PasswordSHA256 is the SHA-256 of the logon password (tag 554).
	PasswordSHA256 [sha256.Size]byte
	// CancelOnDisconnect asks the engine to cancel the session's resting
	// DAY orders when it goes away.
	CancelOnDisconnect bool
}

// mayTrade reports whether account is one of the session's accounts.
func (s *SessionConfig) mayTrade(account []byte) bool {
	for _, a := range s.Accounts {
		if a == string(account) {
			return true
		}
	}
	return false
}

// LoadConfig reads a gateway configuration file (quickfixgo settings format
// with the Venue* keys above).
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("fixgateway: open config: %w", err)
	}
	defer f.Close()
	c, err := ParseConfig(f)
	if err != nil {
		return nil, fmt.Errorf("fixgateway: config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses a gateway configuration from r.
func ParseConfig(r io.Reader) (*Config, error) {
	settings, err := quickfix.ParseSettings(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return NewConfig(settings)
}

// NewConfig validates quickfixgo settings and extracts the venue's keys.
func NewConfig(settings *quickfix.Settings) (*Config, error) {
	g := settings.GlobalSettings()
	c := &Config{Settings: settings}
	c.GatewayPrincipal = optional(g, KeyGatewayPrincipal, "GATEWAY")
	c.GatewayPassword = optional(g, KeyGatewayPassword, "")
	if ep := optional(g, KeyClusterEndpoints, ""); ep != "" {
		c.ClusterEndpoints = splitList(ep)
	}
	if err := checkIdentifier("gateway principal", c.GatewayPrincipal, principalBytesMax); err != nil {
		return nil, err
	}
	var err error
	if c.FIXStore, err = fixStoreOf(settings); err != nil {
		return nil, err
	}
	if ct := optional(g, "ConnectionType", "acceptor"); ct != "acceptor" {
		return nil, fmt.Errorf("%w: ConnectionType=%s, the gateway is an acceptor", ErrConfig, ct)
	}
	principals := map[string]quickfix.SessionID{}
	for id, s := range settings.SessionSettings() {
		sc, err := sessionConfig(id, s)
		if err != nil {
			return nil, err
		}
		if c.FIXStore == FIXStoreJournal {
			if _, err := journalRetainBytesOf(s); err != nil {
				return nil, fmt.Errorf("%w: session %v: %w", ErrConfig, id, err)
			}
		}
		if other, dup := principals[sc.Principal]; dup {
			// One principal per FIX session: SenderSeq is per principal.
			return nil, fmt.Errorf("%w: principal %s used by %v and %v", ErrConfig, sc.Principal, other, id)
		}
		principals[sc.Principal] = id
		c.Sessions = append(c.Sessions, sc)
	}
	if len(c.Sessions) == 0 {
		return nil, fmt.Errorf("%w: no [SESSION] sections", ErrConfig)
	}
	sort.Slice(c.Sessions, func(i, j int) bool { return c.Sessions[i].ID.String() < c.Sessions[j].ID.String() })
	return c, nil
}

// fixStoreOf resolves KeyFIXStore; a store on disk needs FileStorePath.
func fixStoreOf(settings *quickfix.Settings) (string, error) {
	hasPath := settings.GlobalSettings().HasSetting(config.FileStorePath) || anySessionHas(settings, config.FileStorePath)
	switch v := optional(settings.GlobalSettings(), KeyFIXStore, ""); v {
	case "":
		if hasPath {
			return FIXStoreFile, nil
		}
		return FIXStoreMemory, nil
	case FIXStoreMemory:
		return v, nil
	case FIXStoreJournal, FIXStoreFile:
		if !hasPath {
			return "", fmt.Errorf("%w: %s=%s needs %s", ErrConfig, KeyFIXStore, v, config.FileStorePath)
		}
		return v, nil
	default:
		return "", fmt.Errorf("%w: %s=%s: want %s, %s or %s", ErrConfig, KeyFIXStore, v, FIXStoreJournal, FIXStoreFile, FIXStoreMemory)
	}
}

// checkVersion accepts FIX 4.4, and FIXT 1.1 with FIX 5.0 SP2 as the
// default application version.
func checkVersion(id quickfix.SessionID, s *quickfix.SessionSettings) error {
	switch id.BeginString {
	case BeginStringFIX44:
		return nil
	case BeginStringFIXT11:
		switch v := optional(s, keyDefaultApplVerID, ""); v {
		case "FIX.5.0SP2", applVerIDFIX50SP2:
			return nil
		default:
			return fmt.Errorf("%w: session %v: FIXT.1.1 needs %s=FIX.5.0SP2, not %q", ErrConfig, id, keyDefaultApplVerID, v)
		}
	}
	return fmt.Errorf("%w: session %v: BeginString %s; the gateway speaks %s and %s (FIX 5.0 SP2)",
		ErrConfig, id, id.BeginString, BeginStringFIX44, BeginStringFIXT11)
}

func sessionConfig(id quickfix.SessionID, s *quickfix.SessionSettings) (SessionConfig, error) {
	sc := SessionConfig{ID: id, Principal: optional(s, KeyPrincipal, id.TargetCompID)}
	if err := checkVersion(id, s); err != nil {
		return sc, err
	}
	if err := checkIdentifier("principal", sc.Principal, principalBytesMax); err != nil {
		return sc, fmt.Errorf("session %v: %w", id, err)
	}
	sc.Accounts = splitList(optional(s, KeyAccounts, sc.Principal))
	for _, a := range sc.Accounts {
		if err := checkIdentifier("account", a, accountBytesMax); err != nil {
			return sc, fmt.Errorf("session %v: %w", id, err)
		}
	}
	if len(sc.Accounts) == 0 {
		return sc, fmt.Errorf("%w: session %v has no accounts", ErrConfig, id)
	}
	switch {
	case s.HasSetting(KeyPasswordSHA256):
		h, _ := s.Setting(KeyPasswordSHA256)
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != sha256.Size {
			return sc, fmt.Errorf("%w: session %v: %s is not 64 hex digits", ErrConfig, id, KeyPasswordSHA256)
		}
		copy(sc.PasswordSHA256[:], b)
	case s.HasSetting(KeyPassword):
		p, _ := s.Setting(KeyPassword)
		sc.PasswordSHA256 = sha256.Sum256([]byte(p))
	default:
		return sc, fmt.Errorf("%w: session %v has neither %s nor %s", ErrConfig, id, KeyPassword, KeyPasswordSHA256)
	}
	if s.HasSetting(KeyCancelOnDisconnect) {
		v, err := s.BoolSetting(KeyCancelOnDisconnect)
		if err != nil {
			return sc, fmt.Errorf("%w: session %v: %v", ErrConfig, id, err)
		}
		sc.CancelOnDisconnect = v
	}
	return sc, nil
}

func optional(s *quickfix.SessionSettings, key, def string) string {
	if !s.HasSetting(key) {
		return def
	}
	v, err := s.Setting(key)
	if err != nil {
		return def
	}
	return strings.TrimSpace(v)
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func checkIdentifier(what, v string, max int) error {
	if len(v) > max || !engine.ValidChars([]byte(v)) {
		return fmt.Errorf("%w: %s %q must be 1..%d printable ASCII characters without spaces", ErrConfig, what, v, max)
	}
	return nil
}

// The demo configuration `venue run` embeds (issue 8, "The embedded
// default"): any FIX 4.4 engine can connect without reading our code.
const (
	// DemoPort is the default FIX port.
	DemoPort = 9878
	// DemoTargetCompID is the venue's CompID.
	DemoTargetCompID = "VENUE"
	// DemoPassword is every demo session's password (tag 554).
	DemoPassword = "demo"
	// DemoSessions is how many demo sessions there are (DEMO1..DEMO4).
	DemoSessions = 4
	// demoHeartBtIntSeconds is the initiator's heartbeat interval.
	demoHeartBtIntSeconds = 30
	// demoReconnectIntervalSeconds is the initiator's reconnect interval.
	demoReconnectIntervalSeconds = 5
)

// DemoCompIDs returns the demo SenderCompIDs, DEMO1..DEMO4; each trades
// the account of the same name.
func DemoCompIDs() []string {
	ids := make([]string, DemoSessions)
	for i := range ids {
		ids[i] = "DEMO" + strconv.Itoa(i+1)
	}
	return ids
}

// DemoAcceptorSettings returns the gateway configuration of the demo: FIX
// 4.4 on port, TargetCompID VENUE, DEMO1..DEMO4 with password "demo", each
// trading its own account, cancel-on-disconnect off, the journal
// (FIXStoreJournal) under storeDir without an fsync per message
// (FileStoreSync=N, QuickFIX/J's default too).
func DemoAcceptorSettings(port int, storeDir string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# venue demo gateway: FIX 4.4, TargetCompID %s, password %q (tag 554)\n", DemoTargetCompID, DemoPassword)
	fmt.Fprintf(&b, "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort=%d\nFileStorePath=%s\n", port, storeDir)
	// The journal writes each outbound message in one system call where
	// quickfixgo's file store takes six; both keep sequence numbers and
	// messages for resends in FileStorePath.
	fmt.Fprintf(&b, "# FIX store: journal (the gateway's: one append-only file per session, one write per message),\n")
	fmt.Fprintf(&b, "# file (quickfixgo's file store, same durability, about six system calls per message) or memory.\n")
	fmt.Fprintf(&b, "%s=%s\n", KeyFIXStore, FIXStoreJournal)
	// The store's writes reach the page cache before each message goes out
	// and survive a gateway crash; an fsync per message (Y) would also
	// survive a host crash, at ~1-2 k orders/s here. Orders themselves are
	// durable and deduplicated in the cluster either way.
	fmt.Fprintf(&b, "# Y fsyncs every stored message: survives a host crash, at a small fraction of the speed\n")
	fmt.Fprintf(&b, "FileStoreSync=N\n")
	fmt.Fprintf(&b, "%s=GATEWAY\n", KeyGatewayPrincipal)
	for _, id := range DemoCompIDs() {
		fmt.Fprintf(&b, "\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=%s\nTargetCompID=%s\n", DemoTargetCompID, id)
		fmt.Fprintf(&b, "%s=%s\n%s=%s\n%s=%s\n%s=N\n", KeyPrincipal, id, KeyAccounts, id, KeyPassword, DemoPassword, KeyCancelOnDisconnect)
	}
	return b.String()
}

// DemoInitiatorSettings returns a ready quickfixgo (or QuickFIX/J,
// QuickFIX/n) initiator settings file for the demo sessions on host:port.
// The password is not a standard initiator setting: send it yourself in
// tag 554 of the Logon (quickfixgo: in ToAdmin).
func DemoInitiatorSettings(host string, port int, storeDir string) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# venue demo: FIX 4.4 initiator for DEMO1..DEMO4. Put Password=%s (tag 554) on the Logon;\n", DemoPassword)
	fmt.Fprintf(&b, "# each session trades the account of its own name (Account tag 1, optional).\n")
	fmt.Fprintf(&b, "[DEFAULT]\nConnectionType=initiator\nSocketConnectHost=%s\nSocketConnectPort=%d\n", host, port)
	fmt.Fprintf(&b, "HeartBtInt=%d\nReconnectInterval=%d\nFileStorePath=%s\n", demoHeartBtIntSeconds, demoReconnectIntervalSeconds, storeDir)
	for _, id := range DemoCompIDs() {
		fmt.Fprintf(&b, "\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=%s\nTargetCompID=%s\nPassword=%s\n", id, DemoTargetCompID, DemoPassword)
	}
	return b.String()
}

// DemoInitiatorFileName is the name of the initiator settings file
// WriteDemoInitiatorSettings writes.
const DemoInitiatorFileName = "fix-demo-initiator.cfg"

// WriteDemoInitiatorSettings writes DemoInitiatorSettings for 127.0.0.1:port
// into dir and returns the file's path; `venue run` prints it.
func WriteDemoInitiatorSettings(dir string, port int) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("fixgateway: write demo initiator settings: %w", err)
	}
	path := filepath.Join(dir, DemoInitiatorFileName)
	text := DemoInitiatorSettings("127.0.0.1", port, filepath.Join(dir, "fix-initiator-store"))
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("fixgateway: write demo initiator settings: %w", err)
	}
	return path, nil
}
