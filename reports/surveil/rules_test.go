package surveil

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParseRules(t *testing.T) {
	cases := []struct {
		name, in string
		check    func(r Rules) bool
		wantErr  bool
	}{
		{"empty object keeps the defaults", `{}`, func(r Rules) bool { return reflect.DeepEqual(r, DefaultRules()) }, false},
		{"one field overrides one default", `{"spoofing":{"size_multiple":8}}`, func(r Rules) bool {
			return r.Spoofing.SizeMultiple == 8 && r.Spoofing.NearTouchTicks == DefaultRules().Spoofing.NearTouchTicks
		}, false},
		{"durations as Go strings", `{"burst":{"window":"250ms"}}`, func(r Rules) bool {
			return r.Burst.Window == Duration(250*time.Millisecond) && r.Burst.MessagesMax == 500
		}, false},
		{"linked accounts and disabled detectors", `{"linked_accounts":[["A","B"]],"disabled":{"wash":true}}`, func(r Rules) bool {
			return len(r.Linked) == 1 && !r.enabled(TypeWash) && r.enabled(TypeSpoofing)
		}, false},
		{"unknown field", `{"spofing":{}}`, nil, true},
		{"out of range", `{"layering":{"orders_min":1}}`, nil, true},
		{"bad duration", `{"burst":{"window":"soon"}}`, nil, true},
		{"unknown detector disabled", `{"disabled":{"frontrunning":true}}`, nil, true},
		{"trailing data", `{} {}`, nil, true},
		{"account name too long", `{"linked_accounts":[["ABCDEFGHIJKLMNOPQ","B"]]}`, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := ParseRules([]byte(c.in))
			if c.wantErr {
				if !errors.Is(err, ErrRules) {
					t.Fatalf("err = %v, want ErrRules", err)
				}
				return
			}
			if err != nil || !c.check(r) {
				t.Fatalf("%+v, %v", r, err)
			}
		})
	}
}

// The defaults are valid, and so are the generated day's rules.
func TestDefaultRulesValid(t *testing.T) {
	for _, r := range []Rules{DefaultRules(), DayRules()} {
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzParseRules: any input either fails with ErrRules or gives valid
// rules that survive a write and a re-read unchanged.
func FuzzParseRules(f *testing.F) {
	seeds := []string{
		`{}`, // the defaults
		`{"spoofing":{"size_multiple":5,"near_touch_ticks":3,"cancel_within":"2s","lifetime_max":"30s","filled_ratio_max":0.1}}`, // a full section
		`{"burst":{"window":"1.5s","messages_max":2}}`,     // the smallest burst
		`{"linked_accounts":[["A","B"],["C"]]}`,            // groups, one of a single account
		`{"disabled":{"wash":true,"message_burst":false}}`, // switching detectors
		`{"close":{"window":"0s"}}`,                        // out of range: an empty close window
		`{"merge_gap":"-1s"}`,                              // negative duration
		`{"otr":{"count_limit":1e308}}`,                    // huge float
		`{"momentum":`,                                     // truncated
		`[]`,                                               // not an object
		`{"typical_orders_min":1} trailing`,                // trailing garbage
		"{\"linked_accounts\":[[\"\\u0000\"]]}",            // NUL account name
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRules(data)
		if err != nil {
			if !errors.Is(err, ErrRules) {
				t.Fatalf("error %v does not wrap ErrRules", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("parsed rules do not validate: %v", err)
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseRules(out)
		if err != nil {
			t.Fatalf("re-read of %s: %v", out, err)
		}
		if !reflect.DeepEqual(normalize(r), normalize(back)) {
			t.Fatalf("round trip changed the rules:\n%+v\n%+v", r, back)
		}
	})
}

// normalize makes empty and nil collections compare equal.
func normalize(r Rules) Rules {
	if len(r.Disabled) == 0 {
		r.Disabled = nil
	}
	if len(r.Linked) == 0 {
		r.Linked = nil
	}
	return r
}
