package container

import (
	"cmp"
	"slices"
)

// Timer is a pending timer: its correlation id and absolute deadline in
// cluster time.
type Timer struct {
	CorrelationID int64
	DeadlineNs    int64
}

func timerLess(a, b Timer) bool {
	if a.DeadlineNs != b.DeadlineNs {
		return a.DeadlineNs < b.DeadlineNs
	}
	return a.CorrelationID < b.CorrelationID
}

// timerQueue holds pending timers in a binary min-heap by (deadline,
// correlation id) with an index by correlation id, so that scheduling,
// cancelling and expiring cost O(log n) and finding the due ones costs
// O(due): 100 k pending timers are cheap. Its order depends only on the
// calls made, never on map iteration.
type timerQueue struct {
	heap  []Timer
	index map[int64]int // correlation id -> heap position
}

func newTimerQueue() timerQueue { return timerQueue{index: map[int64]int{}} }

func (q *timerQueue) len() int { return len(q.heap) }

func (q *timerQueue) deadline(corr int64) (int64, bool) {
	i, ok := q.index[corr]
	if !ok {
		return 0, false
	}
	return q.heap[i].DeadlineNs, true
}

// schedule adds a timer or moves an existing one to a new deadline.
func (q *timerQueue) schedule(corr, deadlineNs int64) {
	if i, ok := q.index[corr]; ok {
		q.heap[i].DeadlineNs = deadlineNs
		q.fix(i)
		return
	}
	q.heap = append(q.heap, Timer{corr, deadlineNs})
	q.index[corr] = len(q.heap) - 1
	q.up(len(q.heap) - 1)
}

// cancel removes a timer and reports whether it was pending.
func (q *timerQueue) cancel(corr int64) bool {
	i, ok := q.index[corr]
	if !ok {
		return false
	}
	last := len(q.heap) - 1
	q.swap(i, last)
	q.heap = q.heap[:last]
	delete(q.index, corr)
	if i < last {
		q.fix(i)
	}
	return true
}

// appendDue appends the timers due at nowNs to dst in (deadline,
// correlation id) order: a walk of the heap that stops below any timer not
// yet due.
func (q *timerQueue) appendDue(dst []Timer, nowNs int64) []Timer {
	start := len(dst)
	var walk func(i int)
	walk = func(i int) {
		if i >= len(q.heap) || q.heap[i].DeadlineNs > nowNs {
			return
		}
		dst = append(dst, q.heap[i])
		walk(2*i + 1)
		walk(2*i + 2)
	}
	walk(0)
	slices.SortFunc(dst[start:], func(a, b Timer) int {
		if a.DeadlineNs != b.DeadlineNs {
			return cmp.Compare(a.DeadlineNs, b.DeadlineNs)
		}
		return cmp.Compare(a.CorrelationID, b.CorrelationID)
	})
	return dst
}

// sorted returns every pending timer by correlation id (snapshots).
func (q *timerQueue) sorted() []Timer {
	out := slices.Clone(q.heap)
	slices.SortFunc(out, func(a, b Timer) int { return cmp.Compare(a.CorrelationID, b.CorrelationID) })
	return out
}

func (q *timerQueue) fix(i int) {
	if !q.down(i) {
		q.up(i)
	}
}

func (q *timerQueue) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !timerLess(q.heap[i], q.heap[p]) {
			return
		}
		q.swap(i, p)
		i = p
	}
}

func (q *timerQueue) down(i int) bool {
	start := i
	for {
		l := 2*i + 1
		if l >= len(q.heap) {
			break
		}
		m := l
		if r := l + 1; r < len(q.heap) && timerLess(q.heap[r], q.heap[l]) {
			m = r
		}
		if !timerLess(q.heap[m], q.heap[i]) {
			break
		}
		q.swap(i, m)
		i = m
	}
	return i > start
}

func (q *timerQueue) swap(i, j int) {
	q.heap[i], q.heap[j] = q.heap[j], q.heap[i]
	q.index[q.heap[i].CorrelationID] = i
	q.index[q.heap[j].CorrelationID] = j
}
