package compiler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"
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

// A document's values are held in a tree: one block of node data, one block of child
// indexes and one string holding every text, none of them with pointers inside. Large
// projects keep hundreds of thousands of values alive while they load, and pointer-free
// blocks cost the garbage collector nothing to scan.
type tree struct {
	nodes []nodeData
	kids  []int32 // mappings: key and value index pairs; sequences: item indexes
	text  string  // the texts of scalars and keys, back to back
}

// nodeData is one value of a tree. Scalars hold a JSON value (null, a bool, a float64 or
// a string), unboxed.
type nodeData struct {
	num       float64 // numbers: the value
	textOff   int32   // scalars and keys: the source text (the value of a string), in tree.text
	textLen   int32
	kidsOff   int32 // mappings and sequences: where the children are in tree.kids
	kidsLen   int32 // entries of a mapping, items of a sequence
	line, col int32
	size      int32 // nodes after expanding aliases (saturates at maxDocNodes+1)
	kind      nodeKind
	typ       scalarType
	truth     bool // booleans: the value
}

// node is a YAML value with its position, after aliases and merge keys are resolved: a
// handle on one value of a tree. The zero node stands for a missing value. Nodes reached
// through an alias are shared, and trees are not modified once built.
type node struct {
	t *tree
	i int32
}

// ok reports whether the node exists.
func (n node) ok() bool { return n.t != nil }

func (n node) data() *nodeData { return &n.t.nodes[n.i] }

func (n node) kind() nodeKind  { return n.data().kind }
func (n node) typ() scalarType { return n.data().typ }
func (n node) line() int       { return int(n.data().line) }
func (n node) col() int        { return int(n.data().col) }

// text returns the source text of a scalar or a key.
func (n node) text() string {
	d := n.data()
	return n.t.text[d.textOff : d.textOff+d.textLen]
}

// len returns the number of entries of a mapping or items of a sequence (0 for scalars).
func (n node) len() int { return int(n.data().kidsLen) }

// key returns the key node of a mapping's i-th entry.
func (n node) key(i int) node { return node{n.t, n.t.kids[int(n.data().kidsOff)+2*i]} }

// elem returns the value of a mapping's i-th entry, or a sequence's i-th item.
func (n node) elem(i int) node {
	d := n.data()
	if d.kind == mappingNode {
		return node{n.t, n.t.kids[int(d.kidsOff)+2*i+1]}
	}
	return node{n.t, n.t.kids[int(d.kidsOff)+i]}
}

// entries iterates over a mapping's keys and values, in the order written.
func (n node) entries() iter.Seq2[node, node] {
	return func(yield func(node, node) bool) {
		if !n.ok() || n.kind() != mappingNode {
			return
		}
		for i := range n.len() {
			if !yield(n.key(i), n.elem(i)) {
				return
			}
		}
	}
}

// value returns the JSON value of a scalar: nil, bool, float64 or string (nil for
// mappings and sequences).
func (n node) value() any {
	d := n.data()
	if d.kind != scalarNode {
		return nil
	}
	switch d.typ {
	case boolScalar:
		return d.truth
	case numberScalar:
		return d.num
	case stringScalar:
		return n.text()
	}
	return nil
}

// get returns the value and key nodes of a mapping entry, or missing nodes.
func (n node) get(key string) (val, keyNode node) {
	if !n.ok() || n.kind() != mappingNode {
		return node{}, node{}
	}
	for i := range n.len() {
		if k := n.key(i); k.text() == key {
			return n.elem(i), k
		}
	}
	return node{}, node{}
}

// toJSON returns the JSON-compatible value of the node: map[string]any, []any, string,
// float64, bool or nil. It builds a new value on every call (values are not kept, to
// keep the trees of large projects small).
func (n node) toJSON() any {
	switch n.kind() {
	case mappingNode:
		m := make(map[string]any, n.len())
		for i := range n.len() {
			m[n.key(i).text()] = n.elem(i).toJSON()
		}
		return m
	case sequenceNode:
		a := make([]any, n.len())
		for i := range a {
			a[i] = n.elem(i).toJSON()
		}
		return a
	}
	return n.value()
}

// stringNode returns a string scalar with no position, in a tree of its own.
func stringNode(s string) node {
	t := &tree{nodes: []nodeData{{textLen: int32(len(s)), kind: scalarNode, typ: stringScalar, size: 1}}, text: s}
	return node{t, 0}
}

// document is one YAML document of a file.
type document struct {
	file   string
	root   node
	broken bool // the YAML had errors (duplicate keys, bad values): not worth validating
}

