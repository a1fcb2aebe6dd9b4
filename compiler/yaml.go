package compiler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Limits that keep hostile or broken input from exhausting the stack or memory.
const (
	maxYAMLDepth = 100     // nesting of mappings and sequences
	maxDocNodes  = 200_000 // nodes of one document after expanding aliases
)

type nodeKind uint8

const (
	scalarNode nodeKind = iota
	mappingNode
	sequenceNode
)

// scalarType is the JSON type of a scalar's value.
type scalarType uint8

const (
	nullScalar scalarType = iota // also the type of mappings and sequences
	boolScalar
	numberScalar
	stringScalar
)

// node is a YAML value with its position, after aliases and merge keys are resolved.
// Scalars hold a JSON value (null, a bool, a float64 or a string), unboxed: large projects
// keep hundreds of thousands of nodes alive, and fewer pointers make them cheaper for the
// garbage collector. Nodes reached through an alias are shared, so the tree must not be
// modified. The nodes of a document are allocated together (see converter.reserve): a
// document's tree lives and dies as a whole.
type node struct {
	text      string  // scalars: the source text, which is the value of a string
	num       float64 // numbers: the value
	keys      []*node
	elems     []*node // mappings: the value of each key; sequences: the items
	line, col int
	size      int32 // nodes after expanding aliases (saturates at maxDocNodes+1)
	kind      nodeKind
	typ       scalarType
	truth     bool // booleans: the value
}

// value returns the JSON value of a scalar: nil, bool, float64 or string (nil for
// mappings and sequences).
func (n *node) value() any {
	if n.kind != scalarNode {
		return nil
	}
	switch n.typ {
	case boolScalar:
		return n.truth
	case numberScalar:
		return n.num
	case stringScalar:
		return n.text
	}
	return nil
}

// get returns the value and key nodes of a mapping entry, or nils.
func (n *node) get(key string) (val, keyNode *node) {
	if n == nil || n.kind != mappingNode {
		return nil, nil
	}
	for i, k := range n.keys {
		if k.text == key {
			return n.elems[i], k
		}
	}
	return nil, nil
}

// toJSON returns the JSON-compatible value of the node: map[string]any, []any, string,
// float64, bool or nil. It builds a new value on every call (values are not kept, to
// keep the trees of large projects small).
func (n *node) toJSON() any {
	switch n.kind {
	case mappingNode:
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k.text] = n.elems[i].toJSON()
		}
		return m
	case sequenceNode:
		a := make([]any, len(n.elems))
		for i, it := range n.elems {
			a[i] = it.toJSON()
		}
		return a
	}
	return n.value()
}

// document is one YAML document of a file.
type document struct {
	file   string
	root   *node
	broken bool // the YAML had errors (duplicate keys, bad values): not worth validating
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the problems the YAML parser (as opposed to its scanner) reports.
var parserProblems = []string{
	"did not find expected <", "did not find expected node content", "did not find expected key",
	"did not find expected '-' indicator", "did not find expected ','", "found duplicate %",
	"found incompatible YAML document", "found undefined tag handle",
}

func parserProblem(msg string) bool {
	for _, p := range parserProblems {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// parseYAML splits a file into documents and converts each to a node tree. Syntax errors,
// duplicate keys, unsupported tags and oversized documents are reported; a syntax error
// ends the file.
func parseYAML(file string, data []byte) ([]document, []*Error) {
	var docs []document
	c := converter{file: file}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var y yaml.Node
		err := dec.Decode(&y)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			e := &Error{File: file, Line: 1, Message: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				e.Line, _ = strconv.Atoi(m[1])
				e.Message = "invalid YAML: " + m[2]
				if parserProblem(m[2]) {
					// yaml.v3 reports parser (not scanner) errors at the 0-based line of
					// the block the problem is in.
					e.Line++
				}
			}
			c.errs = append(c.errs, e)
			break
		}
		if len(y.Content) == 0 {
			continue
		}
		c.memo = nil
		c.reserve(y.Content[0])
		before := len(c.errs)
		root := c.convert(y.Content[0], 0)
		if root.kind == scalarNode && root.typ == nullScalar {
			continue // an empty document
		}
		if root.size > maxDocNodes {
			c.errorf(root, "document too large: more than %d values after expanding aliases", maxDocNodes)
			continue
		}
		docs = append(docs, document{file: file, root: root, broken: len(c.errs) > before})
	}
	return docs, c.errs
}

type converter struct {
	file     string
	errs     []*Error
	memo     map[*yaml.Node]*node
	inflight map[*yaml.Node]bool
	deep     bool
	nodes    []node  // the current document's nodes not yet used
	slots    []*node // the current document's child-list slots not yet used
}

// reserve allocates the nodes and child lists of a document in two blocks sized from its
// YAML tree, instead of one allocation per value and per list: large projects hold tens of
// thousands of documents, and fewer, larger objects are cheaper to allocate and to scan
// for the garbage collector.
func (c *converter) reserve(y *yaml.Node) {
	nodes, slots := countYAML(y, 0)
	c.nodes = make([]node, nodes)
	c.slots = make([]*node, slots)
}

// countYAML returns how many nodes, and how many child-list slots, converting y takes at
// most (aliases are not followed: their targets are converted once).
func countYAML(y *yaml.Node, depth int) (nodes, slots int) {
	nodes = 1
	if depth > maxYAMLDepth {
		return nodes, 0
	}
	if y.Kind == yaml.MappingNode || y.Kind == yaml.SequenceNode {
		slots = len(y.Content) // a mapping's keys and values, or a sequence's items
	}
	for _, child := range y.Content {
		n, s := countYAML(child, depth+1)
		nodes += n
		slots += s
	}
	return nodes, slots
}

// newNode returns a node at the given position from the reserved block (or a new one, if
// the block is used up).
func (c *converter) newNode(line, col int) *node {
	if len(c.nodes) == 0 {
		return &node{line: line, col: col, size: 1}
	}
	n := &c.nodes[0]
	c.nodes = c.nodes[1:]
	n.line, n.col, n.size = line, col, 1
	return n
}

// newList returns an empty child list with room for n children from the reserved block;
// appending more (merge keys) moves it out of the block.
func (c *converter) newList(n int) []*node {
	if len(c.slots) < n {
		return make([]*node, 0, n)
	}
	l := c.slots[:0:n]
	c.slots = c.slots[n:]
	return l
}

func (c *converter) errorf(n *node, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: c.file, Line: n.line, Column: n.col, Message: fmt.Sprintf(format, args...)})
}

