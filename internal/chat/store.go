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
	// Append adds ev at the end of the named log and returns the sequence
	// number it got (the log's previous head plus one). ev.Seq is ignored.
	Append(log string, ev Event) (uint64, error)
	// Head returns the sequence number of the last event in the log, 0 if empty.
	Head(log string) (uint64, error)
	// Read returns up to limit events of the log with a sequence number
	// greater than after, oldest first.
	Read(log string, after uint64, limit int) ([]Event, error)
	// ReadBefore returns up to limit events of the log with a sequence number
	// less than before (0: the newest), oldest first.
	ReadBefore(log string, before uint64, limit int) ([]Event, error)
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
