package bolt

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/spartan-messenger/spartan/internal/chat"
	"github.com/spartan-messenger/spartan/internal/eventcodec"
)

// logFillPercent packs log pages full: logs only ever grow at the end.
const logFillPercent = 1.0

// tx is a chat.Tx over a bbolt transaction.
type tx struct {
	btx *bbolt.Tx
}

// seqKey is the key of sequence number seq: big-endian, so keys sort as numbers.
func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq) }

func keySeq(k []byte) uint64 { return binary.BigEndian.Uint64(k) }

// Get returns a copy of the record under key, or chat.ErrNoKey.
func (t *tx) Get(key string) ([]byte, error) {
	v := t.btx.Bucket(kvBucket).Get([]byte(key))
	if v == nil {
		return nil, chat.ErrNoKey
	}
	return append([]byte(nil), v...), nil
}

// Put stores a copy of value under key.
func (t *tx) Put(key string, value []byte) error {
	if !t.btx.Writable() {
		return chat.ErrReadOnly
	}
	if err := t.btx.Bucket(kvBucket).Put([]byte(key), append([]byte(nil), value...)); err != nil {
		return fmt.Errorf("put %q: %w", key, err)
	}
	return nil
}

// Delete removes the record under key.
func (t *tx) Delete(key string) error {
	if !t.btx.Writable() {
		return chat.ErrReadOnly
	}
	if err := t.btx.Bucket(kvBucket).Delete([]byte(key)); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}

// Append stores ev at the end of the log under the next sequence number.
func (t *tx) Append(log string, ev chat.Event) (uint64, error) {
	if !t.btx.Writable() {
		return 0, chat.ErrReadOnly
	}
	b, err := t.btx.Bucket(logsBucket).CreateBucketIfNotExists([]byte(log))
	if err != nil {
		return 0, fmt.Errorf("create log %q: %w", log, err)
	}
	b.FillPercent = logFillPercent
	head, err := t.Head(log)
	if err != nil {
		return 0, err
	}
	seq := head + 1
	if err := b.Put(seqKey(seq), eventcodec.Encode(make([]byte, 0, eventcodec.Size(&ev)), &ev)); err != nil {
		return 0, fmt.Errorf("append to log %q at %d: %w", log, seq, err)
	}
	return seq, nil
}

// headRecord is the kv record that keeps a log's head once every event of
// it has been trimmed, so that its numbering goes on.
func headRecord(log string) []byte { return []byte("loghead/" + log) }

// Trim removes the log's events before sequence number before.
func (t *tx) Trim(log string, before uint64) error {
	if !t.btx.Writable() {
		return chat.ErrReadOnly
	}
	b := t.btx.Bucket(logsBucket).Bucket([]byte(log))
	if b == nil {
		return nil
	}
	head, err := t.Head(log)
	if err != nil {
		return err
	}
	var doomed [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && keySeq(k) < before; k, _ = c.Next() {
		doomed = append(doomed, append([]byte(nil), k...))
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("trim log %q at %d: %w", log, keySeq(k), err)
		}
	}
	if len(doomed) > 0 && before > head {
		if err := t.btx.Bucket(kvBucket).Put(headRecord(log), seqKey(head)); err != nil {
			return fmt.Errorf("trim log %q: %w", log, err)
		}
	}
	return nil
}

// Head returns the last sequence number of the log, 0 if it never had one.
func (t *tx) Head(log string) (uint64, error) {
	if b := t.btx.Bucket(logsBucket).Bucket([]byte(log)); b != nil {
		if k, _ := b.Cursor().Last(); k != nil {
			return keySeq(k), nil
		}
	}
	// Empty: never used, or trimmed to nothing (then its head was kept).
	if v := t.btx.Bucket(kvBucket).Get(headRecord(log)); len(v) == 8 {
		return keySeq(v), nil
	}
	return 0, nil
}

// Read returns up to limit events (and maxBytes of them) after sequence
// number after, oldest first.
func (t *tx) Read(log string, after uint64, limit, maxBytes int) ([]chat.Event, error) {
	b := t.btx.Bucket(logsBucket).Bucket([]byte(log))
	if b == nil || limit <= 0 || after == math.MaxUint64 {
		return nil, nil
	}
	var out []chat.Event
	budget := chat.NewBudget(maxBytes)
	c := b.Cursor()
	for k, v := c.Seek(seqKey(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
		ev, err := eventcodec.Decode(v, keySeq(k))
		if err != nil {
			return nil, fmt.Errorf("decode event %d of log %q: %w", keySeq(k), log, err)
		}
		if !budget.Take(&ev) {
			break
		}
		out = append(out, ev)
	}
	return out, nil
}

// ReadBefore returns up to limit events (and maxBytes of them) before
// sequence number before (0: the newest), oldest first.
func (t *tx) ReadBefore(log string, before uint64, limit, maxBytes int) ([]chat.Event, error) {
	b := t.btx.Bucket(logsBucket).Bucket([]byte(log))
	if b == nil || limit <= 0 || before == 1 {
		return nil, nil
	}
	c := b.Cursor()
	var k, v []byte
	if before == 0 {
		k, v = c.Last()
	} else if k, _ = c.Seek(seqKey(before)); k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	var out []chat.Event
	budget := chat.NewBudget(maxBytes)
	for ; k != nil && len(out) < limit; k, v = c.Prev() {
		ev, err := eventcodec.Decode(v, keySeq(k))
		if err != nil {
			return nil, fmt.Errorf("decode event %d of log %q: %w", keySeq(k), log, err)
		}
		if !budget.Take(&ev) {
			break
		}
		out = append(out, ev)
	}
	slices.Reverse(out)
	return out, nil
}
