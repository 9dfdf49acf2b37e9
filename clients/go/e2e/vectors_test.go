package e2e_test

import (
	"bytes"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/spartan-messenger/spartan/clients/go/e2e"
)

var update = flag.Bool("update", false, "write testdata/e2e/vectors.json anew from this implementation")

var vectorsPath = filepath.Join("..", "..", "..", "testdata", "e2e", "vectors.json")

// vectors is testdata/e2e/vectors.json: what the Go and the Python
// implementations must both compute, byte for byte.
type vectors struct {
	About    string               `json:"about"`
	Scheme   int                  `json:"scheme"`
	Keys     map[string]keyVector `json:"keys"`
	Pairs    []pairVector         `json:"pairs"`
	Messages []messageVector      `json:"messages"`
	Bad      []badVector          `json:"bad"`
	// Groups are posts sealed with a sender key (scheme 2).
	Groups []groupVector `json:"groups"`
}

type groupVector struct {
	Sender      string `json:"sender"`
	Group       string `json:"group"`
	ClientMsgID string `json:"client_msg_id"`
	KeyID       string `json:"key_id"`
	Key         string `json:"key"`
	Nonce       string `json:"nonce"`
	Plaintext   string `json:"plaintext"`
	Payload     string `json:"payload"`
	// Error, for a bad one: "unknown scheme" or "not authentic".
	Error string `json:"error,omitempty"`
}

type keyVector struct {
	Private     string `json:"private"`
	Public      string `json:"public"`
	Fingerprint string `json:"fingerprint"`
}

type pairVector struct {
	A   string `json:"a"`
	B   string `json:"b"`
	Key string `json:"key"`
}

type messageVector struct {
	Sender      string `json:"sender"`
	Receiver    string `json:"receiver"`
	Group       string `json:"group"`
	ClientMsgID string `json:"client_msg_id"`
	Nonce       string `json:"nonce"`
	Plaintext   string `json:"plaintext"`
	Payload     string `json:"payload"`
}

type badVector struct {
	Name    string        `json:"name"`
	Message messageVector `json:"message"`
	Error   string        `json:"error"` // "unknown scheme" or "not authentic"
}

// must returns v, or panics (failing the test) on an error no vector
// should cause.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func hx(_ testing.TB, s string) []byte { return must(hex.DecodeString(s)) }

