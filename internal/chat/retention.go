package chat

import (
	"fmt"
	"time"
)

// Retention bounds what the store keeps of each log; the zero value keeps
// everything. Every store enforces it the same way, because the core trims
// (Tx.Trim) as it writes: a log is trimmed when it grows, in the same
// transaction.
type Retention struct {
	// PerLog keeps the newest PerLog events of each inbox and conversation
	// (0: all of them).
	PerLog int
	// MaxAge drops events older than this from a log when it is written to
	// (0: no age limit). A log nobody writes to keeps its events until the
	// next write.
	MaxAge time.Duration
	// MaxUnread bounds what an inbox keeps past PerLog and MaxAge: events
	// its user has not acknowledged stay, up to MaxUnread of them (0: no
	// bound). A receiver whose unread events went is told how many.
	MaxUnread int
}

// retain trims log, which has just grown to head, as the retention says;
// reader is the user whose inbox it is ("" for a conversation).
func (w *writer) retain(log string, head uint64, reader string) error {
	r := w.s.opts.Retention
	var before uint64 // events below it go
	if r.PerLog > 0 && head > uint64(r.PerLog) {
		before = head - uint64(r.PerLog) + 1
	}
	if r.MaxAge > 0 {
		// The oldest event, if it has expired: one per write, so that the
		// cost of a write stays flat and expired events go as fast as new
		// ones come.
		oldest, err := w.tx.Read(log, max(before, 1)-1, 1, 0)
		if err != nil {
			return fmt.Errorf("retention of %s: %w", log, err)
		}
		if len(oldest) == 1 && oldest[0].Seq < head && oldest[0].SentAt.Before(w.s.opts.Now().Add(-r.MaxAge)) {
			before = max(before, oldest[0].Seq+1)
		}
	}
	if before <= 1 {
		return nil
	}
	if reader != "" {
		cursor, err := readCursor(w.tx, reader)
		if err != nil {
			return err
		}
		if cursor+1 < before {
			// Unread events stay, unless there are too many of them.
			keep := cursor + 1
			if r.MaxUnread > 0 && head > uint64(r.MaxUnread) {
				keep = max(keep, head-uint64(r.MaxUnread)+1)
			}
			before = min(before, keep)
		}
		if before <= 1 {
			return nil
		}
	}
	if err := w.tx.Trim(log, before); err != nil {
		return fmt.Errorf("retention of %s: %w", log, err)
	}
	return nil
}

// droppedNote tells a receiver that n events it had not read were dropped.
func droppedNote(n uint64) string {
	if n == 1 {
		return "1 message or notice sent to you was dropped unread: the server keeps a bounded number of messages (retention)."
	}
	return fmt.Sprintf("%d messages or notices sent to you were dropped unread: the server keeps a bounded number of messages (retention).", n)
}
