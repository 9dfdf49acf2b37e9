package eventcodec

import (
	"testing"
	"time"

	"github.com/spartan-messenger/spartan/internal/chat"
)

// TestDecodeVersion1: events written before ClientID (version 1) still
// read, as before.
func TestDecodeVersion1(t *testing.T) {
	t.Parallel()
	ev := chat.Event{ID: "x", Kind: chat.KindText, Sender: "alice", Receiver: "bob", SentAt: time.Unix(7, 0).UTC(), Payload: []byte("hi"), Note: "n"}
	v2 := Encode(nil, &ev)
	// Version 1 is version 2 without the ClientID at the end (empty here: one byte).
	v1 := append([]byte{1}, v2[1:len(v2)-1]...)
	got, err := Decode(v1, 3)
	ev.Seq = 3
	if err != nil || got.ID != ev.ID || got.Sender != ev.Sender || string(got.Payload) != "hi" || got.Note != "n" || !got.SentAt.Equal(ev.SentAt) || got.Seq != 3 {
		t.Fatalf("decode v1 = %+v, %v; want %+v", got, err, ev)
	}
	if _, err := Decode(append([]byte{3}, v2[1:]...), 1); err == nil {
		t.Fatal("version 3 decoded; want an error")
	}
}
