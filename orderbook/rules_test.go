package orderbook

import "testing"

// ruleCase is a script: setup commands whose events are ignored, then
// commands whose events must be exactly want. Lines are parsed by
// parseCommand; account 1 and GTC limit are the defaults.
type ruleCase struct {
	name  string
	cfg   Config
	setup []string
	cmds  []string
	want  []string
}

// runRule runs a case on the book and on the reference book; both must
// produce want, and the book's invariants must hold after every command.
func runRule(t *testing.T, tc ruleCase) {
	t.Helper()
	var rec, refRec recorder
	b := New(tc.cfg, &rec)
	ref := newRefBook(tc.cfg, &refRec)
	for _, line := range tc.setup {
		c := parseCommand(line)
		c.apply(b)
		c.apply(ref)
		if err := b.Check(); err != nil {
			t.Fatalf("after setup %q: %v", line, err)
		}
	}
	rec.take()
	refRec.take()
	for _, line := range tc.cmds {
		c := parseCommand(line)
		c.apply(b)
		c.apply(ref)
		if err := b.Check(); err != nil {
			t.Fatalf("after %q: %v", line, err)
		}
	}
	if d := diffEvents(rec.take(), tc.want); d != "" {
		t.Errorf("book: %s", d)
	}
	if d := diffEvents(refRec.take(), tc.want); d != "" {
		t.Errorf("reference book: %s", d)
	}
}

func TestMatchingRules(t *testing.T) {
	for _, tc := range matchingCases {
		t.Run(tc.name, func(t *testing.T) { runRule(t, tc) })
	}
}

var matchingCases = []ruleCase{
	{
		name: "limit order rests",
		cmds: []string{"buy 1 100 10"},
		want: []string{
			"accepted 1 acct=1 buy limit GTC px=100 qty=10",
			"level buy 100 qty=10 n=1",
		},
	},
	{
		name:  "full match at the resting price",
		setup: []string{"sell 1 100 10 acct=2"},
		cmds:  []string{"buy 2 101 10"},
		want: []string{
			"accepted 2 acct=1 buy limit GTC px=101 qty=10",
			"trade maker=1 taker=2 macct=2 tacct=1 buy px=100 qty=10 mleft=0 tleft=0",
			"level sell 100 qty=0 n=0",
		},
	},
	{
		name:  "price priority, then the remainder rests",
		setup: []string{"sell 1 101 5 acct=2", "sell 2 100 5 acct=2"},
		cmds:  []string{"buy 3 102 12"},
		want: []string{
			"accepted 3 acct=1 buy limit GTC px=102 qty=12",
			"trade maker=2 taker=3 macct=2 tacct=1 buy px=100 qty=5 mleft=0 tleft=7",
			"level sell 100 qty=0 n=0",
			"trade maker=1 taker=3 macct=2 tacct=1 buy px=101 qty=5 mleft=0 tleft=2",
			"level sell 101 qty=0 n=0",
			"level buy 102 qty=2 n=1",
		},
	},
	{
		name:  "time priority within a level",
		setup: []string{"sell 1 100 5 acct=2", "sell 2 100 5 acct=3"},
		cmds:  []string{"buy 3 100 7"},
		want: []string{
			"accepted 3 acct=1 buy limit GTC px=100 qty=7",
			"trade maker=1 taker=3 macct=2 tacct=1 buy px=100 qty=5 mleft=0 tleft=2",
			"trade maker=2 taker=3 macct=3 tacct=1 buy px=100 qty=2 mleft=3 tleft=0",
			"level sell 100 qty=3 n=1",
		},
	},
	{
		name:  "sell aggressor walks bids best first",
		setup: []string{"buy 1 99 5 acct=2", "buy 2 100 5 acct=2"},
		cmds:  []string{"sell 3 99 6"},
		want: []string{
			"accepted 3 acct=1 sell limit GTC px=99 qty=6",
			"trade maker=2 taker=3 macct=2 tacct=1 sell px=100 qty=5 mleft=0 tleft=1",
			"level buy 100 qty=0 n=0",
			"trade maker=1 taker=3 macct=2 tacct=1 sell px=99 qty=1 mleft=4 tleft=0",
			"level buy 99 qty=4 n=1",
		},
	},
	{
		name:  "a filled order's id may be reused",
		setup: []string{"sell 1 100 5 acct=2", "buy 2 100 5"},
		cmds:  []string{"buy 2 99 1"},
		want: []string{
			"accepted 2 acct=1 buy limit GTC px=99 qty=1",
			"level buy 99 qty=1 n=1",
		},
	},
	{
		name:  "IOC remainder is cancelled",
		setup: []string{"sell 1 100 5 acct=2"},
		cmds:  []string{"buy 2 101 8 ioc"},
		want: []string{
			"accepted 2 acct=1 buy limit IOC px=101 qty=8",
			"trade maker=1 taker=2 macct=2 tacct=1 buy px=100 qty=5 mleft=0 tleft=3",
			"level sell 100 qty=0 n=0",
			"cancelled 2 acct=1 buy px=101 left=3 unfilled",
		},
	},
	{
		name: "IOC on an empty book",
		cmds: []string{"sell 1 100 5 ioc"},
		want: []string{
			"accepted 1 acct=1 sell limit IOC px=100 qty=5",
			"cancelled 1 acct=1 sell px=100 left=5 unfilled",
		},
	},
	{
		name:  "market order sweeps levels",
		setup: []string{"sell 1 100 5 acct=2", "sell 2 105 5 acct=2"},
		cmds:  []string{"buy 3 0 8 market"},
		want: []string{
			"accepted 3 acct=1 buy market GTC px=0 qty=8",
			"trade maker=1 taker=3 macct=2 tacct=1 buy px=100 qty=5 mleft=0 tleft=3",
			"level sell 100 qty=0 n=0",
			"trade maker=2 taker=3 macct=2 tacct=1 buy px=105 qty=3 mleft=2 tleft=0",
			"level sell 105 qty=2 n=1",
		},
	},
	{
		name:  "market remainder is cancelled and never rests",
		setup: []string{"buy 1 100 5 acct=2"},
		cmds:  []string{"sell 2 12345 8 market"},
		want: []string{
			"accepted 2 acct=1 sell market GTC px=0 qty=8",
			"trade maker=1 taker=2 macct=2 tacct=1 sell px=100 qty=5 mleft=0 tleft=3",
			"level buy 100 qty=0 n=0",
			"cancelled 2 acct=1 sell px=0 left=3 unfilled",
		},
	},
	{
		name: "market order on an empty book",
		cmds: []string{"buy 1 0 8 market"},
		want: []string{
			"accepted 1 acct=1 buy market GTC px=0 qty=8",
			"cancelled 1 acct=1 buy px=0 left=8 unfilled",
		},
	},
	{
		name:  "FOK fills in full across levels",
		setup: []string{"sell 1 100 5 acct=2", "sell 2 101 5 acct=2"},
		cmds:  []string{"buy 3 101 10 fok"},
		want: []string{
			"accepted 3 acct=1 buy limit FOK px=101 qty=10",
			"trade maker=1 taker=3 macct=2 tacct=1 buy px=100 qty=5 mleft=0 tleft=5",
			"level sell 100 qty=0 n=0",
			"trade maker=2 taker=3 macct=2 tacct=1 buy px=101 qty=5 mleft=0 tleft=0",
			"level sell 101 qty=0 n=0",
		},
	},
	{
		name:  "FOK that cannot fill is rejected and trades nothing",
		setup: []string{"sell 1 100 5 acct=2", "sell 2 101 5 acct=2"},
		cmds:  []string{"buy 3 100 10 fok", "buy 4 0 11 market fok", "cancel 1"},
		want: []string{
			"rejected 3 submit fok-cannot-fill",
			"rejected 4 submit fok-cannot-fill",
			"cancelled 1 acct=2 sell px=100 left=5 requested",
			"level sell 100 qty=0 n=0",
		},
	},
	{
		name:  "FOK counts self-trade prevention: own order blocks cancel-incoming",
		setup: []string{"sell 1 100 5 acct=1", "sell 2 100 5 acct=2"},
		cmds:  []string{"buy 3 100 5 fok stp=incoming"},
		want:  []string{"rejected 3 submit fok-cannot-fill"},
	},
	{
		name:  "FOK counts self-trade prevention: cancel-resting skips own order",
		setup: []string{"sell 1 100 5 acct=1", "sell 2 100 5 acct=2"},
		cmds:  []string{"buy 3 100 5 fok stp=resting"},
		want: []string{
			"accepted 3 acct=1 buy limit FOK px=100 qty=5",
			"cancelled 1 acct=1 sell px=100 left=5 self-trade",
			"trade maker=2 taker=3 macct=2 tacct=1 buy px=100 qty=5 mleft=0 tleft=0",
			"level sell 100 qty=0 n=0",
		},
	},
	{
		name:  "post-only rests when it would not trade",
		setup: []string{"sell 1 101 5 acct=2"},
		cmds:  []string{"buy 2 100 5 post"},
		want: []string{
			"accepted 2 acct=1 buy limit GTC px=100 qty=5 post",
			"level buy 100 qty=5 n=1",
		},
	},
	{
		name:  "post-only is rejected when it would trade",
		setup: []string{"sell 1 101 5 acct=2"},
		cmds:  []string{"buy 2 101 5 post", "buy 3 102 5 day post"},
		want: []string{
			"rejected 2 submit post-only-would-trade",
			"rejected 3 submit post-only-would-trade",
		},
	},
}

