// Package kmssigner signs pointers with an AWS KMS asymmetric key (key spec
// ECC_NIST_P256, key usage SIGN_VERIFY): the private key never leaves KMS. It is the
// signing.Signer of the kill-switch Lambda (template.yaml creates the key; the functions
// that move pointers may call kms:Sign on it and nothing else).
//
// KMS Sign with ECDSA_SHA_256 returns an ASN.1 DER signature; the Signer converts it to
// the raw r||s form edges verify (signing.RawFromDER).
package kmssigner

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/edgeflag/edgeflag/signing"
)

// Client is the part of the KMS API the Signer uses; *kms.Client implements it.
type Client interface {
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
}

// Signer signs with one KMS key. It is safe for concurrent use.
type Signer struct {
	client Client
	keyID  string
	pub    *ecdsa.PublicKey
}

// New returns a Signer for the KMS key keyID (a key ID, key ARN, alias name or alias
// ARN). It reads the key's public key once (kms:GetPublicKey) and checks that the key
// signs with ECDSA P-256 and SHA-256.
func New(ctx context.Context, client Client, keyID string) (*Signer, error) {
	if keyID == "" {
		return nil, errors.New("kmssigner: no KMS key ID")
	}
	out, err := client.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, fmt.Errorf("kmssigner: the public key of KMS key %s: %w", keyID, err)
	}
	if out.KeySpec != types.KeySpecEccNistP256 {
		return nil, fmt.Errorf("kmssigner: KMS key %s has key spec %s, want %s", keyID, out.KeySpec, types.KeySpecEccNistP256)
	}
	if out.KeyUsage != types.KeyUsageTypeSignVerify {
		return nil, fmt.Errorf("kmssigner: KMS key %s has key usage %s, want %s", keyID, out.KeyUsage, types.KeyUsageTypeSignVerify)
	}
	if !slices.Contains(out.SigningAlgorithms, types.SigningAlgorithmSpecEcdsaSha256) {
		return nil, fmt.Errorf("kmssigner: KMS key %s does not sign with %s", keyID, types.SigningAlgorithmSpecEcdsaSha256)
	}
	pub, err := signing.ParsePublicKeyDER(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("kmssigner: KMS key %s: %w", keyID, err)
	}
	return &Signer{client: client, keyID: keyID, pub: pub}, nil
}

// NewFromConfig is New with a KMS client made from an AWS configuration.
func NewFromConfig(ctx context.Context, cfg aws.Config, keyID string, optFns ...func(*kms.Options)) (*Signer, error) {
	return New(ctx, kms.NewFromConfig(cfg, optFns...), keyID)
}

// PublicKey implements signing.Signer.
func (s *Signer) PublicKey() *ecdsa.PublicKey { return s.pub }

// SignDigest implements signing.Signer: KMS Sign of the digest (message type DIGEST,
// ECDSA_SHA_256), converted from DER to r||s.
func (s *Signer) SignDigest(ctx context.Context, digest []byte) ([]byte, error) {
	out, err := s.client.Sign(ctx, &kms.SignInput{
		KeyId:            aws.String(s.keyID),
		Message:          digest,
		MessageType:      types.MessageTypeDigest,
		SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256,
	})
	if err != nil {
		return nil, fmt.Errorf("kmssigner: KMS Sign with key %s: %w", s.keyID, err)
	}
	raw, err := signing.RawFromDER(out.Signature)
	if err != nil {
		return nil, fmt.Errorf("kmssigner: KMS Sign with key %s: %w", s.keyID, err)
	}
	return raw, nil
}
