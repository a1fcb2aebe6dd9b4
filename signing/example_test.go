package signing_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/edgeflag/edgeflag/signing"
)

// A publisher signs what a pointer says; an edge verifies it with the public key.
func Example() {
	key, err := signing.GenerateKey() // edgeflag keygen writes key.PrivateKeyPEM() to a file
	if err != nil {
		panic(err)
	}
	hash := "9f2c5d0e8a7b6c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
	sig, err := signing.Sign(context.Background(), key, "production", hash, 12)
	if err != nil {
		panic(err)
	}

	ring, err := signing.ParsePublicKeys(signing.PublicKeyPEM(key.PublicKey()))
	if err != nil {
		panic(err)
	}
	fmt.Println(ring.Verify("production", hash, 12, sig))
	// The staging edge refuses production's pointer.
	fmt.Println(errors.Is(ring.Verify("staging", hash, 12, sig), signing.ErrBadSignature))
	// Output:
	// <nil>
	// true
}
