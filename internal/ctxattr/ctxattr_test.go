package ctxattr

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/evaluator"
)

func describe(v evaluator.Value) string {
	switch v.Kind() {
	case evaluator.StringKind:
		return "string " + v.Str()
	case evaluator.NumberKind:
		return fmt.Sprintf("number %g", v.Num())
	case evaluator.BoolKind:
		return fmt.Sprintf("bool %t", v.Truth())
	case evaluator.ListKind:
		parts := make([]string, len(v.Items()))
		for i, x := range v.Items() {
			parts[i] = describe(x)
		}
		return "list [" + strings.Join(parts, ", ") + "]"
	}
	return "null"
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		in   string
		want string // name=description pairs, sorted by name
		err  string
	}{
		{in: `{"userId":"u1","age":42,"beta":true,"groups":["a","b"],"gone":null}`,
			want: "age=number 42 beta=bool true groups=list [string a, string b] userId=string u1"},
		{in: `{}`, want: ""},
		{in: ` {"n": 1.5e3} `, want: "n=number 1500"},
		// Read as every runtime reads contexts (protocol.Parser): objects flattened,
		// targetingKey also the bucketing attribute.
		{in: `{"user":{"id":1,"plan":"pro"}}`, want: "user.id=number 1 user.plan=string pro"},
		{in: `{"targetingKey":"k","plan":"pro"}`, want: "plan=string pro targetingKey=string k userId=string k"},
		{in: `[1]`, err: "a context must be a JSON object of attributes"},
		{in: `null`, err: "a context must be a JSON object of attributes"},
		{in: `{"a":1} {"b":2}`, err: "invalid JSON"},
		{in: `{"l":[[1]]}`, err: "nested lists"},
		{in: `{"l":[{"a":1}]}`, err: "not objects"},
		{in: `{"n":1e999}`, err: "out of range"},
		{in: `{"a":1,"a":2}`, err: `"a": given twice`},
		{in: `{"a":`, err: "invalid JSON"},
	}
	for _, tc := range tests {
		attrs, err := ParseJSON([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseJSON(%s): error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseJSON(%s): %v", tc.in, err)
			continue
		}
		var got []string
		for _, a := range attrs {
			got = append(got, a.Name+"="+describe(a.Value))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("ParseJSON(%s) = %s, want %s", tc.in, strings.Join(got, " "), tc.want)
		}
	}
}

func TestParsePair(t *testing.T) {
	tests := []struct {
		in, name, want, err string
	}{
		{in: "userId=u1", name: "userId", want: "string u1"},
		{in: "email=a=b@c", name: "email", want: "string a=b@c"},
		{in: "empty=", name: "empty", want: "string "},
		{in: "age:=42", name: "age", want: "number 42"},
		{in: "beta:=true", name: "beta", want: "bool true"},
		{in: `name:="quoted"`, name: "name", want: "string quoted"},
		{in: `groups:=["a","b"]`, name: "groups", want: "list [string a, string b]"},
		{in: "url=http://x:=y", name: "url", want: "string http://x:=y"},
		{in: "userId", err: "want key=value"},
		{in: "=v", err: "want key=value"},
		{in: "age:=forty", err: "must be JSON"},
		{in: "age:=1 2", err: "must be JSON"},
		{in: `o:={"a":1}`, err: "objects are not supported"},
	}
	for _, tc := range tests {
		a, err := ParsePair(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePair(%q): error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || a.Name != tc.name || describe(a.Value) != tc.want {
			t.Errorf("ParsePair(%q) = %s %s, %v; want %s %s", tc.in, a.Name, describe(a.Value), err, tc.name, tc.want)
		}
	}
}

// TestParseJSONOwnsItsStrings: the attributes stay as read after the input changes.
func TestParseJSONOwnsItsStrings(t *testing.T) {
	in := []byte(`{"s":"abc","l":["x\u0079z"]}`)
	attrs, err := ParseJSON(in)
	if err != nil {
		t.Fatal(err)
	}
	clear(in)
	var got []string
	for _, a := range attrs {
		got = append(got, a.Name+"="+describe(a.Value))
	}
	if strings.Join(got, " ") != "l=list [string xyz] s=string abc" {
		t.Errorf("after the input changed: %v", got)
	}
}

func ExampleParseJSON() {
	attrs, err := ParseJSON([]byte(`{"userId":"u1","email":"a@company.com","age":42}`))
	if err != nil {
		panic(err)
	}
	ctx := evaluator.NewContext()
	Apply(ctx, attrs)
	fmt.Println(ctx.Names(), ctx.Get("age").Num())
	// Output: [age email userId] 42
}
