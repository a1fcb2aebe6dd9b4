package schema_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/edgeflag/edgeflag/schema"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Validate a document (already decoded from YAML or JSON) against the flag schema.
func ExampleCompile() {
	s, err := schema.Compile()
	if err != nil {
		fmt.Println(err)
		return
	}
	var doc any
	_ = json.Unmarshal([]byte(`{
		"kind": "Flag", "key": "new-search", "type": "boolean",
		"rollout": { "variant": "on", "percentage": 150 }
	}`), &doc)
	err = s.Validate(doc)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		// The leaves of the error tree are the failed keywords.
		for len(ve.Causes) > 0 {
			ve = ve.Causes[0]
		}
		_, keyword, _ := strings.Cut(ve.AbsoluteKeywordLocation, "#")
		fmt.Println(ve.InstanceLocation, keyword, ve.Message)
	}
	// Output:
	// /rollout/percentage /$defs/percentage/maximum must be <= 100 but found 150
}
