package tests

import (
	"bytes"
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
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/edgeflag/edgeflag/lambda"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
	"github.com/edgeflag/edgeflag/store/s3test"
)

// lambdaEventBucket is the bucket events/s3-base-uploaded.json names.
const lambdaEventBucket = "edgeflag-123456789012-eu-west-1"

// lambdaRIE is a running AWS Lambda Runtime Interface Emulator with the real bootstrap
// binary, configured to use an S3-protocol server.
type lambdaRIE struct {
	url string // http://127.0.0.1:port
	cmd *exec.Cmd
	out *syncbuf.Buffer
}

// lambdaRIEPath returns the emulator, installing it with the project's pinned script
// when it is missing.
func lambdaRIEPath(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin", "aws-lambda-rie")
	if _, err := os.Stat(bin); err != nil {
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "install-lambda-rie.sh"))
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("install the Lambda Runtime Interface Emulator: %v\n%s", err, out)
		}
	}
	return bin
}

// lambdaBuildBootstrap builds lambda/bootstrap as Lambda builds it (lambda.norpc).
func lambdaBuildBootstrap(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, "./lambda/bootstrap")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the bootstrap: %v\n%s", err, b)
	}
	return out
}

func lambdaFreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// lambdaStartRIE runs bootstrap under the emulator with the given environment.
func lambdaStartRIE(t testing.TB, bootstrap string, env []string) *lambdaRIE {
	t.Helper()
	rie := lambdaRIEPath(t)
	apiAddr, runtimeAddr := lambdaFreeAddr(t), lambdaFreeAddr(t)
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", apiAddr,
		"--runtime-api-address", runtimeAddr,
		"--log-level", "error",
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	// The emulator passes its environment to the function. Keep the machine's AWS
	// settings out of it.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "EDGEFLAG_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &lambdaRIE{url: "http://" + apiAddr, cmd: cmd, out: out}
	t.Cleanup(func() {
		// The emulator and the bootstrap it started share this process group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("emulator and bootstrap output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", apiAddr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("the emulator did not listen on %s: %v\n%s", apiAddr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// invoke sends one event to the function and returns its JSON answer.
func (r *lambdaRIE) invoke(t testing.TB, event []byte) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url+"/2015-03-31/functions/function/invocations", bytes.NewReader(event))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke: emulator answered %d: %s", resp.StatusCode, body)
	}
	return body
}

// invokeHTTP sends an API Gateway event and decodes the function's HTTP answer.
func (r *lambdaRIE) invokeHTTP(t testing.TB, event []byte) events.APIGatewayV2HTTPResponse {
	t.Helper()
	body := r.invoke(t, event)
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode == 0 {
		t.Fatalf("the function's answer is not an API Gateway response: %v: %s", err, body)
	}
	return resp
}

// lambdaEvent reads a file of events/, letting edit change its decoded JSON.
func lambdaEvent(t testing.TB, name string, edit func(map[string]any)) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return data
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	edit(ev)
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lambdaS3EventFor points the S3 event of events/ at a production base snapshot.
func lambdaS3EventFor(t testing.TB, hash string) []byte {
	return lambdaEvent(t, "s3-base-uploaded.json", func(ev map[string]any) {
		obj := ev["Records"].([]any)[0].(map[string]any)["s3"].(map[string]any)["object"].(map[string]any)
		if env, _, ok := layout.ParseBaseKey(obj["key"].(string)); !ok || env != "production" {
			t.Fatalf("events/s3-base-uploaded.json names %q, not a production base snapshot", obj["key"])
		}
		obj["key"] = layout.BaseKey("production", hash)
	})
}

// lambdaKillEvent is events/flag-kill.json for another flag and reason.
func lambdaKillEvent(t testing.TB, action, flag, reason string) []byte {
	return lambdaEvent(t, "flag-"+action+".json", func(ev map[string]any) {
		path := "/flags/" + flag + "/" + action
		ev["rawPath"] = path
		ev["requestContext"].(map[string]any)["http"].(map[string]any)["path"] = path
		ev["pathParameters"] = map[string]any{"key": flag}
		body, _ := json.Marshal(map[string]string{"environment": "production", "reason": reason})
		ev["body"] = string(body)
	})
}

