package layout_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/store/layout"
)

// vectors are testdata/vectors.json, which the JavaScript poller is checked against too
// (tests/edge_layout_test.go).
type vectors struct {
	Hashes       struct{ Valid, Invalid []string }
	Environments struct{ Valid, Invalid []string }
	Keys         []struct {
		Environment, Hash, Pointer, Snapshot, Base, KillState, RolloutState, Plan, AuditPrefix string
	}
	Headers []struct {
		Key, ContentType, CacheControl string
		Public                         bool
	}
	BaseKeys []struct {
		Key, Environment, Hash string
		OK                     bool
	}
	Pointers []struct {
		Name, Environment, Text, Snapshot, Error string
		OK                                       bool
		Version                                  int64
	}
}

func loadVectors(t *testing.T) *vectors {
	t.Helper()
	data, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("testdata/vectors.json: %v", err)
	}
	if len(v.Hashes.Valid) == 0 || len(v.Keys) == 0 || len(v.Pointers) == 0 {
		t.Fatal("testdata/vectors.json has no cases")
	}
	return &v
}

func TestValidHash(t *testing.T) {
	v := loadVectors(t)
	for _, h := range v.Hashes.Valid {
		if !layout.ValidHash(h) {
			t.Errorf("ValidHash(%q) = false, want true", h)
		}
	}
	for _, h := range v.Hashes.Invalid {
		if layout.ValidHash(h) {
			t.Errorf("ValidHash(%q) = true, want false", h)
		}
	}
}

func TestValidEnvironment(t *testing.T) {
	v := loadVectors(t)
	for _, e := range v.Environments.Valid {
		if !layout.ValidEnvironment(e) {
			t.Errorf("ValidEnvironment(%q) = false, want true", e)
		}
	}
	for _, e := range v.Environments.Invalid {
		if layout.ValidEnvironment(e) {
			t.Errorf("ValidEnvironment(%q) = true, want false", e)
		}
	}
}

func TestKeys(t *testing.T) {
	for _, k := range loadVectors(t).Keys {
		for _, c := range []struct{ name, got, want string }{
			{"PointerKey", layout.PointerKey(k.Environment), k.Pointer},
			{"SnapshotKey", layout.SnapshotKey(k.Hash), k.Snapshot},
			{"BaseKey", layout.BaseKey(k.Environment, k.Hash), k.Base},
			{"KillStateKey", layout.KillStateKey(k.Environment), k.KillState},
			{"RolloutStateKey", layout.RolloutStateKey(k.Environment), k.RolloutState},
			{"PlanKey", layout.PlanKey(k.Environment, k.Hash), k.Plan},
			{"AuditPrefix", layout.AuditPrefix(k.Environment), k.AuditPrefix},
		} {
			if c.got != c.want {
				t.Errorf("%s(%q, %.8s…) = %q, want %q", c.name, k.Environment, k.Hash, c.got, c.want)
			}
		}
		if got := layout.HashFromKey(k.Snapshot); got != k.Hash {
			t.Errorf("HashFromKey(%q) = %q, want %q", k.Snapshot, got, k.Hash)
		}
		if !strings.HasPrefix(k.Base, layout.BasePrefix(k.Environment)) || !strings.HasPrefix(k.Base, layout.BaseEventPrefix()) {
			t.Errorf("%q is not under BasePrefix %q", k.Base, layout.BasePrefix(k.Environment))
		}
		if !strings.HasPrefix(k.Snapshot, layout.SnapshotPrefix()) {
			t.Errorf("%q is not under SnapshotPrefix %q", k.Snapshot, layout.SnapshotPrefix())
		}
	}
}

func TestHeadersFor(t *testing.T) {
	for _, h := range loadVectors(t).Headers {
		ct, cc := layout.HeadersFor(h.Key)
		if ct != h.ContentType || cc != h.CacheControl {
			t.Errorf("HeadersFor(%q) = %q, %q; want %q, %q", h.Key, ct, cc, h.ContentType, h.CacheControl)
		}
		if got := layout.Public(h.Key); got != h.Public {
			t.Errorf("Public(%q) = %v, want %v", h.Key, got, h.Public)
		}
	}
	if want := "max-age=" + strconv.Itoa(layout.PointerMaxAge); !strings.Contains(layout.CachePointer, want) {
		t.Errorf("CachePointer %q does not say %s", layout.CachePointer, want)
	}
}

