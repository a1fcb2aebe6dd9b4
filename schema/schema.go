// Package schema holds the JSON Schema (draft 2020-12) of edgeflag's YAML flag files and
// compiles it for validation.
//
// The same file serves editors, through the yaml-language-server modeline at the top of
// every flag file,
//
//	# yaml-language-server: $schema=../schema/edgeflag.schema.json
//
// and the compiler, which validates every document against it before its semantic checks.
// The schema refers only to its own $defs, so it works offline. Besides the standard
// keywords it carries `errorMessage` and `patternErrorMessage`, which editors based on
// vscode-json-languageservice show instead of the generic message, and which the compiler
// uses too.
package schema

import (
	"bytes"
	_ "embed"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// URL is the name under which the schema is compiled; validation errors carry it in their
// absolute keyword locations (URL#/$defs/...).
const URL = "mem:///edgeflag.schema.json"

// FileName is the schema's file name.
const FileName = "edgeflag.schema.json"

// JSON is the schema document as written in edgeflag.schema.json.
//
//go:embed edgeflag.schema.json
var JSON []byte

var (
	once       sync.Once
	compiled   *jsonschema.Schema
	errCompile error
)

// Compile compiles the embedded schema with draft 2020-12 semantics. It is compiled once
// and shared; a *jsonschema.Schema is safe for concurrent use.
//
// Validate takes the document as decoded JSON: map[string]any, []any, string, float64 or
// json.Number, bool and nil. It returns a *jsonschema.ValidationError whose leaves (the
// errors without Causes) are the failed keywords.
func Compile() (*jsonschema.Schema, error) {
	once.Do(func() {
		c := jsonschema.NewCompiler()
		c.Draft = jsonschema.Draft2020
		if err := c.AddResource(URL, bytes.NewReader(JSON)); err != nil {
			errCompile = err
			return
		}
		compiled, errCompile = c.Compile(URL)
	})
	return compiled, errCompile
}
