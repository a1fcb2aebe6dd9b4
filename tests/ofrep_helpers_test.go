package tests

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/snapshot"
)

// ofrepNoon is the time of the results written in docs/recipes.md.
var ofrepNoon = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// ofrepRoot returns the repository root.
func ofrepRoot(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// ofrepExample returns a Native source serving the example project's snapshot for env.
func ofrepExample(t testing.TB, env string) (*ofrep.Native, *snapshot.Snapshot) {
	t.Helper()
	snaps, err := compiler.Compile(filepath.Join(ofrepRoot(t), "flags"), compiler.Options{Revision: "example", BuildTime: 1764158400})
	if err != nil {
		t.Fatalf("compiling flags/: %v", err)
	}
	s, ok := snaps[env]
	if !ok {
		t.Fatalf("flags/ has no environment %q", env)
	}
	n := ofrep.NewNative()
	if _, err := n.Load(snapshot.Encode(s)); err != nil {
		t.Fatal(err)
	}
	decoded, err := snapshot.Decode(snapshot.Encode(s))
	if err != nil {
		t.Fatal(err)
	}
	return n, decoded
}

// ofrepServer serves h on 127.0.0.1 for the duration of the test.
func ofrepServer(t testing.TB, h *ofrep.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// ofrepSpecPath is where the OFREP OpenAPI document (v0.3.0) is: in the repository, as
// test data (testdata/ofrep/README.md says where it comes from).
func ofrepSpecPath(t testing.TB) string {
	return filepath.Join(ofrepRoot(t), "tests", "testdata", "ofrep", "openapi.yaml")
}

// ofrepSpec loads the OFREP OpenAPI 3.1 document and makes its flag value schemas
// satisfiable (see ofrepFixValueSchemas).
func ofrepSpec(t testing.TB) *openapi3.T {
	t.Helper()
	doc := ofrepLoadSpec(t)
	ofrepFixValueSchemas(doc)
	return doc
}

func ofrepLoadSpec(t testing.TB) *openapi3.T {
	t.Helper()
	path := ofrepSpecPath(t)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the OFREP specification is missing: the tests validate responses against "+
			"tests/testdata/ofrep/openapi.yaml (%s): %v", path, err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("%s is OpenAPI %s; the tests were written for 3.1", path, doc.OpenAPI)
	}
	// The document's own examples include a FLAG_NOT_FOUND item in a bulk response, which
	// its evaluationFailure schema does not allow; they are not ours to validate.
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", path, err)
	}
	return doc
}

// ofrepFixValueSchemas works around the value schemas of OFREP v0.3.0, which no success
// response can satisfy under JSON Schema 2020-12 (OpenAPI 3.1): evaluationSuccess requires
// exactly one of booleanFlag, stringFlag, integerFlag, floatFlag, objectFlag and
// codeDefaultFlag to match, but codeDefaultFlag ("properties: {}") matches every object and
// an integer matches both integerFlag and floatFlag. The fix states in the schemas what
// their descriptions say: codeDefaultFlag has no value, and floatFlag is for values that
// are not integers. Nothing else is changed; TestOFREPSpecNeedsTheValueFix fails when a
// new version of the document no longer needs it.
func ofrepFixValueSchemas(doc *openapi3.T) {
	schemas := doc.Components.Schemas
	schemas["codeDefaultFlag"].Value.Not = openapi3.NewSchemaRef("", &openapi3.Schema{Required: []string{"value"}})
	schemas["floatFlag"].Value.Properties["value"].Value.Not = openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{"integer"}})
}
