package publish_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/signing"
)

// checkSigned reads env's pointer and checks its signature with ring; it returns it.
func checkSigned(t *testing.T, p *publish.Publisher, ring *signing.Keyring, env string) *publish.Pointer {
	t.Helper()
	ptr, _, err := publish.ReadPointer(context.Background(), p.Store, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := ring.Verify(ptr.Environment, ptr.Snapshot, ptr.Version, signing.Signature{KeyID: ptr.KeyID, Value: ptr.Signature}); err != nil {
		t.Fatalf("pointer version %d: %v", ptr.Version, err)
	}
	return ptr
}

func TestEveryMoveIsSignedWithAGrowingVersion(t *testing.T) {
	ctx := context.Background()
	key, _ := signing.GenerateKey()
	ring, _ := signing.NewKeyring(key.PublicKey())
	for name, p := range publishers(t) {
		t.Run(name, func(t *testing.T) {
			p.Signer = key
			last := int64(0)
			step := func(what string, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				ptr := checkSigned(t, p, ring, "production")
				if ptr.Version != last+1 {
					t.Fatalf("%s: version %d, want %d", what, ptr.Version, last+1)
				}
				last = ptr.Version
			}
			_, err := p.Publish(ctx, publishtest.Snapshot("production", "r1", 100, "checkout"), "ci")
			step("publish", err)
			_, err = p.Publish(ctx, publishtest.Snapshot("production", "r2", 200, "checkout"), "ci")
			step("publish r2", err)
			_, err = p.Kill(ctx, "production", "checkout", "broken", "oncall")
			step("kill", err)
			_, err = p.Rollback(ctx, "production", "", "oncall")
			step("rollback", err)
			_, err = p.Unkill(ctx, "production", "checkout", "fixed", "oncall")
			step("unkill", err)

			// Nothing to change: nothing written, the version stays.
			res, err := p.Republish(ctx, "production", publish.RepublishOptions{}, "ci")
			if err != nil || res.Changed {
				t.Fatalf("republish of the same: Changed %v, %v", res.Changed, err)
			}
			if ptr := checkSigned(t, p, ring, "production"); ptr.Version != last {
				t.Fatalf("version moved to %d without a change", ptr.Version)
			}
			// Another environment counts on its own.
			_, err = p.Publish(ctx, publishtest.Snapshot("staging", "r1", 100, "checkout"), "ci")
			if err != nil {
				t.Fatal(err)
			}
			if ptr := checkSigned(t, p, ring, "staging"); ptr.Version != 1 {
				t.Fatalf("staging version %d, want 1", ptr.Version)
			}
		})
	}
}

func TestRepublishReSignsWithANewKey(t *testing.T) {
	ctx := context.Background()
	oldKey, _ := signing.GenerateKey()
	newKey, _ := signing.GenerateKey()
	newRing, _ := signing.NewKeyring(newKey.PublicKey())
	p := publishers(t)["dir"]
	base := publishtest.Snapshot("production", "r1", 100, "checkout")

	// An unsigned store: the first signed publish of the same bytes signs it.
	if _, err := p.Publish(ctx, base, "ci"); err != nil {
		t.Fatal(err)
	}
	p.Signer = oldKey
	res, err := p.Publish(ctx, base, "ci")
	if err != nil || !res.Changed || res.Pointer.KeyID != signing.KeyID(oldKey.PublicKey()) || res.Pointer.Version != 2 {
		t.Fatalf("signing an unsigned pointer: %+v, %v", res, err)
	}
	// Rotation: the new key re-signs the same snapshot on a republish.
	p.Signer = newKey
	res, err = p.Republish(ctx, "production", publish.RepublishOptions{}, "rotation")
	if err != nil || !res.Changed || res.Pointer.Snapshot != res.Previous.Snapshot {
		t.Fatalf("republish with a new key: %+v, %v", res, err)
	}
	if ptr := checkSigned(t, p, newRing, "production"); ptr.Version != 3 {
		t.Fatalf("version %d, want 3", ptr.Version)
	}
	// And then it is as wanted: nothing more to write.
	if res, err = p.Republish(ctx, "production", publish.RepublishOptions{}, "rotation"); err != nil || res.Changed {
		t.Fatalf("second republish: Changed %v, %v", res.Changed, err)
	}
}

// failingSigner cannot sign (KMS refused).
type failingSigner struct{ *signing.LocalSigner }

func (failingSigner) SignDigest(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("AccessDeniedException: not allowed to kms:Sign")
}

func TestSigningFailureWritesNoPointer(t *testing.T) {
	ctx := context.Background()
	key, _ := signing.GenerateKey()
	p := publishers(t)["dir"]
	p.Signer = failingSigner{key}
	_, err := p.Publish(ctx, publishtest.Snapshot("production", "r1", 100, "checkout"), "ci")
	if err == nil || !strings.Contains(err.Error(), "sign the pointer") || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("publish without a working signer: %v", err)
	}
	if _, _, err := publish.ReadPointer(ctx, p.Store, "production"); !errors.Is(err, publish.ErrUnknownEnvironment) {
		t.Fatalf("a pointer was written: %v", err)
	}
}

func TestConcurrentSignedMovesGetDistinctVersions(t *testing.T) {
	ctx := context.Background()
	key, _ := signing.GenerateKey()
	ring, _ := signing.NewKeyring(key.PublicKey())
	p := publishers(t)["dir"]
	p.Signer = key
	if _, err := p.Publish(ctx, publishtest.Snapshot("production", "r0", 100, "a", "b", "c", "d"), "ci"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, f := range []string{"a", "b", "c", "d"} {
		wg.Go(func() {
			if _, err := p.Kill(ctx, "production", f, "test", "oncall"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	ptr := checkSigned(t, p, ring, "production")
	if len(ptr.Killed) != 4 || ptr.Version < 2 || ptr.Version > 5 {
		t.Fatalf("after 4 concurrent kills: killed %v, version %d", ptr.Killed, ptr.Version)
	}
}
