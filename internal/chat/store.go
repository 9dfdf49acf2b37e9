package chat

import (
	"context"
	"errors"
)

// ErrNoKey is what Tx.Get returns for a key that holds nothing.
var ErrNoKey = errors.New("no such key")

// ErrReadOnly is what the writing methods of a View's Tx return.
var ErrReadOnly = errors.New("write in a read-only transaction")

// Store keeps the core's state: append-only logs of events (inboxes and
// conversation histories) and a few small records. Everything a core operation
// changes happens in one Update, so it is all-or-nothing.
type Store interface {
	// Update runs fn in a read-write transaction and commits it if fn returns
	// nil. A store may run fn more than once (to retry or batch); fn must have
	// no effect outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is what a transaction can read and write. Methods of a read-only
// transaction that write return ErrReadOnly.
type Tx interface {
	// Get returns the record under key, or ErrNoKey.
	Get(key string) ([]byte, error)
	// Put stores a record under key.
	Put(key string, value []byte) error
	// Delete removes the record under key, if there is one.
	Delete(key string) error
	// Append adds ev at the end of the named log and returns the sequence
	// number it got (the log's previous head plus one). ev.Seq is ignored.
	Append(log string, ev Event) (uint64, error)
	// Trim removes the log's events with a sequence number below before
	// (retention). Head does not change, and the numbering goes on; reads
	// return what remains.
	Trim(log string, before uint64) error
	// Head returns the sequence number of the last event in the log, 0 if
	// it never had one.
	Head(log string) (uint64, error)
	// Read returns events of the log with a sequence number greater than
	// after, oldest first: up to limit of them, and only as many as fit in
	// maxBytes by Event.Size (maxBytes <= 0: no byte bound), but at least
	// one when there is one.
	Read(log string, after uint64, limit, maxBytes int) ([]Event, error)
	// ReadBefore returns events of the log with a sequence number less than
	// before (0: the newest), oldest first: the newest limit of them, and
	// only as many as fit in maxBytes by Event.Size (maxBytes <= 0: no byte
	// bound), but at least one when there is one.
	ReadBefore(log string, before uint64, limit, maxBytes int) ([]Event, error)
}

// HeadPrefetcher is what a Tx may also do: read the heads of many logs at
// once (a store over the network, in one round trip), before a write that
// appends to each of them, as a group post does to every member's inbox.
type HeadPrefetcher interface {
	PrefetchHeads(logs []string) error
}

// prefetchHeads reads the heads of logs at once when tx can.
func prefetchHeads(tx Tx, logs []string) error {
	if p, ok := tx.(HeadPrefetcher); ok && len(logs) > 1 {
		return p.PrefetchHeads(logs)
	}
	return nil
}

// Broker tells a log's readers that it has grown. It carries no data: a reader
// woken up reads the store, so a lost or merged wake-up costs nothing.
type Broker interface {
	// Publish wakes every subscriber of the log.
	Publish(ctx context.Context, log string, head uint64) error
	// Subscribe returns a channel that receives a value after the log grows,
	// and a function that ends the subscription.
	Subscribe(ctx context.Context, log string) (<-chan struct{}, func(), error)
}

// Budget counts the bytes of events read against a bound: a store's Read
// and ReadBefore stop when the next event would not fit.
type Budget struct {
	left  int
	bound bool
	any   bool
}

// NewBudget returns a budget of maxBytes; maxBytes <= 0 bounds nothing.
func NewBudget(maxBytes int) Budget { return Budget{left: maxBytes, bound: maxBytes > 0} }

// Take says whether ev fits and counts it if so. The first event always fits.
func (b *Budget) Take(ev *Event) bool {
	size := ev.Size()
	if b.bound && b.any && size > b.left {
		return false
	}
	b.left -= size
	b.any = true
	return true
}
