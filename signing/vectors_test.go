package signing_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"testing"

	"github.com/edgeflag/edgeflag/signing"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json (new signatures, same keys)")

// vectorsFile is shared with the JavaScript verifier's tests (tests/edge_signing_test.go).
const vectorsFile = "testdata/vectors.json"

// vectors is the layout of testdata/vectors.json.
type vectors struct {
	Comment       string `json:"comment"`
	Algorithm     string `json:"algorithm"`
	MessagePrefix string `json:"messagePrefix"`
	// PrivateKeys are test keys, only for regenerating the file.
	PrivateKeys []string `json:"privateKeys"`
	// PublicKeys is the keyring every case is verified with.
	PublicKeys string    `json:"publicKeys"`
	KeyIDs     []string  `json:"keyIds"`
	Cases      []vector  `json:"cases"`
	DER        []derCase `json:"der"`
}

type vector struct {
	Name        string `json:"name"`
	Environment string `json:"environment"`
	Snapshot    string `json:"snapshot"`
	Version     int64  `json:"version"`
	KeyID       string `json:"keyId"`
	Signature   string `json:"signature"`
	// Message is what the case's statement signs (for a reader; checked against Message).
	Message string `json:"message"`
	// Error is "" (verifies), "unsigned", "unknownKey" or "badSignature".
	Error string `json:"error"`
}

type derCase struct {
	DER string `json:"der"`
	Raw string `json:"raw"`
}

func readVectors(t *testing.T) *vectors {
	t.Helper()
	data, err := os.ReadFile(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", vectorsFile, err)
	}
	return &v
}

var errorKinds = map[string]error{"unsigned": signing.ErrUnsigned, "unknownKey": signing.ErrUnknownKey, "badSignature": signing.ErrBadSignature}

func TestVectors(t *testing.T) {
	if *update {
		regenerate(t)
	}
	v := readVectors(t)
	ring, err := signing.ParsePublicKeys([]byte(v.PublicKeys))
	if err != nil {
		t.Fatal(err)
	}
	if got := ring.KeyIDs(); len(got) != len(v.KeyIDs) || got[0] != v.KeyIDs[0] || got[1] != v.KeyIDs[1] {
		t.Fatalf("key IDs %v, file says %v", got, v.KeyIDs)
	}
	for _, c := range v.Cases {
		t.Run(c.Name, func(t *testing.T) {
			if got := string(signing.Message(c.Environment, c.Snapshot, c.Version)); got != c.Message {
				t.Errorf("Message = %q, file says %q", got, c.Message)
			}
			err := ring.Verify(c.Environment, c.Snapshot, c.Version, signing.Signature{KeyID: c.KeyID, Value: c.Signature})
			if c.Error == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			want, ok := errorKinds[c.Error]
			if !ok {
				t.Fatalf("unknown error kind %q", c.Error)
			}
			if !errors.Is(err, want) {
				t.Fatalf("Verify = %v, want %v", err, want)
			}
		})
	}
	for i, c := range v.DER {
		der, _ := base64.StdEncoding.DecodeString(c.DER)
		raw, err := signing.RawFromDER(der)
		if err != nil || base64.StdEncoding.EncodeToString(raw) != c.Raw {
			t.Errorf("der %d: RawFromDER = %x, %v; want %s", i, raw, err, c.Raw)
		}
		back, err := signing.DERFromRaw(raw)
		if err != nil || base64.StdEncoding.EncodeToString(back) != c.DER {
			t.Errorf("der %d: DERFromRaw = %x, %v", i, back, err)
		}
	}
}

