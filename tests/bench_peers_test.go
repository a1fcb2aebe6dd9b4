package tests

import (
	"context"
	"fmt"
	"github.com/edgeflag/edgeflag/internal/syncbuf"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/poller/storetest"
)

// The peer comparison of `make bench-peers` (bench/peers, docs/benchmarks.md): edgeflag's
// module against LaunchDarkly's server SDK, flagd-core and the Unleash client in Node.js.
// The benchmark itself takes minutes and stays out of the tests; its cross-check (every
// SDK gives the same answers for 1,024 contexts, percentages within their tolerance) runs
// here, in about two seconds once the pinned packages are installed.

var (
	peersDepsOnce sync.Once
	peersDepsErr  error
)

// peersRequire installs the peers' pinned npm packages (scripts/install-bench-peers.sh,
// which does nothing when they are current).
func peersRequire(t *testing.T) {
	t.Helper()
	edgeRequireJS(t)
	peersDepsOnce.Do(func() {
		out, err := exec.Command("bash", filepath.Join(edgeRoot(t), "scripts/install-bench-peers.sh")).CombinedOutput()
		if err != nil {
			peersDepsErr = fmt.Errorf("scripts/install-bench-peers.sh: %v\n%s", err, out)
		}
	})
	if peersDepsErr != nil {
		t.Fatal(peersDepsErr)
	}
}

// peersCompile compiles a copy of bench/peers/flags, changed by edit (old → new text of
// flags.yaml, none when empty), and returns the snapshot and its `inspect --json` file.
func peersCompile(t *testing.T, bin *cliBinary, edit ...string) (snap, inspected string) {
	t.Helper()
	dir := cliWorkspace(t, filepath.Join(edgeRoot(t), "bench/peers/flags"))
	if len(edit) == 2 {
		path := filepath.Join(dir, "flags/flags.yaml")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), edit[0]) {
			t.Fatalf("flags.yaml has no %q", edit[0])
		}
		cliWriteFile(t, dir, "flags/flags.yaml", strings.Replace(string(b), edit[0], edit[1], 1))
	}
	bin.run(t, dir, "compile", "flags", "-o", "out").expectCode(t, 0)
	r := bin.run(t, dir, "inspect", "--json", "out/production.snap")
	r.expectCode(t, 0)
	cliWriteFile(t, dir, "flags.json", r.stdout)
	return filepath.Join(dir, "out/production.snap"), filepath.Join(dir, "flags.json")
}

func peersNode(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"--no-warnings"}, args...)...)
	cmd.Dir = edgeRoot(t)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestBenchPeersDefinitions checks that bench/peers/generated holds what translate.mjs
// generates from bench/peers/flags (the definitions docs/benchmarks.md shows).
func TestBenchPeersDefinitions(t *testing.T) {
	peersRequire(t)
	_, inspected := peersCompile(t, cliBuild(t))
	dir := t.TempDir()
	if out, err := peersNode(t, "bench/peers/translate.mjs", inspected, dir); err != nil {
		t.Fatalf("translate.mjs: %v\n%s", err, out)
	}
	for _, name := range []string{"launchdarkly.json", "flagd.json", "unleash.json"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(edgeRoot(t), "bench/peers/generated", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("bench/peers/generated/%s is not what translate.mjs generates from bench/peers/flags; regenerate it:\n"+
				"  edgeflag compile bench/peers/flags -o out/bench-peers && edgeflag inspect --json out/bench-peers/production.snap > out/bench-peers/flags.json\n"+
				"  node bench/peers/translate.mjs out/bench-peers/flags.json bench/peers/generated\ngot:\n%s", name, got)
		}
	}
}

// TestBenchPeersCrossCheck runs the benchmark's cross-check: it passes on the flags as they
// are and fails, naming the contexts, when edgeflag's snapshot differs from the flags the
// other SDKs were given.
func TestBenchPeersCrossCheck(t *testing.T) {
	peersRequire(t)
	bin := cliBuild(t)
	wasm := edgeWasm(t)
	snap, inspected := peersCompile(t, bin)

	out, err := peersNode(t, "bench/peers/bench.mjs", "--check", "--wasm", wasm, "--snapshot", snap, "--flags", inspected)
	if err != nil || !strings.Contains(out, "3 SDKs agree with edgeflag on 1024 contexts") {
		t.Fatalf("cross-check: %v\n%s", err, out)
	}
	for _, want := range []string{"edgeflag: 1531 exact answers", "LaunchDarkly node-server-sdk: 1531 exact answers", "flagd-core: 1531 exact answers", "unleash-client: 1531 exact answers"} {
		if !strings.Contains(out, want) {
			t.Errorf("cross-check output lacks %q:\n%s", want, out)
		}
	}

	// edgeflag's snapshot with the eu rule serving off; the others keep on.
	changed, _ := peersCompile(t, bin, "values: [DE, FR, NL] }\n    serve: on", "values: [DE, FR, NL] }\n    serve: off")
	out, err = peersNode(t, "bench/peers/bench.mjs", "--check", "--wasm", wasm, "--snapshot", changed, "--flags", inspected)
	if err == nil {
		t.Fatalf("cross-check passed with different flags:\n%s", out)
	}
	for _, want := range []string{"bench-peers: the SDKs disagree", "cross-check: LaunchDarkly node-server-sdk: targeted for context", ": true, edgeflag false (TARGETING_MATCH)"} {
		if !strings.Contains(out, want) {
			t.Errorf("failed cross-check output lacks %q:\n%s", want, out)
		}
	}
}

