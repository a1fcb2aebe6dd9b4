package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/internal/ctxattr"
)

// contextArgs are the ways a command line describes the evaluation context: a JSON object
// (--ctx, or --ctx @file) and attribute pairs (-a key=value for a string, -a key:=JSON for
// a number, bool or list).
type contextArgs struct {
	json  string
	attrs listFlag
}

// parse returns the attributes, the JSON object's first and the pairs after (a pair
// overrides the object).
func (c *contextArgs) parse(r *runner) ([]ctxattr.Attr, error) {
	var out []ctxattr.Attr
	if c.json != "" {
		data := []byte(c.json)
		if strings.HasPrefix(c.json, "@") {
			var err error
			if data, err = os.ReadFile(r.path(c.json[1:])); err != nil {
				return nil, fmt.Errorf("--ctx: %v", err)
			}
		}
		attrs, err := ctxattr.ParseJSON(data)
		if err != nil {
			return nil, usagef("--ctx: %v", err)
		}
		out = attrs
	}
	for _, pair := range c.attrs {
		a, err := ctxattr.ParsePair(pair)
		if err != nil {
			return nil, usagef("-a %s: %v", pair, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// build returns the evaluation context.
func (c *contextArgs) build(r *runner) (*evaluator.Context, error) {
	attrs, err := c.parse(r)
	if err != nil {
		return nil, err
	}
	ctx := evaluator.NewContext()
	ctxattr.Apply(ctx, attrs)
	return ctx, nil
}
