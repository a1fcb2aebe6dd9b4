package schema_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/edgeflag/edgeflag/schema"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Validate a document (already decoded from YAML or JSON) against the flag schema.
func ExampleCompile() {
	s, err := schema.Compile()
	if err != nil {
		fmt.Println(err)
		return
	}
	doc, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{
		"kind": "Flag", "key": "new-search", "type": "boolean",
		"rollout": { "variant": "on", "percentage": 150 }
	}`))
	err = s.Validate(doc)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		for len(ve.Causes) > 0 {
			ve = ve.Causes[0]
		}
		fmt.Println(strings.Join(ve.InstanceLocation, "/"), ve.ErrorKind.KeywordPath())
	}
	// Output:
	// rollout/percentage [maximum]
}
