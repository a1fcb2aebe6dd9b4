package lambda

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/store"
)

// TestConfigFromEnvSigns: with a signing key configured, the pointers the handler moves
// (here a kill) are signed.
func TestConfigFromEnvSigns(t *testing.T) {
	dir := t.TempDir()
	key, _ := signing.GenerateKey()
	keyFile := filepath.Join(dir, "key.pem")
	os.WriteFile(keyFile, key.PrivateKeyPEM(), 0o600)
	storeDir := filepath.Join(dir, "store")
	vars := map[string]string{EnvStore: storeDir, EnvSigningKeyFile: keyFile}
	getenv := func(k string) string { return vars[k] }
	ctx := context.Background()

	cfg, err := ConfigFromEnv(ctx, getenv, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.pub.Publish(ctx, publishtest.Snapshot("production", "r1", 100, "checkout"), "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.pub.Kill(ctx, "production", "checkout", "broken", "oncall"); err != nil {
		t.Fatal(err)
	}
	st, _ := store.NewDir(storeDir)
	ptr, _, err := publish.ReadPointer(ctx, st, "production")
	if err != nil {
		t.Fatal(err)
	}
	ring, _ := signing.NewKeyring(key.PublicKey())
	if err := ring.Verify("production", ptr.Snapshot, ptr.Version, signing.Signature{KeyID: ptr.KeyID, Value: ptr.Signature}); err != nil || ptr.Version != 2 {
		t.Fatalf("pointer after a kill: version %d: %v", ptr.Version, err)
	}

	vars[EnvSigningKeyID] = "alias/edgeflag-signing"
	if _, err := ConfigFromEnv(ctx, getenv, nil); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("both keys: %v", err)
	}
	delete(vars, EnvSigningKeyID)
	vars[EnvSigningKeyFile] = filepath.Join(dir, "missing.pem")
	if _, err := ConfigFromEnv(ctx, getenv, nil); err == nil || !strings.Contains(err.Error(), EnvSigningKeyFile) {
		t.Fatalf("missing key file: %v", err)
	}
}