func (c *converter) convert(y *yaml.Node, depth int) *node {
	// Only anchored nodes can be reached twice (through aliases): only they are memoised.
	if y.Anchor != "" {
		if n, ok := c.memo[y]; ok {
			return n
		}
	}
	if depth <= maxYAMLDepth {
		switch y.Kind {
		case yaml.DocumentNode:
			if len(y.Content) > 0 {
				return c.convert(y.Content[0], depth)
			}
		case yaml.AliasNode:
			if !c.inflight[y.Alias] {
				return c.convert(y.Alias, depth)
			}
		}
	}
	n := c.newNode(y.Line, y.Column)
	if depth > maxYAMLDepth {
		if !c.deep {
			c.deep = true
			c.errorf(n, "values nested more than %d levels deep", maxYAMLDepth)
		}
		return n
	}
	switch y.Kind {
	case yaml.AliasNode:
		c.errorf(n, "alias *%s refers to itself", y.Value)
		return n
	case yaml.ScalarNode:
		c.scalar(n, y)
	case yaml.SequenceNode:
		c.enter(y)
		defer c.leave(y)
		n.kind = sequenceNode
		n.elems = c.newList(len(y.Content))
		for _, it := range y.Content {
			child := c.convert(it, depth+1)
			n.elems = append(n.elems, child)
			n.size = addSize(n.size, child.size)
		}
	case yaml.MappingNode:
		c.enter(y)
		defer c.leave(y)
		c.mapping(n, y, depth)
	}
	if y.Anchor != "" {
		if c.memo == nil {
			c.memo = map[*yaml.Node]*node{}
		}
		c.memo[y] = n
	}
	return n
}

// enter and leave track the anchored collections being converted, to refuse an alias
// to an enclosing anchor.
func (c *converter) enter(y *yaml.Node) {
	if y.Anchor == "" {
		return
	}
	if c.inflight == nil {
		c.inflight = map[*yaml.Node]bool{}
	}
	c.inflight[y] = true
}

func (c *converter) leave(y *yaml.Node) {
	if y.Anchor != "" {
		delete(c.inflight, y)
	}
}

func addSize(a, b int32) int32 { return min(a+b, maxDocNodes+1) }

