package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	spartan "github.com/spartan-messenger/spartan/clients/go"
	"github.com/spartan-messenger/spartan/internal/config"
	"github.com/spartan-messenger/spartan/internal/servertest"
)

// TestTLS: with tls.cert_file and tls.key_file, a client that trusts the
// certificate logs in and chats; plaintext is not served, and a client that
// does not trust the certificate is refused.
func TestTLS(t *testing.T) {
	t.Parallel()
	cert, key := servertest.TLSFiles(t)
	srv := authServer(t, func(cfg *config.Config) { cfg.TLS = config.TLS{CertFile: cert, KeyFile: key} })
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	alice := spartan.New(srv.Addr, "alice", spartan.WithTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}), spartan.WithSigner(newSigner(t)))
	if _, err := alice.RequestChat(t.Context(), "bob"); err != nil {
		t.Fatalf("over TLS: %v", err)
	}
	if _, err := spartan.New(srv.Addr, "alice").ListUsers(t.Context()); err == nil {
		t.Error("plaintext to a TLS server got an answer")
	}
	if _, err := spartan.New(srv.Addr, "alice", spartan.WithTLS(nil)).ListUsers(t.Context()); err == nil {
		t.Error("a client that does not trust the certificate got through")
	}
}
