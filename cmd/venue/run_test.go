package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"venue/cluster/client"
	"venue/cluster/clusterbench"
	"venue/engine"
	"venue/reports"
	"venue/transport"
)

// reportRecorder keeps the execution reports a trader's session receives.
type reportRecorder struct{ reports []string }

func (r *reportRecorder) OnMessage(_, _ int64, p []byte) {
	t, body, err := engine.Decode(p)
	if err == nil && t == engine.TemplateExecutionReport {
		m := engine.ExecutionReport(body)
		r.reports = append(r.reports, fmt.Sprintf("%s %v", m.ClOrdID(), m.OrdStatus()))
	}
}
func (r *reportRecorder) OnNewLeader(int32, int64)               {}
func (r *reportRecorder) OnUnknownOutcome(int64, []byte, string) {}

// trade connects as DEMO1, sends one limit order and waits for its report.
// It runs on runVenue's goroutine, so it returns errors (t.Fatal may not be
// called there).
func trade(ingress []string, clOrdID string) (string, error) {
	d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker})
	if err != nil {
		return "", err
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, client.Config{Driver: d, InvokeDriver: true, Members: ingress, Credentials: []byte("DEMO1")})
	if err != nil {
		return "", err
	}
	defer c.Close()
	msg, m := engine.AppendNewOrder(nil)
	m.SetInstrument(1) // ALPHA
	m.SetSide(engine.SideBuy)
	m.SetOrdType(engine.OrdTypeLimit)
	m.SetTimeInForce(engine.TimeInForceGTC)
	m.SetPrice(9_950) // 99.50
	m.SetQuantity(10)
	m.SetAccount("DEMO1")
	m.SetPrincipal("DEMO1")
	m.SetClOrdID(clOrdID)
	r := &reportRecorder{}
	for {
		if _, err := c.Offer(msg); err == nil {
			break
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("order not offered: %w", ctx.Err())
		}
		c.Poll(r, 0)
	}
	for len(r.reports) == 0 {
		if ctx.Err() != nil {
			return "", fmt.Errorf("no execution report: %w", ctx.Err())
		}
		if c.Poll(r, 0) == 0 {
			d.WaitReadable(time.Millisecond)
		}
	}
	return r.reports[0], nil
}

// TestRunTradesStopsAndResumes: `venue run` provisions the venue, takes an
// order through the cluster, stops with a snapshot on Ctrl-C, and the next
// run resumes the same state (the order's id is a duplicate, the venue
// answers without being provisioned again).
func TestRunTradesStopsAndResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 3-member cluster twice")
	}
	base, err := clusterbench.FreeBasePort(3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run := func(check func(ingress []string)) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- runVenue(ctx, runOptions{dir: dir, members: 3, basePort: base, noMD: true,
				ready: func(ingress []string) { check(ingress); cancel() }}, io.Discard)
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(90 * time.Second):
			t.Fatal("venue run did not finish")
		}
	}
	run(func(ingress []string) {
		if got, err := trade(ingress, "first"); err != nil || got != "first New" {
			t.Errorf("first run: %q %v", got, err)
		}
	})
	run(func(ingress []string) {
		// Same ClOrdID: the restored venue remembers it.
		if got, err := trade(ingress, "first"); err != nil || got == "first New" {
			t.Errorf("second run: %q %v: a duplicate ClOrdID accepted, or no answer; the state was not resumed", got, err)
		}
		if got, err := trade(ingress, "second"); err != nil || got != "second New" {
			t.Errorf("second run: %q %v", got, err)
		}
	})
}

// TestLoadgenAgainstVenueRun: the load generator over FIX against `venue
// run` (three members, the engine, the gateway) writes a complete report
// whose percentiles rise monotonically.
func TestLoadgenAgainstVenueRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the venue and sends for a second")
	}
	base, err := clusterbench.FreeBasePort(3)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fixPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	report := filepath.Join(t.TempDir(), "report")
	var out, errOut bytes.Buffer
	code := -1
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runVenue(ctx, runOptions{dir: t.TempDir(), members: 3, basePort: base, noMD: true, fixPort: fixPort,
			ready: func([]string) {
				code = runMain([]string{"loadgen", "--target", fmt.Sprintf("127.0.0.1:%d", fixPort), "--rate", "100",
					"--duration", "1s", "--warmup", "0s", "--charts=false", "--report", report}, &out, &errOut)
				cancel()
			}}, io.Discard)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(120 * time.Second):
		t.Fatal("venue run did not finish")
	}
	if code != 0 {
		t.Fatalf("loadgen exit %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
	r, err := reports.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Summary.Paths {
		if p.Count == 0 {
			t.Errorf("%s: no samples", p.Name)
		}
		q := []int64{p.P50Ns, p.P90Ns, p.P99Ns, p.P999Ns, p.MaxNs}
		for i := 1; i < len(q); i++ {
			if q[i] < q[i-1] {
				t.Errorf("%s: percentiles not monotonic: %v", p.Name, q)
			}
		}
	}
}
