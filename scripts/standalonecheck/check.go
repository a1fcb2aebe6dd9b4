package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// Hit is one reference to a path outside the repository.
type Hit struct {
	File   string // slash-separated, relative to the repository root
	Line   int
	Ref    string // the path or expression as written
	Reason string
}

func (h Hit) String() string { return fmt.Sprintf("%s:%d: %s: %s", h.File, h.Line, h.Reason, h.Ref) }

// Skip reports whether name (relative to the repository root) is not checked: prose
// (Markdown, licence texts), go.sum, and this command's own fixtures (its testdata and
// tests, which hold the references it must find).
func Skip(name string) bool {
	base := path.Base(name)
	switch {
	case strings.HasSuffix(base, ".md"), base == "go.sum",
		strings.HasPrefix(base, "LICENSE"), strings.HasPrefix(base, "COPYING"), strings.HasPrefix(base, "NOTICE"),
		strings.HasPrefix(name, "scripts/standalonecheck/testdata/"),
		strings.HasPrefix(name, "scripts/standalonecheck/") && strings.HasSuffix(name, "_test.go"):
		return true
	}
	return false
}

var (
	// machinePath is an absolute path of somebody's machine: a home or work directory, or
	// a temporary one, at the start of a word.
	machinePath = regexp.MustCompile(`(?:^|[\s"'=(:,\[<{])(/(?:work|home|Users|root|tmp|mnt)/[^\s"'()<>,;{}\x60]*)`)
	// relativePath is a path that climbs: ../x at the start of a word.
	relativePath = regexp.MustCompile(`(?:^|[\s"'=(:,\[<{])((?:\.\./)+[^\s"'()<>,;{}\]\x60]*)`)
)

// escapes reports whether rel, relative to dir (both slash-separated, dir relative to the
// repository root), names something outside the repository.
func escapes(dir, rel string) bool {
	p := path.Join(dir, rel)
	return p == ".." || strings.HasPrefix(p, "../")
}

// bases returns the directories a relative path in file name may be relative to: its own
// directory and, for scripts and Makefiles (run from the root by make), the root too.
func bases(name string) []string {
	dirs := []string{path.Dir(name)}
	base := path.Base(name)
	if strings.HasSuffix(base, ".sh") || base == "Makefile" || strings.HasSuffix(base, ".mk") {
		dirs = append(dirs, ".")
	}
	return dirs
}

func climbs(name, rel string) bool {
	for _, d := range bases(name) {
		if escapes(d, rel) {
			return true
		}
	}
	return false
}

// CheckFile returns what the file name (relative to the repository root) with content
// data refers to outside the repository. Go files are parsed: string literals and the
// arguments of filepath.Join and path.Join are checked, comments are not. Other files are
// read line by line.
func CheckFile(name string, data []byte) ([]Hit, error) {
	if strings.HasSuffix(name, ".go") {
		return checkGo(name, data)
	}
	var hits []Hit
	for i, line := range strings.Split(string(data), "\n") {
		for _, m := range machinePath.FindAllStringSubmatch(line, -1) {
			hits = append(hits, Hit{name, i + 1, m[1], "machine-specific absolute path"})
		}
		for _, m := range relativePath.FindAllStringSubmatch(line, -1) {
			if climbs(name, m[1]) {
				hits = append(hits, Hit{name, i + 1, m[1], "relative path outside the repository"})
			}
		}
	}
	return hits, nil
}

func checkGo(name string, data []byte) ([]Hit, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, data, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	dir := path.Dir(name)
	var hits []Hit
	add := func(n ast.Node, ref, reason string) {
		hits = append(hits, Hit{name, fset.Position(n.Pos()).Line, ref, reason})
	}
	done := map[*ast.BasicLit]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if !isJoin(n.Fun) {
				return true
			}
			// The leading literal arguments form a relative path; a ".." after a computed
			// argument climbs out of a directory the check cannot know.
			var parts []string
			computed := false
			for _, a := range n.Args {
				lit, v, ok := stringLit(a)
				if !ok {
					computed = true
					continue
				}
				done[lit] = true
				if !computed {
					parts = append(parts, v)
				} else if v == ".." || strings.HasPrefix(v, "../") {
					add(a, source(fset, data, n), `".." joined to a computed directory`)
				}
			}
			if len(parts) > 0 {
				if p := path.Join(parts...); !path.IsAbs(p) && escapes(dir, p) {
					add(n, source(fset, data, n), "relative path outside the repository")
				}
			}
		case *ast.BasicLit:
			lit, v, ok := stringLit(n)
			if !ok || done[lit] {
				return true
			}
			if (v == ".." || strings.HasPrefix(v, "../")) && escapes(dir, v) {
				add(n, n.Value, "relative path outside the repository")
			}
			for _, m := range machinePath.FindAllStringSubmatch(v, -1) {
				add(n, m[1], "machine-specific absolute path")
			}
		}
		return true
	})
	return hits, nil
}

// isJoin reports whether fun is filepath.Join or path.Join.
func isJoin(fun ast.Expr) bool {
	sel, ok := fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Join" {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && (pkg.Name == "filepath" || pkg.Name == "path")
}

func stringLit(e ast.Expr) (*ast.BasicLit, string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return nil, "", false
	}
	v, err := strconv.Unquote(lit.Value)
	if err != nil {
		return nil, "", false
	}
	return lit, v, true
}

// source returns the text of n in data.
func source(fset *token.FileSet, data []byte, n ast.Node) string {
	start, end := fset.Position(n.Pos()).Offset, fset.Position(n.End()).Offset
	if start < 0 || end > len(data) || start > end {
		return ""
	}
	return string(data[start:end])
}
