package cli

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/ofrep"
)

// edgeEnv is an Env for the edge command with the given environment variables.
func edgeEnv(vars map[string]string) (*Env, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	return &Env{Stdout: &stdout, Stderr: &stderr, Now: func() time.Time { return now },
		Getenv: func(k string) string { return vars[k] }}, &stdout, &stderr
}

// TestEdgeUsageErrors: every bad command line is a usage error (exit 2) that names what
// is wrong, reported before anything is loaded or listened on.
func TestEdgeUsageErrors(t *testing.T) {
	const store = "--store-url=http://127.0.0.1:9"
	tests := []struct {
		name   string
		args   []string
		vars   map[string]string
		stderr string
	}{
		{"no store", nil, nil, "no store: give --store-url"},
		{"unknown flag", []string{store, "--port", "8081"}, nil, "flag provided but not defined: -port"},
		{"argument", []string{store, "flags"}, nil, `unexpected argument "flags"`},
		{"s3 store", []string{"--store-url", "s3://bucket/prefix"}, nil, "want an http:// or https:// URL"},
		{"no scheme", []string{"--store-url", "d111111abcdef8.cloudfront.net"}, nil, "want an http:// or https:// URL"},
		{"no host", []string{"--store-url", "https://"}, nil, "no host"},
		{"unparsable", []string{"--store-url", "http://[::1"}, nil, "not a URL"},
		{"query", []string{"--store-url", "https://cdn.example.com/?v=1"}, nil, "a query or fragment"},
		{"fragment", []string{"--store-url", "https://cdn.example.com/#x"}, nil, "a query or fragment"},
		{"credentials", []string{"--store-url", "https://user:pw@cdn.example.com"}, nil, "credentials"},
		{"bad variable", nil, map[string]string{envStoreURL: "ftp://cdn.example.com"}, `$EDGEFLAG_STORE_URL "ftp://cdn.example.com": want an http://`},
		{"bad environment", []string{store, "--env", "Prod/1"}, nil, `--env "Prod/1": not an environment name`},
		{"bad poll", []string{store, "--poll", "soon"}, nil, `invalid value "soon" for flag -poll: want a duration such as 500ms, 5s or 1m`},
		{"poll without unit", []string{store, "--poll", "5"}, nil, "want a duration"},
		{"zero poll", []string{store, "--poll", "0s"}, nil, "-poll: want a duration above zero"},
		{"negative grace", []string{store, "--grace", "-1m"}, nil, "-grace: want a duration above zero"},
		{"bad poll timeout", []string{store, "--poll-timeout", "forever"}, nil, "-poll-timeout: want a duration"},
		{"grace within a poll", []string{store, "--poll", "10s", "--grace", "5s"}, nil, "--grace 5s must be longer than --poll 10s"},
		{"grace equal to poll", []string{store, "--poll", "1m", "--grace", "60s"}, nil, "--grace 1m must be longer than --poll 1m"},
		{"negative instances", []string{store, "--instances", "-1"}, nil, "--instances -1: want 0"},
		{"instances not a number", []string{store, "--instances", "many"}, nil, `invalid value "many" for flag -instances`},
		{"bad reasons", []string{store, "--reasons", "ofrep"}, nil, `--reasons "ofrep": want spec or openfeature`},
		{"origin with a path", []string{store, "--allow-origin", "https://app.example.com/login"}, nil, "--allow-origin"},
		{"origin without a scheme", []string{store, "--allow-origin", "app.example.com"}, nil, "want * or an origin"},
		{"bad user header", []string{store, "--user-header", "x user"}, nil, `"x user" is not a header name`},
		{"bad country header", []string{store, "--country-header", "Country:"}, nil, `"Country:" is not a header name`},
		{"bad cookie", []string{store, "--user-cookie", "a=b"}, nil, `--user-cookie "a=b": not a cookie name`},
		{"missing public key file", []string{store, "--public-key", "/nonexistent/key.pem"}, nil, "--public-key: open /nonexistent/key.pem"},
		{"public keys not PEM", []string{store}, map[string]string{envStoreURL: "", envPublicKeys: "not a key"}, `$EDGEFLAG_PUBLIC_KEYS: signing: no PEM "PUBLIC KEY" block`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, stdout, stderr := edgeEnv(tc.vars)
			if code := Run(env, append([]string{"edge"}, tc.args...)); code != ExitUsage {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, ExitUsage, stderr)
			}
			if !strings.Contains(stderr.String(), tc.stderr) || !strings.Contains(stderr.String(), "Run 'edgeflag edge --help' for usage.") {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, stderr)
			}
			if stdout.Len() > 0 {
				t.Errorf("a usage error wrote to stdout:\n%s", stdout)
			}
		})
	}
}

