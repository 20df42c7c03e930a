package orderflow

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// sharedDir is where CI keeps the reference files: ../shared beside the
// repository root.
const sharedDir = "../../../shared/orderflow/"

func needFile(t *testing.T, name string) string {
	t.Helper()
	path := sharedDir + name
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not present: %v", path, err)
	}
	return path
}

func TestReferenceHeaders(t *testing.T) {
	cases := []struct {
		name string
		want Header
	}{
		{"s1.bin", Header{Records: 1_003_000, Warmup: 3_000, Instruments: 1, Version: 1}},
		{"s100.bin", Header{Records: 1_050_000, Warmup: 50_000, Instruments: 100, Version: 1}},
		{"tiny.bin", Header{Records: 25, Warmup: 5, Instruments: 1, Version: 1, Seed: 1, TargetLive: 5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ReadFile(needFile(t, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			got := f.Header
			if tc.name != "tiny.bin" {
				got.Seed, got.TargetLive = 0, 0
			}
			if got != tc.want || f.Len() != int(tc.want.Records) {
				t.Fatalf("header %+v with %d records, want %+v", f.Header, f.Len(), tc.want)
			}
		})
	}
}

// TestTinyBinMatchesCSV checks the binary file against its CSV mirror
// record by record.
func TestTinyBinMatchesCSV(t *testing.T) {
	f, err := ReadFile(needFile(t, "tiny.bin"))
	if err != nil {
		t.Fatal(err)
	}
	want := readCSV(t, needFile(t, "tiny.csv"))
	if len(want) != f.Len() {
		t.Fatalf("csv has %d records, bin %d", len(want), f.Len())
	}
	for i, w := range want {
		got := f.Record(i).Fields()
		if got.Op != OpNew {
			// The CSV leaves side empty for cancels and amends; the binary
			// carries the live order's side.
			w.Side = got.Side
		}
		if got != w {
			t.Errorf("record %d: bin %+v, csv %+v", i, got, w)
		}
	}
}

// readCSV parses the CSV mirror: a comment line, a header line, then
// op,instrument,id,side,type,price,qty,user.
func readCSV(t *testing.T, path string) []RecordFields {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var out []RecordFields
	sc := bufio.NewScanner(file)
	for line := 0; sc.Scan(); line++ {
		if line < 2 {
			continue
		}
		out = append(out, csvRecord(t, sc.Text()))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func csvRecord(t *testing.T, line string) RecordFields {
	t.Helper()
	f := strings.Split(line, ",")
	if len(f) != 8 {
		t.Fatalf("csv line %q has %d fields", line, len(f))
	}
	num := func(s string) uint64 {
		if s == "" {
			return 0
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("csv line %q: %v", line, err)
		}
		return n
	}
	r := RecordFields{
		Op:         map[string]Op{"N": OpNew, "C": OpCancel, "A": OpAmend}[f[0]],
		Instrument: uint32(num(f[1])), ID: num(f[2]),
		Side:  map[string]Side{"B": Buy, "S": Sell, "": Buy}[f[3]],
		Type:  map[string]Type{"GTC": TypeGTC, "IOC": TypeIOC, "MKT": TypeMarket, "": TypeGTC}[f[4]],
		Price: int64(num(f[5])), Qty: uint32(num(f[6])), User: uint32(num(f[7])),
	}
	return r
}

// build encodes a file from records, with a header that matches them.
func build(recs ...RecordFields) []byte {
	h := Header{Records: uint64(len(recs)), Instruments: 2, Version: Version, Seed: 7, TargetLive: 3}
	b := AppendHeader(nil, h)
	for _, r := range recs {
		b = AppendRecord(b, r)
	}
	return b
}

var (
	newBuy  = RecordFields{Op: OpNew, Side: Buy, Type: TypeGTC, Instrument: 1, ID: 1, Price: 100, Qty: 5, User: 9}
	newMkt  = RecordFields{Op: OpNew, Side: Sell, Type: TypeMarket, ID: 2, Qty: 3}
	cancel1 = RecordFields{Op: OpCancel, Side: Buy, Instrument: 1, ID: 1}
	amend1  = RecordFields{Op: OpAmend, Side: Buy, Instrument: 1, ID: 1, Price: 101, Qty: 4}
)

func TestEncodeParseRoundTrip(t *testing.T) {
	data := build(newBuy, newMkt, amend1, cancel1)
	f, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []RecordFields{newBuy, newMkt, amend1, cancel1} {
		if got := f.Record(i).Fields(); got != want {
			t.Errorf("record %d: %+v, want %+v", i, got, want)
		}
	}
	if f.Header.Seed != 7 || f.Header.TargetLive != 3 || f.Header.Instruments != 2 {
		t.Errorf("header %+v", f.Header)
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	with := func(r RecordFields, edit func(*RecordFields)) RecordFields { edit(&r); return r }
	good := build(newBuy)
	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"truncated header", good[:HeaderLength-1]},
		{"truncated record", good[:len(good)-1]},
		{"extra bytes", append(bytes.Clone(good), 0)},
		{"bad magic", append([]byte("OBSTRM02"), good[8:]...)},
		{"bad version", func() []byte { b := bytes.Clone(good); b[VersionOffset] = 2; return b }()},
		{"no instruments", func() []byte { b := bytes.Clone(good); clear(b[InstrumentsOffset : InstrumentsOffset+4]); return b }()},
		{"warm-up beyond records", func() []byte { b := bytes.Clone(good); b[WarmupOffset] = 2; return b }()},
		{"huge record count", func() []byte { b := bytes.Clone(good); b[RecordsOffset+7] = 1; return b }()},
		{"unknown op", build(with(newBuy, func(r *RecordFields) { r.Op = 4 }))},
		{"unknown side", build(with(newBuy, func(r *RecordFields) { r.Side = 2 }))},
		{"unknown type", build(with(newBuy, func(r *RecordFields) { r.Type = 3 }))},
		{"reserved byte set", func() []byte { b := build(newBuy); b[HeaderLength+ReservedOffset] = 1; return b }()},
		{"instrument out of range", build(with(newBuy, func(r *RecordFields) { r.Instrument = 2 }))},
		{"order id 0", build(with(newBuy, func(r *RecordFields) { r.ID = 0 }))},
		{"new with quantity 0", build(with(newBuy, func(r *RecordFields) { r.Qty = 0 }))},
		{"limit with price 0", build(with(newBuy, func(r *RecordFields) { r.Price = 0 }))},
		{"market with a price", build(with(newMkt, func(r *RecordFields) { r.Price = 5 }))},
		{"cancel with a quantity", build(newBuy, with(cancel1, func(r *RecordFields) { r.Qty = 1 }))},
		{"amend with quantity 0", build(newBuy, with(amend1, func(r *RecordFields) { r.Qty = 0 }))},
		{"new ids not increasing", build(newBuy, with(newBuy, func(r *RecordFields) { r.Price = 99 }))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.data); !errors.Is(err, ErrFormat) {
				t.Fatalf("Parse returned %v, want ErrFormat", err)
			}
		})
	}
}

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, and a
// file it accepts must re-encode to exactly the same bytes.
func FuzzParse(f *testing.F) {
	// A valid file with every op and a market order.
	f.Add(build(newBuy, newMkt, amend1, cancel1))
	// A valid header with no records.
	f.Add(build())
	// A header that claims one record more than follows.
	f.Add(build(newBuy)[:HeaderLength+RecordLength-1])
	// Only the magic.
	f.Add([]byte(Magic))
	// Nothing.
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		out := AppendHeader(nil, file.Header)
		for i := range file.Len() {
			out = AppendRecord(out, file.Record(i).Fields())
		}
		if !bytes.Equal(out, data) {
			t.Fatal("accepted file does not re-encode to the same bytes")
		}
	})
}