// syntaxError turns an error of the YAML decoder into an Error at the problem's line and
// column, naming where the construct it was reading starts when that is elsewhere.
func syntaxError(file string, err error) *Error {
	e := &Error{File: file, Line: 1, Message: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	var le *yaml.LoadError
	if !errors.As(err, &le) || le.Mark.Line == 0 {
		return e
	}
	e.Line, e.Column = le.Mark.Line, le.Mark.Column
	e.Message = "invalid YAML: " + le.Message
	if le.ContextMsg != "" && le.ContextMark.Line > 0 && le.ContextMark != le.Mark {
		e.Message += " (" + le.ContextMsg + " that starts at " + strconv.Itoa(le.ContextMark.Line) +
			":" + strconv.Itoa(le.ContextMark.Column) + ")"
	}
	return e
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
			e := syntaxError(file, err)
			c.errs = append(c.errs, e)
			break
		}
		if len(y.Content) == 0 {
			continue
		}
		before := len(c.errs)
		root := c.document(y.Content[0])
		if d := root.data(); d.kind == scalarNode && d.typ == nullScalar {
			continue // an empty document
		}
		if root.data().size > maxDocNodes {
			c.errorf(root.line(), root.col(), "document too large: more than %d values after expanding aliases", maxDocNodes)
			continue
		}
		docs = append(docs, document{file: file, root: root, broken: len(c.errs) > before})
	}
	return docs, c.errs
}

type converter struct {
	file     string
	errs     []*Error
	memo     map[*yaml.Node]int32
	inflight map[*yaml.Node]bool
	deep     bool
	t        *tree   // the current document's tree
	text     []byte  // the current document's texts, until the tree is complete
	stack    []int32 // the child lists being converted
}

// document converts the root value of a YAML document to a tree of its own. The blocks
// of the tree are sized from the YAML tree (aliases are not followed: their targets are
// converted once).
func (c *converter) document(y *yaml.Node) node {
	nodes, kids, text := countYAML(y, 0)
	c.t = &tree{nodes: make([]nodeData, 0, nodes), kids: make([]int32, 0, kids)}
	c.text = c.text[:0]
	if cap(c.text) < text {
		c.text = make([]byte, 0, text)
	}
	c.memo = nil
	root := c.convert(y, 0)
	c.t.text = string(c.text)
	return node{c.t, root}
}

// countYAML returns how many nodes, child indexes and bytes of text converting y takes
// (merge keys can add child indexes).
func countYAML(y *yaml.Node, depth int) (nodes, kids, text int) {
	nodes, text = 1, len(y.Value)
	if depth > maxYAMLDepth {
		return nodes, 0, text
	}
	if y.Kind == yaml.MappingNode || y.Kind == yaml.SequenceNode {
		kids = len(y.Content) // a mapping's keys and values, or a sequence's items
	}
	for _, child := range y.Content {
		n, k, t := countYAML(child, depth+1)
		nodes += n
		kids += k
		text += t
	}
	return nodes, kids, text
}

// newNode adds a node at the given position to the current tree and returns its index.
func (c *converter) newNode(line, col int) int32 {
	c.t.nodes = append(c.t.nodes, nodeData{line: int32(line), col: int32(col), size: 1})
	return int32(len(c.t.nodes) - 1)
}

// setText stores the text of a node.
func (c *converter) setText(i int32, s string) {
	d := &c.t.nodes[i]
	d.textOff, d.textLen = int32(len(c.text)), int32(len(s))
	c.text = append(c.text, s...)
}

// textOf returns the text of a node of the current tree, while it is being built.
func (c *converter) textOf(i int32) []byte {
	d := &c.t.nodes[i]
	return c.text[d.textOff : d.textOff+d.textLen]
}

// endList stores the child indexes pushed since start as node i's children.
func (c *converter) endList(i int32, start, count int) {
	d := &c.t.nodes[i]
	d.kidsOff, d.kidsLen = int32(len(c.t.kids)), int32(count)
	c.t.kids = append(c.t.kids, c.stack[start:]...)
	c.stack = c.stack[:start]
}