// TestEdgeConfig: the checked command line, defaults and environment variables.
func TestEdgeConfig(t *testing.T) {
	parse := func(t *testing.T, vars map[string]string, args ...string) *edgeConfig {
		t.Helper()
		env, _, stderr := edgeEnv(vars)
		cfg, code, done := parseEdge(&runner{env: env, cmd: edgeCommand}, args)
		if done {
			t.Fatalf("parseEdge(%q): stopped with %d: %s", args, code, stderr)
		}
		return cfg
	}
	t.Run("defaults", func(t *testing.T) {
		cfg := parse(t, nil, "--store-url", "https://d111111abcdef8.cloudfront.net/")
		if cfg.storeURL != "https://d111111abcdef8.cloudfront.net" || cfg.environment != "production" || cfg.addr != "127.0.0.1:8081" ||
			cfg.poll != 5*time.Second || cfg.grace != time.Minute || cfg.pollTimeout != 5*time.Second || cfg.instances != 0 || cfg.stateDir != "" {
			t.Errorf("defaults: %+v", cfg)
		}
		if cfg.ofrep.Authenticate != nil || cfg.ofrep.AllowOrigin != "" || cfg.ofrep.Reasons != ofrep.SpecReasons {
			t.Errorf("OFREP defaults: %+v", cfg.ofrep)
		}
		if cfg.request.UserHeader != "" || cfg.request.UserCookie != "" || cfg.request.CountryHeaders != nil {
			t.Errorf("request defaults (edgeserver's own): %+v", cfg.request)
		}
	})
	t.Run("every flag", func(t *testing.T) {
		cfg := parse(t, nil, "--store-url", "http://127.0.0.1:8080/edge/", "--env", "staging", "--addr", ":0",
			"--poll", "200ms", "--grace", "1s", "--poll-timeout", "150ms", "--instances", "3",
			"--api-key", "key-one", "--api-key", "key-two", "--allow-origin", "*", "--reasons", "openfeature",
			"--user-header", "X-Account", "--user-cookie", "uid", "--country-header", "X-Country", "--country-header", "CF-IPCountry",
			"--state-dir", "/var/lib/edgeflag")
		if cfg.storeURL != "http://127.0.0.1:8080/edge" || cfg.environment != "staging" || cfg.addr != ":0" ||
			cfg.poll != 200*time.Millisecond || cfg.grace != time.Second || cfg.pollTimeout != 150*time.Millisecond || cfg.instances != 3 ||
			cfg.stateDir != "/var/lib/edgeflag" {
			t.Errorf("config: %+v", cfg)
		}
		if !slices.Equal(cfg.apiKeys, []string{"key-one", "key-two"}) || cfg.ofrep.AllowOrigin != "*" || cfg.ofrep.Reasons != ofrep.OpenFeatureReasons {
			t.Errorf("OFREP: keys %q, %+v", cfg.apiKeys, cfg.ofrep)
		}
		if cfg.request.UserHeader != "X-Account" || cfg.request.UserCookie != "uid" || !slices.Equal(cfg.request.CountryHeaders, []string{"X-Country", "CF-IPCountry"}) {
			t.Errorf("request: %+v", cfg.request)
		}
	})
	t.Run("environment variables", func(t *testing.T) {
		vars := map[string]string{envStoreURL: "https://cdn.example.com", envOFREPAPIKeys: " key-a , ,key-b,"}
		cfg := parse(t, vars)
		if cfg.storeURL != "https://cdn.example.com" || !slices.Equal(cfg.apiKeys, []string{"key-a", "key-b"}) {
			t.Errorf("from the environment: %q, keys %q", cfg.storeURL, cfg.apiKeys)
		}
		cfg = parse(t, vars, "--store-url", "http://127.0.0.1:8080", "--api-key", "key-c")
		if cfg.storeURL != "http://127.0.0.1:8080" || !slices.Equal(cfg.apiKeys, []string{"key-c"}) {
			t.Errorf("flags over the environment: %q, keys %q", cfg.storeURL, cfg.apiKeys)
		}
		if cfg := parse(t, map[string]string{envStoreURL: "https://cdn.example.com", envOFREPAPIKeys: " , "}); cfg.ofrep.Authenticate != nil {
			t.Error("a variable with no keys turned authentication on (every request would be refused)")
		}
	})
	t.Run("API keys authenticate OFREP", func(t *testing.T) {
		cfg := parse(t, nil, "--store-url", "https://cdn.example.com", "--api-key", "key-one")
		for key, want := range map[string]bool{"key-one": true, "key-two": false, "": false} {
			req, _ := http.NewRequest("POST", "/ofrep/v1/evaluate/flags", nil)
			if key != "" {
				req.Header.Set("X-API-Key", key)
			}
			if got := cfg.ofrep.Authenticate(req) == nil; got != want {
				t.Errorf("key %q accepted: %v, want %v", key, got, want)
			}
		}
	})
}

// TestEdgeModuleErrors: a missing or invalid module, or a state directory that cannot
// be made, is an error (exit 1), before anything listens.
func TestEdgeModuleErrors(t *testing.T) {
	dir := t.TempDir()
	bogus := filepath.Join(dir, "bogus.wasm")
	if err := os.WriteFile(bogus, []byte("\x00asm but not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"--wasm", filepath.Join(dir, "missing.wasm")}, "evaluator module: open "},
		{[]string{"--wasm", bogus}, "the evaluator module " + bogus + ": "},
		{[]string{"--wasm", bogus, "--state-dir", filepath.Join(bogus, "state")}, "--state-dir: mkdir " + bogus + ": not a directory"},
	} {
		env, stdout, stderr := edgeEnv(nil)
		code := Run(env, append([]string{"edge", "--store-url", "http://127.0.0.1:9", "--addr", "127.0.0.1:0", "--cache-dir", t.TempDir()}, tc.args...))
		if code != ExitFindings || !strings.Contains(stderr.String(), "edgeflag edge: "+tc.stderr) {
			t.Errorf("%q: exit %d, stderr:\n%s", tc.args, code, stderr)
		}
		if stdout.Len() > 0 {
			t.Errorf("%q: printed before failing:\n%s", tc.args, stdout)
		}
	}
}

func TestIsToken(t *testing.T) {
	for s, want := range map[string]bool{"x-user-id": true, "CF-IPCountry": true, "edgeflag_uid": true, "": false, "a b": false, "a:b": false, "a=b": false, "é": false} {
		if got := isToken(s); got != want {
			t.Errorf("isToken(%q) = %v", s, got)
		}
	}
}
