package compiler

import (
	"bytes"
	"testing"
	"testing/fstest"

	"github.com/edgeflag/edgeflag/snapshot"
)

// FuzzCompile feeds arbitrary YAML to the compiler, as one flag file beside the base
// project (or alone, when it declares its own Project). Loading must never panic; whatever
// loads must build, and every snapshot must decode and re-encode to the same bytes.
// The seed corpus is in testdata/fuzz/FuzzCompile.
func FuzzCompile(f *testing.F) {
	f.Add([]byte("kind: Flag\nkey: f\ntype: boolean\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"fuzz.yaml": &fstest.MapFile{Data: data}}
		if !bytes.Contains(data, []byte("Project")) {
			for name, src := range baseProject {
				fsys[name] = &fstest.MapFile{Data: []byte(src)}
			}
		}
		p, err := LoadFS(fsys)
		if err != nil {
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("Load returned %T, want ErrorList: %v", err, err)
			}
			return
		}
		snaps, err := p.BuildAll(Options{Revision: "fuzz", BuildTime: 1})
		if err != nil {
			t.Fatalf("a loaded project does not build: %v", err)
		}
		for env, s := range snaps {
			enc := snapshot.Encode(s)
			dec, err := snapshot.Decode(enc)
			if err != nil {
				t.Fatalf("%s: the snapshot does not decode: %v\n%s", env, err, data)
			}
			if !bytes.Equal(snapshot.Encode(dec), enc) {
				t.Fatalf("%s: re-encoding changes the snapshot", env)
			}
		}
	})
}
