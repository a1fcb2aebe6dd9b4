package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/openfeature/ofconv"
	"github.com/edgeflag/edgeflag/snapshot"
)

// The OFREP client test runs the real OpenFeature OFREP provider for Node
// (@openfeature/ofrep-provider with @openfeature/server-sdk, pinned in
// ofrep/testdata/node/package-lock.json) against the Go OFREP handler on 127.0.0.1.
// scripts/install-ofrep-client.sh installs the packages when they are missing.
// EDGEFLAG_SKIP_EDGE=1 skips it on machines without Node.js; CI never sets it.

var (
	ofrepNodeOnce sync.Once
	ofrepNodeErr  error
)

func ofrepRequireNode(t *testing.T) string {
	t.Helper()
	if os.Getenv("EDGEFLAG_SKIP_EDGE") == "1" {
		t.Skip("EDGEFLAG_SKIP_EDGE=1: skipping the Node.js OFREP client test")
	}
	root := ofrepRoot(t)
	dir := filepath.Join(root, "ofrep", "testdata", "node")
	ofrepNodeOnce.Do(func() {
		if _, err := exec.LookPath("node"); err != nil {
			ofrepNodeErr = fmt.Errorf("node is not installed (Debian: apt-get install nodejs npm): %v", err)
			return
		}
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "@openfeature", "ofrep-provider")); err == nil {
			return
		}
		out, err := exec.Command("bash", filepath.Join(root, "scripts", "install-ofrep-client.sh")).CombinedOutput()
		if err != nil {
			ofrepNodeErr = fmt.Errorf("scripts/install-ofrep-client.sh: %v\n%s", err, out)
		}
	})
	if ofrepNodeErr != nil {
		t.Fatal(ofrepNodeErr)
	}
	return dir
}

// ofrepCase is one evaluation the Node client makes.
type ofrepCase struct {
	Flag    string         `json:"flag"`
	Type    string         `json:"type"`
	Default any            `json:"default"`
	Context map[string]any `json:"context"`
}

// ofrepDetails is what the Node client got: the OpenFeature evaluation details.
type ofrepDetails struct {
	Flag         string         `json:"flag"`
	Value        any            `json:"value"`
	Variant      *string        `json:"variant"`
	Reason       *string        `json:"reason"`
	ErrorCode    *string        `json:"errorCode"`
	ErrorMessage *string        `json:"errorMessage"`
	FlagMetadata map[string]any `json:"flagMetadata"`
}

// ofrepRunNode evaluates cases with the Node OFREP client against base.
func ofrepRunNode(t *testing.T, dir, base, apiKey string, cases []ofrepCase) []ofrepDetails {
	t.Helper()
	input, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := []string{"evaluate.mjs", base}
	if apiKey != "" {
		args = append(args, apiKey)
	}
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node evaluate.mjs: %v\n%s", err, stderr.String())
	}
	var out []ofrepDetails
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("node output: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if len(out) != len(cases) {
		t.Fatalf("node returned %d results for %d cases", len(out), len(cases))
	}
	return out
}

var ofrepTypeNames = map[snapshot.ValueType]string{
	snapshot.TypeBoolean: "boolean", snapshot.TypeString: "string", snapshot.TypeNumber: "number", snapshot.TypeJSON: "object",
}

var ofrepDefaults = map[string]any{"boolean": false, "string": "code-default", "number": -1.0, "object": map[string]any{"code": "default"}}

