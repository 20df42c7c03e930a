package engine

import "encoding/binary"

// In-place views of the identifier fields of the order-entry commands. The
// generated *Key accessors return copies, which the hot path then copied
// again into keys and read back a word at a time; these return pointers
// into the message, so that names are hashed, compared and validated where
// they lie, and copied once, into the order record, when an order is made.
// The message must not change while a command runs (it never does: the
// engine writes its reports elsewhere).

func (m NewOrder) accountRef() *[accountNameBytes]byte {
	return (*[accountNameBytes]byte)(m[newOrderAccountOffset:])
}

func (m NewOrder) principalRef() *[principalNameBytes]byte {
	return (*[principalNameBytes]byte)(m[newOrderPrincipalOffset:])
}

func (m NewOrder) clOrdIDRef() *[clOrdIDBytes]byte {
	return (*[clOrdIDBytes]byte)(m[newOrderClOrdIDOffset:])
}

func (m CancelOrder) accountRef() *[accountNameBytes]byte {
	return (*[accountNameBytes]byte)(m[cancelOrderAccountOffset:])
}

func (m CancelOrder) principalRef() *[principalNameBytes]byte {
	return (*[principalNameBytes]byte)(m[cancelOrderPrincipalOffset:])
}

func (m CancelOrder) clOrdIDRef() *[clOrdIDBytes]byte {
	return (*[clOrdIDBytes]byte)(m[cancelOrderClOrdIDOffset:])
}

func (m CancelOrder) origClOrdIDRef() *[clOrdIDBytes]byte {
	return (*[clOrdIDBytes]byte)(m[cancelOrderOrigClOrdIDOffset:])
}

func (m ReplaceOrder) accountRef() *[accountNameBytes]byte {
	return (*[accountNameBytes]byte)(m[replaceOrderAccountOffset:])
}

func (m ReplaceOrder) principalRef() *[principalNameBytes]byte {
	return (*[principalNameBytes]byte)(m[replaceOrderPrincipalOffset:])
}

func (m ReplaceOrder) clOrdIDRef() *[clOrdIDBytes]byte {
	return (*[clOrdIDBytes]byte)(m[replaceOrderClOrdIDOffset:])
}

func (m ReplaceOrder) origClOrdIDRef() *[clOrdIDBytes]byte {
	return (*[clOrdIDBytes]byte)(m[replaceOrderOrigClOrdIDOffset:])
}

// zeroClOrdID reports whether a ClOrdID field is empty (all NUL).
func zeroClOrdID(id *[clOrdIDBytes]byte) bool {
	return loadWord(id[0:8])|loadWord(id[8:16])|loadWord(id[16:24])|loadWord(id[24:32]) == 0
}

// zeroName reports whether a 16-byte name field is empty (all NUL).
func zeroName(n *[16]byte) bool { return loadWord(n[0:8])|loadWord(n[8:16]) == 0 }

// loadWord reads eight bytes little-endian.
func loadWord(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }
