package signing

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
)

// PEM block types of the key files.
const (
	pemPrivate = "PRIVATE KEY" // PKCS #8
	pemPublic  = "PUBLIC KEY"  // PKIX SubjectPublicKeyInfo
)

// LocalSigner signs with a private key held in memory: the key file of `edgeflag keygen`,
// for `edgeflag publish`, `edgeflag dev` and CI. It is safe for concurrent use.
type LocalSigner struct {
	key  *ecdsa.PrivateKey
	rand io.Reader
}

// GenerateKey makes a new P-256 signing key.
func GenerateKey() (*LocalSigner, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("signing: generate a key: %w", err)
	}
	return &LocalSigner{key: key}, nil
}

// NewLocalSigner signs with key, which must be on P-256.
func NewLocalSigner(key *ecdsa.PrivateKey) (*LocalSigner, error) {
	if _, err := checkP256(&key.PublicKey); err != nil {
		return nil, err
	}
	return &LocalSigner{key: key}, nil
}

// ParsePrivateKey reads a PEM "PRIVATE KEY" block (PKCS #8) holding a P-256 key.
func ParsePrivateKey(data []byte) (*LocalSigner, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("signing: no PEM block: want a \"PRIVATE KEY\" block (edgeflag keygen writes one)")
	}
	if block.Type != pemPrivate {
		return nil, fmt.Errorf("signing: a PEM %q block, want %q (PKCS #8, as edgeflag keygen writes)", block.Type, pemPrivate)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("signing: the private key: %w", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("signing: a %T private key, want ECDSA P-256", key)
	}
	return NewLocalSigner(ec)
}

// LoadKeyFile reads a private key file written by `edgeflag keygen`.
func LoadKeyFile(path string) (*LocalSigner, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("signing: the key file: %w", err)
	}
	s, err := ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return s, nil
}

// PublicKey implements Signer.
func (s *LocalSigner) PublicKey() *ecdsa.PublicKey { return &s.key.PublicKey }

// SignDigest implements Signer.
func (s *LocalSigner) SignDigest(_ context.Context, digest []byte) ([]byte, error) {
	r := s.rand
	if r == nil {
		r = rand.Reader
	}
	der, err := ecdsa.SignASN1(r, s.key, digest)
	if err != nil {
		return nil, err
	}
	return RawFromDER(der)
}

// PrivateKeyPEM encodes the private key as a PEM "PRIVATE KEY" block (PKCS #8).
func (s *LocalSigner) PrivateKeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		panic("signing: marshal a P-256 key: " + err.Error()) // cannot happen for P-256
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivate, Bytes: der})
}

// PublicKeyPEM encodes pub as a PEM "PUBLIC KEY" block: what edges are configured with.
func PublicKeyPEM(pub *ecdsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic("signing: marshal a P-256 public key: " + err.Error())
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: der})
}

// ParsePublicKeyDER reads a DER SubjectPublicKeyInfo (what AWS KMS GetPublicKey returns)
// holding a P-256 key.
func ParsePublicKeyDER(der []byte) (*ecdsa.PublicKey, error) {
	key, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing: the public key: %w", err)
	}
	return checkP256(key)
}

// Keyring is the set of public keys an edge accepts: one, or two while keys are rotated.
// It is immutable and safe for concurrent use.
type Keyring struct {
	keys map[string]*ecdsa.PublicKey
	ids  []string
}

// MaxKeys bounds a keyring: rotation needs two.
const MaxKeys = 8

// ParsePublicKeys reads one or more PEM "PUBLIC KEY" blocks (concatenated, as
// `edgeflag keygen` writes one) into a keyring. Text around the blocks is ignored; a
// block of another type, a key not on P-256 or no block at all is an error.
func ParsePublicKeys(data []byte) (*Keyring, error) {
	k := &Keyring{keys: map[string]*ecdsa.PublicKey{}}
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != pemPublic {
			return nil, fmt.Errorf("signing: public key %d: a PEM %q block, want %q", n, block.Type, pemPublic)
		}
		pub, err := ParsePublicKeyDER(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signing: public key %d: %w", n, err)
		}
		if err := k.add(pub); err != nil {
			return nil, err
		}
	}
	if len(k.ids) == 0 {
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, errors.New("signing: no public key given")
		}
		return nil, errors.New("signing: no PEM \"PUBLIC KEY\" block found (edgeflag keygen writes one)")
	}
	return k, nil
}

// NewKeyring returns a keyring of the given P-256 keys.
func NewKeyring(keys ...*ecdsa.PublicKey) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("signing: no public key given")
	}
	k := &Keyring{keys: map[string]*ecdsa.PublicKey{}}
	for _, pub := range keys {
		if _, err := checkP256(pub); err != nil {
			return nil, err
		}
		if err := k.add(pub); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func (k *Keyring) add(pub *ecdsa.PublicKey) error {
	id := KeyID(pub)
	if _, dup := k.keys[id]; dup {
		return nil
	}
	if len(k.ids) == MaxKeys {
		return fmt.Errorf("signing: more than %d public keys", MaxKeys)
	}
	k.keys[id] = pub
	k.ids = append(k.ids, id)
	return nil
}

// KeyIDs returns the IDs of the accepted keys, in the order given.
func (k *Keyring) KeyIDs() []string { return append([]string(nil), k.ids...) }

// Verify checks that sig signs "env serves snapshot hash as version" with one of the
// keyring's keys. Its errors wrap ErrUnsigned, ErrUnknownKey or ErrBadSignature.
func (k *Keyring) Verify(env, hash string, version int64, sig Signature) error {
	if sig.Value == "" && sig.KeyID == "" {
		return ErrUnsigned
	}
	pub, ok := k.keys[sig.KeyID]
	if !ok {
		return fmt.Errorf("%w: key %q (accepted: %v)", ErrUnknownKey, sig.KeyID, k.ids)
	}
	raw, err := base64.StdEncoding.DecodeString(sig.Value)
	if err != nil || len(raw) != RawSignatureSize {
		return fmt.Errorf("%w: the signature is not the base64 of %d bytes", ErrBadSignature, RawSignatureSize)
	}
	digest := Digest(env, hash, version)
	if !verifyRaw(pub, digest[:], raw) {
		return fmt.Errorf("%w: not a signature of environment %q, snapshot %s, version %d by key %s",
			ErrBadSignature, env, hash, version, sig.KeyID)
	}
	return nil
}