func TestRejectReasons(t *testing.T) {
	for _, tc := range rejectCases {
		t.Run(tc.name, func(t *testing.T) { runRule(t, tc) })
	}
}

var rejectCases = []ruleCase{
	{
		name: "invalid side, type, time in force",
		cmds: []string{"buy 1 100 5 raw-side=2", "buy 2 100 5 raw-type=2", "buy 3 100 5 raw-tif=4"},
		want: []string{
			"rejected 1 submit invalid",
			"rejected 2 submit invalid",
			"rejected 3 submit invalid",
		},
	},
	{
		name: "post-only must be a resting limit order",
		cmds: []string{"buy 1 100 5 ioc post", "buy 2 100 5 fok post", "buy 3 0 5 market post"},
		want: []string{
			"rejected 1 submit invalid",
			"rejected 2 submit invalid",
			"rejected 3 submit invalid",
		},
	},
	{
		name: "quantity must be positive and bounded",
		cmds: []string{"buy 1 100 0", "buy 2 100 -5", "buy 3 100 4294967297", "buy 4 0 0 market"},
		want: []string{
			"rejected 1 submit quantity-not-positive",
			"rejected 2 submit quantity-not-positive",
			"rejected 3 submit quantity-too-large",
			"rejected 4 submit quantity-not-positive",
		},
	},
	{
		name: "quantity must be a multiple of the lot",
		cfg:  Config{LotSize: 10},
		cmds: []string{"buy 1 100 15", "buy 2 100 20"},
		want: []string{
			"rejected 1 submit quantity-not-on-lot",
			"accepted 2 acct=1 buy limit GTC px=100 qty=20",
			"level buy 100 qty=20 n=1",
		},
	},
	{
		name: "price must be on the tick; market orders have no price",
		cfg:  Config{TickSize: 5},
		cmds: []string{"buy 1 102 10", "sell 2 103 10 market", "buy 3 -5 1"},
		want: []string{
			"rejected 1 submit price-not-on-tick",
			"accepted 2 acct=1 sell market GTC px=0 qty=10",
			"cancelled 2 acct=1 sell px=0 left=10 unfilled",
			"accepted 3 acct=1 buy limit GTC px=-5 qty=1",
			"level buy -5 qty=1 n=1",
		},
	},
	{
		name: "price must be in range",
		cmds: []string{"buy 1 4503599627370497 1", "sell 2 -4503599627370497 1"},
		want: []string{
			"rejected 1 submit price-out-of-range",
			"rejected 2 submit price-out-of-range",
		},
	},
	{
		name:  "price must be inside the band around the reference",
		cfg:   Config{BandTicks: 10},
		setup: []string{"reference 100"},
		cmds:  []string{"buy 1 111 1", "sell 2 89 1", "buy 3 110 1", "sell 4 0 1 market"},
		want: []string{
			"rejected 1 submit price-outside-band",
			"rejected 2 submit price-outside-band",
			"accepted 3 acct=1 buy limit GTC px=110 qty=1",
			"level buy 110 qty=1 n=1",
			"accepted 4 acct=1 sell market GTC px=0 qty=1",
			"trade maker=3 taker=4 macct=1 tacct=1 sell px=110 qty=1 mleft=0 tleft=0",
			"level buy 110 qty=0 n=0",
		},
	},
	{
		name: "no band before a reference is set",
		cfg:  Config{BandTicks: 10},
		cmds: []string{"buy 1 1000 1"},
		want: []string{
			"accepted 1 acct=1 buy limit GTC px=1000 qty=1",
			"level buy 1000 qty=1 n=1",
		},
	},
	{
		name:  "duplicate order id",
		setup: []string{"buy 1 100 5"},
		cmds:  []string{"sell 1 105 5", "sell 1 100 5 ioc"},
		want: []string{
			"rejected 1 submit duplicate-order-id",
			"rejected 1 submit duplicate-order-id",
		},
	},
	{
		name:  "book full",
		cfg:   Config{OrdersMax: 1},
		setup: []string{"buy 1 100 5"},
		cmds:  []string{"buy 2 99 5"},
		want:  []string{"rejected 2 submit book-full"},
	},
	{
		name: "unknown order on cancel and amend",
		cmds: []string{"cancel 9", "amend 9 100 5"},
		want: []string{
			"rejected 9 cancel unknown-order",
			"rejected 9 amend unknown-order",
		},
	},
	{
		name:  "a rejected amend leaves the order as it was",
		cfg:   Config{TickSize: 5, LotSize: 2, BandTicks: 50},
		setup: []string{"reference 100", "buy 1 100 10", "sell 2 105 2 post acct=2"},
		cmds: []string{
			"amend 1 100 0", "amend 1 100 3", "amend 1 102 10", "amend 1 200 10",
			"amend 1 100 4294967298", "amend 2 100 2",
			"cancel 1",
		},
		want: []string{
			"rejected 1 amend quantity-not-positive",
			"rejected 1 amend quantity-not-on-lot",
			"rejected 1 amend price-not-on-tick",
			"rejected 1 amend price-outside-band",
			"rejected 1 amend quantity-too-large",
			"rejected 2 amend post-only-would-trade",
			"cancelled 1 acct=1 buy px=100 left=10 requested",
			"level buy 100 qty=0 n=0",
		},
	},
}

