package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/quickfixgo/quickfix"

	"venue/fixgateway"
	"venue/fixgateway/fakecluster"
	"venue/reports"
)

func TestLoadgenCommandLine(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no report directory", []string{"loadgen"}, 2, "--report DIR is required"},
		{"zero rate", []string{"loadgen", "--report", dir, "--rate", "0"}, 2, "rate 0/s"},
		{"more sessions than CompIDs", []string{"loadgen", "--report", dir, "--sessions", "5"}, 2, "only 4 CompIDs"},
		{"bad target", []string{"loadgen", "--report", dir, "--target", "nowhere"}, 2, "target"},
		{"unknown via", []string{"loadgen", "--report", dir, "--via", "smoke"}, 2, "via"},
		{"via cluster without a venue", []string{"loadgen", "--report", dir, "--via", "cluster", "--target", filepath.Join(dir, "none.toml")}, 1, "none.toml"},
		{"via cluster, default target", []string{"loadgen", "--report", dir, "--via", "cluster"}, 1, "venue-data/cluster.toml"},
		{"stray argument", []string{"loadgen", "--report", dir, "extra"}, 2, "unexpected arguments"},
		{"help", []string{"loadgen", "-h"}, 0, "-flow string"},
	}
	for _, tc := range tests {
		var out, errOut bytes.Buffer
		if code := runMain(tc.args, &out, &errOut); code != tc.code || !strings.Contains(errOut.String(), tc.stderr) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", tc.name, code, errOut.String(), tc.code, tc.stderr)
		}
	}
}

// venue loadgen against an in-process demo gateway prints its numbers and
// writes the report.
func TestLoadgenAgainstDemoGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a gateway and sends for a second")
	}
	target := startTestGateway(t)
	dir := filepath.Join(t.TempDir(), "report")
	var out, errOut bytes.Buffer
	args := []string{"loadgen", "--target", target, "--rate", "100", "--duration", "1s", "--warmup", "0s",
		"--charts=false", "--report", dir}
	if code := runMain(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"sent 100 in", "order→new", "order→fill", "cancel→canceled", "replace→replaced", "report: " + dir} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := reports.ReadReport(dir); err != nil {
		t.Error(err)
	}
}

// startTestGateway runs the demo gateway on a free loopback port against
// fakecluster's embedded engine and returns its HOST:PORT.
func startTestGateway(t *testing.T) string {
	t.Helper()
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		settings, err := quickfix.ParseSettings(strings.NewReader(fixgateway.DemoAcceptorSettings(port, t.TempDir())))
		if err != nil {
			t.Fatal(err)
		}
		settings.GlobalSettings().Set("SocketAcceptHost", "127.0.0.1")
		cfg, err := fixgateway.NewConfig(settings)
		if err != nil {
			t.Fatal(err)
		}
		venue, err := fakecluster.NewVenue(fakecluster.SpecFor(cfg))
		if err != nil {
			t.Fatal(err)
		}
		g, err := fixgateway.New(cfg, fixgateway.Options{Client: venue.NewClient(), StoreFactory: quickfix.NewMemoryStoreFactory()})
		if err != nil {
			t.Fatal(err)
		}
		if err = g.Start(context.Background()); err == nil {
			t.Cleanup(g.Stop)
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
		if attempt >= 5 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
	}
}
