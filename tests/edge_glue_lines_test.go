package tests

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// edgeGlueBudget is the most lines the JavaScript under edge/ may hold in all. The protocol
// (OFREP), evaluation and snapshot verification live in the module, so the JavaScript only
// adapts the runtimes: requests and responses, the WASI shim, polling the store. The
// in-process SDK (sdk/js: any context, resolve()) builds on edge/shared and is not counted;
// the edges do not ship it (TestEdgeWranglerBundle).
const edgeGlueBudget = 871

// TestEdgeGlueLines holds the JavaScript glue under edge/ (the Worker, the Lambda@Edge
// function, edge/shared; not node_modules nor configuration) to edgeGlueBudget lines,
// and logs each file's lines and lines of code (not blank, not only a comment).
func TestEdgeGlueLines(t *testing.T) {
	root := filepath.Join(edgeRoot(t), "edge")
	var report []string
	total, code := 0, 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "node_modules" {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".mjs") || strings.HasSuffix(path, ".js")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		lines, codeLines := jsLines(b)
		rel, _ := filepath.Rel(root, path)
		report = append(report, fmt.Sprintf("edge/%s: %d lines, %d of code", filepath.ToSlash(rel), lines, codeLines))
		total += lines
		code += codeLines
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(report) < 5 {
		t.Fatalf("found only %d JavaScript files under edge/: %v", len(report), report)
	}
	summary := fmt.Sprintf("%s\nin all: %d lines, %d of code", strings.Join(report, "\n"), total, code)
	if total > edgeGlueBudget {
		t.Errorf("the JavaScript under edge/ is %d lines, over its budget of %d:\n%s", total, edgeGlueBudget, summary)
	}
	t.Log(summary)
}

// jsLines counts the lines of a JavaScript file, and those that hold code: not blank, and
// not only a comment (// lines, and the lines of /* */ and /** */ blocks).
func jsLines(src []byte) (lines, code int) {
	inBlock := false
	s := bufio.NewScanner(bytes.NewReader(src))
	for s.Scan() {
		lines++
		l := strings.TrimSpace(s.Text())
		switch {
		case inBlock:
			inBlock = !strings.Contains(l, "*/")
		case l == "" || strings.HasPrefix(l, "//"):
		case strings.HasPrefix(l, "/*"):
			inBlock = !strings.Contains(l, "*/")
		default:
			code++
		}
	}
	return lines, code
}

func TestJSLines(t *testing.T) {
	tests := []struct {
		name        string
		src         string
		lines, code int
	}{
		{"empty", "", 0, 0},
		{"code", "const a = 1;\nf(a);\n", 2, 2},
		{"blank and line comments", "// a\n\n  // b\nx();\n", 4, 1},
		{"doc comment", "/**\n * Does x.\n */\nexport function x() {}\n", 4, 1},
		{"one-line block comment", "/** One line. */\nlet y;\n", 2, 1},
		{"code with a trailing comment", "let z = 2; // two\n", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if lines, code := jsLines([]byte(tt.src)); lines != tt.lines || code != tt.code {
				t.Errorf("jsLines = %d lines, %d of code; want %d, %d", lines, code, tt.lines, tt.code)
			}
		})
	}
}
