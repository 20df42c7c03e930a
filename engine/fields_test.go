package engine

import "testing"

// The in-place field views read exactly what the generated *Key accessors
// copy, for every field of the three order-entry commands.
func TestFieldRefsMatchKeys(t *testing.T) {
	_, n := AppendNewOrder(nil)
	n.SetAccount("ACCT-1")
	n.SetPrincipal("PRINCIPAL-1")
	n.SetClOrdID("client-order-id-0123456789abcdef")
	if *n.accountRef() != n.AccountKey() || *n.principalRef() != n.PrincipalKey() || *n.clOrdIDRef() != n.ClOrdIDKey() {
		t.Error("NewOrder views differ from its keys")
	}
	_, c := AppendCancelOrder(nil)
	c.SetAccount("ACCT-2")
	c.SetPrincipal("PRINCIPAL-2")
	c.SetClOrdID("c1")
	c.SetOrigClOrdID("orig-client-order-id-0123456789a")
	if *c.accountRef() != c.AccountKey() || *c.principalRef() != c.PrincipalKey() ||
		*c.clOrdIDRef() != c.ClOrdIDKey() || *c.origClOrdIDRef() != c.OrigClOrdIDKey() {
		t.Error("CancelOrder views differ from its keys")
	}
	_, r := AppendReplaceOrder(nil)
	r.SetAccount("ACCT-3")
	r.SetPrincipal("PRINCIPAL-3")
	r.SetClOrdID("r1")
	r.SetOrigClOrdID("o1")
	if *r.accountRef() != r.AccountKey() || *r.principalRef() != r.PrincipalKey() ||
		*r.clOrdIDRef() != r.ClOrdIDKey() || *r.origClOrdIDRef() != r.OrigClOrdIDKey() {
		t.Error("ReplaceOrder views differ from its keys")
	}
}

// zeroClOrdID and zeroName see a byte anywhere in the field.
func TestZeroFields(t *testing.T) {
	var id [clOrdIDBytes]byte
	var name [16]byte
	if !zeroClOrdID(&id) || !zeroName(&name) {
		t.Fatal("empty fields not zero")
	}
	for i := range id {
		id = [clOrdIDBytes]byte{}
		id[i] = 'x'
		if zeroClOrdID(&id) {
			t.Errorf("ClOrdID with byte %d set is zero", i)
		}
	}
	for i := range name {
		name = [16]byte{}
		name[i] = 'x'
		if zeroName(&name) {
			t.Errorf("name with byte %d set is zero", i)
		}
	}
}