// BenchmarkWorkerdColdStart starts workerd with the Worker (edge/cloudflare, the module
// built from the sources) b.N times against a store holding the example flags, and times
// each start: until workerd listens, and until the first answer of the flags path, which
// instantiates the module, fetches the pointer and the snapshot, loads it and evaluates
// all 24 flags. The same for a Worker that answers "ok" gives workerd's own share. Metrics
// are medians over the b.N starts (`make bench-peers` runs 5).
func BenchmarkWorkerdColdStart(b *testing.B) {
	edgeRequireJS(b)
	_, data := edgeExampleSnapshot(b, "production")
	store := storetest.New()
	defer store.Close()
	store.Publish("production", data)
	root := edgeRoot(b)
	tree := b.TempDir()
	for _, dir := range []string{"edge/cloudflare", "edge/shared"} {
		if err := cliCopyTree(filepath.Join(root, dir), filepath.Join(tree, dir)); err != nil {
			b.Fatal(err)
		}
	}
	wasm, err := os.ReadFile(edgeWasm(b))
	if err != nil {
		b.Fatal(err)
	}
	files := map[string]string{
		"bin/edgeflag.wasm": string(wasm),
		"hello/hello.mjs":   `export default { fetch() { return new Response("ok"); } };` + "\n",
		"hello/config.capnp": `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "hello", worker = (modules = [(name = "hello.mjs", esModule = embed "hello.mjs")], compatibilityDate = "2026-11-01"))],
  sockets = [(name = "http", address = "127.0.0.1:8787", http = (), service = "hello")],
);
`,
	}
	for rel, content := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(tree, rel)), 0o755)
		if err := os.WriteFile(filepath.Join(tree, rel), []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	workerd := filepath.Join(root, "edge/node_modules/.bin/workerd")
	env := append(os.Environ(), "EDGEFLAG_STORE_URL="+store.URL, "EDGEFLAG_ENVIRONMENT=production")

	// start runs one workerd on config until the first 200 answer of path; it returns the
	// time until it listened and the time from then until the answer.
	start := func(config, path string) (listen, first time.Duration) {
		addr := edgeFreeAddr(b)
		ctx, cancel := context.WithCancel(context.Background())
		cmd := exec.CommandContext(ctx, workerd, "serve", filepath.Join(tree, config), "--socket-addr", "http="+addr)
		cmd.Dir, cmd.Env = tree, env
		logs := &syncbuf.Buffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		defer func() {
			cancel()
			cmd.Wait()
		}()
		for {
			c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			if time.Since(t0) > 30*time.Second {
				b.Fatalf("workerd did not listen on %s within 30 s:\n%s", addr, logs)
			}
			time.Sleep(time.Millisecond)
		}
		listen = time.Since(t0)
		client := &http.Client{Timeout: 30 * time.Second}
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			b.Fatalf("%s: %v\n%s", path, err, logs)
		}
		resp.Body.Close()
		first = time.Since(t0) - listen
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: first answer %s\n%s", path, resp.Status, logs)
		}
		return listen, first
	}
	var listen, first, helloListen, helloFirst []float64
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	start("edge/cloudflare/config.capnp", "/.edgeflag/flags") // warm the file cache
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, f := start("edge/cloudflare/config.capnp", "/.edgeflag/flags")
		listen, first = append(listen, ms(l)), append(first, ms(f))
		l, f = start("hello/config.capnp", "/")
		helloListen, helloFirst = append(helloListen, ms(l)), append(helloFirst, ms(f))
	}
	b.StopTimer()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(median(listen), "ms-listen")
	b.ReportMetric(median(first), "ms-first-answer")
	b.ReportMetric(median(listen)+median(first), "ms-total")
	b.ReportMetric(median(helloListen), "ms-hello-listen")
	b.ReportMetric(median(helloFirst), "ms-hello-first-answer")
}

// median returns the middle of xs (the mean of the two middle ones for an even count).
func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
