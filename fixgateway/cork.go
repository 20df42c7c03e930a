package fixgateway

// Coalescing a batch's writes (TCP_CORK).
//
// quickfixgo's writer writes each outbound message to the connection in
// its own system call, and with Nagle off (Go's default) each becomes a
// TCP segment of its own: on loopback the write also runs the receiver's
// side of TCP, and the client wakes for every message. When a session's
// sender has a batch of several messages it corks the connection first:
// the writer's writes then only queue bytes in the kernel, and they go
// out together, in full segments, when the connection is uncorked.
//
// It is uncorked as soon as the batch is over and quickfixgo has handed
// every one of the gateway's messages to the writer: by whichever of the
// sender (at the batch's end, when none is queued any more) and the
// session goroutine (after each hand-off, once the batch is over and none
// is queued) comes last. Each of the two first publishes its own step (the
// batch over; the count of queued messages lowered) and then reads the
// other's, so at least one of them sees both and uncorks; an uncork too
// many costs one system call, and a cork is always followed by the
// sender's check at the batch's end. A lone message is never corked: it
// goes out with no added wait. Logging off uncorks too, and the kernel
// sends a corked connection's bytes on close (and after 200 ms at the
// latest).

// corkBatchMin is the smallest batch worth corking for.
const corkBatchMin = 2

// beginBatch corks the connection for a batch of n messages; it reports
// whether the caller must call endBatch.
func (w *wire) beginBatch(n int) bool {
	if w == nil || n < corkBatchMin { // (w.off is the session goroutine's: not read here)
		return false
	}
	w.batch.Store(true)
	w.corkMu.Lock()
	defer w.corkMu.Unlock()
	if !w.corked {
		w.corked = w.sock.setCork(true)
	}
	return true
}

// endBatch ends a corked batch, and uncorks unless some of the gateway's
// messages are still in quickfixgo's queue (the session goroutine then
// uncorks after handing the last of them over).
func (w *wire) endBatch(h handoff) {
	w.batch.Store(false)
	if h.queuedNow() == 0 {
		w.uncork()
	}
}

// handedOver is called on the session goroutine after a hand-off and the
// wait for its write: it uncorks once the batch is over and nothing of the
// gateway's is queued.
func (w *wire) handedOver(h handoff) {
	if w == nil || w.batch.Load() || h.queuedNow() != 0 {
		return
	}
	w.uncork()
}

// uncork sends what the kernel holds for the connection.
func (w *wire) uncork() {
	if w == nil {
		return
	}
	w.corkMu.Lock()
	defer w.corkMu.Unlock()
	if w.corked {
		w.sock.setCork(false)
		w.corked = false
	}
}