func TestCancelAndAmend(t *testing.T) {
	for _, tc := range amendCases {
		t.Run(tc.name, func(t *testing.T) { runRule(t, tc) })
	}
}

var amendCases = []ruleCase{
	{
		name:  "cancel",
		setup: []string{"buy 1 100 5", "buy 2 100 7"},
		cmds:  []string{"cancel 1", "cancel 2", "cancel 2"},
		want: []string{
			"cancelled 1 acct=1 buy px=100 left=5 requested",
			"level buy 100 qty=7 n=1",
			"cancelled 2 acct=1 buy px=100 left=7 requested",
			"level buy 100 qty=0 n=0",
			"rejected 2 cancel unknown-order",
		},
	},
	{
		name:  "quantity down at the same price keeps priority",
		setup: []string{"buy 1 100 10", "buy 2 100 10"},
		cmds:  []string{"amend 1 100 6", "sell 3 100 6 acct=2"},
		want: []string{
			"replaced 1 acct=1 buy px=100 qty=6 left=6 kept",
			"level buy 100 qty=16 n=2",
			"accepted 3 acct=2 sell limit GTC px=100 qty=6",
			"trade maker=1 taker=3 macct=1 tacct=2 sell px=100 qty=6 mleft=0 tleft=0",
			"level buy 100 qty=10 n=1",
		},
	},
	{
		name:  "same price and quantity keeps priority",
		setup: []string{"buy 1 100 10", "buy 2 100 10"},
		cmds:  []string{"amend 1 100 10", "sell 3 100 1 acct=2"},
		want: []string{
			"replaced 1 acct=1 buy px=100 qty=10 left=10 kept",
			"level buy 100 qty=20 n=2",
			"accepted 3 acct=2 sell limit GTC px=100 qty=1",
			"trade maker=1 taker=3 macct=1 tacct=2 sell px=100 qty=1 mleft=9 tleft=0",
			"level buy 100 qty=19 n=2",
		},
	},
	{
		name:  "quantity up loses priority",
		setup: []string{"buy 1 100 10", "buy 2 100 10"},
		cmds:  []string{"amend 1 100 12", "sell 3 100 5 acct=2"},
		want: []string{
			"replaced 1 acct=1 buy px=100 qty=12 left=12 requeued",
			"level buy 100 qty=10 n=1",
			"level buy 100 qty=22 n=2",
			"accepted 3 acct=2 sell limit GTC px=100 qty=5",
			"trade maker=2 taker=3 macct=1 tacct=2 sell px=100 qty=5 mleft=5 tleft=0",
			"level buy 100 qty=17 n=2",
		},
	},
	{
		name:  "price change loses priority",
		setup: []string{"buy 1 100 10", "buy 2 99 10"},
		cmds:  []string{"amend 1 99 10", "sell 3 99 5 acct=2"},
		want: []string{
			"replaced 1 acct=1 buy px=99 qty=10 left=10 requeued",
			"level buy 100 qty=0 n=0",
			"level buy 99 qty=20 n=2",
			"accepted 3 acct=2 sell limit GTC px=99 qty=5",
			"trade maker=2 taker=3 macct=1 tacct=2 sell px=99 qty=5 mleft=5 tleft=0",
			"level buy 99 qty=15 n=2",
		},
	},
	{
		name:  "quantity counts what has filled",
		setup: []string{"buy 1 100 10", "sell 2 100 4 acct=2"},
		cmds:  []string{"amend 1 100 8"},
		want: []string{
			"replaced 1 acct=1 buy px=100 qty=8 left=4 kept",
			"level buy 100 qty=4 n=1",
		},
	},
	{
		name:  "new quantity equal to filled ends the order",
		setup: []string{"buy 1 100 10", "sell 2 100 4 acct=2"},
		cmds:  []string{"amend 1 100 4", "cancel 1"},
		want: []string{
			"cancelled 1 acct=1 buy px=100 left=6 amended-to-filled",
			"level buy 100 qty=0 n=0",
			"rejected 1 cancel unknown-order",
		},
	},
	{
		name:  "new quantity below filled ends the order, whatever the price",
		setup: []string{"buy 1 100 10", "buy 5 100 1", "sell 2 100 4 acct=2"},
		cmds:  []string{"amend 1 98 3"},
		want: []string{
			"cancelled 1 acct=1 buy px=100 left=6 amended-to-filled",
			"level buy 100 qty=1 n=1",
		},
	},
	{
		name:  "amend that crosses trades at once",
		setup: []string{"buy 1 99 10", "sell 2 100 4 acct=2"},
		cmds:  []string{"amend 1 100 10"},
		want: []string{
			"replaced 1 acct=1 buy px=100 qty=10 left=10 requeued",
			"level buy 99 qty=0 n=0",
			"trade maker=2 taker=1 macct=2 tacct=1 buy px=100 qty=4 mleft=0 tleft=6",
			"level sell 100 qty=0 n=0",
			"level buy 100 qty=6 n=1",
		},
	},
	{
		name:  "amend that crosses keeps the order's self-trade mode",
		setup: []string{"buy 1 99 10 stp=incoming", "sell 2 100 4"},
		cmds:  []string{"amend 1 100 10", "cancel 1"},
		want: []string{
			"replaced 1 acct=1 buy px=100 qty=10 left=10 requeued",
			"level buy 99 qty=0 n=0",
			"cancelled 1 acct=1 buy px=100 left=10 self-trade",
			"rejected 1 cancel unknown-order",
		},
	},
	{
		name:  "quantity down outside a moved band is allowed",
		cfg:   Config{BandTicks: 10},
		setup: []string{"reference 100", "buy 1 95 10", "reference 200"},
		cmds:  []string{"amend 1 95 5", "amend 1 96 5"},
		want: []string{
			"replaced 1 acct=1 buy px=95 qty=5 left=5 kept",
			"level buy 95 qty=5 n=1",
			"rejected 1 amend price-outside-band",
		},
	},
}

func TestSelfTradePrevention(t *testing.T) {
	for _, tc := range stpCases {
		t.Run(tc.name, func(t *testing.T) { runRule(t, tc) })
	}
}

var stpCases = []ruleCase{
	{
		name:  "off by default: an account may trade with itself",
		setup: []string{"sell 1 100 5"},
		cmds:  []string{"buy 2 100 5"},
		want: []string{
			"accepted 2 acct=1 buy limit GTC px=100 qty=5",
			"trade maker=1 taker=2 macct=1 tacct=1 buy px=100 qty=5 mleft=0 tleft=0",
			"level sell 100 qty=0 n=0",
		},
	},
	{
		name:  "cancel resting",
		setup: []string{"sell 1 100 5", "sell 2 100 5 acct=2"},
		cmds:  []string{"buy 3 100 5 stp=resting"},
		want: []string{
			"accepted 3 acct=1 buy limit GTC px=100 qty=5",
			"cancelled 1 acct=1 sell px=100 left=5 self-trade",
			"trade maker=2 taker=3 macct=2 tacct=1 buy px=100 qty=5 mleft=0 tleft=0",
			"level sell 100 qty=0 n=0",
		},
	},
	{
		name:  "cancel incoming before any trade leaves the level alone",
		setup: []string{"sell 1 100 5", "sell 2 100 5 acct=2"},
		cmds:  []string{"buy 3 100 5 stp=incoming"},
		want: []string{
			"accepted 3 acct=1 buy limit GTC px=100 qty=5",
			"cancelled 3 acct=1 buy px=100 left=5 self-trade",
		},
	},
	{
		name:  "cancel incoming after a partial fill",
		setup: []string{"sell 1 100 3 acct=2", "sell 2 100 5", "sell 3 100 5 acct=2"},
		cmds:  []string{"buy 4 100 10 stp=incoming"},
		want: []string{
			"accepted 4 acct=1 buy limit GTC px=100 qty=10",
			"trade maker=1 taker=4 macct=2 tacct=1 buy px=100 qty=3 mleft=0 tleft=7",
			"level sell 100 qty=10 n=2",
			"cancelled 4 acct=1 buy px=100 left=7 self-trade",
		},
	},
	{
		name:  "cancel both",
		setup: []string{"sell 1 100 5", "sell 2 100 5 acct=2"},
		cmds:  []string{"buy 3 100 5 stp=both"},
		want: []string{
			"accepted 3 acct=1 buy limit GTC px=100 qty=5",
			"cancelled 1 acct=1 sell px=100 left=5 self-trade",
			"level sell 100 qty=5 n=1",
			"cancelled 3 acct=1 buy px=100 left=5 self-trade",
		},
	},
	{
		name:  "other accounts are not affected",
		setup: []string{"sell 1 100 5 acct=2"},
		cmds:  []string{"buy 3 100 5 stp=both"},
		want: []string{
			"accepted 3 acct=1 buy limit GTC px=100 qty=5",
			"trade maker=1 taker=3 macct=2 tacct=1 buy px=100 qty=5 mleft=0 tleft=0",
			"level sell 100 qty=0 n=0",
		},
	},
}