func (c *converter) scalar(n *node, y *yaml.Node) {
	n.kind = scalarNode
	n.text = y.Value
	switch y.ShortTag() {
	case "!!null":
	case "!!bool":
		switch strings.ToLower(y.Value) {
		case "true":
			n.typ, n.truth = boolScalar, true
		case "false":
			n.typ, n.truth = boolScalar, false
		default:
			var b bool
			if err := y.Decode(&b); err != nil {
				c.errorf(n, "invalid boolean %q", y.Value)
				return
			}
			n.typ, n.truth = boolScalar, b
		}
	case "!!int", "!!float":
		f, err := strconv.ParseFloat(y.Value, 64)
		if err != nil {
			var v any
			if derr := y.Decode(&v); derr != nil {
				c.errorf(n, "invalid number %q", y.Value)
				return
			}
			switch v := v.(type) {
			case int:
				f = float64(v)
			case int64:
				f = float64(v)
			case uint64:
				f = float64(v)
			case float64:
				f = v
			default:
				c.errorf(n, "invalid number %q", y.Value)
				return
			}
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			c.errorf(n, "%q is not a finite number", y.Value)
			return
		}
		n.typ, n.num = numberScalar, f
	case "!!str", "!!timestamp":
		n.typ = stringScalar
	default:
		c.errorf(n, "unsupported YAML tag %s", y.Tag)
		n.typ = stringScalar
	}
}

func (c *converter) mapping(n *node, y *yaml.Node, depth int) {
	n.kind = mappingNode
	n.keys = c.newList(len(y.Content) / 2)
	n.elems = c.newList(len(y.Content) / 2)
	var seen map[string]*node // for large mappings; small ones are scanned
	if len(y.Content) > 32 {
		seen = make(map[string]*node, len(y.Content)/2)
	}
	find := func(key string) *node {
		if seen != nil {
			return seen[key]
		}
		for _, k := range n.keys {
			if k.text == key {
				return k
			}
		}
		return nil
	}
	var merges []*node
	for i := 0; i+1 < len(y.Content); i += 2 {
		ky, vy := y.Content[i], y.Content[i+1]
		if ky.Kind == yaml.ScalarNode && ky.ShortTag() == "!!merge" {
			merges = append(merges, c.convert(vy, depth+1))
			continue
		}
		k := c.newNode(ky.Line, ky.Column)
		if ky.Kind == yaml.AliasNode && ky.Alias != nil && ky.Alias.Kind == yaml.ScalarNode {
			ky = ky.Alias
		}
		if ky.Kind != yaml.ScalarNode {
			c.errorf(k, "a mapping key must be a plain value, not a %s", kindName(ky.Kind))
			continue
		}
		k.text, k.typ = ky.Value, stringScalar
		v := c.convert(vy, depth+1)
		if first := find(k.text); first != nil {
			c.errorf(k, "duplicate key %q (first at line %d)", k.text, first.line)
			continue
		}
		if seen != nil {
			seen[k.text] = k
		}
		n.keys = append(n.keys, k)
		n.elems = append(n.elems, v)
		n.size = addSize(n.size, addSize(1, v.size))
	}
	// Merge keys (<<: *defaults): entries written in the mapping win, then earlier sources.
	for _, m := range merges {
		sources := []*node{m}
		if m.kind == sequenceNode {
			sources = m.elems
		}
		for _, s := range sources {
			if s.kind != mappingNode {
				c.errorf(s, "a merge key (<<) needs a mapping or a list of mappings")
				continue
			}
			for i, k := range s.keys {
				if find(k.text) != nil {
					continue
				}
				if seen != nil {
					seen[k.text] = k
				}
				n.keys = append(n.keys, k)
				n.elems = append(n.elems, s.elems[i])
				n.size = addSize(n.size, addSize(1, s.elems[i].size))
			}
		}
	}
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

// pathStep is one step of a field path: a mapping key or a list index.
type pathStep struct {
	key   string
	index int // -1 for a key
}

// lookupPath follows a path of mapping keys and list indexes (as in schema error
// locations) from root. It returns the deepest node reached, the key node of the last step
// when it was a mapping key, and the steps taken.
func lookupPath(root *node, path []string) (val, key *node, steps []pathStep) {
	val = root
	for _, tok := range path {
		switch val.kind {
		case mappingNode:
			v, k := val.get(tok)
			if v == nil {
				return val, key, steps
			}
			val, key = v, k
			steps = append(steps, pathStep{key: tok, index: -1})
		case sequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(val.elems) {
				return val, key, steps
			}
			val, key = val.elems[i], nil
			steps = append(steps, pathStep{index: i})
		default:
			return val, key, steps
		}
	}
	return val, key, steps
}

// formatPath writes steps as rules[0].when.op; keys that are not plain names are quoted:
// variants["v1.2"].
func formatPath(steps []pathStep) string {
	var b strings.Builder
	for _, s := range steps {
		switch {
		case s.index >= 0:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(s.index))
			b.WriteByte(']')
		case plainName(s.key):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		default:
			b.WriteByte('[')
			b.WriteString(strconv.Quote(s.key))
			b.WriteByte(']')
		}
	}
	return b.String()
}

func plainName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c >= '0' && c <= '9' && i > 0) {
			return false
		}
	}
	return true
}
