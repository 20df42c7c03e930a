package orderbook

import (
	"fmt"
	"strconv"
	"strings"
)

// booker is what the book and the reference book both implement, so that
// the same commands drive both.
type booker interface {
	Submit(Order) RejectReason
	Cancel(OrderID) RejectReason
	Amend(id OrderID, price, qty int64) RejectReason
	Replace(id OrderID, price, open int64) RejectReason
	CancelAccount(Account) int
	CancelAll() int
	ExpireDay() int
	SetReference(price int64) RejectReason
}

type cmdKind uint8

const (
	cmdSubmit cmdKind = iota
	cmdCancel
	cmdAmend
	cmdCancelAccount
	cmdCancelAll
	cmdExpire
	cmdReference
	cmdReplace
)

// command is one call on a booker.
type command struct {
	kind    cmdKind
	order   Order // cmdSubmit
	id      OrderID
	price   int64 // cmdAmend, cmdReplace, cmdReference
	qty     int64 // cmdAmend, cmdReplace (the open quantity)
	account Account
}

// applyBoth applies c to b and to ref and returns how they part: a
// difference in their events, or an invariant b breaks ("" when neither).
func applyBoth(c command, b *Book, ref *refBook, rec, refRec *recorder) string {
	c.apply(b)
	c.apply(ref)
	if d := diffRecorded(rec.take(), refRec.take()); d != "" {
		return d
	}
	if err := b.Check(); err != nil {
		return err.Error()
	}
	return ""
}

func (c command) apply(b booker) {
	switch c.kind {
	case cmdSubmit:
		b.Submit(c.order)
	case cmdCancel:
		b.Cancel(c.id)
	case cmdAmend:
		b.Amend(c.id, c.price, c.qty)
	case cmdReplace:
		b.Replace(c.id, c.price, c.qty)
	case cmdCancelAccount:
		b.CancelAccount(c.account)
	case cmdCancelAll:
		b.CancelAll()
	case cmdExpire:
		b.ExpireDay()
	case cmdReference:
		b.SetReference(c.price)
	}
}

func (c command) String() string {
	switch c.kind {
	case cmdSubmit:
		return fmt.Sprintf("submit %+v", c.order)
	case cmdCancel:
		return fmt.Sprintf("cancel %d", c.id)
	case cmdAmend:
		return fmt.Sprintf("amend %d px=%d qty=%d", c.id, c.price, c.qty)
	case cmdReplace:
		return fmt.Sprintf("replace %d px=%d open=%d", c.id, c.price, c.qty)
	case cmdCancelAccount:
		return fmt.Sprintf("cancel-account %d", c.account)
	case cmdCancelAll:
		return "cancel-all"
	case cmdExpire:
		return "expire-day"
	case cmdReference:
		return fmt.Sprintf("reference %d", c.price)
	}
	return "?"
}

// parseCommand reads one script line:
//
//	buy ID PRICE QTY [acct=N] [gtc|day|ioc|fok] [market] [post] [stp=resting|incoming|both]
//	sell ... (the same)
//	cancel ID
//	amend ID PRICE QTY
//	replace ID PRICE OPEN
//	cancel-account N | cancel-all | expire | reference PRICE
func parseCommand(line string) command {
	f := strings.Fields(line)
	num := func(i int) int64 {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			panic(fmt.Sprintf("script %q: field %d: %v", line, i, err))
		}
		return n
	}
	switch f[0] {
	case "buy", "sell":
		o := Order{ID: OrderID(num(1)), Price: num(2), Quantity: num(3), Account: 1}
		if f[0] == "sell" {
			o.Side = Sell
		}
		for _, opt := range f[4:] {
			parseOption(&o, opt, line)
		}
		return command{kind: cmdSubmit, order: o}
	case "cancel":
		return command{kind: cmdCancel, id: OrderID(num(1))}
	case "amend":
		return command{kind: cmdAmend, id: OrderID(num(1)), price: num(2), qty: num(3)}
	case "replace":
		return command{kind: cmdReplace, id: OrderID(num(1)), price: num(2), qty: num(3)}
	case "cancel-account":
		return command{kind: cmdCancelAccount, account: Account(num(1))}
	case "cancel-all":
		return command{kind: cmdCancelAll}
	case "expire":
		return command{kind: cmdExpire}
	case "reference":
		return command{kind: cmdReference, price: num(1)}
	}
	panic("script: unknown command " + line)
}

func parseOption(o *Order, opt, line string) {
	switch {
	case opt == "gtc":
		o.TIF = GTC
	case opt == "day":
		o.TIF = Day
	case opt == "ioc":
		o.TIF = IOC
	case opt == "fok":
		o.TIF = FOK
	case opt == "market":
		o.Type = Market
	case opt == "post":
		o.PostOnly = true
	case opt == "stp=resting":
		o.STP = STPCancelResting
	case opt == "stp=incoming":
		o.STP = STPCancelIncoming
	case opt == "stp=both":
		o.STP = STPCancelBoth
	case strings.HasPrefix(opt, "acct="):
		n, err := strconv.Atoi(opt[len("acct="):])
		if err != nil {
			panic("script: " + line)
		}
		o.Account = Account(n)
	case strings.HasPrefix(opt, "raw-type="), strings.HasPrefix(opt, "raw-tif="), strings.HasPrefix(opt, "raw-side="):
		parseRaw(o, opt, line)
	default:
		panic("script: unknown option " + opt + " in " + line)
	}
}

// parseRaw sets out-of-range enum values, to test RejectInvalid.
func parseRaw(o *Order, opt, line string) {
	k, v, _ := strings.Cut(opt, "=")
	n, err := strconv.Atoi(v)
	if err != nil {
		panic("script: " + line)
	}
	switch k {
	case "raw-type":
		o.Type = OrderType(n)
	case "raw-tif":
		o.TIF = TimeInForce(n)
	case "raw-side":
		o.Side = Side(n)
	}
}
