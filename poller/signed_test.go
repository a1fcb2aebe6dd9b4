package poller_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/poller"
	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/snapshot"
)

func envSnap(env, revision string) []byte {
	return snapshot.Encode(&snapshot.Snapshot{Environment: env, Revision: revision, BuildTime: 1})
}

// TestSignedPointers walks one edge through what an attacker with write access to the
// bucket can do, and checks that each is refused, the last good snapshot kept, the
// reason reported, and staleness reached.
func TestSignedPointers(t *testing.T) {
	store := storetest.New()
	defer store.Close()
	key, _ := signing.GenerateKey()
	next, _ := signing.GenerateKey() // the key a rotation brings in
	intruder, _ := signing.GenerateKey()
	ring, _ := signing.NewKeyring(key.PublicKey(), next.PublicKey())
	rec := &recorder{}
	const grace = 200 * time.Millisecond
	p, err := poller.New(poller.Config{BaseURL: store.URL, Environment: "production", Apply: rec.apply,
		OnStale: rec.onStale, Grace: grace, Timeout: time.Second, Keys: ring})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// Unsigned: refused by an edge that requires signatures, nothing loaded.
	store.Publish("production", envSnap("production", "unsigned"))
	if err := p.Poll(ctx); !errors.Is(err, signing.ErrUnsigned) {
		t.Fatalf("unsigned pointer: %v", err)
	}
	if rec.applied != nil {
		t.Fatal("an unsigned snapshot was applied")
	}

	store.PublishSigned("production", envSnap("production", "v5"), key, 5)
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	v5 := store.Get("production/current.json")
	store.PublishSigned("production", envSnap("production", "v6"), key, 6)
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	good := store.Get("production/current.json")
	staging := envSnap("staging", "stg")
	stagingHash := store.PublishSigned("staging", staging, key, 9)

	tampered := strings.Replace(string(good), `"version":6`, `"version":7`, 1)
	tests := []struct {
		name    string
		pointer string
		want    error
	}{
		{"replayed older pointer", string(v5), poller.ErrOlderVersion},
		{"tampered version", tampered, signing.ErrBadSignature},
		{"tampered snapshot hash", replaceHash(string(good), stagingHash), signing.ErrBadSignature},
		{"staging pointer relabelled", strings.Replace(string(store.Get("staging/current.json")), `"environment":"staging"`, `"environment":"production"`, 1), signing.ErrBadSignature},
		{"signed by an unknown key", signedBy(t, store, intruder, 7), signing.ErrUnknownKey},
		{"unsigned again", unsignedCopy(t, string(good)), signing.ErrUnsigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store.Put("production/current.json", []byte(tt.pointer))
			err := p.Poll(ctx)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("Poll = %v, want %v", err, tt.want)
			}
			if rev, _ := rec.last(); rev != "v6" {
				t.Fatalf("serving %q, want the last good v6", rev)
			}
			if st := p.Status(); st.Pointer.Version != 6 || !errors.Is(st.LastError, tt.want) {
				t.Fatalf("status %+v", st)
			}
		})
	}
	// The staging pointer as it is: the environment check refuses it before the signature.
	store.Put("production/current.json", store.Get("staging/current.json"))
	if err := p.Poll(ctx); err == nil || !strings.Contains(err.Error(), `names environment "staging"`) {
		t.Fatalf("staging pointer: %v", err)
	}

	// Refusals keep failing polls: the edge turns stale.
	time.Sleep(grace + 50*time.Millisecond)
	if !p.Stale() {
		t.Fatal("not stale after refusing pointers for longer than the grace period")
	}
	// Rotation: the next key signs a newer pointer; the edge takes it and is fresh.
	store.PublishSigned("production", envSnap("production", "v8"), next, 8)
	if err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if rev, _ := rec.last(); rev != "v8" || p.Stale() {
		t.Fatalf("after rotation: serving %q, stale %v", rev, p.Stale())
	}
	// Same version, another snapshot: refused.
	store.PublishSigned("production", envSnap("production", "other-v8"), key, 8)
	if err := p.Poll(ctx); !errors.Is(err, poller.ErrOlderVersion) {
		t.Fatalf("same version, other snapshot: %v", err)
	}
}

// replaceHash swaps the snapshot hash of a pointer for h.
func replaceHash(ptr, h string) string {
	i := strings.Index(ptr, `"snapshot":"`) + len(`"snapshot":"`)
	return ptr[:i] + h + ptr[i+64:]
}

// unsignedCopy is ptr without its signature.
func unsignedCopy(t *testing.T, ptr string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(ptr), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "keyId")
	delete(m, "signature")
	b, _ := json.Marshal(m)
	return string(b)
}

// signedBy publishes a production snapshot signed by s and returns its pointer.
func signedBy(t *testing.T, store *storetest.Server, s signing.Signer, version int64) string {
	t.Helper()
	store.PublishSigned("production", envSnap("production", "intruder"), s, version)
	return string(store.Get("production/current.json"))
}

func TestUnsignedStoreWithoutKeys(t *testing.T) {
	store := storetest.New()
	defer store.Close()
	rec := &recorder{}
	p, _ := poller.New(poller.Config{BaseURL: store.URL, Environment: "production", Apply: rec.apply})
	key, _ := signing.GenerateKey()
	// Without keys, signed and unsigned pointers load alike, and versions are not compared.
	store.PublishSigned("production", envSnap("production", "signed"), key, 9)
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	store.Publish("production", envSnap("production", "unsigned"))
	if err := p.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rev, n := rec.last(); rev != "unsigned" || n != 2 {
		t.Fatalf("serving %q after %d swaps", rev, n)
	}
}
