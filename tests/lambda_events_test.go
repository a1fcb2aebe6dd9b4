package tests

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/lambda"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// lambdaPublishExample compiles the example flags (flags/) and publishes every
// environment to a new directory store, as `make flags-publish` does. It returns the
// store's directory and each environment's base snapshot hash.
func lambdaPublishExample(t testing.TB) (string, map[string]string) {
	t.Helper()
	p, err := compiler.Load(filepath.Join(edgeRoot(t), "flags"))
	if err != nil {
		t.Fatalf("compiling flags/: %v", err)
	}
	dir := t.TempDir()
	st, err := store.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	bases := map[string]string{}
	for _, env := range p.Environments {
		s, err := p.Build(env, compiler.Options{Revision: "example", BuildTime: 1_790_000_000})
		if err != nil {
			t.Fatalf("compiling flags/ for %s: %v", env, err)
		}
		data := snapshot.Encode(s)
		plan, err := p.RolloutPlan(env)
		if err != nil {
			t.Fatal(err)
		}
		planData, err := plan.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := publish.New(st).PublishWithPlan(context.Background(), data, planData, "ci"); err != nil {
			t.Fatalf("publishing %s: %v", env, err)
		}
		if bases[env], err = snapshot.Hash(data); err != nil {
			t.Fatal(err)
		}
	}
	return dir, bases
}

// lambdaEventKind tells an API Gateway event from an S3 event or a schedule, as Invoke does.
func lambdaEventKind(t testing.TB, name string, data []byte) string {
	t.Helper()
	kind, err := lambda.EventKindOf(data)
	if err != nil {
		t.Fatalf("%s: %v: teach TestLambdaEventFiles how to check it", name, err)
	}
	return kind
}

// lambdaPointS3Event points every base snapshot an S3 event names at the base published
// for its environment: a base's name is the hash of its content, which changes with every
// change of flags/, so the file's own hash cannot be one the example store holds.
func lambdaPointS3Event(t testing.TB, name string, data []byte, bases map[string]string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	for _, r := range ev["Records"].([]any) {
		obj := r.(map[string]any)["s3"].(map[string]any)["object"].(map[string]any)
		env, _, ok := layout.ParseBaseKey(obj["key"].(string))
		if !ok || bases[env] == "" {
			t.Fatalf("%s names %q, not a base snapshot of an environment of flags/", name, obj["key"])
		}
		obj["key"] = layout.BaseKey(env, bases[env])
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLambdaEventFiles invokes the real bootstrap, under the AWS Lambda Runtime Interface
// Emulator and on a directory store holding the example flags, with every file of events/
// in name order, and requires each to succeed: a 2xx answer for API Gateway events, no
// failed record for S3 events, never a function error. A new event file that does not
// work against the example flags fails here.
func TestLambdaEventFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the Lambda bootstrap under the emulator")
	}
	files, err := filepath.Glob(filepath.Join(edgeRoot(t), "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no event files in events/: %v", err)
	}
	sort.Strings(files)
	dir, bases := lambdaPublishExample(t)
	rie := lambdaStartRIE(t, lambdaBuildBootstrap(t), []string{lambda.EnvStore + "=" + dir, lambda.EnvEnvironments + "=staging,production"})
	for _, file := range files {
		name := filepath.Base(file)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		kind := lambdaEventKind(t, name, data)
		if kind == "s3" {
			data = lambdaPointS3Event(t, name, data, bases)
		}
		body := rie.invoke(t, data)
		var fnErr struct {
			ErrorMessage string `json:"errorMessage"`
		}
		if json.Unmarshal(body, &fnErr) == nil && fnErr.ErrorMessage != "" {
			t.Errorf("%s: the function failed: %s", name, body)
			continue
		}
		switch kind {
		case "http":
			var resp struct {
				StatusCode int    `json:"statusCode"`
				Body       string `json:"body"`
			}
			if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
				t.Errorf("%s: %d %s (%v), want a 2xx answer", name, resp.StatusCode, resp.Body, err)
			}
		case "schedule":
			var tick lambda.TickResponse
			if err := json.Unmarshal(body, &tick); err != nil || len(tick.Results) != 2 || len(tick.Errors) > 0 {
				t.Errorf("%s: %s (%v), want a tick of both environments", name, body, err)
			}
		case "s3":
			var sum lambda.S3Summary
			if err := json.Unmarshal(body, &sum); err != nil || len(sum.Records) == 0 {
				t.Errorf("%s: %s (%v), want a summary of its records", name, body, err)
			}
			for _, r := range sum.Records {
				if r.Outcome == "failed" || r.Environment == "" {
					t.Errorf("%s: record %+v, want the base handled", name, r)
				}
			}
		}
	}
}

// TestLambdaConfigurationErrors runs the bootstrap under the emulator with what is
// missing from its configuration; each invocation answers an error that names it.
func TestLambdaConfigurationErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the Lambda bootstrap under the emulator")
	}
	bootstrap := lambdaBuildBootstrap(t)
	none := filepath.Join(t.TempDir(), "none")
	noCredentials := []string{
		"AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none,
	}
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{"no store", noCredentials, []string{"EDGEFLAG_STORE is not set", "s3://bucket/prefix or a directory"}},
		{"s3 store without credentials",
			append([]string{lambda.EnvStore + "=s3://my-bucket?endpoint=http://127.0.0.1:9&path-style=true"}, noCredentials...),
			[]string{"EDGEFLAG_STORE", "s3://my-bucket", "no AWS credentials", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rie := lambdaStartRIE(t, bootstrap, tt.env)
			body := rie.invoke(t, lambdaEvent(t, "flags-get.json", nil))
			var fnErr struct {
				ErrorMessage string `json:"errorMessage"`
			}
			if err := json.Unmarshal(body, &fnErr); err != nil || fnErr.ErrorMessage == "" {
				t.Fatalf("answer %s (%v), want a function error", body, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(fnErr.ErrorMessage, w) {
					t.Errorf("the error does not say %q: %s", w, fnErr.ErrorMessage)
				}
			}
		})
	}
}