func TestParseBaseKey(t *testing.T) {
	for _, b := range loadVectors(t).BaseKeys {
		env, hash, ok := layout.ParseBaseKey(b.Key)
		if env != b.Environment || hash != b.Hash || ok != b.OK {
			t.Errorf("ParseBaseKey(%q) = %q, %q, %v; want %q, %q, %v", b.Key, env, hash, ok, b.Environment, b.Hash, b.OK)
		}
	}
}

func TestParsePointer(t *testing.T) {
	for _, c := range loadVectors(t).Pointers {
		t.Run(c.Name, func(t *testing.T) {
			p, err := layout.ParsePointer([]byte(c.Text), c.Environment)
			if !c.OK {
				if err == nil {
					t.Fatalf("accepted %.200s", c.Text)
				}
				if !errors.Is(err, layout.ErrPointer) || !strings.Contains(err.Error(), c.Error) {
					t.Fatalf("error %q, want one wrapping ErrPointer that mentions %q", err, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Snapshot != c.Snapshot || p.Version != c.Version || p.Environment != c.Environment {
				t.Fatalf("got %s, version %d, environment %q; want %s, %d, %q", p.Snapshot, p.Version, p.Environment, c.Snapshot, c.Version, c.Environment)
			}
		})
	}
}

// A pointer encoded is parsed back as it was.
func TestEncodePointerRoundTrip(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	p := &layout.Pointer{
		Environment: "production", Snapshot: hash, Base: hash, Revision: "r1", Killed: []string{"a"},
		KillStateVersion: 2, Plan: hash, RolloutStateVersion: 3, History: []string{hash},
		PublishedAt: time.Date(2026, 12, 6, 10, 0, 0, 5, time.UTC), Version: 9, KeyID: "k", Signature: "s",
	}
	data, err := layout.EncodePointer(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(data), "}\n") || !strings.Contains(string(data), "\n  \"snapshot\": ") {
		t.Errorf("encoding is not indented JSON with a newline:\n%s", data)
	}
	back, err := layout.ParsePointer(data, "production")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := layout.EncodePointer(back)
	if string(again) != string(data) || !back.PublishedAt.Equal(p.PublishedAt) {
		t.Errorf("round trip changed the pointer:\n%s\n%s", data, again)
	}
	if _, err := layout.EncodePointer(&layout.Pointer{PublishedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Error("EncodePointer accepted a time past year 9999")
	}
}

func FuzzParsePointer(f *testing.F) {
	f.Add([]byte(`{"environment":"production","snapshot":"` + strings.Repeat("a", 64) + `"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := layout.ParsePointer(data, "production")
		if err != nil {
			return
		}
		if p.Check("production") != nil {
			t.Fatalf("ParsePointer accepted a pointer Check refuses: %+v", p)
		}
		enc, err := layout.EncodePointer(p)
		if err != nil {
			return
		}
		if _, err := layout.ParsePointer(enc, "production"); err != nil {
			t.Fatalf("a pointer ParsePointer accepted does not parse once encoded: %v\n%s", err, enc)
		}
	})
}

// The layout is read by edge hosts: it and the poller must not bring in a store backend
// (the AWS SDK) or anything outside the standard library but edgeflag's own packages.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, c := range []struct {
		pkg     string
		allowed []string
	}{
		{".", []string{"github.com/edgeflag/edgeflag/store/layout"}},
		{"../../poller", []string{"github.com/edgeflag/edgeflag/", "github.com/spaolacci/murmur3"}},
	} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", c.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", c.pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if !slices.ContainsFunc(c.allowed, func(a string) bool { return strings.HasPrefix(dep, a) }) {
				t.Errorf("%s depends on %s (allowed: the standard library and %v)", c.pkg, dep, c.allowed)
			}
		}
	}
}
