package edgeserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/protocol"
)

// TestNativeSourceMatchesSource holds the native backend to the module's, frame for
// frame: every flag and listed flags (unknown, empty and over-long keys among them), for
// generated contexts, a context over the module's limits, fresh and stale.
func TestNativeSourceMatchesSource(t *testing.T) {
	data := exampleSnapshot(t, "production")
	module, native := NewSource(newHost(t)), NewNativeSource()
	if _, _, err := native.Results(nil, nil, evaluator.NewContext(), noon); err != ofrep.ErrNoSnapshot {
		t.Errorf("native before Load: %v", err)
	}
	mv, err := module.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	nv, err := native.Load(data)
	if err != nil || nv != mv || native.Flags() != module.Flags() {
		t.Fatalf("native Load: %+v %v, module %+v", nv, err, mv)
	}
	if _, err := native.Load(data[:len(data)-1]); err == nil || native.Version() != mv {
		t.Errorf("native Load of a truncated snapshot: %v, version %+v", err, native.Version())
	}
	items := make([]evaluator.Value, protocol.MaxListItems+1)
	for i := range items {
		items[i] = evaluator.Number(float64(i))
	}
	ctxs := []*evaluator.Context{evaluator.NewContext(),
		evaluator.NewContext().SetString("userId", "u1").Set("groups", evaluator.List(items...))}
	for _, js := range contexts(40) {
		ctxs = append(ctxs, parseContext(t, js))
	}
	lists := [][]string{nil, {"new-search-algorithm", "no-such-flag", "", strings.Repeat("k", protocol.MaxKeySize+1), "weather-widget"}}
	var got, want []byte
	for _, stale := range []bool{false, true} {
		module.SetStale(stale)
		native.SetStale(stale)
		for i, ctx := range ctxs {
			for _, at := range times {
				for _, keys := range lists {
					var gv, wv ofrep.Version
					if got, gv, err = native.Results(got[:0], keys, ctx, at); err != nil {
						t.Fatal(err)
					}
					if want, wv, err = module.Results(want[:0], keys, ctx, at); err != nil {
						t.Fatal(err)
					}
					if gv != wv || !bytes.Equal(got, want) {
						t.Fatalf("context %d, keys %q, stale %v:\n native %+v %q\n module %+v %q", i, keys, stale, gv, got, wv, want)
					}
				}
			}
		}
	}
}

// TestServerNativeBackend: a Server on NativeSource answers GET /evaluate and OFREP
// requests with the status, headers and body of a Server on the module.
func TestServerNativeBackend(t *testing.T) {
	store, _ := newStore(t, "production", exampleSnapshot(t, "production"))
	start := func(cfg Config) *Server {
		cfg.StoreURL, cfg.Now = store.URL, func() time.Time { return noon }
		srv, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		return srv
	}
	module, native := start(Config{Evaluator: newHost(t)}), start(Config{Backend: NewNativeSource()})
	if _, ok := native.Source().(*NativeSource); !ok {
		t.Fatalf("Source() of a native server: %T", native.Source())
	}
	type request struct {
		method, path, body string
		header             []string
	}
	reqs := []request{
		{"GET", PathEvaluate, "", []string{"X-User-Id", "user-42", "CF-IPCountry", "de", "User-Agent", "curl/8.5"}},
		{"GET", PathWorkerFlags, "", []string{"Cookie", "theme=dark; edgeflag_uid=user%2042"}},
		{"GET", PathEvaluate + "?flag=new-search-algorithm&flag=no-such-flag,weather-widget", "", []string{"X-User-Id", "user-7"}},
		{"GET", PathEvaluate, "", []string{"X-User-Id", "u1", "User-Agent", strings.Repeat("u", protocol.MaxContextSize)}},
		{"HEAD", PathEvaluate, "", []string{"X-User-Id", "u1"}},
		{"POST", ofrep.PathFlag + "new-checkout-flow", `{"context":{"targetingKey":"user-42","email":"alice@company.com"}}`, nil},
		{"POST", ofrep.PathFlags, `{"context":{"targetingKey":"user-42","country":"DE"}}`, nil},
		{"POST", ofrep.PathFlag + "no-such-flag", `{"context":{"targetingKey":"user-42"}}`, nil},
	}
	for _, user := range []string{"user-1", "user-2", "user-3", ""} {
		reqs = append(reqs, request{"GET", PathEvaluate, "", []string{"X-User-Id", user, "CloudFront-Viewer-Country", "fr"}})
	}
	serve := func(srv *Server, rq request) *httptest.ResponseRecorder {
		r := httptest.NewRequest(rq.method, rq.path, strings.NewReader(rq.body))
		for i := 0; i+1 < len(rq.header); i += 2 {
			r.Header.Set(rq.header[i], rq.header[i+1])
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w
	}
	for _, stale := range []bool{false, true} {
		module.Source().SetStale(stale)
		native.Source().SetStale(stale)
		for _, rq := range reqs {
			got, want := serve(native, rq), serve(module, rq)
			if got.Code != want.Code || !bytes.Equal(got.Body.Bytes(), want.Body.Bytes()) || !equalHeaders(got.Header(), want.Header()) {
				t.Fatalf("%s %s %q, stale %v:\n native %d %v %s\n module %d %v %s", rq.method, rq.path, rq.header, stale,
					got.Code, got.Header(), got.Body.Bytes(), want.Code, want.Header(), want.Body.Bytes())
			}
			if got.Code != http.StatusOK && !strings.Contains(rq.path, "no-such-flag") {
				t.Errorf("%s %s: %d %s", rq.method, rq.path, got.Code, got.Body.Bytes())
			}
		}
	}
}

func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\n") != strings.Join(b[k], "\n") {
			return false
		}
	}
	return true
}

// TestServerFlagHeadersConcurrent: requests for every flag from several goroutines, for
// users served different variants, each get the x-flag-* headers of their own results
// while the names by position are being recorded.
func TestServerFlagHeadersConcurrent(t *testing.T) {
	store, _ := newStore(t, "production", exampleSnapshot(t, "production"))
	srv, err := New(Config{Backend: NewNativeSource(), StoreURL: store.URL, Now: func() time.Time { return noon }})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := range 50 {
				r := httptest.NewRequest("GET", PathEvaluate, nil)
				r.Header.Set("X-User-Id", "user-"+strconv.Itoa(g*1000+i))
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, r)
				var body struct {
					Results struct {
						Flags []struct{ Key, Variant, Reason string } `json:"flags"`
					} `json:"results"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
					errs <- err
					return
				}
				for _, f := range body.Results.Flags {
					if got := w.Header().Get("X-Flag-" + f.Key); f.Reason != "ERROR" && got != f.Variant {
						errs <- fmt.Errorf("user-%d: x-flag-%s: %q, want %q", g*1000+i, f.Key, got, f.Variant)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
