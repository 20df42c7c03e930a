package loadgen

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quickfixgo/quickfix"
)

// message spells req in FIX 4.4.
func (d *FIXDriver) message(req *Request) (*quickfix.Message, error) {
	if req.Instrument < 0 || req.Instrument >= len(d.cfg.Instruments) {
		return nil, fmt.Errorf("%w: instrument %d", ErrConfig, req.Instrument)
	}
	in := d.cfg.Instruments[req.Instrument]
	m := quickfix.NewMessage()
	switch req.Kind {
	case RequestNew:
		m.Header.SetString(tagMsgType, msgTypeNewOrderSingle)
	case RequestCancel:
		m.Header.SetString(tagMsgType, msgTypeOrderCancel)
		m.Body.SetString(tagOrigClOrdID, req.OrigClOrdID)
	case RequestReplace:
		m.Header.SetString(tagMsgType, msgTypeOrderReplace)
		m.Body.SetString(tagOrigClOrdID, req.OrigClOrdID)
	default:
		return nil, fmt.Errorf("%w: request kind %v", ErrConfig, req.Kind)
	}
	m.Body.SetString(tagClOrdID, req.ClOrdID)
	m.Body.SetString(tagSymbol, in.Symbol)
	m.Body.SetString(tagSide, fixSide(req.Side))
	m.Body.SetField(tagTransactTime, quickfix.FIXUTCTimestamp{Time: time.Now().UTC(), Precision: quickfix.Micros})
	m.Body.SetString(tagOrderQty, strconv.FormatInt(req.Qty, 10))
	if req.Kind == RequestCancel {
		return m, nil
	}
	if req.OrdType == Market {
		m.Body.SetString(tagOrdType, "1")
	} else {
		m.Body.SetString(tagOrdType, "2")
		m.Body.SetString(tagPrice, formatPrice(req.Price, int(in.PriceDecimals)))
	}
	m.Body.SetString(tagTimeInForce, fixTIF(req.TIF))
	return m, nil
}

func fixSide(s Side) string {
	if s == Sell {
		return "2"
	}
	return "1"
}

func fixTIF(t TimeInForce) string {
	switch t {
	case GTC:
		return "1"
	case IOC:
		return "3"
	}
	return "0"
}

// formatPrice writes v units of 10^-decimals as a FIX decimal.
func formatPrice(v int64, decimals int) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	if decimals > 0 {
		if len(s) <= decimals {
			s = strings.Repeat("0", decimals-len(s)+1) + s
		}
		s = s[:len(s)-decimals] + "." + s[len(s)-decimals:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// CancelAll sends every logged-on session an OrderMassCancelRequest for all
// its orders and waits for the reports.
func (d *FIXDriver) CancelAll(ctx context.Context) (int64, error) {
	var sent []int
	for i, s := range d.sessions {
		select {
		case <-s.mass: // a stale report
		default:
		}
		if !s.loggedOn.Load() {
			continue
		}
		m := quickfix.NewMessage()
		m.Header.SetString(tagMsgType, msgTypeMassCancel)
		m.Body.SetString(tagClOrdID, "LGMC."+strconv.FormatInt(d.massSeq.Add(1), 36)+"."+strconv.FormatInt(time.Now().UnixMilli(), 36))
		m.Body.SetString(tagMassCancelReqType, "7") // all orders
		m.Body.SetField(tagTransactTime, quickfix.FIXUTCTimestamp{Time: time.Now().UTC(), Precision: quickfix.Micros})
		if err := d.send(i, m); err != nil {
			return 0, fmt.Errorf("mass cancel on %s: %w", d.ids[i].SenderCompID, err)
		}
		sent = append(sent, i)
	}
	var total int64
	for _, i := range sent {
		select {
		case n := <-d.sessions[i].mass:
			if n < 0 {
				return total, fmt.Errorf("mass cancel on %s refused", d.ids[i].SenderCompID)
			}
			total += n
		case <-ctx.Done():
			return total, fmt.Errorf("mass cancel on %s: %w", d.ids[i].SenderCompID, ctx.Err())
		}
	}
	return total, nil
}