// regenerate rewrites the vectors with fresh signatures by the file's test keys.
func regenerate(t *testing.T) {
	v := readVectors(t)
	var signers []*signing.LocalSigner
	var pubs []byte
	v.KeyIDs = nil
	for _, p := range v.PrivateKeys {
		s, err := signing.ParsePrivateKey([]byte(p))
		if err != nil {
			t.Fatal(err)
		}
		signers = append(signers, s)
		pubs = append(pubs, signing.PublicKeyPEM(s.PublicKey())...)
		v.KeyIDs = append(v.KeyIDs, signing.KeyID(s.PublicKey()))
	}
	v.PublicKeys = string(pubs)
	v.Algorithm, v.MessagePrefix = signing.Algorithm, signing.MessagePrefix
	ctx := context.Background()
	hash := "9f2c5d0e8a7b6c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d"
	other := "0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6b7a8e0d5c2f"
	sign := func(s *signing.LocalSigner, env, h string, version int64) signing.Signature {
		sig, err := signing.Sign(ctx, s, env, h, version)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	a := sign(signers[0], "production", hash, 7)
	b := sign(signers[1], "production", hash, 8)
	stg := sign(signers[0], "staging", hash, 7)
	digest := signing.Digest("production", hash, 7)
	der, _ := ecdsa.SignASN1(rand.Reader, ecdsaKey(t, v.PrivateKeys[0]), digest[:])
	cases := []struct {
		name, env, hash string
		version         int64
		sig             signing.Signature
		err             string
	}{
		{"valid", "production", hash, 7, a, ""},
		{"valid with the second key of a rotation", "production", hash, 8, b, ""},
		{"tampered snapshot hash", "production", other, 7, a, "badSignature"},
		{"another environment's signature", "production", hash, 7, signing.Signature{KeyID: stg.KeyID, Value: stg.Value}, "badSignature"},
		{"relabelled environment", "staging", hash, 7, a, "badSignature"},
		{"replayed with a higher version", "production", hash, 9, a, "badSignature"},
		{"key ID of the other key", "production", hash, 7, signing.Signature{KeyID: b.KeyID, Value: a.Value}, "badSignature"},
		{"unknown key", "production", hash, 7, signing.Signature{KeyID: "0123456789abcdef", Value: a.Value}, "unknownKey"},
		{"unsigned", "production", hash, 7, signing.Signature{}, "unsigned"},
		{"signature not base64", "production", hash, 7, signing.Signature{KeyID: a.KeyID, Value: "not base64!"}, "badSignature"},
		{"DER signature instead of raw r||s", "production", hash, 7, signing.Signature{KeyID: a.KeyID, Value: base64.StdEncoding.EncodeToString(der)}, "badSignature"},
		{"zero signature", "production", hash, 7, signing.Signature{KeyID: a.KeyID, Value: base64.StdEncoding.EncodeToString(make([]byte, 64))}, "badSignature"},
	}
	v.Cases = nil
	for _, c := range cases {
		v.Cases = append(v.Cases, vector{Name: c.name, Environment: c.env, Snapshot: c.hash, Version: c.version,
			KeyID: c.sig.KeyID, Signature: c.sig.Value, Message: string(signing.Message(c.env, c.hash, c.version)), Error: c.err})
	}
	// DER conversion: one signature whose r and s need no padding byte, and one whose r
	// is shorter than 32 bytes (a leading zero dropped in DER).
	v.DER = nil
	var short, plain bool
	key := ecdsaKey(t, v.PrivateKeys[0])
	for i := 0; i < 100000 && !(short && plain); i++ {
		d := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
		der, _ := ecdsa.SignASN1(rand.Reader, key, d[:])
		raw, _ := signing.RawFromDER(der)
		switch {
		case !short && raw[0] == 0:
			short = true
		case !plain && len(der) == 70:
			plain = true
		default:
			continue
		}
		v.DER = append(v.DER, derCase{DER: base64.StdEncoding.EncodeToString(der), Raw: base64.StdEncoding.EncodeToString(raw)})
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	if err := os.WriteFile(vectorsFile, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func ecdsaKey(t *testing.T, pemText string) *ecdsa.PrivateKey {
	t.Helper()
	s, err := signing.ParsePrivateKey([]byte(pemText))
	if err != nil {
		t.Fatal(err)
	}
	return signing.PrivateKeyOf(s)
}
