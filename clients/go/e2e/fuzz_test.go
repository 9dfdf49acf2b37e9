package e2e_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/spartan-messenger/spartan/clients/go/e2e"
)

// FuzzOpen: no payload, however made, panics the parsers; none but one
// sealed with the key opens, and every refusal is one of the two errors a
// client turns into its warning.
func FuzzOpen(f *testing.F) {
	key := bytes.Repeat([]byte{3}, e2e.KeySize)
	ad := e2e.AD{Sender: "alice", Receiver: "bob", ClientMsgID: "x"}
	// A fixed nonce: each fuzzing process runs this anew and must get the same.
	nonce := make([]byte, e2e.NonceSize)
	good := must(e2e.Seal(key, nonce, []byte("hi"), ad))
	group := must(e2e.SealGroup(e2e.SenderKey{ID: make([]byte, e2e.KeyIDSize), Key: key}, nonce, []byte("hi"), ad))
	for _, seed := range [][]byte{good, group, nil, {1}, {2}, {9, 9}, good[:e2e.Overhead-1], group[:e2e.GroupOverhead-1]} {
		f.Add(bytes.Clone(seed)) // the engine may reuse what it is given
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, open := range []func() ([]byte, error){
			func() ([]byte, error) { return e2e.Open(key, payload, ad) },
			func() ([]byte, error) { return e2e.OpenGroup(key, payload, ad) },
			func() ([]byte, error) { return e2e.GroupKeyID(payload) },
		} {
			out, err := open()
			if err != nil && !errors.Is(err, e2e.ErrNotAuthentic) && !errors.Is(err, e2e.ErrUnknownScheme) {
				t.Fatalf("payload %x: %v, not one of the two errors", payload, err)
			}
			_ = out
		}
		if plain, err := e2e.Open(key, payload, ad); err == nil && (!bytes.Equal(payload, good) || string(plain) != "hi") {
			t.Fatalf("a payload that is not a seal opened: %x -> %q", payload, plain)
		}
	})
}
