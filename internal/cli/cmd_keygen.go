package cli

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/signing/kmssigner"
	"github.com/edgeflag/edgeflag/store"
)

// Environment variables of the signing keys.
const (
	// envSigningKey names the private key file publish, rollback and rollout sign with.
	envSigningKey = "EDGEFLAG_SIGNING_KEY"
	// envPublicKeys holds the PEM text of the public keys an edge accepts (the Worker's
	// binding of the same name).
	envPublicKeys = "EDGEFLAG_PUBLIC_KEYS"
)

var keygenCommand = &command{
	name:    "keygen",
	summary: "create a key that signs snapshot pointers, or print a KMS key's public key",
	usage:   "[flags] <private-key-file>",
	description: `
Creates an ECDSA P-256 key pair for signed snapshots (docs/security.md): the private key
goes to <private-key-file> (PKCS #8 PEM, mode 0600; an existing file is never
overwritten), the public key is printed on standard output (PEM), and to --public when
given. 'edgeflag publish', 'rollback' and 'rollout' sign with the private key
(--signing-key, or $` + envSigningKey + `); edges verify with the public key ('edgeflag edge
--public-key', the Worker's and Lambda@Edge's EDGEFLAG_PUBLIC_KEYS / publicKeys).

With --kms <key> it creates nothing and prints the public key of an AWS KMS key (the one
template.yaml creates; kms:GetPublicKey), to configure edges with the key the Lambda
signs with.`,
	example: `
edgeflag keygen --public signing-key.pub.pem signing-key.pem
edgeflag keygen --kms alias/edgeflag-signing > kms-key.pub.pem`,
	run: runKeygen,
}

func runKeygen(r *runner, args []string) int {
	fset := r.newFlags()
	public := fset.String("public", "", "also write the public key to this `file`")
	kmsKey := fset.String("kms", "", "print the public key of this AWS KMS `key` (ID, ARN or alias) instead of creating one")
	pos, code, done := r.parse(fset, args, 0, 1)
	if done {
		return code
	}
	if *kmsKey == "" && len(pos) == 0 {
		return r.usageFail(usagef("give the file to write the private key to (or --kms <key> to print a KMS key's public key)"))
	}
	if *kmsKey != "" {
		if len(pos) > 0 {
			return r.usageFail(usagef("--kms prints a public key and takes no private key file"))
		}
		ctx := context.Background()
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return r.fail(err)
		}
		s, err := kmssigner.NewFromConfig(ctx, cfg, *kmsKey)
		if err != nil {
			return r.fail(err)
		}
		return r.writePublicKey(s.PublicKey(), *public)
	}
	key, err := signing.GenerateKey()
	if err != nil {
		return r.fail(err)
	}
	path := r.path(pos[0])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return r.fail(fmt.Errorf("%s exists: edgeflag keygen never overwrites a key (remove it first, or choose another name)", pos[0]))
	}
	if err != nil {
		return r.fail(err)
	}
	if _, err := f.Write(key.PrivateKeyPEM()); err != nil {
		f.Close()
		os.Remove(path)
		return r.fail(err)
	}
	if err := f.Close(); err != nil {
		return r.fail(err)
	}
	fmt.Fprintf(r.env.Stderr, "wrote the private key %s to %s: keep it secret (a CI secret, not the repository)\n",
		signing.KeyID(key.PublicKey()), pos[0])
	return r.writePublicKey(key.PublicKey(), *public)
}

// writePublicKey prints the public key PEM, and writes it to file when given.
func (r *runner) writePublicKey(pub *ecdsa.PublicKey, file string) int {
	pemText := signing.PublicKeyPEM(pub)
	if file != "" {
		if err := os.WriteFile(r.path(file), pemText, 0o644); err != nil {
			return r.fail(err)
		}
	}
	fmt.Fprintf(r.env.Stderr, "public key %s (key ID %s):\n", signing.Algorithm, signing.KeyID(pub))
	if _, err := r.env.Stdout.Write(pemText); err != nil {
		return r.fail(err)
	}
	return ExitOK
}

// signingKeyFlag adds --signing-key to a command that moves pointers.
func signingKeyFlag(fset *flag.FlagSet) *string {
	return fset.String("signing-key", "", "sign the pointer with the private key in this `file` (edgeflag keygen), or with an AWS KMS key as kms:<key id, ARN or alias> (default $"+envSigningKey+"; none: unsigned)")
}

// signer loads the signing key of --signing-key, else $EDGEFLAG_SIGNING_KEY; nil when
// neither is set.
func (r *runner) signer(flagValue string) (signing.Signer, error) {
	path := flagValue
	if path == "" {
		path = r.getenv(envSigningKey)
	}
	if path == "" {
		return nil, nil
	}
	if keyID, ok := strings.CutPrefix(path, "kms:"); ok {
		ctx := context.Background()
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, err
		}
		return kmssigner.NewFromConfig(ctx, cfg, keyID)
	}
	s, err := signing.LoadKeyFile(r.path(path))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// publisher is a Publisher on st that signs with --signing-key (or $EDGEFLAG_SIGNING_KEY)
// when one is given.
func (r *runner) publisher(st store.Store, signingKey string) (*publish.Publisher, error) {
	s, err := r.signer(signingKey)
	if err != nil {
		return nil, err
	}
	pub := publish.New(st)
	if s != nil {
		pub.Signer = s
	}
	return pub, nil
}

// publicKeys reads the keys of --public-key files, else the PEM text of
// $EDGEFLAG_PUBLIC_KEYS; nil when neither is set (signatures are not checked).
func (r *runner) publicKeys(files []string) (*signing.Keyring, error) {
	var text []byte
	from := "$" + envPublicKeys
	if len(files) > 0 {
		from = "--public-key"
		for _, f := range files {
			b, err := os.ReadFile(r.path(f))
			if err != nil {
				return nil, usagef("--public-key: %v", err)
			}
			text = append(append(text, b...), '\n')
		}
	} else {
		text = []byte(r.getenv(envPublicKeys))
		if len(text) == 0 {
			return nil, nil
		}
	}
	ring, err := signing.ParsePublicKeys(text)
	if err != nil {
		return nil, usagef("%s: %v", from, err)
	}
	return ring, nil
}
