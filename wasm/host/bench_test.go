package host

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

func benchEvaluator(b *testing.B) (*Evaluator, *evaluator.Context) {
	e := newEvaluator(b, Config{Instances: 1})
	if _, err := e.Load(fixture(b, "r1", 25)); err != nil {
		b.Fatal(err)
	}
	ctx := evaluator.NewContext().SetString("userId", "user-42").SetString("country", "DE").
		SetString("email", "bob@example.org")
	return e, ctx
}

// BenchmarkEvaluate is one flag per call under wazero, context encoding included.
func BenchmarkEvaluate(b *testing.B) {
	e, ctx := benchEvaluator(b)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.Evaluate(buf[:0], "checkout-v2", ctx, at)
	}
}

// BenchmarkEvaluateFlags is the fixture's five flags, listed, for one context per call.
func BenchmarkEvaluateFlags(b *testing.B) {
	e, ctx := benchEvaluator(b)
	buf := make([]byte, 0, 4096)
	keys := []string{"banner-color", "checkout-v2", "old-header", "page-size", "search-v3"}
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.EvaluateFlags(buf[:0], keys, ctx, at)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/flag")
}

// BenchmarkEvaluateAll is every flag of the fixture per call.
func BenchmarkEvaluateAll(b *testing.B) {
	e, ctx := benchEvaluator(b)
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = e.EvaluateAll(buf[:0], ctx, at)
	}
}

// BenchmarkEvaluateParallel runs one flag per call from GOMAXPROCS goroutines through
// the pool.
func BenchmarkEvaluateParallel(b *testing.B) {
	e, _ := benchEvaluator(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := evaluator.NewContext().SetString("userId", "user-42")
		buf := make([]byte, 0, 4096)
		for pb.Next() {
			buf, _ = e.Evaluate(buf[:0], "checkout-v2", ctx, at)
		}
	})
}

// BenchmarkCompileCold compiles the module without a compilation cache.
func BenchmarkCompileCold(b *testing.B) {
	wasm := module(b)
	for b.Loop() {
		e, err := New(context.Background(), wasm, Config{Instances: 1})
		if err != nil {
			b.Fatal(err)
		}
		e.Close(context.Background())
	}
}

// BenchmarkCompileCached compiles the module from a warm compilation cache on disk.
func BenchmarkCompileCached(b *testing.B) {
	wasm := module(b)
	dir, err := os.MkdirTemp("", "edgeflag-cache-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	warm, err := New(context.Background(), wasm, Config{Instances: 1, CacheDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	warm.Close(context.Background())
	for b.Loop() {
		e, err := New(context.Background(), wasm, Config{Instances: 1, CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		e.Close(context.Background())
	}
}

// BenchmarkInstantiate creates one instance of an already compiled module (the cost of
// growing the pool or replacing a trapped instance).
func BenchmarkInstantiate(b *testing.B) {
	e := newEvaluator(b, Config{Instances: 1})
	for b.Loop() {
		in, err := e.instantiate()
		if err != nil {
			b.Fatal(err)
		}
		in.mod.Close(context.Background())
	}
}

// bigFixture is the fixture's flags n times over, under keys of their own.
func bigFixture(b testing.TB, n int) []byte {
	s, err := snapshot.Decode(fixture(b, "big", 25))
	if err != nil {
		b.Fatal(err)
	}
	flags := s.Flags
	s.Flags = nil
	for i := range n {
		for _, f := range flags {
			f.Key = "f" + strconv.Itoa(100000+i) + "-" + f.Key
			s.Flags = append(s.Flags, f)
		}
	}
	return snapshot.Encode(s)
}

// BenchmarkLoad loads a snapshot of 5,000 flags into one instance: Load has the module
// hash it, LoadVerified (for the bytes a poller verified) does not. In a pool, Load hashes
// in the first instance only: the others decode as LoadVerified does.
func BenchmarkLoad(b *testing.B) {
	data := bigFixture(b, 1000)
	for _, bc := range []struct {
		name string
		load func(*Evaluator, []byte) (SnapshotInfo, error)
	}{
		{"Load", (*Evaluator).Load},
		{"LoadVerified", (*Evaluator).LoadVerified},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEvaluator(b, Config{Instances: 1})
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := bc.load(e, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