func (c *converter) errorf(line, col int, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

func (c *converter) nodeErrorf(i int32, format string, args ...any) {
	d := &c.t.nodes[i]
	c.errorf(int(d.line), int(d.col), format, args...)
}

func (c *converter) convert(y *yaml.Node, depth int) int32 {
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
			c.nodeErrorf(n, "values nested more than %d levels deep", maxYAMLDepth)
		}
		return n
	}
	switch y.Kind {
	case yaml.AliasNode:
		c.nodeErrorf(n, "alias *%s refers to itself", y.Value)
		return n
	case yaml.ScalarNode:
		c.scalar(n, y)
	case yaml.SequenceNode:
		c.enter(y)
		defer c.leave(y)
		c.t.nodes[n].kind = sequenceNode
		start := len(c.stack)
		size := int32(1)
		for _, it := range y.Content {
			child := c.convert(it, depth+1)
			c.stack = append(c.stack, child)
			size = addSize(size, c.t.nodes[child].size)
		}
		c.endList(n, start, len(c.stack)-start)
		c.t.nodes[n].size = size
	case yaml.MappingNode:
		c.enter(y)
		defer c.leave(y)
		c.mapping(n, y, depth)
	}
	if y.Anchor != "" {
		if c.memo == nil {
			c.memo = map[*yaml.Node]int32{}
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

func (c *converter) scalar(n int32, y *yaml.Node) {
	c.setText(n, y.Value)
	d := &c.t.nodes[n]
	d.kind = scalarNode
	switch y.ShortTag() {
	case "!!null":
	case "!!bool":
		switch strings.ToLower(y.Value) {
		case "true":
			d.typ, d.truth = boolScalar, true
		case "false":
			d.typ, d.truth = boolScalar, false
		default:
			var b bool
			if err := y.Decode(&b); err != nil {
				c.nodeErrorf(n, "invalid boolean %q", ex(y.Value))
				return
			}
			d.typ, d.truth = boolScalar, b
		}
	case "!!int", "!!float":
		f, err := strconv.ParseFloat(y.Value, 64)
		if err != nil {
			var v any
			if derr := y.Decode(&v); derr != nil {
				c.nodeErrorf(n, "invalid number %q", ex(y.Value))
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
				c.nodeErrorf(n, "invalid number %q", ex(y.Value))
				return
			}
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			c.nodeErrorf(n, "%q is not a finite number", ex(y.Value))
			return
		}
		d.typ, d.num = numberScalar, f
	case "!!str", "!!timestamp":
		d.typ = stringScalar
	default:
		c.nodeErrorf(n, "unsupported YAML tag %s", y.Tag)
		d.typ = stringScalar
	}
}

func (c *converter) mapping(n int32, y *yaml.Node, depth int) {
	c.t.nodes[n].kind = mappingNode
	start := len(c.stack)     // key and value index pairs
	var seen map[string]int32 // for large mappings; small ones are scanned
	if len(y.Content) > 32 {
		seen = make(map[string]int32, len(y.Content)/2)
	}
	find := func(key []byte) (int32, bool) {
		if seen != nil {
			k, ok := seen[string(key)]
			return k, ok
		}
		for j := start; j < len(c.stack); j += 2 {
			if string(c.textOf(c.stack[j])) == string(key) {
				return c.stack[j], true
			}
		}
		return 0, false
	}
	add := func(k, v int32) {
		if seen != nil {
			seen[string(c.textOf(k))] = k
		}
		c.stack = append(c.stack, k, v)
		d := &c.t.nodes[n]
		d.size = addSize(d.size, addSize(1, c.t.nodes[v].size))
	}
	var merges []int32
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
			c.nodeErrorf(k, "a mapping key must be a plain value, not a %s", kindName(ky.Kind))
			continue
		}
		c.setText(k, ky.Value)
		c.t.nodes[k].typ = stringScalar
		v := c.convert(vy, depth+1)
		if first, dup := find(c.textOf(k)); dup {
			c.nodeErrorf(k, "duplicate key %q (first at line %d)", ex(ky.Value), c.t.nodes[first].line)
			continue
		}
		add(k, v)
	}
	// Merge keys (<<: *defaults): entries written in the mapping win, then earlier sources.
	for _, m := range merges {
		sources := []int32{m}
		if md := c.t.nodes[m]; md.kind == sequenceNode {
			sources = c.t.kids[md.kidsOff : md.kidsOff+md.kidsLen]
		}
		for _, src := range sources {
			sd := c.t.nodes[src]
			if sd.kind != mappingNode {
				c.nodeErrorf(src, "a merge key (<<) needs a mapping or a list of mappings")
				continue
			}
			for j := range int(sd.kidsLen) {
				k, v := c.t.kids[int(sd.kidsOff)+2*j], c.t.kids[int(sd.kidsOff)+2*j+1]
				if _, dup := find(c.textOf(k)); dup {
					continue
				}
				add(k, v)
			}
		}
	}
	c.endList(n, start, (len(c.stack)-start)/2)
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
func lookupPath(root node, path []string) (val, key node, steps []pathStep) {
	val = root
	for _, tok := range path {
		switch val.kind() {
		case mappingNode:
			v, k := val.get(tok)
			if !v.ok() {
				return val, key, steps
			}
			val, key = v, k
			steps = append(steps, pathStep{key: tok, index: -1})
		case sequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= val.len() {
				return val, key, steps
			}
			val, key = val.elem(i), node{}
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