// lambdaSetup starts an S3-protocol server laid out as template.yaml deploys it, with
// production published, and the bootstrap under the emulator pointed at it.
func lambdaSetup(t testing.TB) (*s3test.Server, store.Store, *lambdaRIE) {
	t.Helper()
	srv := s3test.New(t, lambdaEventBucket)
	st := srv.Store(t, "")
	base := publishtest.Snapshot("production", "abc123", 1000, "new-checkout-flow", "search-ring")
	if _, err := publish.New(st).Publish(context.Background(), base, "ci"); err != nil {
		t.Fatal(err)
	}
	env := append(srv.Env(),
		lambda.EnvStore+"="+srv.Location(""),
		lambda.EnvEnvironments+"=production",
	)
	return srv, st, lambdaStartRIE(t, lambdaBuildBootstrap(t), env)
}

// TestLambdaBootstrapUnderEmulator drives the real bootstrap binary, under the AWS Lambda
// Runtime Interface Emulator, with every file of events/, against a real S3-protocol
// server over HTTP.
func TestLambdaBootstrapUnderEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the Lambda bootstrap under the emulator")
	}
	ctx := context.Background()
	srv, st, rie := lambdaSetup(t)

	// CI uploads a newer base; S3 notifies the function.
	next := publishtest.Snapshot("production", "def456", 2000, "new-checkout-flow", "search-ring")
	nextHash, _ := snapshot.Hash(next)
	if err := srv.Put(ctx, layout.BaseKey("production", nextHash), next); err != nil {
		t.Fatal(err)
	}
	var sum lambda.S3Summary
	if err := json.Unmarshal(rie.invoke(t, lambdaS3EventFor(t, nextHash)), &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Records) != 1 || sum.Records[0].Outcome != "republished" {
		t.Fatalf("S3 event: %+v", sum)
	}

	steps := []struct {
		event  string
		status int
		want   string // in the body
	}{
		{"flags-get.json", 200, `"revision": "def456"`},
		{"flag-kill.json", 200, `"killed": true`},
		{"flags-get.json", 200, `"reason": "checkout error rate 12% since 09:55 (INC-4711)"`},
		{"flag-unkill.json", 200, `"killed": false`},
		{"publish.json", 200, `"changed": false`},
	}
	for _, step := range steps {
		resp := rie.invokeHTTP(t, lambdaEvent(t, step.event, nil))
		if resp.StatusCode != step.status || !strings.Contains(resp.Body, step.want) {
			t.Errorf("%s: %d %s\nwant %d with %s", step.event, resp.StatusCode, resp.Body, step.status, step.want)
		}
	}

	// Bad input through the real runtime: JSON errors, nothing written.
	before, _ := st.List(ctx, "")
	bad := []struct {
		name   string
		event  []byte
		status int
		code   string
	}{
		{"no IAM identity", lambdaEvent(t, "flag-kill.json", func(ev map[string]any) {
			delete(ev["requestContext"].(map[string]any), "authorizer")
		}), 401, "unauthorized"},
		{"malformed JSON", lambdaEvent(t, "flag-kill.json", func(ev map[string]any) { ev["body"] = `{"environment":` }), 400, "invalid_json"},
		{"missing reason", lambdaKillEvent(t, "kill", "new-checkout-flow", ""), 400, "missing_field"},
		{"unknown flag", lambdaKillEvent(t, "kill", "no-such-flag", "x"), 404, "unknown_flag"},
		{"oversized body", lambdaKillEvent(t, "kill", "new-checkout-flow", strings.Repeat("x", lambda.MaxBodyBytes)), 413, "body_too_large"},
		{"wrong method", lambdaEvent(t, "flags-get.json", func(ev map[string]any) {
			ev["requestContext"].(map[string]any)["http"].(map[string]any)["method"] = "DELETE"
		}), 405, "method_not_allowed"},
	}
	for _, tt := range bad {
		resp := rie.invokeHTTP(t, tt.event)
		var e lambda.ErrorResponse
		if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || resp.StatusCode != tt.status || e.Error != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.name, resp.StatusCode, resp.Body, tt.status, tt.code)
		}
	}
	if after, _ := st.List(ctx, ""); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("refused requests wrote objects: %v -> %v", before, after)
	}

	// The audit trail names the IAM caller and the uploader.
	records, err := publish.New(st).Audit(ctx, "production")
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range records {
		actions = append(actions, r.Action+" by "+r.Who)
	}
	want := []string{
		"publish by ci",
		"republish by s3-upload:AWS:AROAEXAMPLECIROLE:GitHubActions",
		"kill by arn:aws:sts::123456789012:assumed-role/edgeflag-oncall/oncall",
		"unkill by arn:aws:sts::123456789012:assumed-role/edgeflag-oncall/oncall",
	}
	if fmt.Sprint(actions) != fmt.Sprint(want) {
		t.Errorf("audit trail:\n%s\nwant\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
	}
}
