package publish

import (
	"context"
	"fmt"

	"github.com/edgeflag/edgeflag/signing"
)

// sign numbers next one above cur (the first pointer of an environment is version 1)
// and, with a Signer, signs it. Every pointer write goes through it, whatever the change
// (publish, republish, rollback, kill, rollout), and the compare-and-swap of the write
// makes the version grow strictly: two writers that read the same version cannot both
// write the next.
func (p *Publisher) sign(ctx context.Context, cur, next *Pointer) error {
	next.Version = 1
	if cur != nil {
		next.Version = cur.Version + 1
	}
	next.KeyID, next.Signature = "", ""
	if p.Signer == nil {
		return nil
	}
	sig, err := signing.Sign(ctx, p.Signer, next.Environment, next.Snapshot, next.Version)
	if err != nil {
		return fmt.Errorf("publish: sign the pointer of %q: %w", next.Environment, err)
	}
	next.KeyID, next.Signature = sig.KeyID, sig.Value
	return nil
}

// signedAsWanted reports whether cur is signed the way this Publisher signs: by its
// Signer's key, or not at all without a Signer. A pointer that is not (an unsigned store
// whose publisher now signs, a key being rotated out) is written again even when nothing
// else changed, so republishing re-signs it.
func (p *Publisher) signedAsWanted(cur *Pointer) bool {
	if p.Signer == nil {
		return true
	}
	return cur.Signature != "" && cur.KeyID == signing.KeyID(p.Signer.PublicKey())
}
