package signing_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/signing"
)

const testHash = "9f2c5d0e8a7b6c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"

func TestMessage(t *testing.T) {
	got := string(signing.Message("production", testHash, 42))
	want := "edgeflag-snapshot-v1\nproduction\n" + testHash + "\n42"
	if got != want {
		t.Fatalf("Message = %q, want %q", got, want)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	s, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := signing.GenerateKey()
	ring, err := signing.ParsePublicKeys(append(signing.PublicKeyPEM(other.PublicKey()), signing.PublicKeyPEM(s.PublicKey())...))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signing.Sign(context.Background(), s, "production", testHash, 3)
	if err != nil {
		t.Fatal(err)
	}
	if sig.KeyID != signing.KeyID(s.PublicKey()) || len(sig.KeyID) != 16 {
		t.Fatalf("key ID %q", sig.KeyID)
	}
	if err := ring.Verify("production", testHash, 3, sig); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     string
		version int64
		want    error
	}{
		{"other environment", "staging", 3, signing.ErrBadSignature},
		{"older version", "production", 2, signing.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ring.Verify(tt.env, testHash, tt.version, sig); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	// The private key survives its PEM form.
	again, err := signing.ParsePrivateKey(s.PrivateKeyPEM())
	if err != nil || signing.KeyID(again.PublicKey()) != sig.KeyID {
		t.Fatalf("ParsePrivateKey(PrivateKeyPEM) = %v, %v", again, err)
	}
}

// wrongSigner answers with another key's signatures.
type wrongSigner struct{ *signing.LocalSigner }

func (w wrongSigner) PublicKey() *ecdsa.PublicKey {
	k, _ := signing.GenerateKey()
	return k.PublicKey()
}

func TestSignChecksTheSignerKey(t *testing.T) {
	s, _ := signing.GenerateKey()
	_, err := signing.Sign(context.Background(), wrongSigner{s}, "production", testHash, 1)
	if err == nil || !strings.Contains(err.Error(), "does not verify with its own public key") {
		t.Fatalf("Sign = %v", err)
	}
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestParseKeysErrors(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der384, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	priv384, _ := x509.MarshalPKCS8PrivateKey(p384)
	s, _ := signing.GenerateKey()
	tests := []struct {
		name, public, private, want string
	}{
		{"empty", "", "", "no public key given"},
		{"no block", "hello", "hello", "no PEM"},
		{"private key as public", string(s.PrivateKeyPEM()), string(signing.PublicKeyPEM(s.PublicKey())), `want "PUBLIC KEY"`},
		{"P-384", string(pemBlock("PUBLIC KEY", der384)), string(pemBlock("PRIVATE KEY", priv384)), "want P-256"},
		{"garbage DER", string(pemBlock("PUBLIC KEY", []byte{1, 2, 3})), string(pemBlock("PRIVATE KEY", []byte{1, 2, 3})), "signing: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := signing.ParsePublicKeys([]byte(tt.public)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParsePublicKeys = %v, want %q", err, tt.want)
			}
			if _, err := signing.ParsePrivateKey([]byte(tt.private)); err == nil {
				t.Errorf("ParsePrivateKey accepted it")
			}
		})
	}
	many := []byte{}
	for range signing.MaxKeys + 1 {
		k, _ := signing.GenerateKey()
		many = append(many, signing.PublicKeyPEM(k.PublicKey())...)
	}
	if _, err := signing.ParsePublicKeys(many); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Errorf("ParsePublicKeys of %d keys = %v", signing.MaxKeys+1, err)
	}
}

func TestDERConversionErrors(t *testing.T) {
	tests := []struct {
		name string
		der  []byte
	}{
		{"empty", nil},
		{"not a sequence", []byte{0x02, 0x01, 0x01}},
		{"trailing bytes", []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00}},
		{"zero r", []byte{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01}},
		{"r over 256 bits", append([]byte{0x30, 0x27, 0x02, 0x22, 0x01}, append(make([]byte, 33), 0x02, 0x01, 0x01)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if raw, err := signing.RawFromDER(tt.der); err == nil {
				t.Fatalf("RawFromDER = %x", raw)
			}
		})
	}
	if _, err := signing.DERFromRaw(make([]byte, 63)); err == nil {
		t.Error("DERFromRaw accepted 63 bytes")
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := t.TempDir()
	s, _ := signing.GenerateKey()
	path := filepath.Join(dir, "key.pem")
	os.WriteFile(path, s.PrivateKeyPEM(), 0o600)
	got, err := signing.LoadKeyFile(path)
	if err != nil || signing.KeyID(got.PublicKey()) != signing.KeyID(s.PublicKey()) {
		t.Fatalf("LoadKeyFile = %v, %v", got, err)
	}
	if _, err := signing.LoadKeyFile(filepath.Join(dir, "missing.pem")); err == nil {
		t.Error("a missing file loaded")
	}
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, signing.PublicKeyPEM(s.PublicKey()), 0o600)
	if _, err := signing.LoadKeyFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("LoadKeyFile of a public key = %v", err)
	}
}
