package config

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzParse: Parse never panics, and whatever it accepts survives
// Marshal → Parse unchanged.
func FuzzParse(f *testing.F) {
	var example bytes.Buffer
	if err := WriteExample(&example); err != nil {
		f.Fatal(err)
	}
	f.Add(example.Bytes())                                                                 // the commented default file
	f.Add([]byte(exampleFile))                                                             // hand-written, with cmd/venue tables
	f.Add([]byte("[cluster]\nsecret = \"hex:00\"\n"))                                      // settings only, bad secret
	f.Add([]byte("[[member]]\nid = 0\n"))                                                  // incomplete member
	f.Add([]byte("[cluster]\nheartbeat_interval = 25\n"))                                  // integer duration
	f.Add([]byte("[cluster\n"))                                                            // syntax error
	f.Add([]byte("[cluster]\nlog_multicast = \"239.1.1.1:9\"\nlog_multicast_ttl = 300\n")) // multicast, bad ttl
	f.Add([]byte("member = [1, 2]\ncluster = \"x\"\n"))                                    // wrong shapes
	f.Add([]byte("[[member]]\nid = 9223372036854775807\n"))                                // id overflow
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		b, err := Marshal(c)
		if err != nil {
			t.Fatalf("marshal of a parsed cluster: %v", err)
		}
		again, err := Parse(b)
		if err != nil {
			t.Fatalf("reparse: %v\n%s", err, b)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip changed\n%+v\n%+v", c, again)
		}
	})
}
