package tests

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Cloudflare's limit on a Worker's compressed size on the Free plan (Paid: 10 MB).
const workerGzipLimit = 3 << 20

// TestEdgeWranglerBundle deploys the Worker the way users do, with wrangler (pinned in
// edge/package.json), as a dry run that needs no account and no network: the bundle holds
// the module as a compiled WebAssembly import with the bytes of bin/edgeflag.wasm, fits the
// Worker size limit, and binds every variable worker.mjs reads, each documented in
// worker.mjs, wrangler.toml and docs/deploy.md.
func TestEdgeWranglerBundle(t *testing.T) {
	edgeRequireJS(t)
	root := edgeRoot(t)
	tree := edgeWorkerTree(t, nil)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, "edge/node_modules/.bin/wrangler"),
		"deploy", "--dry-run", "--outdir", out, "-c", "cloudflare/wrangler.toml")
	cmd.Dir = filepath.Join(tree, "edge")
	cmd.Env = append(os.Environ(), "WRANGLER_SEND_METRICS=false", "XDG_CONFIG_HOME="+t.TempDir(), "CI=true")
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("wrangler deploy --dry-run: %v\n%s", err, log)
	}

	bundle, err := os.ReadFile(filepath.Join(out, "worker.js"))
	if err != nil {
		t.Fatalf("no worker.js in the bundle: %v\n%s", err, log)
	}
	imp := regexp.MustCompile(`import \w+ from "\./([0-9a-f]+-edgeflag\.wasm)"`).FindSubmatch(bundle)
	if imp == nil {
		t.Fatalf("worker.js does not import the module as a wasm file:\n%.2000s", bundle)
	}
	wasm, err := os.ReadFile(filepath.Join(out, string(imp[1])))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(tree, "bin/edgeflag.wasm"))
	if !bytes.Equal(wasm, want) {
		t.Errorf("the bundled %s is not bin/edgeflag.wasm", imp[1])
	}
	gz := gzipSize(t, bundle) + gzipSize(t, wasm)
	if gz > workerGzipLimit {
		t.Errorf("the Worker is %d bytes gzip, over Cloudflare's %d", gz, workerGzipLimit)
	}
	if bytes.Contains(bundle, []byte("edgeflag_resolve")) {
		t.Error("the Worker bundle holds the in-process SDK (sdk/js), which the Worker does not use")
	}
	t.Logf("Worker bundle: worker.js %d bytes, %s %d bytes; %d bytes raw, %d bytes gzip", len(bundle), imp[1], len(wasm), len(bundle)+len(wasm), gz)

	// Every variable the Worker reads (its VARIABLES table) is bound and documented in docs/deploy.md.
	worker, _ := os.ReadFile(filepath.Join(root, "edge/cloudflare/worker.mjs"))
	toml, _ := os.ReadFile(filepath.Join(root, "edge/cloudflare/wrangler.toml"))
	deployDoc, _ := os.ReadFile(filepath.Join(root, "docs/deploy.md"))
	read := regexp.MustCompile(`\w+: "(EDGEFLAG_[A-Z_]+)"`).FindAllSubmatch(worker, -1)
	if len(read) < 10 {
		t.Fatalf("found %d variables read in worker.mjs", len(read))
	}
	for _, m := range read {
		name := string(m[1])
		if !bytes.Contains(deployDoc, []byte(name)) {
			t.Errorf("docs/deploy.md does not mention %s", name)
		}
		if name == "EDGEFLAG_OFREP_API_KEYS" { // a secret: wrangler secret put
			if !bytes.Contains(toml, []byte("wrangler secret put "+name)) {
				t.Errorf("wrangler.toml does not say how to set the secret %s", name)
			}
			continue
		}
		if !regexp.MustCompile(`(?m)^` + name + ` = "`).Match(toml) {
			t.Errorf("wrangler.toml has no variable %s", name)
		}
		if !strings.Contains(string(log), "env."+name+" ") {
			t.Errorf("wrangler does not bind %s:\n%s", name, log)
		}
	}
}

func gzipSize(t *testing.T, b []byte) int {
	t.Helper()
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Len()
}
