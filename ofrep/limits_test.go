package ofrep

import (
	"strconv"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/evaluator"
)

// manyAttributesBody returns an OFREP request body, under the 64 KB body limit, whose
// context has n short attributes.
func manyAttributesBody(n int) string {
	var b strings.Builder
	b.WriteString(`{"context":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + strconv.FormatInt(int64(i), 36) + `":1`)
	}
	b.WriteString(`}}`)
	return b.String()
}

// A context over the evaluator's limits is the client's to fix: 400 INVALID_CONTEXT, for
// one flag and for all of them, whatever the Source (the Go edge answers the same; see
// tests/).
func TestContextOverLimits(t *testing.T) {
	n, _ := loadedNative(t)
	h := NewHandler(n, Options{})
	for _, tc := range []struct{ name, body, want string }{
		{"attributes", manyAttributesBody(7500), "more than 1024 attributes"},
		{"attributes with userId", strings.Replace(manyAttributesBody(evaluator.MaxContextAttributes), `{"context":{`, `{"context":{"targetingKey":"u","userId":"u",`, 1), "more than 1024 attributes"},
		{"list items", `{"context":{"l":[` + strings.Repeat(`"x",`, evaluator.MaxContextListItems) + `"x"]}}`, "more than 4096 list items"},
	} {
		if len(tc.body) > DefaultMaxBodyBytes {
			t.Fatalf("%s: body of %d bytes", tc.name, len(tc.body))
		}
		for _, path := range []string{PathFlags, PathFlag + "checkout"} {
			res := do(h, "POST", path, tc.body)
			if res.status != 400 || !strings.Contains(res.body, `"errorCode":"INVALID_CONTEXT"`) || !strings.Contains(res.body, tc.want) {
				t.Errorf("%s %s: %d %s, want 400 INVALID_CONTEXT %q", tc.name, path, res.status, res.body, tc.want)
			}
		}
	}
}
