package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/edgeflag/edgeflag/internal/syncbuf"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/internal/wasmbuild"
	"github.com/edgeflag/edgeflag/snapshot"
)

// The edge tests run the evaluator module in the JavaScript runtimes it ships for: Node.js
// (as Lambda@Edge does) and workerd (Cloudflare's runtime). They install the
// pinned npm packages with scripts/install-node-deps.sh when edge/node_modules is missing.
// EDGEFLAG_SKIP_EDGE=1 skips them on machines without Node.js; CI never sets it.

var (
	edgeWasmOnce sync.Once
	edgeWasmPath string
	edgeWasmErr  error
	edgeDepsOnce sync.Once
	edgeDepsErr  error
)

// edgeRoot returns the repository root.
func edgeRoot(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// edgeWasm builds the evaluator module once per test binary and returns its path.
func edgeWasm(t testing.TB) string {
	t.Helper()
	edgeWasmOnce.Do(func() {
		dir, err := os.MkdirTemp("", "edgeflag-edge-wasm-")
		if err != nil {
			edgeWasmErr = err
			return
		}
		edgeWasmPath = filepath.Join(dir, "edgeflag.wasm")
		edgeWasmErr = wasmbuild.Build(context.Background(), edgeWasmPath)
	})
	if edgeWasmErr != nil {
		t.Fatal(edgeWasmErr)
	}
	return edgeWasmPath
}

// edgeRequireJS makes sure node and the pinned npm packages are there.
func edgeRequireJS(t testing.TB) {
	t.Helper()
	if os.Getenv("EDGEFLAG_SKIP_EDGE") == "1" {
		t.Skip("EDGEFLAG_SKIP_EDGE=1: skipping the Node.js and workerd tests")
	}
	edgeDepsOnce.Do(func() {
		root, _ := filepath.Abs("..")
		_, err1 := os.Stat(filepath.Join(root, "edge/node_modules/.bin/workerd"))
		_, err2 := os.Stat(filepath.Join(root, "edge/node_modules/.bin/wrangler"))
		if err1 == nil && err2 == nil {
			return
		}
		out, err := exec.Command("bash", filepath.Join(root, "scripts/install-node-deps.sh")).CombinedOutput()
		if err != nil {
			edgeDepsErr = fmt.Errorf("scripts/install-node-deps.sh: %v\n%s", err, out)
		}
	})
	if edgeDepsErr != nil {
		t.Fatal(edgeDepsErr)
	}
}

// edgeExampleSnapshot compiles the example flags (flags/) for env.
func edgeExampleSnapshot(t testing.TB, env string) (*snapshot.Snapshot, []byte) {
	t.Helper()
	snaps, err := compiler.Compile(filepath.Join(edgeRoot(t), "flags"), compiler.Options{Revision: "example", BuildTime: 1_790_000_000})
	if err != nil {
		t.Fatalf("compiling flags/: %v", err)
	}
	s, ok := snaps[env]
	if !ok {
		t.Fatalf("flags/ has no environment %q", env)
	}
	data := snapshot.Encode(s)
	decoded, err := snapshot.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return decoded, data
}

// edgeFreeAddr returns a free 127.0.0.1 address.
func edgeFreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// edgeWorkerTree lays out the Worker as in the repository in a temporary tree: edge/cloudflare,
// edge/shared and sdk/js (which the test harnesses use), extra files (relative path → content), and the module at bin/edgeflag.wasm.
func edgeWorkerTree(t testing.TB, extra map[string]string) string {
	t.Helper()
	root := edgeRoot(t)
	tree := t.TempDir()
	for _, dir := range []string{"edge/cloudflare", "edge/shared", "sdk/js"} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(tree, dir), 0o755)
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(root, dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(tree, dir, e.Name()), b, 0o644)
		}
	}
	for rel, content := range extra {
		os.MkdirAll(filepath.Dir(filepath.Join(tree, rel)), 0o755)
		if err := os.WriteFile(filepath.Join(tree, rel), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wasm, err := os.ReadFile(edgeWasm(t))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(tree, "bin"), 0o755)
	os.WriteFile(filepath.Join(tree, "bin/edgeflag.wasm"), wasm, 0o644)
	return tree
}

// edgeWorkerd runs workerd with a configuration laid out as in the repository: it copies
// edge/cloudflare and edge/shared (plus extra files, relative path → content) into a
// temporary tree with the module at bin/edgeflag.wasm, and serves config (a path in that
// tree) with env added to the environment, where {{addr}} and {{port}} stand for the
// address workerd listens on and its port. It returns the base URL.
func edgeWorkerd(t testing.TB, config string, env []string, extra map[string]string) string {
	t.Helper()
	edgeRequireJS(t)
	root := edgeRoot(t)
	tree := edgeWorkerTree(t, extra)

	addr := edgeFreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	for i, kv := range env {
		env[i] = strings.NewReplacer("{{addr}}", addr, "{{port}}", port).Replace(kv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, filepath.Join(root, "edge/node_modules/.bin/workerd"), "serve",
		filepath.Join(tree, config), "--socket-addr", "http="+addr)
	cmd.Dir = tree
	cmd.Env = append(os.Environ(), env...)
	logs := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("workerd output:\n%s", logs)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workerd did not listen on %s within 30 s:\n%s", addr, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "http://" + addr
}

// edgeNode runs a Node.js script that answers one JSON line per JSON line it reads.
type edgeNode struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	logs *syncbuf.Buffer
}

func edgeStartNode(t testing.TB, script string, env ...string) *edgeNode {
	t.Helper()
	edgeRequireJS(t)
	cmd := exec.Command("node", script)
	cmd.Env = append(os.Environ(), env...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n := &edgeNode{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20), logs: &syncbuf.Buffer{}}
	cmd.Stderr = n.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	return n
}

// send sends one request (as one line of JSON) and returns the answer's line.
func (n *edgeNode) send(t testing.TB, req any) []byte {
	t.Helper()
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.in.Write(append(b, '\n')); err != nil {
		t.Fatalf("writing to node: %v\n%s", err, n.logs)
	}
	line, err := n.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("reading from node: %v\n%s", err, n.logs)
	}
	return line
}

// call sends one request and decodes the answer into v; an answer {"error": ...} fails t.
func (n *edgeNode) call(t testing.TB, req any, v any) {
	t.Helper()
	line := n.send(t, req)
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(line, &e) == nil && e.Error != "" {
		t.Fatalf("node: %s\n%s", e.Error, n.logs)
	}
	if err := json.Unmarshal(line, v); err != nil {
		t.Fatalf("node answered %.300s: %v", line, err)
	}
}

// edgePost posts JSON (or raw bytes) and decodes a JSON answer.
func edgePost(t testing.TB, url string, body io.Reader, v any) {
	t.Helper()
	resp, err := http.Post(url, "application/octet-stream", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s: %.500s", url, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("POST %s answered %.300s: %v", url, b, err)
	}
}
