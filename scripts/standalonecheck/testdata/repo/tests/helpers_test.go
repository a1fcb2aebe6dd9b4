package tests

import (
	"os"
	"path/filepath"
)

// The spec used to be read from ../outside/specs/ofrep/openapi.yaml: comments are not checked.
func specPath(root string) string {
	return filepath.Join(root, "..", "outside", "specs", "ofrep", "openapi.yaml")
}

func inside() []string {
	root, _ := filepath.Abs("..")
	return []string{
		root,
		filepath.Join("..", "flags"),
		filepath.Join("testdata", "ofrep", "openapi.yaml"),
		"../events/flag-kill.json",
		"the ../outside directory, in prose",
	}
}

func outside() {
	os.ReadFile("../../outside/specs/ofrep/openapi.yaml")
	os.ReadFile(filepath.Join("..", "..", "outside", "x"))
	os.ReadFile("/home/ana/edgeflag/flags/project.yaml")
	os.Setenv("DIR", "--dir=/root/outside")
}
