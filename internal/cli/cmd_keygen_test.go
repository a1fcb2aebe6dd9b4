package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/store"
)

// TestKeygenThenSignedPublish: keygen writes a private key only its owner reads and
// prints the public key; publish and rollback with --signing-key (or the variable) write
// pointers that verify with it.
func TestKeygenThenSignedPublish(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"SOURCE_DATE_EPOCH": "1764547200"}
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		env := &Env{Stdout: &stdout, Stderr: &stderr, Now: func() time.Time { return now }, Dir: dir,
			Getenv: func(k string) string { return vars[k] }}
		code := Run(env, args)
		return code, stdout.String(), stderr.String()
	}
	code, pubPEM, stderr := run("keygen", "--public", "key.pub.pem", "key.pem")
	if code != ExitOK || !strings.Contains(stderr, "keep it secret") {
		t.Fatalf("keygen: %d %s", code, stderr)
	}
	info, err := os.Stat(filepath.Join(dir, "key.pem"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key.pem: %v %v", info, err)
	}
	if written, _ := os.ReadFile(filepath.Join(dir, "key.pub.pem")); string(written) != pubPEM {
		t.Fatalf("--public wrote %q, stdout %q", written, pubPEM)
	}
	ring, err := signing.ParsePublicKeys([]byte(pubPEM))
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run("keygen", "key.pem"); code != ExitFindings || !strings.Contains(stderr, "never overwrites") {
		t.Fatalf("keygen over an existing key: %d %s", code, stderr)
	}
	if code, _, stderr := run("keygen"); code != ExitUsage || !strings.Contains(stderr, "give the file") {
		t.Fatalf("keygen without a file: %d %s", code, stderr)
	}

	flags, _ := filepath.Abs("../../flags")
	storeDir := filepath.Join(dir, "store")
	if code, _, stderr := run("publish", "--store", storeDir, "--env", "production", "--revision", "r1", "--signing-key", "key.pem", flags); code != ExitOK {
		t.Fatalf("publish: %d %s", code, stderr)
	}
	st, _ := store.NewDir(storeDir)
	check := func(step string, version int64) {
		t.Helper()
		ptr, _, err := publish.ReadPointer(context.Background(), st, "production")
		if err != nil {
			t.Fatal(err)
		}
		if err := ring.Verify("production", ptr.Snapshot, ptr.Version, signing.Signature{KeyID: ptr.KeyID, Value: ptr.Signature}); err != nil || ptr.Version != version {
			t.Fatalf("%s: version %d (want %d): %v", step, ptr.Version, version, err)
		}
	}
	check("publish", 1)
	vars["EDGEFLAG_SIGNING_KEY"] = "key.pem"
	if code, _, stderr := run("rollback", "--store", storeDir, "--env", "production", "--to", "0000000"); code == ExitOK || strings.Contains(stderr, "signing") {
		t.Fatalf("rollback to nothing: %d %s", code, stderr)
	}
	if code, _, stderr := run("publish", "--store", storeDir, "--env", "production", "--revision", "r2", flags); code != ExitOK {
		t.Fatalf("publish r2: %d %s", code, stderr)
	}
	check("publish r2 with $EDGEFLAG_SIGNING_KEY", 2)
	vars["EDGEFLAG_SIGNING_KEY"] = "key.pub.pem"
	if code, _, stderr := run("publish", "--store", storeDir, "--env", "production", "--revision", "r3", flags); code != ExitFindings || !strings.Contains(stderr, `want "PRIVATE KEY"`) {
		t.Fatalf("publish with a public key as the signing key: %d %s", code, stderr)
	}
}