// generate computes the vectors with this implementation.
func generate(tb testing.TB) vectors {
	tb.Helper()
	v := vectors{
		About:  "Spartan end-to-end scheme v1 (docs/SECURITY.md): X25519, HKDF-SHA256 (salt \"spartan-e2e-v1\", info \"spartan-e2e-v1 pair\\0<a>\\0<b>\" with the names sorted), AES-256-GCM with associated data \"spartan-e2e-v1\\0<sender>\\0<receiver>\\0<group>\\0<client_msg_id>\"; payload = 0x01 | nonce | ciphertext | tag. Group posts (\"groups\"): AES-256-GCM under the sender's key for the group, the same associated data with an empty receiver; payload = 0x02 | key id (8) | nonce | ciphertext | tag. All bytes in hex. Made by clients/go/e2e (go test -update), checked by the Go and the Python tests.",
		Scheme: int(e2e.Version),
		Keys:   map[string]keyVector{},
	}
	priv := map[string]*ecdh.PrivateKey{}
	for _, u := range []string{"alice", "bob", "charlie"} {
		seed := sha256.Sum256([]byte(u + " identity key"))
		k := must(ecdh.X25519().NewPrivateKey(seed[:]))
		priv[u] = k
		v.Keys[u] = keyVector{Private: hex.EncodeToString(k.Bytes()), Public: hex.EncodeToString(k.PublicKey().Bytes()), Fingerprint: e2e.Fingerprint(k.PublicKey())}
	}
	// The last pair is listed unsorted: the file itself pins that the info
	// takes the names sorted.
	for _, p := range [][2]string{{"alice", "bob"}, {"bob", "charlie"}, {"charlie", "alice"}} {
		key := must(e2e.PairKey(priv[p[0]], priv[p[1]].PublicKey(), p[0], p[1]))
		v.Pairs = append(v.Pairs, pairVector{A: p[0], B: p[1], Key: hex.EncodeToString(key)})
	}
	key := func(a, b string) []byte { return must(e2e.PairKey(priv[a], priv[b].PublicKey(), a, b)) }
	for i, m := range []messageVector{
		{Sender: "alice", Receiver: "bob", ClientMsgID: "0e6a2c1e-8d3b-4f2a-9c71-5b6f8a1d2e3f", Plaintext: "Hey Bob!"},
		{Sender: "bob", Receiver: "alice", ClientMsgID: "b2", Plaintext: "Hi Alice! ☺ ünïcödé"},
		{Sender: "alice", Receiver: "bob", Plaintext: ""},
		{Sender: "charlie", Receiver: "bob", Group: "team", ClientMsgID: "g-7", Plaintext: "to the group"},
	} {
		nonce := sha256.Sum256([]byte{byte(i), 'n'})
		m.Nonce = hex.EncodeToString(nonce[:e2e.NonceSize])
		payload := must(e2e.Seal(key(m.Sender, m.Receiver), nonce[:e2e.NonceSize], []byte(m.Plaintext), ad(m)))
		m.Payload = hex.EncodeToString(payload)
		v.Messages = append(v.Messages, m)
	}
	good := v.Messages[0]
	tampered := good
	p := hx(tb, good.Payload)
	p[len(p)-1] ^= 1
	tampered.Payload = hex.EncodeToString(p)
	otherID := good
	otherID.ClientMsgID = "another id"
	otherName := good
	otherName.Sender = "charlie" // sealed by alice for bob: not charlie's
	scheme := good
	q := hx(tb, good.Payload)
	q[0] = 9
	scheme.Payload = hex.EncodeToString(q)
	short := good
	short.Payload = hex.EncodeToString(hx(tb, good.Payload)[:10])
	otherGroup := good
	otherGroup.Group = "team"
	empty := good
	empty.Payload = ""
	v.Bad = []badVector{
		{Name: "a flipped bit", Message: tampered, Error: "not authentic"},
		{Name: "another client_msg_id", Message: otherID, Error: "not authentic"},
		{Name: "claimed by another sender", Message: otherName, Error: "not authentic"},
		{Name: "a scheme from the future", Message: scheme, Error: "unknown scheme"},
		{Name: "cut short", Message: short, Error: "not authentic"},
		{Name: "another group", Message: otherGroup, Error: "not authentic"},
		{Name: "an empty payload", Message: empty, Error: "unknown scheme"},
	}
	for i, g := range []groupVector{
		{Sender: "alice", Group: "team", ClientMsgID: "p-1", Plaintext: "Hello, team!"},
		{Sender: "bob", Group: "team", ClientMsgID: "p-2", Plaintext: "ünïcödé ☺"},
	} {
		id := sha256.Sum256([]byte(g.Sender + " sender key id"))
		key := sha256.Sum256([]byte(g.Sender + " sender key"))
		nonce := sha256.Sum256([]byte{byte(i), 'g'})
		g.KeyID, g.Key, g.Nonce = hex.EncodeToString(id[:e2e.KeyIDSize]), hex.EncodeToString(key[:]), hex.EncodeToString(nonce[:e2e.NonceSize])
		sk := e2e.SenderKey{ID: id[:e2e.KeyIDSize], Key: key[:]}
		g.Payload = hex.EncodeToString(must(e2e.SealGroup(sk, nonce[:e2e.NonceSize], []byte(g.Plaintext), groupAD(g))))
		v.Groups = append(v.Groups, g)
	}
	post := v.Groups[0]
	flipped, otherSender, pairwise := post, post, post
	f := hx(tb, post.Payload)
	f[len(f)-1] ^= 1
	flipped.Payload, flipped.Error = hex.EncodeToString(f), "not authentic"
	otherSender.Sender, otherSender.Error = "bob", "not authentic" // alice's key, claimed by bob
	pw := hx(tb, post.Payload)
	pw[0] = 1
	pairwise.Payload, pairwise.Error = hex.EncodeToString(pw), "unknown scheme"
	v.Groups = append(v.Groups, flipped, otherSender, pairwise)
	return v
}

func groupAD(g groupVector) e2e.AD {
	return e2e.AD{Sender: g.Sender, Group: g.Group, ClientMsgID: g.ClientMsgID}
}

func ad(m messageVector) e2e.AD {
	return e2e.AD{Sender: m.Sender, Receiver: m.Receiver, Group: m.Group, ClientMsgID: m.ClientMsgID}
}

