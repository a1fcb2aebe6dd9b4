package simulate

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/internal/ctxattr"
)

// Population is the set of users a simulation evaluates. Fill resets ctx and sets the
// attributes of user i (0 <= i < Len()); keyAttr is the attribute the flag buckets by,
// which a population of bare ids sets to the id. Fill must be safe for concurrent calls
// with different contexts.
type Population interface {
	Len() int
	Fill(i int, keyAttr string, ctx *evaluator.Context)
}

// Synthetic is N users whose bucketing key is Prefix followed by the user's number
// (user-1, user-2, ...), all sharing Base attributes. Bucketing spreads such keys
// uniformly, so the counts of a synthetic population match the percentages.
type Synthetic struct {
	N      int
	Prefix string // "user-" when empty
	Base   []ctxattr.Attr
}

// Len returns N.
func (p *Synthetic) Len() int { return p.N }

// Fill sets the base attributes and the key.
func (p *Synthetic) Fill(i int, keyAttr string, ctx *evaluator.Context) {
	ctx.Reset()
	ctxattr.Apply(ctx, p.Base)
	prefix := p.Prefix
	if prefix == "" {
		prefix = "user-"
	}
	ctx.Set(keyAttr, evaluator.String(prefix+strconv.Itoa(i+1)))
}

// List is a population read from a file: one user per line, either a bare id (set as the
// bucketing key) or a JSON object of attributes. Base attributes apply to every user,
// below the user's own.
type List struct {
	Base  []ctxattr.Attr
	users []user
}

type user struct {
	id    string         // a bare id, or
	attrs []ctxattr.Attr // a JSON context
}

// Len returns the number of users read.
func (p *List) Len() int { return len(p.users) }

// Fill sets the base attributes, then the user's id or attributes.
func (p *List) Fill(i int, keyAttr string, ctx *evaluator.Context) {
	ctx.Reset()
	ctxattr.Apply(ctx, p.Base)
	u := &p.users[i]
	if u.attrs == nil {
		ctx.Set(keyAttr, evaluator.String(u.id))
		return
	}
	ctxattr.Apply(ctx, u.attrs)
}

// ReadList reads a population: blank lines and lines starting with # are skipped, a line
// starting with { is a JSON object of attributes, any other line is an id. Errors name
// the line.
func ReadList(r io.Reader) (*List, error) {
	p := &List{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 || text[0] == '#' {
			continue
		}
		if text[0] != '{' {
			p.users = append(p.users, user{id: string(text)})
			continue
		}
		attrs, err := ctxattr.ParseJSON(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", line, err)
		}
		if attrs == nil {
			attrs = []ctxattr.Attr{}
		}
		p.users = append(p.users, user{attrs: attrs})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %v", line+1, err)
	}
	return p, nil
}
