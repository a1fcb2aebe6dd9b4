package compiler

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// baseProject is the project and segments the inline test cases add their files to.
var baseProject = map[string]string{
	"project.yaml": `kind: Project
environments: [staging, production]
rings:
  - name: internal
    when: { segment: staff }
  - name: canary
    percentage: 5
  - name: everyone
`,
	"segments.yaml": `kind: Segment
key: staff
when: { attribute: email, op: endsWith, value: "@company.com" }
`,
}

// mapFS builds an in-memory flag directory from the base project and extra files.
func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, data := range baseProject {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	for name, data := range files {
		if data == "" {
			delete(fsys, name)
			continue
		}
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return fsys
}

// errorLines returns the formatted errors of an ErrorList, failing the test for any other
// kind of error.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("got %T %v, want an ErrorList", err, err)
	}
	out := make([]string, len(list))
	for i, e := range list {
		out[i] = e.Error()
	}
	return out
}

func mustLoadFS(t testing.TB, files map[string]string) *Project {
	t.Helper()
	p, err := LoadFS(mapFS(files))
	if err != nil {
		t.Fatalf("load:\n%v", err)
	}
	return p
}

func diffLines(got, want []string) string {
	return "got:\n  " + strings.Join(got, "\n  ") + "\nwant:\n  " + strings.Join(want, "\n  ")
}