func TestMassCancelAndExpiry(t *testing.T) {
	for _, tc := range massCases {
		t.Run(tc.name, func(t *testing.T) { runRule(t, tc) })
	}
}

var massCases = []ruleCase{
	{
		name:  "DAY orders expire, GTC orders stay",
		setup: []string{"buy 1 100 5 day", "buy 2 100 6", "sell 3 105 7 day acct=2", "sell 4 106 1 day"},
		cmds:  []string{"expire", "expire"},
		want: []string{
			"expired 1 acct=1 buy px=100 left=5",
			"level buy 100 qty=6 n=1",
			"expired 3 acct=2 sell px=105 left=7",
			"level sell 105 qty=0 n=0",
			"expired 4 acct=1 sell px=106 left=1",
			"level sell 106 qty=0 n=0",
		},
	},
	{
		name:  "cancel by account",
		setup: []string{"buy 1 100 5 acct=2", "buy 2 99 5", "buy 3 99 5 acct=2", "sell 4 101 5 acct=2", "sell 5 102 1"},
		cmds:  []string{"cancel-account 2", "cancel-account 2"},
		want: []string{
			"cancelled 1 acct=2 buy px=100 left=5 mass-cancel",
			"level buy 100 qty=0 n=0",
			"cancelled 3 acct=2 buy px=99 left=5 mass-cancel",
			"level buy 99 qty=5 n=1",
			"cancelled 4 acct=2 sell px=101 left=5 mass-cancel",
			"level sell 101 qty=0 n=0",
		},
	},
	{
		name:  "cancel the whole book, bids then asks, best first",
		setup: []string{"sell 1 102 1", "buy 2 99 2", "buy 3 100 3 acct=2", "sell 4 101 4", "buy 5 99 5"},
		cmds:  []string{"cancel-all", "buy 6 100 1"},
		want: []string{
			"cancelled 3 acct=2 buy px=100 left=3 mass-cancel",
			"level buy 100 qty=0 n=0",
			"cancelled 2 acct=1 buy px=99 left=2 mass-cancel",
			"cancelled 5 acct=1 buy px=99 left=5 mass-cancel",
			"level buy 99 qty=0 n=0",
			"cancelled 4 acct=1 sell px=101 left=4 mass-cancel",
			"level sell 101 qty=0 n=0",
			"cancelled 1 acct=1 sell px=102 left=1 mass-cancel",
			"level sell 102 qty=0 n=0",
			"accepted 6 acct=1 buy limit GTC px=100 qty=1",
			"level buy 100 qty=1 n=1",
		},
	},
}