// TestOFREPNodeClient evaluates every example flag for several users with the Node OFREP
// provider and compares each value, variant, reason and metadata with the native
// evaluator; then the errors: unknown flag, wrong type, missing targeting key, invalid
// context, refused credentials.
func TestOFREPNodeClient(t *testing.T) {
	dir := ofrepRequireNode(t)
	native, s := ofrepExample(t, "production")
	const key = "ofrep-test-key"
	h := ofrep.NewHandler(native, ofrep.Options{Now: func() time.Time { return ofrepNoon }, Authenticate: ofrep.APIKeys(key)})
	base := ofrepServer(t, h)
	hash := native.Version().Snapshot
	ofrepClientScenario(t, dir, base, key, hash, s, func() time.Time { return ofrepNoon })

}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// ofrepClientScenario runs the Node OFREP client against base for every flag of s and
// several users, and compares each value, variant, reason and metadata with the native
// evaluator at the time at gives (read after the client's run); then the errors: unknown
// flag, wrong type, missing targeting key, invalid context, refused credentials.
func ofrepClientScenario(t *testing.T, dir, base, key, hash string, s *snapshot.Snapshot, at func() time.Time) {
	t.Helper()
	ev := evaluator.New(s)

	users := []map[string]any{
		{"targetingKey": "user-1001", "email": "alice@company.com", "groups": []any{"engineering@company.com"}},
		{"targetingKey": "user-3003"},
		{"targetingKey": "user-2002", "email": "carol@bigcorp.example", "plan": "enterprise", "accountId": "acct-bigcorp"},
		{"targetingKey": "user-3010", "platform": "ios", "appVersion": "2.10.0", "geo": map[string]any{"country": "FR"}},
	}
	var cases []ofrepCase
	var ctxs []*evaluator.Context
	for _, u := range users {
		ctx := evaluator.NewContext()
		if err := ofconv.Fill(ctx, u); err != nil {
			t.Fatal(err)
		}
		for _, f := range s.Flags {
			typ := ofrepTypeNames[f.Type]
			cases = append(cases, ofrepCase{Flag: f.Key, Type: typ, Default: ofrepDefaults[typ], Context: u})
			ctxs = append(ctxs, ctx)
		}
	}
	// Errors, each with the error code the OpenFeature SDK reports.
	errorCases := []struct {
		c    ofrepCase
		code string
	}{
		{ofrepCase{"no-such-flag", "boolean", true, users[0]}, "FLAG_NOT_FOUND"},
		{ofrepCase{"checkout-button-color", "boolean", true, users[0]}, "TYPE_MISMATCH"},
		{ofrepCase{"checkout-button-color", "string", "x", map[string]any{"plan": "pro"}}, "TARGETING_KEY_MISSING"},
		{ofrepCase{"new-search-algorithm", "boolean", true, map[string]any{"targetingKey": "u", "groups": []any{[]any{"nested"}}}}, "INVALID_CONTEXT"},
	}
	for _, e := range errorCases {
		cases = append(cases, e.c)
	}

	got := ofrepRunNode(t, dir, base, key, cases)
	now := at()
	for i := range ctxs {
		w := ev.Evaluate(cases[i].Flag, ctxs[i], now)
		g := got[i]
		name := fmt.Sprintf("%s for %v", w.Key, cases[i].Context["targetingKey"])
		if w.Reason == evaluator.ReasonError {
			if g.ErrorCode == nil || *g.ErrorCode != string(w.Error) {
				t.Errorf("%s: error %v, want %s", name, deref(g.ErrorCode), w.Error)
			}
			continue
		}
		var wantValue any
		if err := json.Unmarshal([]byte(w.Value), &wantValue); err != nil {
			t.Fatal(err)
		}
		wantReason := string(w.Reason)
		if !ofconv.IsOFREPReason(w.Reason) {
			wantReason = "UNKNOWN"
		}
		if g.ErrorCode != nil || !reflect.DeepEqual(g.Value, wantValue) || deref(g.Variant) != w.Variant || deref(g.Reason) != wantReason {
			t.Errorf("%s: got %v %s %s (error %s %s), want %v %s %s", name, g.Value, deref(g.Variant), deref(g.Reason),
				deref(g.ErrorCode), deref(g.ErrorMessage), wantValue, w.Variant, wantReason)
			continue
		}
		if g.FlagMetadata["decision"] != w.Kind.String() || g.FlagMetadata["snapshot"] != hash {
			t.Errorf("%s: metadata %v", name, g.FlagMetadata)
		}
		if w.Bucketed && g.FlagMetadata["bucket"] != float64(w.Bucket) {
			t.Errorf("%s: metadata bucket %v, want %d", name, g.FlagMetadata["bucket"], w.Bucket)
		}
		if wantReason != string(w.Reason) && g.FlagMetadata["reason"] != string(w.Reason) {
			t.Errorf("%s: metadata reason %v, want %s", name, g.FlagMetadata["reason"], w.Reason)
		}
	}
	for j, e := range errorCases {
		g := got[len(ctxs)+j]
		if deref(g.ErrorCode) != e.code || !reflect.DeepEqual(g.Value, e.c.Default) {
			t.Errorf("%s (%s): error %s (%s), value %v; want %s and the default", e.c.Flag, e.c.Type,
				deref(g.ErrorCode), deref(g.ErrorMessage), g.Value, e.code)
		}
	}

	// Without the API key the server answers 401, which the client reports as GENERAL.
	refused := ofrepRunNode(t, dir, base, "", []ofrepCase{{"new-search-algorithm", "boolean", true, users[0]}})
	if deref(refused[0].ErrorCode) != "GENERAL" || refused[0].Value != true {
		t.Errorf("without credentials: %+v", refused[0])
	}
}