// TestVectors: this implementation computes exactly the shared vectors, and
// refuses each bad one with the right error.
func TestVectors(t *testing.T) {
	want := generate(t)
	if *update {
		var raw bytes.Buffer
		enc := json.NewEncoder(&raw)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(want); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, raw.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got vectors
	if err := json.Unmarshal(must(os.ReadFile(vectorsPath)), &got); err != nil {
		t.Fatal(err)
	}
	keys := map[string]*ecdh.PrivateKey{}
	for u, k := range got.Keys {
		priv := must(ecdh.X25519().NewPrivateKey(hx(t, k.Private)))
		keys[u] = priv
		if hex.EncodeToString(priv.PublicKey().Bytes()) != k.Public || e2e.Fingerprint(priv.PublicKey()) != k.Fingerprint {
			t.Errorf("%s: public key or fingerprint differs from the vectors", u)
		}
	}
	for _, p := range got.Pairs {
		ab := must(e2e.PairKey(keys[p.A], keys[p.B].PublicKey(), p.A, p.B))
		ba := must(e2e.PairKey(keys[p.B], keys[p.A].PublicKey(), p.B, p.A))
		if hex.EncodeToString(ab) != p.Key || !bytes.Equal(ab, ba) {
			t.Errorf("pair %s/%s: key differs from the vectors, or by side", p.A, p.B)
		}
	}
	pair := func(a, b string) []byte { return must(e2e.PairKey(keys[a], keys[b].PublicKey(), a, b)) }
	for _, m := range got.Messages {
		sealed := must(e2e.Seal(pair(m.Sender, m.Receiver), hx(t, m.Nonce), []byte(m.Plaintext), ad(m)))
		if hex.EncodeToString(sealed) != m.Payload {
			t.Errorf("seal %q: payload differs from the vectors", m.Plaintext)
		}
		plain, err := e2e.Open(pair(m.Receiver, m.Sender), hx(t, m.Payload), ad(m))
		if err != nil || string(plain) != m.Plaintext {
			t.Errorf("open %q: %q, %v", m.Plaintext, plain, err)
		}
	}
	for _, g := range got.Groups {
		key := hx(t, g.Key)
		if g.Error == "" {
			sealed := must(e2e.SealGroup(e2e.SenderKey{ID: hx(t, g.KeyID), Key: key}, hx(t, g.Nonce), []byte(g.Plaintext), groupAD(g)))
			if hex.EncodeToString(sealed) != g.Payload {
				t.Errorf("seal group post %q: payload differs from the vectors", g.Plaintext)
			}
			if id, err := e2e.GroupKeyID(sealed); err != nil || hex.EncodeToString(id) != g.KeyID {
				t.Errorf("group post %q names key %x, %v; want %s", g.Plaintext, id, err, g.KeyID)
			}
		}
		plain, err := e2e.OpenGroup(key, hx(t, g.Payload), groupAD(g))
		want := map[string]error{"": nil, "unknown scheme": e2e.ErrUnknownScheme, "not authentic": e2e.ErrNotAuthentic}[g.Error]
		if !errors.Is(err, want) || (want == nil && string(plain) != g.Plaintext) {
			t.Errorf("open group post %q (%s): %q, %v; want %v", g.Plaintext, g.Error, plain, err, want)
		}
	}
	for _, b := range got.Bad {
		_, err := e2e.Open(pair("bob", "alice"), hx(t, b.Message.Payload), ad(b.Message))
		want := map[string]error{"unknown scheme": e2e.ErrUnknownScheme, "not authentic": e2e.ErrNotAuthentic}[b.Error]
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", b.Name, err, want)
		}
	}
}

// TestFreshNonces: two seals of one message differ (a fresh nonce each), and
// both open.
func TestFreshNonces(t *testing.T) {
	key := bytes.Repeat([]byte{7}, e2e.KeySize)
	a := e2e.AD{Sender: "alice", Receiver: "bob", ClientMsgID: "x"}
	one := must(e2e.Seal(key, nil, []byte("same"), a))
	two := must(e2e.Seal(key, nil, []byte("same"), a))
	if bytes.Equal(one, two) || len(one) != e2e.Overhead+4 {
		t.Fatalf("two seals: equal %t, length %d; want different, %d", bytes.Equal(one, two), len(one), e2e.Overhead+4)
	}
	for _, p := range [][]byte{one, two} {
		if plain, err := e2e.Open(key, p, a); err != nil || string(plain) != "same" {
			t.Fatalf("open: %q, %v", plain, err)
		}
	}
}
