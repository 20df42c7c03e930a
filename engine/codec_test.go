package engine

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestGeneratedCodecIsUpToDate(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	out := filepath.Join(t.TempDir(), "codec_gen.go")
	cmd := exec.Command(goBin, "run", "./internal/codecgen", "-in", "codec.schema", "-out", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("codecgen: %v\n%s", err, msg)
	}
	want, _ := os.ReadFile(out)
	have, _ := os.ReadFile("codec_gen.go")
	if !bytes.Equal(want, have) {
		t.Fatal("codec_gen.go is stale: run `go generate ./engine`")
	}
}

func TestNewOrderRoundTrip(t *testing.T) {
	buf, m := AppendNewOrder(make([]byte, 0, 256))
	m.SetPrice(-12345)
	m.SetQuantity(1 << 40)
	m.SetInstrument(7)
	m.SetSide(SideSell)
	m.SetOrdType(OrdTypeLimit)
	m.SetTimeInForce(TimeInForceIOC)
	m.SetFlags(1)
	if !m.SetAccount("DEMO1") || !m.SetPrincipal("DEMO1") || !m.SetClOrdID("ord-1") {
		t.Fatal("a short identifier did not fit")
	}
	if len(buf) != NewOrderLength {
		t.Fatalf("encoded %d bytes, want %d", len(buf), NewOrderLength)
	}
	tmpl, body, err := Decode(buf)
	if err != nil || tmpl != TemplateNewOrder {
		t.Fatalf("decode: %v %v", tmpl, err)
	}
	d := NewOrder(body)
	got := d.String()
	want := `NewOrder{SenderSeq=0 Price=-12345 Quantity=1099511627776 Instrument=7 Side=Sell OrdType=Limit TimeInForce=IOC Flags=1 Account="DEMO1" Principal="DEMO1" ClOrdID="ord-1"}`
	if got != want {
		t.Fatalf("decoded\n%s\nwant\n%s", got, want)
	}
	if k := d.AccountKey(); string(k[:5]) != "DEMO1" || k[5] != 0 {
		t.Fatalf("account key %q", k)
	}
	if !d.EnumsValid() {
		t.Fatal("valid enums reported invalid")
	}
	d.SetSide(9)
	if d.EnumsValid() || !strings.Contains(d.String(), "Side=Side(9)") {
		t.Fatalf("bad side not caught: %s", d)
	}
}

func TestAppendReusesCapacityAndAppendsAfterExistingBytes(t *testing.T) {
	buf := make([]byte, 0, 1024)
	buf, _ = AppendCancelOrder(buf)
	first := len(buf)
	buf, c := AppendMassCancel(buf)
	c.SetScope(MassCancelScopeAccount)
	if len(buf) != first+MassCancelLength || cap(buf) != 1024 {
		t.Fatalf("len %d cap %d", len(buf), cap(buf))
	}
	tmpl, _, err := Decode(buf[first:])
	if err != nil || tmpl != TemplateMassCancel {
		t.Fatalf("second message: %v %v", tmpl, err)
	}
	if allocs := testing.AllocsPerRun(100, func() {
		b, r := AppendExecutionReport(buf[:0])
		r.SetOrderID(1)
		r.SetClOrdID("x")
		_, _, _ = Decode(b)
	}); allocs != 0 {
		t.Fatalf("encode+decode allocated %.0f times", allocs)
	}
}

func TestCharFieldsRejectTooLong(t *testing.T) {
	_, m := AppendNewOrder(nil)
	m.SetAccount("ABC")
	if m.SetAccount(strings.Repeat("A", 17)) {
		t.Fatal("17-byte account accepted into a 16-byte field")
	}
	if string(m.Account()) != "ABC" {
		t.Fatalf("a refused write changed the field: %q", m.Account())
	}
	if !m.SetAccount(strings.Repeat("B", 16)) || string(m.Account()) != strings.Repeat("B", 16) {
		t.Fatalf("a full-width account did not round trip: %q", m.Account())
	}
	if !m.SetAccountBytes([]byte("Z")) || string(m.Account()) != "Z" {
		t.Fatalf("shorter write left old bytes: %q", m.Account())
	}
}

func TestDecodeRejects(t *testing.T) {
	valid, _ := AppendNewOrder(nil)
	mutate := func(f func(b []byte)) []byte {
		b := append([]byte(nil), valid...)
		f(b)
		return b
	}
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"header cut", valid[:HeaderLength-1], ErrTruncated},
		{"body cut", valid[:len(valid)-1], ErrTruncated},
		{"foreign schema", mutate(func(b []byte) { b[headerSchemaIDOffset] = 99 }), ErrForeignSchema},
		{"newer version", mutate(func(b []byte) { b[headerVersionOffset] = SchemaVersion + 1 }), ErrUnsupportedVersion},
		{"unknown template", mutate(func(b []byte) { b[headerTemplateIDOffset] = 200 }), ErrUnknownTemplate},
		{"short block", mutate(func(b []byte) { b[headerBlockLengthOffset] = 4; b[headerBlockLengthOffset+1] = 0 }), ErrShortBlock},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Decode(tt.msg); !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeAcceptsLongerBlockOfSameVersion(t *testing.T) {
	// A body longer than this version's block (a sender that appended a
	// field) still decodes; the known fields are where they were.
	buf, m := AppendSetPrincipal(nil)
	m.SetRole(RoleGateway)
	buf = append(buf, 0xEE, 0xEE)
	buf[headerBlockLengthOffset] = byte(SetPrincipalBlockLength + 2)
	_, body, err := Decode(buf)
	if err != nil || len(body) != SetPrincipalBlockLength+2 || SetPrincipal(body).Role() != RoleGateway {
		t.Fatalf("err %v len %d", err, len(body))
	}
}

func TestValidChars(t *testing.T) {
	for in, want := range map[string]bool{"": false, "A": true, "ord-1_x.Y": true, "a b": false, "tab\t": false, "\x7f": false} {
		if got := ValidChars([]byte(in)); got != want {
			t.Errorf("ValidChars(%q) = %v, want %v", in, got, want)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to Decode and, when it accepts them, reads
// every field of the message through its flyweight: nothing may panic.
func FuzzDecode(f *testing.F) {
	newOrder, _ := AppendNewOrder(nil)
	f.Add(newOrder)                  // a valid, all-zero NewOrder
	f.Add(newOrder[:HeaderLength+3]) // truncated body
	report, _ := AppendExecutionReport(nil)
	f.Add(report)                          // the largest report
	f.Add([]byte{0, 0, 99, 0, 1, 0, 1, 0}) // unknown template, empty body
	f.Add([]byte{})                        // nothing at all
	f.Fuzz(func(t *testing.T, data []byte) {
		tmpl, body, err := Decode(data)
		if err != nil {
			return
		}
		if len(body) < knownBlockLength(tmpl) {
			t.Fatalf("accepted a %d-byte body for %v", len(body), tmpl)
		}
		_ = AppendMessageText(nil, tmpl, body)
		_ = EnumsValid(tmpl, body)
	})
}
