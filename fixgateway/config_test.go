package fixgateway

import (
	"crypto/sha256"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"
)

// TestDemoConfig: the embedded default is FIX.4.4 on 9878, TargetCompID
// VENUE, DEMO1..DEMO4 with password demo, each trading its own account,
// over the file store without an fsync per message.
func TestDemoConfig(t *testing.T) {
	cfg, err := ParseConfig(strings.NewReader(DemoAcceptorSettings(DemoPort, t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sessions) != DemoSessions {
		t.Fatalf("%d sessions", len(cfg.Sessions))
	}
	for i, s := range cfg.Sessions {
		id := DemoCompIDs()[i]
		want := quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: "VENUE", TargetCompID: id}
		if s.ID != want || s.Principal != id || len(s.Accounts) != 1 || s.Accounts[0] != id ||
			s.PasswordSHA256 != sha256.Sum256([]byte("demo")) || s.CancelOnDisconnect {
			t.Fatalf("session %d: %+v", i, s)
		}
	}
	if p, _ := cfg.Settings.GlobalSettings().Setting("SocketAcceptPort"); p != "9878" {
		t.Fatalf("port %s", p)
	}
	// The journal, without an fsync per message (see DemoAcceptorSettings).
	if v, _ := cfg.Settings.GlobalSettings().Setting("FileStoreSync"); v != "N" {
		t.Fatalf("FileStoreSync %q, want N", v)
	}
	if cfg.FIXStore != FIXStoreJournal {
		t.Fatalf("FIX store %q, want %s", cfg.FIXStore, FIXStoreJournal)
	}

	path, err := WriteDemoInitiatorSettings(t.TempDir(), DemoPort)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ini, err := quickfix.ParseSettings(f)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(ini.SessionSettings()); n != DemoSessions {
		t.Fatalf("initiator file has %d sessions", n)
	}
	for id := range ini.SessionSettings() {
		if id.BeginString != "FIX.4.4" || id.TargetCompID != "VENUE" || !strings.HasPrefix(id.SenderCompID, "DEMO") {
			t.Fatalf("initiator session %v", id)
		}
	}
}

// TestConfigVersions: FIX 4.4, and FIXT 1.1 with FIX 5.0 SP2 (by name or
// code) as its default application version, side by side.
func TestConfigVersions(t *testing.T) {
	text := "[DEFAULT]\nSocketAcceptPort=1\nVenuePassword=x\n" +
		"[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=A\n" +
		"[SESSION]\nBeginString=FIXT.1.1\nDefaultApplVerID=FIX.5.0SP2\nSenderCompID=VENUE\nTargetCompID=B\n" +
		"[SESSION]\nBeginString=FIXT.1.1\nDefaultApplVerID=9\nSenderCompID=VENUE\nTargetCompID=C\n"
	cfg, err := ParseConfig(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{BeginStringFIX44, BeginStringFIXT11, BeginStringFIXT11}
	for i, s := range cfg.Sessions {
		if s.ID.BeginString != want[i] {
			t.Fatalf("session %d: %v, want %s", i, s.ID, want[i])
		}
	}
}

// TestConfigErrors: what a configuration must not do.
func TestConfigErrors(t *testing.T) {
	session := "\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=A\n"
	for name, text := range map[string]string{
		"no password":      "[DEFAULT]\nSocketAcceptPort=1\n" + session,
		"bad hash":         "[DEFAULT]\nSocketAcceptPort=1\n" + session + "VenuePasswordSHA256=zz\n",
		"long account":     "[DEFAULT]\nSocketAcceptPort=1\n" + session + "VenuePassword=x\nVenueAccounts=ABCDEFGHIJKLMNOPQ\n",
		"shared principal": "[DEFAULT]\nSocketAcceptPort=1\nVenuePassword=x\nVenuePrincipal=P\n" + session + "\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=B\n",
		"initiator":        "[DEFAULT]\nConnectionType=initiator\nVenuePassword=x\n" + session,
		"no sessions":      "[DEFAULT]\nSocketAcceptPort=1\n",
		"bad gateway name": "[DEFAULT]\nVenueGatewayPrincipal=has space\nVenuePassword=x\n" + session,
		"FIX 4.2":          "[DEFAULT]\nSocketAcceptPort=1\nVenuePassword=x\n[SESSION]\nBeginString=FIX.4.2\nSenderCompID=VENUE\nTargetCompID=A\n",
		"FIXT, no ApplVer": "[DEFAULT]\nSocketAcceptPort=1\nVenuePassword=x\n[SESSION]\nBeginString=FIXT.1.1\nSenderCompID=VENUE\nTargetCompID=A\n",
		"FIXT, FIX 5.0":    "[DEFAULT]\nSocketAcceptPort=1\nVenuePassword=x\n[SESSION]\nBeginString=FIXT.1.1\nDefaultApplVerID=FIX.5.0\nSenderCompID=VENUE\nTargetCompID=A\n",
		"unknown store":    "[DEFAULT]\nSocketAcceptPort=1\nVenuePassword=x\nVenueFIXStore=disk\nFileStorePath=/tmp\n" + session,
		"journal, no path": "[DEFAULT]\nSocketAcceptPort=1\nVenuePassword=x\nVenueFIXStore=journal\n" + session,
		"file, no path":    "[DEFAULT]\nSocketAcceptPort=1\nVenuePassword=x\nVenueFIXStore=file\n" + session,
	} {
		if _, err := ParseConfig(strings.NewReader(text)); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", name, err)
		}
	}
}

// TestConfigFIXStore: VenueFIXStore names the store; without it a
// FileStorePath means quickfixgo's file store (as before the key), and no
// path its memory store.
func TestConfigFIXStore(t *testing.T) {
	session := "\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=A\nVenuePassword=x\n"
	for _, tc := range []struct{ global, want string }{
		{"", FIXStoreMemory},
		{"FileStorePath=/tmp/x\n", FIXStoreFile},
		{"FileStorePath=/tmp/x\nVenueFIXStore=journal\n", FIXStoreJournal},
		{"FileStorePath=/tmp/x\nVenueFIXStore=file\n", FIXStoreFile},
		{"FileStorePath=/tmp/x\nVenueFIXStore=memory\n", FIXStoreMemory},
		{"VenueFIXStore=memory\n", FIXStoreMemory},
	} {
		cfg, err := ParseConfig(strings.NewReader("[DEFAULT]\nSocketAcceptPort=1\n" + tc.global + session))
		if err != nil {
			t.Fatalf("%q: %v", tc.global, err)
		}
		if cfg.FIXStore != tc.want {
			t.Errorf("%q: store %s, want %s", tc.global, cfg.FIXStore, tc.want)
		}
	}
}
