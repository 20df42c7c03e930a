package transport

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Channel strings name a medium and its parameters:
//
//	ipc                                          in-process
//	udp?endpoint=127.0.0.1:40123                 unicast (publication: destination; subscription: bind)
//	udp?endpoint=239.1.1.1:40124|interface=lo|ttl=1   multicast group
//	udp?control-mode=manual[|control=host:port]  multi-destination publication; add destinations at run time
//	spy:udp?endpoint=...                         subscription reading a local network publication in place
//
// Optional parameters: control=host:port binds the publication's socket
// (where status messages and NAKs arrive); fc=min|max picks multi-receiver
// flow control; term-length=N and mtu=N override the driver defaults;
// loopback=false stops multicast from looping back to this host's receivers
// (it is on by default so that receivers on the same host hear the group).
// A publication can start at a given position instead of 0 (a new cluster
// leader continuing the log, an archive replay keeping the recorded
// positions): init-term-id=N|term-id=N|term-offset=N, and session-id=N to
// fix the session id.
type channelSpec struct {
	raw        string
	ipc        bool
	spy        bool
	endpoint   netip.AddrPort
	control    netip.AddrPort
	iface      string
	ttl        int
	noLoopback bool
	manualMDC  bool
	flow       string
	termLength int
	mtu        int

	hasStart    bool
	initTermID  int32
	termID      int32
	termOffset  int32
	hasSession  bool
	sessionID   int32
	startFields int
}

func (c channelSpec) multicast() bool { return c.endpoint.IsValid() && c.endpoint.Addr().IsMulticast() }

// endpointKey identifies a receive endpoint.
func (c channelSpec) endpointKey() string { return c.endpoint.String() }

func parseChannel(s string) (channelSpec, error) {
	spec := channelSpec{raw: s}
	rest := strings.TrimPrefix(s, "aeron:")
	if r, ok := strings.CutPrefix(rest, "spy:"); ok {
		spec.spy, rest = true, strings.TrimPrefix(r, "aeron:")
	}
	if rest == "ipc" || strings.HasPrefix(rest, "ipc?") {
		if spec.spy {
			return spec, fmt.Errorf("%w: %q: spy needs a udp channel", ErrBadChannel, s)
		}
		spec.ipc = true
		if params, ok := strings.CutPrefix(rest, "ipc?"); ok {
			for _, kv := range strings.Split(params, "|") {
				k, v, _ := strings.Cut(kv, "=")
				if k == "endpoint" || k == "control" || k == "control-mode" || k == "interface" || k == "ttl" || k == "fc" || k == "loopback" {
					return spec, fmt.Errorf("%w: %q: %s is not an ipc parameter", ErrBadChannel, s, k)
				}
				if err := spec.set(k, v); err != nil {
					return spec, fmt.Errorf("%w: %q: %v", ErrBadChannel, s, err)
				}
			}
		}
		if spec.startFields != 0 && spec.startFields != 3 {
			return spec, fmt.Errorf("%w: %q: init-term-id, term-id and term-offset go together", ErrBadChannel, s)
		}
		return spec, nil
	}
	params, ok := strings.CutPrefix(rest, "udp?")
	if !ok {
		return spec, fmt.Errorf("%w: %q: want ipc or udp?...", ErrBadChannel, s)
	}
	for _, kv := range strings.Split(params, "|") {
		k, v, _ := strings.Cut(kv, "=")
		if err := spec.set(k, v); err != nil {
			return spec, fmt.Errorf("%w: %q: %v", ErrBadChannel, s, err)
		}
	}
	if !spec.endpoint.IsValid() && !spec.manualMDC {
		return spec, fmt.Errorf("%w: %q: endpoint required", ErrBadChannel, s)
	}
	if spec.startFields != 0 && spec.startFields != 3 {
		return spec, fmt.Errorf("%w: %q: init-term-id, term-id and term-offset go together", ErrBadChannel, s)
	}
	return spec, nil
}

func (c *channelSpec) setStart(k string, n int32) {
	switch k {
	case "session-id":
		c.hasSession, c.sessionID = true, n
		return
	case "init-term-id":
		c.initTermID = n
	case "term-id":
		c.termID = n
	case "term-offset":
		c.termOffset = n
	}
	c.hasStart = true
	c.startFields++
}

func (c *channelSpec) set(k, v string) error {
	var err error
	switch k {
	case "endpoint":
		c.endpoint, err = netip.ParseAddrPort(v)
	case "control":
		c.control, err = netip.ParseAddrPort(v)
	case "interface":
		c.iface = v
	case "ttl":
		c.ttl, err = strconv.Atoi(v)
	case "loopback":
		var on bool
		on, err = strconv.ParseBool(v)
		c.noLoopback = !on
	case "control-mode":
		if v != "manual" {
			return fmt.Errorf("control-mode %q unsupported (manual only)", v)
		}
		c.manualMDC = true
	case "fc":
		if v != "min" && v != "max" {
			return fmt.Errorf("fc %q: want min or max", v)
		}
		c.flow = v
	case "term-length":
		c.termLength, err = strconv.Atoi(v)
	case "mtu":
		c.mtu, err = strconv.Atoi(v)
	case "init-term-id", "term-id", "term-offset", "session-id":
		var n int64
		if n, err = strconv.ParseInt(v, 10, 32); err != nil {
			return err
		}
		c.setStart(k, int32(n))
	default:
		return fmt.Errorf("unknown parameter %q", k)
	}
	return err
}
