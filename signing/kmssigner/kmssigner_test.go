package kmssigner_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/signing/kmssigner"
)

// fakeKMS answers GetPublicKey and Sign in KMS's wire format (JSON 1.1: a POST to / with
// X-Amz-Target TrentService.<Operation>, blobs in base64) with a real P-256 key.
type fakeKMS struct {
	key     *ecdsa.PrivateKey
	keyID   string
	keySpec string

	mu      sync.Mutex
	targets []string
}

func newFakeKMS(t *testing.T) (*fakeKMS, *kms.Client) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f := &fakeKMS{key: key, keyID: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", keySpec: "ECC_NIST_P256"}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := kms.New(kms.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	return f, client
}

func (f *fakeKMS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	f.mu.Lock()
	f.targets = append(f.targets, target)
	f.mu.Unlock()
	fail := func(status int, typ, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
		!strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		fail(http.StatusBadRequest, "ValidationException", "not a signed KMS JSON 1.1 request")
		return
	}
	body, _ := io.ReadAll(r.Body)
	var in struct {
		KeyId            string
		Message          []byte
		MessageType      string
		SigningAlgorithm string
	}
	if err := json.Unmarshal(body, &in); err != nil {
		fail(http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if in.KeyId != "alias/edgeflag-signing" && in.KeyId != f.keyID {
		fail(http.StatusBadRequest, "NotFoundException", "Key '"+in.KeyId+"' does not exist")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch target {
	case "TrentService.GetPublicKey":
		der, _ := x509.MarshalPKIXPublicKey(&f.key.PublicKey)
		json.NewEncoder(w).Encode(map[string]any{"KeyId": f.keyID, "PublicKey": der, "KeySpec": f.keySpec,
			"KeyUsage": "SIGN_VERIFY", "SigningAlgorithms": []string{"ECDSA_SHA_256"}})
	case "TrentService.Sign":
		if in.MessageType != "DIGEST" || in.SigningAlgorithm != "ECDSA_SHA_256" || len(in.Message) != 32 {
			fail(http.StatusBadRequest, "ValidationException", "want a 32-byte DIGEST signed with ECDSA_SHA_256")
			return
		}
		der, _ := ecdsa.SignASN1(rand.Reader, f.key, in.Message)
		json.NewEncoder(w).Encode(map[string]any{"KeyId": f.keyID, "Signature": der, "SigningAlgorithm": "ECDSA_SHA_256"})
	default:
		fail(http.StatusBadRequest, "UnknownOperationException", target)
	}
}

func TestKMSSigner(t *testing.T) {
	f, client := newFakeKMS(t)
	ctx := context.Background()
	s, err := kmssigner.New(ctx, client, "alias/edgeflag-signing")
	if err != nil {
		t.Fatal(err)
	}
	if signing.KeyID(s.PublicKey()) != signing.KeyID(&f.key.PublicKey) {
		t.Fatal("the signer's public key is not the KMS key's")
	}
	hash := strings.Repeat("ab", 32)
	sig, err := signing.Sign(ctx, s, "production", hash, 5)
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := signing.NewKeyring(&f.key.PublicKey)
	if err := ring.Verify("production", hash, 5, sig); err != nil {
		t.Fatalf("a KMS signature does not verify: %v", err)
	}
	if err := ring.Verify("staging", hash, 5, sig); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("Verify for staging = %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := []string{"TrentService.GetPublicKey", "TrentService.Sign"}; strings.Join(f.targets, ",") != strings.Join(want, ",") {
		t.Errorf("operations %v, want %v", f.targets, want)
	}
}

func TestKMSSignerErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, keyID, keySpec, want string
	}{
		{"no key", "", "ECC_NIST_P256", "no KMS key ID"},
		{"unknown key", "alias/nope", "ECC_NIST_P256", "NotFoundException"},
		{"RSA key", "alias/edgeflag-signing", "RSA_2048", "key spec RSA_2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, client := newFakeKMS(t)
			f.keySpec = tt.keySpec
			_, err := kmssigner.New(ctx, client, tt.keyID)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want %q", err, tt.want)
			}
		})
	}
}
