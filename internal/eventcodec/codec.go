// Package eventcodec is the compact binary encoding of a chat.Event that
// the durable stores (bolt, Redis) keep: versioned, so that it can change
// without rewriting what is stored.
package eventcodec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// codecVersion starts every encoded event, so that the encoding can change
// without rewriting old files. Version 1 had no ClientID; it is still read.
const codecVersion = 2

// errTruncated is what decoding a value that ends too early returns.
var errTruncated = errors.New("truncated event")

// Encode appends ev to dst in the version 2 encoding: the version byte,
// then ID, Kind, Sender, Receiver, Group, SentAt (Unix nanoseconds), Payload,
// Encryption, Note and ClientID, strings and bytes as a uvarint length and
// the bytes, numbers as (u)varints. The sequence number is not stored: it is
// the key. Version 1 is the same without ClientID.
func Encode(dst []byte, ev *chat.Event) []byte {
	dst = append(dst, codecVersion)
	dst = appendString(dst, ev.ID)
	dst = binary.AppendUvarint(dst, uint64(ev.Kind))
	dst = appendString(dst, ev.Sender)
	dst = appendString(dst, ev.Receiver)
	dst = appendString(dst, ev.Group)
	var nanos int64 // the zero time encodes as 0
	if !ev.SentAt.IsZero() {
		nanos = ev.SentAt.UnixNano()
	}
	dst = binary.AppendVarint(dst, nanos)
	dst = binary.AppendUvarint(dst, uint64(len(ev.Payload)))
	dst = append(dst, ev.Payload...)
	dst = binary.AppendVarint(dst, int64(ev.Encryption))
	dst = appendString(dst, ev.Note)
	dst = appendString(dst, ev.ClientID)
	return dst
}

// Size is an upper bound of the length of ev's encoding.
func Size(ev *chat.Event) int {
	return 1 + 9*6 + len(ev.ID) + len(ev.Sender) + len(ev.Receiver) + len(ev.Group) + len(ev.Payload) + len(ev.Note) + len(ev.ClientID) + 4*binary.MaxVarintLen64
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// Decode decodes a value made by Encode; seq is the event's sequence
// number, which is not encoded (the stores keep it as the key). It copies everything it
// keeps: src may be memory that a store reuses after the transaction.
func Decode(src []byte, seq uint64) (chat.Event, error) {
	if len(src) == 0 {
		return chat.Event{}, errTruncated
	}
	version := src[0]
	if version != 1 && version != codecVersion {
		return chat.Event{}, fmt.Errorf("unknown event encoding version %d", version)
	}
	d := decoder{buf: src[1:]}
	ev := chat.Event{Seq: seq}
	ev.ID = d.string()
	ev.Kind = chat.Kind(d.uvarint())
	ev.Sender = d.string()
	ev.Receiver = d.string()
	ev.Group = d.string()
	if nanos := d.varint(); nanos != 0 {
		ev.SentAt = time.Unix(0, nanos).UTC()
	}
	if payload := d.bytes(); len(payload) > 0 {
		ev.Payload = append([]byte(nil), payload...)
	}
	ev.Encryption = int32(d.varint())
	ev.Note = d.string()
	if version >= 2 {
		ev.ClientID = d.string()
	}
	if d.err != nil {
		return chat.Event{}, d.err
	}
	if len(d.buf) != 0 {
		return chat.Event{}, fmt.Errorf("%d unexpected bytes after the event", len(d.buf))
	}
	return ev, nil
}

// decoder reads fields off buf; after the first error every read returns zero.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.err = errTruncated
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.buf)) {
		d.err = errTruncated
		return nil
	}
	b := d.buf[:n]
	d.buf = d.buf[n:]
	return b
}

func (d *decoder) string() string { return string(d.bytes()) }
