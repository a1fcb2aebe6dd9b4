// Command standalonecheck fails when a tracked file of the repository refers to a path
// outside the repository: a relative path that climbs above the repository root (as
// "../outside/spec.yaml" from the root, or filepath.Join(root, "..", "outside") in Go), or
// a machine-specific absolute path (one starting with the directory work, home, Users,
// root, tmp or mnt). A clone must build and test on its own; `make standalone-check` runs it early in `make test`.
//
// It reads the files `git ls-files` lists, except documentation (*.md), licence texts,
// go.sum and its own tests and testdata, and prints file:line: reason for every reference it finds.
//
//	go run ./scripts/standalonecheck [-root DIR]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	root := flag.String("root", "", "the repository root (default: the git work tree of the current directory)")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, "standalone-check:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	if root == "" {
		out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if err != nil {
			return fmt.Errorf("not in a git work tree (git rev-parse: %v); pass -root", err)
		}
		root = strings.TrimSpace(string(out))
	}
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("git ls-files in %s: %v", root, err)
	}
	var files []string
	for _, f := range bytes.Split(out, []byte{0}) {
		if len(f) > 0 {
			files = append(files, string(f))
		}
	}
	hits, checked, err := CheckFiles(root, files)
	if err != nil {
		return err
	}
	for _, h := range hits {
		fmt.Println(h)
	}
	if len(hits) > 0 {
		return fmt.Errorf("%d references to paths outside the repository (put what they need in the repository, e.g. under testdata/)", len(hits))
	}
	fmt.Printf("standalone-check: %d tracked files refer to nothing outside the repository\n", checked)
	return nil
}

// CheckFiles checks the files (slash-separated paths relative to root) that Skip does not
// exclude and returns what they refer to outside root, and how many files it read.
func CheckFiles(root string, files []string) ([]Hit, int, error) {
	var hits []Hit
	checked := 0
	for _, f := range files {
		if Skip(f) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			if os.IsNotExist(err) {
				continue // deleted in the work tree, not yet in the index
			}
			return nil, 0, err
		}
		if bytes.IndexByte(data, 0) >= 0 {
			continue // binary
		}
		checked++
		h, err := CheckFile(f, data)
		if err != nil {
			return nil, 0, err
		}
		hits = append(hits, h...)
	}
	return hits, checked, nil
}
