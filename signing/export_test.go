package signing

import "crypto/ecdsa"

// PrivateKeyOf exposes a LocalSigner's key to the tests.
func PrivateKeyOf(s *LocalSigner) *ecdsa.PrivateKey { return s.key }
