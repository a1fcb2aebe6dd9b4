// Package signing signs and verifies the pointers that tell edges which snapshot an
// environment serves (docs/security.md, "Signed snapshots").
//
// A snapshot's SHA-256 proves it is intact, not who made it. A signature over the
// statement "environment E serves snapshot H as version V" proves that too: whoever
// holds the signing key (an AWS KMS asymmetric key in the Lambda, a local key file for
// `edgeflag publish`, `edgeflag dev` and CI) put it there, for that environment, at that
// point of the environment's history. Edges verify it with the public keys they are
// configured with and refuse a tampered, cross-environment or replayed pointer.
//
// What is signed is Message: the bytes
//
//	edgeflag-snapshot-v1\n<environment>\n<snapshot hash>\n<version>
//
// (the version in decimal, no trailing newline), with ECDSA over the curve P-256 and
// SHA-256. A signature travels as the base64 (standard alphabet, padded) of its fixed-size
// form r||s, 64 bytes: what WebCrypto verifies. AWS KMS and Go's ecdsa.SignASN1 produce
// ASN.1 DER instead; RawFromDER converts. A key is named by its KeyID, derived from the
// public key alone, so edges know the ID of every key they accept without being told.
package signing

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strconv"
)

// Algorithm names the signature scheme in documentation and logs: ECDSA P-256 with
// SHA-256, the signature in its raw r||s form (JOSE's ES256).
const Algorithm = "ES256"

// MessagePrefix starts every signed message; it names the format, so a signature over
// these bytes cannot be taken for a signature over anything else.
const MessagePrefix = "edgeflag-snapshot-v1\n"

// RawSignatureSize is the size of a raw P-256 signature: r and s, 32 bytes each.
const RawSignatureSize = 64

// Errors of Verify, to test with errors.Is.
var (
	// ErrUnsigned: the pointer carries no signature, and the verifier requires one.
	ErrUnsigned = errors.New("the pointer is not signed")
	// ErrUnknownKey: the signature names a key the verifier does not accept.
	ErrUnknownKey = errors.New("the pointer is signed with a key this edge does not accept")
	// ErrBadSignature: the signature does not verify (tampered, for another environment
	// or version, or not a signature at all).
	ErrBadSignature = errors.New("the pointer's signature does not verify")
)

// Message returns the bytes a pointer's signature covers.
func Message(env, hash string, version int64) []byte {
	b := make([]byte, 0, len(MessagePrefix)+len(env)+len(hash)+22)
	b = append(b, MessagePrefix...)
	b = append(b, env...)
	b = append(b, '\n')
	b = append(b, hash...)
	b = append(b, '\n')
	return strconv.AppendInt(b, version, 10)
}

// Digest is the SHA-256 of Message: what a Signer signs.
func Digest(env, hash string, version int64) [sha256.Size]byte {
	return sha256.Sum256(Message(env, hash, version))
}

// Signature is a pointer's signature: the ID of the key that made it and the base64 of
// its raw r||s form.
type Signature struct {
	KeyID string
	Value string
}

// Signer makes signatures with one P-256 key. LocalSigner holds the key in memory;
// package signing/kmssigner asks AWS KMS.
type Signer interface {
	// PublicKey is the key that verifies the signatures.
	PublicKey() *ecdsa.PublicKey
	// SignDigest signs a SHA-256 digest and returns the raw r||s signature (64 bytes).
	SignDigest(ctx context.Context, digest []byte) ([]byte, error)
}

// Sign signs the statement "env serves snapshot hash as version" with s. The signature
// is checked against s's public key before it is returned, so a signer that answers with
// another key's signature (a KMS key ID pointing at the wrong key) fails here, not at
// every edge.
func Sign(ctx context.Context, s Signer, env, hash string, version int64) (Signature, error) {
	digest := Digest(env, hash, version)
	raw, err := s.SignDigest(ctx, digest[:])
	if err != nil {
		return Signature{}, fmt.Errorf("signing: sign %s snapshot %s version %d: %w", env, hash, version, err)
	}
	pub := s.PublicKey()
	if !verifyRaw(pub, digest[:], raw) {
		return Signature{}, fmt.Errorf("signing: the signer's signature does not verify with its own public key %s", KeyID(pub))
	}
	return Signature{KeyID: KeyID(pub), Value: base64.StdEncoding.EncodeToString(raw)}, nil
}

// KeyID names a public key: the first 8 bytes of the SHA-256 of its DER
// SubjectPublicKeyInfo, in hex (16 digits).
func KeyID(pub *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "invalid-key"
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:8])
}

// checkP256 accepts only ECDSA keys on P-256.
func checkP256(key any) (*ecdsa.PublicKey, error) {
	pub, ok := key.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("signing: a %T key, want ECDSA P-256", key)
	}
	if pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("signing: an ECDSA key on %s, want P-256", pub.Curve.Params().Name)
	}
	return pub, nil
}

// verifyRaw verifies a raw r||s signature of digest.
func verifyRaw(pub *ecdsa.PublicKey, digest, raw []byte) bool {
	der, err := DERFromRaw(raw)
	if err != nil {
		return false
	}
	return ecdsa.VerifyASN1(pub, digest, der)
}

// derSignature is ECDSA-Sig-Value (RFC 3279).
type derSignature struct{ R, S *big.Int }

// RawFromDER converts an ASN.1 DER ECDSA P-256 signature (what AWS KMS Sign and
// ecdsa.SignASN1 return) to its raw r||s form (what WebCrypto verifies).
func RawFromDER(der []byte) ([]byte, error) {
	var sig derSignature
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil {
		return nil, fmt.Errorf("signing: not a DER ECDSA signature: %w", err)
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("signing: %d bytes after the DER ECDSA signature", len(rest))
	}
	if sig.R == nil || sig.S == nil || sig.R.Sign() <= 0 || sig.S.Sign() <= 0 || sig.R.BitLen() > 256 || sig.S.BitLen() > 256 {
		return nil, errors.New("signing: DER ECDSA signature values out of range for P-256")
	}
	raw := make([]byte, RawSignatureSize)
	sig.R.FillBytes(raw[:32])
	sig.S.FillBytes(raw[32:])
	return raw, nil
}

// DERFromRaw converts a raw r||s P-256 signature to ASN.1 DER (what ecdsa.VerifyASN1
// takes).
func DERFromRaw(raw []byte) ([]byte, error) {
	if len(raw) != RawSignatureSize {
		return nil, fmt.Errorf("signing: a raw P-256 signature is %d bytes, not %d", RawSignatureSize, len(raw))
	}
	return asn1.Marshal(derSignature{R: new(big.Int).SetBytes(raw[:32]), S: new(big.Int).SetBytes(raw[32:])})
}
