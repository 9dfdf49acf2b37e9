package cache

import (
	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/window"
)

// tail is the cached end of one log: events with consecutive sequence
// numbers, exactly as the wrapped store holds them, oldest first. Events in
// it are never changed in place; a tail only grows at the end and is trimmed
// at the front, in the array it has (internal/window).
type tail struct {
	events window.Window[chat.Event]
	bytes  int64
	// ahead holds committed events past a gap after last(), until the
	// event of the gap arrives. They are few (a gap is as long as the
	// commits of the log in flight at once) and short-lived, so the
	// cache's bounds do not count them.
	ahead map[uint64]chat.Event
}

func newTail(evs []chat.Event) *tail {
	t := &tail{}
	for i := range evs {
		t.push(evs[i])
	}
	return t
}

func (t *tail) first() uint64 { return t.events.Items()[0].Seq }

func (t *tail) last() uint64 { return t.events.Items()[t.events.Len()-1].Seq }

// push adds ev, whose Seq must follow last().
func (t *tail) push(ev chat.Event) {
	t.events.Append(ev)
	t.bytes += int64(ev.Size())
}

// holdAhead keeps ev, which does not follow last() yet.
func (t *tail) holdAhead(ev chat.Event) {
	if t.ahead == nil {
		t.ahead = map[uint64]chat.Event{}
	}
	t.ahead[ev.Seq] = ev
}

// takeAhead removes and returns the event held ahead with sequence number
// seq, if there is one.
func (t *tail) takeAhead(seq uint64) (chat.Event, bool) {
	ev, ok := t.ahead[seq]
	if ok {
		delete(t.ahead, seq)
	}
	return ev, ok
}

// dropFront removes the n oldest events and returns the bytes they held.
func (t *tail) dropFront(n int) int64 {
	var freed int64
	for _, ev := range t.events.Items()[:n] {
		freed += int64(ev.Size())
	}
	t.events.DropFront(n)
	t.bytes -= freed
	return freed
}

// slice returns a copy of the events with sequence numbers from first to
// last inclusive, which the tail must hold.
func (t *tail) slice(first, last uint64) []chat.Event {
	if last < first {
		return nil
	}
	base := t.first()
	out := make([]chat.Event, last-first+1)
	copy(out, t.events.Items()[first-base:last-base+1])
	return out
}
