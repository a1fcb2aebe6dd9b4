package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// edgeSettingsScript makes an Edge (edge/shared/handler.mjs) for each settings object of
// the JSON array %s and prints, for each, "ok" or the message it was refused with, and the
// state of the location cache with cacheTtl 0 and 5.
const edgeSettingsScript = `
import { readFileSync } from "node:fs";
const { instantiate } = await import(process.env.EDGEFLAG_LAMBDA);
const { Edge } = await import(process.env.EDGEFLAG_LAMBDA.replace("lambda-edge/index.mjs", "shared/handler.mjs"));
const evaluator = await instantiate(readFileSync(process.env.EDGEFLAG_WASM));
const answers = [];
for (const settings of %s) {
  try {
    new Edge(evaluator, { storeURL: "http://127.0.0.1:9", ...settings });
    answers.push("ok");
  } catch (err) {
    answers.push(err.message);
  }
}
// The location cache a setting of cacheTtl leaves on or off.
const cache = ["0", "5"].map((cacheTtl) => new Edge(evaluator, { storeURL: "http://127.0.0.1:9", cache: {}, cacheTtl }).poller.status().cache);
process.stdout.write(JSON.stringify({ answers, cache }));
`

// TestEdgeSettingsRefused holds the JavaScript edges to refusing, when the edge is made,
// settings they cannot run with, naming the setting: a poll interval that is not a number
// would otherwise never poll.
func TestEdgeSettingsRefused(t *testing.T) {
	tests := []struct {
		name     string
		settings map[string]any
		want     string // "ok", or in the message
	}{
		{"numbers as text", map[string]any{"pollIntervalMs": "250", "graceMs": " 60000 ", "cacheTtl": "0"}, "ok"},
		{"numbers", map[string]any{"pollIntervalMs": 1000, "graceMs": 0, "timeoutMs": 1.5}, "ok"},
		{"an interval with a unit", map[string]any{"pollIntervalMs": "5s"}, `poller: pollIntervalMs "5s" is not a number ≥ 1`},
		{"no interval", map[string]any{"pollIntervalMs": 0}, `poller: pollIntervalMs 0 is not a number ≥ 1`},
		{"a negative grace period", map[string]any{"graceMs": -1}, `poller: graceMs -1 is not a number ≥ 0`},
		{"a timeout that is not a number", map[string]any{"timeoutMs": true}, `poller: timeoutMs true is not a number ≥ 1`},
		{"a cache TTL in words", map[string]any{"cacheTtl": "five"}, `poller: cacheTtl "five" is not a number ≥ 0`},
		{"no store", map[string]any{"storeURL": ""}, "poller: storeURL is required"},
		{"an environment in capitals", map[string]any{"environment": "Prod"}, `poller: invalid environment "Prod"`},
		{"unknown reasons", map[string]any{"ofrepReasons": "loud"}, `ofrep: reasons must be spec or openfeature, not "loud"`},
		{"API keys as a broken JSON array", map[string]any{"ofrepApiKeys": `["k1", "k2"`}, "ofrep: ofrepApiKeys starts as a JSON array but is not one: "},
		{"API keys", map[string]any{"ofrepApiKeys": `["k1", "k2"]`}, "ok"},
	}
	cases := make([]map[string]any, len(tests))
	for i, tt := range tests {
		cases[i] = tt.settings
	}
	js, _ := json.Marshal(cases)
	out := edgeNodeScript(t, fmt.Sprintf(edgeSettingsScript, js))
	var got struct {
		Answers []string
		Cache   []string
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got.Answers) != len(tests) {
		t.Fatalf("node answered %.300s (%v)", out, err)
	}
	answers := got.Answers
	if strings.Join(got.Cache, "; ") != "off; location, 5 s" {
		t.Errorf("the location cache with cacheTtl 0 and 5: %q, want off and on", got.Cache)
	}
	for i, tt := range tests {
		got := answers[i]
		if (tt.want == "ok") != (got == "ok") || !strings.Contains(got, tt.want) {
			t.Errorf("%s %v: %q, want %q", tt.name, tt.settings, got, tt.want)
		}
	}
}

// TestEdgeWorkerMisconfigured runs the Worker in workerd with a variable it cannot run
// with: every request gets a JSON 500 naming the variable, not a bare exception.
func TestEdgeWorkerMisconfigured(t *testing.T) {
	base := edgeWorkerd(t, "edge/cloudflare/config.capnp", []string{"EDGEFLAG_STORE_URL=http://127.0.0.1:9", "EDGEFLAG_POLL_INTERVAL_MS=5s"}, nil)
	client := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/.edgeflag/flags", "/checkout"} {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ ErrorCode, ErrorMessage string }
		if resp.StatusCode != http.StatusInternalServerError || json.Unmarshal(body, &e) != nil || e.ErrorCode != "GENERAL" {
			t.Fatalf("GET %s: %d %s, want a JSON 500", path, resp.StatusCode, body)
		}
		want := `edgeflag is misconfigured: poller: pollIntervalMs "5s" is not a number ≥ 1 (EDGEFLAG_POLL_INTERVAL_MS)`
		if e.ErrorMessage != want {
			t.Errorf("GET %s: %q, want %q", path, e.ErrorMessage, want)
		}
		// docs/edge.md shows this answer.
		if page, err := os.ReadFile(filepath.Join(edgeRoot(t), "docs/edge.md")); err != nil || !strings.Contains(string(page), "```json\n"+string(body)+"\n```") {
			t.Errorf("docs/edge.md does not show the answer %s", body)
		}
	}
}

// TestEdgeLambdaMisconfigured invokes the Lambda@Edge handler with configuration files it
// cannot run with: each invocation fails with a message that names the file and the
// problem (Lambda@Edge logs it), and the function tries again on the next one.
func TestEdgeLambdaMisconfigured(t *testing.T) {
	dir := t.TempDir()
	wasm, _ := json.Marshal(edgeWasm(t))
	tests := []struct{ name, config, want string }{
		{"not JSON", `{"storeURL": "http://127.0.0.1:9",}`, "in JSON at position 34"},
		{"a poll interval with a unit", `{"storeURL": "http://127.0.0.1:9", "pollIntervalMs": "5s", "wasmPath": ` + string(wasm) + `}`, `poller: pollIntervalMs "5s" is not a number ≥ 1`},
		{"no store", `{"environment": "production", "wasmPath": ` + string(wasm) + `}`, "poller: storeURL is required"},
		{"no module", `{"storeURL": "http://127.0.0.1:9", "wasmPath": "/nonexistent/edgeflag.wasm"}`, "ENOENT: no such file or directory, open '/nonexistent/edgeflag.wasm'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"), "config.json")
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			fn := edgeStartNode(t, "testdata/edge/lambda-invoke.mjs", "EDGEFLAG_CONFIG="+path)
			// Twice: the second invocation reads the file again.
			for range 2 {
				line := fn.send(t, edgeEvent(t, "flags-request.json"))
				var answer struct{ Error string }
				prefix := "edgeflag is misconfigured: " + path + ": "
				if json.Unmarshal(line, &answer) != nil || !strings.Contains(answer.Error, prefix) || !strings.Contains(answer.Error, tt.want) {
					t.Fatalf("answer %.400s, want an error with %q and %q", line, prefix, tt.want)
				}
			}
		})
	}
}
