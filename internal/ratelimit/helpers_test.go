package ratelimit_test

import (
	"net/http"

	"google.golang.org/protobuf/reflect/protoregistry"
	_ "google.golang.org/protobuf/types/known/emptypb" // registers google/protobuf/empty.proto
)

func protoregistryFiles() *protoregistry.Files { return protoregistry.GlobalFiles }

// h2c is an HTTP client that speaks cleartext HTTP/2, as gRPC needs.
func h2c() *http.Client {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: protocols}}
}
