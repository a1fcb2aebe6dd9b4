package tests

import (
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/lambda"
	"github.com/edgeflag/edgeflag/store"
)

// cliRolloutStatus is one entry of `edgeflag rollout status --json`.
type cliRolloutStatus struct {
	Flag    string `json:"flag"`
	Started bool   `json:"started"`
	Status  string `json:"status"`
	Stage   int    `json:"stage"`
	Stages  int    `json:"stages"`
	Reason  string `json:"reason"`
}

// TestCLIRollout runs `edgeflag rollout` as a real process on a directory store holding
// the example flags, and through the kill-switch API.
func TestCLIRollout(t *testing.T) {
	bin := cliBuild(t)
	dir := cliExampleFlags(t)
	storeDir := t.TempDir()
	bin.runWith(t, cliRun{dir: dir, env: []string{publishEpoch}}, "publish", "--store", storeDir, "flags").expectCode(t, 0)

	status := func(t *testing.T, extra ...string) map[string]cliRolloutStatus {
		t.Helper()
		res := bin.run(t, dir, append([]string{"rollout", "status", "--store", storeDir, "--env", "production", "--json"}, extra...)...)
		res.expectCode(t, 0)
		var list []cliRolloutStatus
		res.decodeJSON(t, &list)
		out := map[string]cliRolloutStatus{}
		for _, s := range list {
			out[s.Flag] = s
		}
		return out
	}

	t.Run("status before the controller ran", func(t *testing.T) {
		got := status(t)
		for _, flag := range []string{"new-recommendation-engine", "payments-service-v2"} {
			if s, ok := got[flag]; !ok || s.Started || s.Stage != 1 {
				t.Errorf("%s: %+v, want listed, not started, at stage 1", flag, s)
			}
		}
		res := bin.run(t, dir, "rollout", "status", "--store", storeDir, "--env", "production")
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, "payments-service-v2") || !strings.Contains(res.stdout, "not started") || !strings.Contains(res.stdout, "1/11") {
			t.Errorf("status table:\n%s", res.stdout)
		}
	})

	t.Run("tick with the metrics down pauses and says why", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down := "http://" + ln.Addr().String()
		ln.Close()
		run := cliRun{dir: dir, env: []string{"EDGEFLAG_PROMETHEUS_URL=" + down}}
		res := bin.runWith(t, run, "rollout", "tick", "--store", storeDir)
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, "production payments-service-v2: START") || !strings.Contains(res.stdout, "staging payments-service-v2: START") {
			t.Errorf("first tick:\n%s", res.stdout)
		}
		res = bin.runWith(t, run, "rollout", "tick", "--store", storeDir, "--env", "production")
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, "payments-service-v2: PAUSE") || !strings.Contains(res.stdout, "metrics unavailable") || !strings.Contains(res.stdout, down) {
			t.Errorf("second tick:\n%s", res.stdout)
		}
		if s := status(t)["payments-service-v2"]; s.Status != "paused" {
			t.Errorf("after the tick: %+v, want paused", s)
		}
	})

	t.Run("resume, promote and roll back by hand", func(t *testing.T) {
		res := bin.run(t, dir, "rollout", "resume", "payments-service-v2", "--store", storeDir, "--env", "production", "--reason", "Prometheus is back")
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, "RESUME — stage 1 (5%), running: Prometheus is back") {
			t.Errorf("resume:\n%s", res.stdout)
		}
		bin.run(t, dir, "rollout", "promote", "payments-service-v2", "--store", storeDir, "--env", "production", "--reason", "looks fine").expectCode(t, 0)
		if s := status(t)["payments-service-v2"]; s.Stage != 2 || s.Status != "running" {
			t.Errorf("after promote: %+v, want stage 2 running", s)
		}
		bin.run(t, dir, "rollout", "rollback", "payments-service-v2", "--store", storeDir, "--env", "production", "--reason", "INC-4712").expectCode(t, 0)
		if s := status(t)["payments-service-v2"]; s.Status != "rolledBack" || s.Reason != "INC-4712" {
			t.Errorf("after rollback: %+v", s)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"rollout", "pause", "payments-service-v2", "--store", storeDir}, 2, "needs --reason"},
			{[]string{"rollout", "pause", "--store", storeDir, "--reason", "x"}, 2, "needs the flag"},
			{[]string{"rollout", "jump", "payments-service-v2", "--store", storeDir}, 2, "unknown subcommand"},
			{[]string{"rollout", "pause", "weather-widget", "--store", storeDir, "--env", "production", "--reason", "x"}, 1, "no staged rollout"},
			{[]string{"rollout", "rollback", "payments-service-v2", "--store", storeDir, "--env", "production", "--reason", "x"}, 1, "already rolled back"},
		} {
			res := bin.run(t, dir, tt.args...)
			res.expectCode(t, tt.code)
			if !strings.Contains(res.stderr, tt.want) {
				t.Errorf("%v: stderr %q, want %q", tt.args, res.stderr, tt.want)
			}
		}
	})

	t.Run("through the API", func(t *testing.T) {
		st, err := store.NewDir(storeDir)
		if err != nil {
			t.Fatal(err)
		}
		const token = "rollout-cli-test-token-0123456789"
		h, err := lambda.New(lambda.Config{Store: st, Token: token, TokenActor: "cli-test"})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		defer srv.Close()
		run := cliRun{dir: dir, env: []string{"EDGEFLAG_TOKEN=" + token}}
		res := bin.runWith(t, run, "rollout", "resume", "payments-service-v2", "--api", srv.URL, "--env", "production", "--reason", "fixed in 4.2.1")
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, "RESUME — stage 1 (5%)") {
			t.Errorf("resume through the API:\n%s", res.stdout)
		}
		res = bin.runWith(t, run, "rollout", "status", "payments-service-v2", "--api", srv.URL, "--env", "production")
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, "running") || !strings.Contains(res.stdout, "resume: fixed in 4.2.1") {
			t.Errorf("status through the API:\n%s", res.stdout)
		}
		res = bin.runWith(t, cliRun{dir: dir, env: []string{"EDGEFLAG_TOKEN=wrong-token-0123456789"}}, "rollout", "pause", "payments-service-v2", "--api", srv.URL, "--reason", "x")
		res.expectCode(t, 1)
		if !strings.Contains(res.stderr, "401") {
			t.Errorf("a wrong token: %q", res.stderr)
		}
	})
}
