package edgeserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/internal/wasmbuild"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/wasm/host"
)

// module builds the evaluator module once per test binary.
func module(t testing.TB) []byte {
	t.Helper()
	b, err := wasmbuild.Module()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newHost returns a wazero host of the module, closed when the test ends. The machine
// code is cached in the project's .cache/wazero (ignored by git).
func newHost(t testing.TB) *host.Evaluator {
	t.Helper()
	cache, err := filepath.Abs("../../.cache/wazero")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := host.New(context.Background(), module(t), host.Config{CacheDir: cache, Instances: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ev.Close(context.Background()) })
	return ev
}

// exampleSnapshot compiles the repository's example flags (flags/) for env, with a fixed
// revision and build time so the bytes do not depend on git.
func exampleSnapshot(t testing.TB, env string) []byte {
	t.Helper()
	snaps, err := compiler.Compile("../../flags", compiler.Options{Revision: "example", BuildTime: 1764158400})
	if err != nil {
		t.Fatalf("compiling flags/: %v", err)
	}
	s, ok := snaps[env]
	if !ok {
		t.Fatalf("flags/ has no environment %q", env)
	}
	return snapshot.Encode(s)
}

// nativeFor returns the native OFREP source serving data.
func nativeFor(t testing.TB, data []byte) *ofrep.Native {
	t.Helper()
	n := ofrep.NewNative()
	if _, err := n.Load(data); err != nil {
		t.Fatal(err)
	}
	return n
}

// times are moments along the example flags' schedules.
var times = []time.Time{
	time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
	time.Date(2026, 11, 30, 16, 30, 0, 0, time.UTC),
	time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC),
	time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC),
}

// contexts returns n JSON contexts over the attributes the example flags read, some
// without a user id (so splits report TARGETING_KEY_MISSING), generated from a fixed seed.
func contexts(n int) []string {
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(opts ...string) string { return opts[rng.IntN(len(opts))] }
	out := make([]string, 0, n)
	for i := range n {
		var attrs []string
		if i%10 != 9 {
			attrs = append(attrs, fmt.Sprintf(`"userId":"user-%d"`, rng.IntN(100000)))
		}
		if rng.IntN(2) == 0 {
			attrs = append(attrs, fmt.Sprintf(`"email":"%s@%s"`, pick("alice", "bob", "chen.wei", "dana.contractor", "eve"),
				pick("company.com", "partner-agency.io", "example.org", "COMPANY.COM")))
		}
		if rng.IntN(3) == 0 {
			attrs = append(attrs, fmt.Sprintf(`"groups":["%s"]`, pick("engineering@company.com", "beta", "qa")))
		}
		if rng.IntN(2) == 0 {
			attrs = append(attrs, fmt.Sprintf(`"country":"%s"`, pick("US", "DE", "FR", "BR", "JP", "CA")))
		}
		if rng.IntN(2) == 0 {
			attrs = append(attrs, fmt.Sprintf(`"plan":"%s"`, pick("free", "pro", "enterprise")))
		}
		if rng.IntN(3) == 0 {
			attrs = append(attrs, fmt.Sprintf(`"platform":"%s","appVersion":"%s"`, pick("ios", "android", "web"), pick("2.9.1", "2.10.0", "3.0.0")))
		}
		if rng.IntN(3) == 0 {
			attrs = append(attrs, fmt.Sprintf(`"betaProgram":%v,"accountAgeDays":%d`, rng.IntN(2) == 0, rng.IntN(1000)))
		}
		if rng.IntN(4) == 0 {
			attrs = append(attrs, fmt.Sprintf(`"accountId":"acct-%d","requestsPerDay":%d`, rng.IntN(50), rng.IntN(5000)))
		}
		out = append(out, "{"+strings.Join(attrs, ",")+"}")
	}
	return out
}

// parseContext parses a JSON context.
func parseContext(t testing.TB, js string) *evaluator.Context {
	t.Helper()
	ctx := evaluator.NewContext()
	var p protocol.Parser // the context shares its space: one Parser per context
	if err := p.ParseContext([]byte(js), ctx); err != nil {
		t.Fatalf("context %s: %v", js, err)
	}
	return ctx
}

// newStore starts an HTTP store with data published as env.
func newStore(t testing.TB, env string, data []byte) (*storetest.Server, string) {
	t.Helper()
	st := storetest.New()
	t.Cleanup(st.Close)
	return st, st.Publish(env, data)
}

// waitFor polls cond every 10 ms until it holds, or fails the test after 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: did not happen within 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
