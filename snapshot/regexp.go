package snapshot

import (
	"math/bits"
	"sync/atomic"
	"unicode/utf8"
)

// A Regexp is the compiled program of a `matches` pattern, stored in the snapshot so that
// readers need no regular expression compiler: package regexp, whose parser brings every
// Unicode table, would add about 150 KB gzip to the WASM evaluator. The compiler builds the
// program with regexp/syntax (see CompileRegexp) and MatchString runs it on a Pike VM
// that only answers whether the pattern matches somewhere in a string, with the semantics
// of regexp.MatchString (RE2 syntax, UTF-8 input, invalid bytes read as U+FFFD).
//
// A match costs time linear in len(s) × the program's size, whatever the program: Decode
// bounds programs to MaxRegexpInsts instructions and checks every jump, so a hostile
// snapshot cannot make the VM loop or index out of range. A Regexp is safe for concurrent
// use.
type Regexp struct {
	insts    []reInst
	start    uint32
	anchored bool // every match starts at the beginning of the text (\A or ^ first)

	spare atomic.Pointer[reMachine] // working space of large programs, reused
}

// MaxRegexpInsts bounds the instructions of one program.
const MaxRegexpInsts = 1 << 14

// reOp is a VM instruction. The values are part of the snapshot format.
type reOp uint8

const (
	reFail     reOp = iota // no match
	reMatch                // a match
	reAlt                  // continue at out and at alt
	reNop                  // continue at out
	reEmpty                // continue at out if the position satisfies the empty-width flags
	reRange                // consume a rune within one of the ranges, continue at out
	reAny                  // consume any rune
	reAnyNotNL             // consume any rune but '\n'
	reOpEnd
)

// Empty-width flags, as in regexp/syntax.EmptyOp.
const (
	emptyBeginLine = 1 << iota
	emptyEndLine
	emptyBeginText
	emptyEndText
	emptyWordBoundary
	emptyNoWordBoundary
	emptyAll = 1<<iota - 1
)

type reInst struct {
	op    reOp
	empty uint8 // reEmpty: the flags required
	out   uint32
	alt   uint32 // reAlt
	// reRange: sorted, disjoint, inclusive ranges: lo0, hi0, lo1, hi1...
	ranges []rune
	// ascii is the set of ASCII characters the instruction consumes (derived).
	ascii [2]uint64
}

// Programs up to smallProgram instructions match with working space on the stack.
const smallProgram = 256

// reMachine is the working space of a match: the threads at the current position (pcs of
// instructions that consume a rune), the pcs reached by consuming it, the pcs already
// visited at this position (a bit set) and a stack for following jumps. Each list holds
// at most one entry per instruction, so none grows: they are indexed, not appended to,
// which lets the space of small programs live on the stack.
type reMachine struct {
	cur, next, stack []uint16
	ncur, nnext      int
	visited          []uint64
}

// MatchString reports whether s contains a match of the pattern. It does not allocate
// (programs over smallProgram instructions allocate their working space once, and again
// only when matched from several goroutines at a time).
func (re *Regexp) MatchString(s string) bool {
	// Programs of up to 64 instructions keep their threads in bit sets. The working space
	// of larger ones is on the stack, up to smallProgram instructions.
	n := len(re.insts)
	switch {
	case n <= 64:
		return re.match64(s)
	case n <= smallProgram:
		var cur, next, stack [smallProgram]uint16
		var visited [smallProgram / 64]uint64
		m := reMachine{cur: cur[:n], next: next[:n], stack: stack[:n], visited: visited[:(n+63)/64]}
		return re.match(&m, s)
	}
	m := re.spare.Swap(nil)
	if m == nil {
		m = &reMachine{cur: make([]uint16, n), next: make([]uint16, n), stack: make([]uint16, n),
			visited: make([]uint64, (n+63)/64)}
	}
	ok := re.match(m, s)
	re.spare.Store(m)
	return ok
}

// match64 is match for programs of at most 64 instructions, with the sets of threads as
// bit sets: no working space, and a step is a few operations per live thread.
func (re *Regexp) match64(s string) bool {
	var next uint64 // pcs reached by consuming the previous rune, jumps not followed yet
	prev := rune(-1)
	for pos := 0; ; {
		r, w := rune(-1), 0
		if pos < len(s) {
			if c := s[pos]; c < utf8.RuneSelf {
				r, w = rune(c), 1
			} else {
				r, w = utf8.DecodeRuneInString(s[pos:])
			}
		}
		if pos == 0 || !re.anchored {
			next |= 1 << re.start
		}
		cur, matched := re.follow64(next, emptyContext(prev, r))
		if matched {
			return true
		}
		if w == 0 || cur == 0 && re.anchored {
			return false
		}
		next = 0
		for set := cur; set != 0; set &= set - 1 {
			in := &re.insts[bits.TrailingZeros64(set)]
			if r < utf8.RuneSelf {
				if in.ascii[r>>6]&(1<<(r&63)) != 0 {
					next |= 1 << in.out
				}
			} else if in.consumes(r) {
				next |= 1 << in.out
			}
		}
		prev = r
		pos += w
	}
}

// follow64 follows the jumps from the pcs in todo at a position with empty-width context
// ctx: it returns the instructions that consume a rune, and whether a match was reached.
func (re *Regexp) follow64(todo uint64, ctx uint8) (cur uint64, matched bool) {
	var seen uint64
	for todo != 0 {
		pc := bits.TrailingZeros64(todo)
		bit := uint64(1) << pc
		seen |= bit
		in := &re.insts[pc]
		switch in.op {
		case reMatch:
			return 0, true
		case reAlt:
			todo |= 1<<in.out | 1<<in.alt
		case reNop:
			todo |= 1 << in.out
		case reEmpty:
			if in.empty&^ctx == 0 {
				todo |= 1 << in.out
			}
		case reRange, reAny, reAnyNotNL:
			cur |= bit
		}
		todo &^= seen
	}
	return cur, false
}

func (re *Regexp) match(m *reMachine, s string) bool {
	m.nnext = 0
	prev := rune(-1)
	for pos := 0; ; {
		r, w := rune(-1), 0
		if pos < len(s) {
			if c := s[pos]; c < utf8.RuneSelf {
				r, w = rune(c), 1
			} else {
				r, w = utf8.DecodeRuneInString(s[pos:])
			}
		}
		ctx := emptyContext(prev, r)
		clear(m.visited)
		m.ncur = 0
		for _, pc := range m.next[:m.nnext] {
			if re.add(m, pc, ctx) {
				return true
			}
		}
		if pos == 0 || !re.anchored {
			if re.add(m, uint16(re.start), ctx) {
				return true
			}
		}
		if w == 0 || m.ncur == 0 && re.anchored {
			return false
		}
		m.nnext = 0
		for _, pc := range m.cur[:m.ncur] {
			if in := &re.insts[pc]; in.consumes(r) {
				m.next[m.nnext] = uint16(in.out)
				m.nnext++
			}
		}
		prev = r
		pos += w
	}
}

// add follows the jumps from pc at a position with empty-width context ctx, collecting
// the instructions that consume a rune into m.cur. It reports whether it reached a match.
// A pc is pushed only the first time it is visited at a position, so the stack never
// holds more than the program's length.
func (re *Regexp) add(m *reMachine, pc uint16, ctx uint8) bool {
	if !m.mark(pc) {
		return false
	}
	m.stack[0] = pc
	top := 1
	for top > 0 {
		top--
		pc = m.stack[top]
		in := &re.insts[pc]
		switch in.op {
		case reMatch:
			return true
		case reAlt:
			top = m.push(top, uint16(in.out))
			top = m.push(top, uint16(in.alt))
		case reNop:
			top = m.push(top, uint16(in.out))
		case reEmpty:
			if in.empty&^ctx == 0 {
				top = m.push(top, uint16(in.out))
			}
		case reRange, reAny, reAnyNotNL:
			m.cur[m.ncur] = pc
			m.ncur++
		}
	}
	return false
}

// mark records pc as visited at this position, reporting whether it was new.
func (m *reMachine) mark(pc uint16) bool {
	w, b := pc/64, uint64(1)<<(pc%64)
	if m.visited[w]&b != 0 {
		return false
	}
	m.visited[w] |= b
	return true
}

// push puts pc on the stack of height top if it was not visited yet; it returns the new
// height.
func (m *reMachine) push(top int, pc uint16) int {
	if !m.mark(pc) {
		return top
	}
	m.stack[top] = pc
	return top + 1
}

func (in *reInst) consumes(r rune) bool {
	switch in.op {
	case reAny:
		return true
	case reAnyNotNL:
		return r != '\n'
	}
	rs := in.ranges
	if len(rs) <= 8 {
		for i := 0; i < len(rs); i += 2 {
			if r < rs[i] {
				return false
			}
			if r <= rs[i+1] {
				return true
			}
		}
		return false
	}
	lo, hi := 0, len(rs)/2
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case r < rs[2*m]:
			hi = m
		case r > rs[2*m+1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// emptyContext returns the empty-width flags that hold between runes r1 and r2 (-1 at
// either end of the text), as regexp/syntax.EmptyOpContext.
func emptyContext(r1, r2 rune) uint8 {
	op := uint8(emptyNoWordBoundary)
	var boundary bool
	switch {
	case isWordChar(r1):
		boundary = true
	case r1 == '\n':
		op |= emptyBeginLine
	case r1 < 0:
		op |= emptyBeginText | emptyBeginLine
	}
	switch {
	case isWordChar(r2):
		boundary = !boundary
	case r2 == '\n':
		op |= emptyEndLine
	case r2 < 0:
		op |= emptyEndText | emptyEndLine
	}
	if boundary {
		op ^= emptyWordBoundary | emptyNoWordBoundary
	}
	return op
}

func isWordChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
}

// Encoding of a program (inside a clause of the snapshot):
//
//	program = count:uvarint start:uvarint inst*
//	inst    = op:byte [out:uvarint] (alt:uvarint | flags:byte | n:uvarint (lo:uvarint hi-lo:uvarint)*)?

func appendRegexp(b []byte, re *Regexp) []byte {
	if re == nil {
		return appendUvarint(b, 0) // no program: Decode refuses it
	}
	b = appendUvarint(b, uint64(len(re.insts)))
	b = appendUvarint(b, uint64(re.start))
	for i := range re.insts {
		in := &re.insts[i]
		b = append(b, byte(in.op))
		if in.op == reFail || in.op == reMatch {
			continue
		}
		b = appendUvarint(b, uint64(in.out))
		switch in.op {
		case reAlt:
			b = appendUvarint(b, uint64(in.alt))
		case reEmpty:
			b = append(b, in.empty)
		case reRange:
			b = appendUvarint(b, uint64(len(in.ranges)/2))
			for j := 0; j < len(in.ranges); j += 2 {
				b = appendUvarint(b, uint64(in.ranges[j]))
				b = appendUvarint(b, uint64(in.ranges[j+1]-in.ranges[j]))
			}
		}
	}
	return b
}

// regexp reads and checks a program: every jump within the program, known instructions
// and flags, ranges sorted, disjoint and within Unicode.
func (r *reader) regexp() *Regexp {
	n := r.count()
	if r.err != nil {
		return nil
	}
	if n == 0 || n > MaxRegexpInsts {
		r.fail("regular expression program empty or too large")
		return nil
	}
	re := &Regexp{insts: make([]reInst, n)}
	re.start = uint32(r.below(n, "regular expression jump"))
	for i := range re.insts {
		in := &re.insts[i]
		in.op = reOp(r.byte())
		if in.op >= reOpEnd {
			r.fail("bad regular expression instruction")
			return nil
		}
		if in.op == reFail || in.op == reMatch {
			continue
		}
		in.out = uint32(r.below(n, "regular expression jump"))
		switch in.op {
		case reAlt:
			in.alt = uint32(r.below(n, "regular expression jump"))
		case reEmpty:
			in.empty = r.byte()
			if in.empty&^emptyAll != 0 {
				r.fail("bad regular expression flags")
			}
		case reRange:
			pairs := r.count()
			if pairs == 0 && r.err == nil {
				r.fail("empty regular expression range")
			}
			in.ranges = make([]rune, 2*pairs)
			for j := 0; j < len(in.ranges); j += 2 {
				lo, span := r.uvarint(), r.uvarint()
				if lo > utf8.MaxRune || span > utf8.MaxRune-lo || j > 0 && rune(lo) <= in.ranges[j-1] {
					r.fail("bad regular expression range")
					return nil
				}
				in.ranges[j], in.ranges[j+1] = rune(lo), rune(lo+span)
			}
		}
		if r.err != nil {
			return nil
		}
	}
	re.derive()
	return re
}

// derive computes what matching needs beyond the instructions: whether the program is
// anchored at the start, and the ASCII characters each instruction consumes.
func (re *Regexp) derive() {
	re.anchored = startsAnchored(re)
	for i := range re.insts {
		in := &re.insts[i]
		for c := rune(0); c < utf8.RuneSelf; c++ {
			if in.op >= reRange && in.op <= reAnyNotNL && in.consumes(c) {
				in.ascii[c>>6] |= 1 << (c & 63)
			}
		}
	}
}

// startsAnchored reports whether every path from the start passes a \A (or ^ outside
// multi-line mode) before consuming anything, following only the program's leading jumps.
func startsAnchored(re *Regexp) bool {
	pc := re.start
	for range re.insts {
		in := &re.insts[pc]
		switch in.op {
		case reEmpty:
			if in.empty&emptyBeginText != 0 {
				return true
			}
		case reNop:
		default:
			return false
		}
		pc = in.out
	}
	return false
}

// Len returns the number of instructions of the program.
func (re *Regexp) Len() int { return len(re.insts) }

// RegexpError reports a pattern that cannot be stored in a snapshot.
type RegexpError struct {
	Pattern string
	Reason  string
}

func (e *RegexpError) Error() string {
	return "regular expression " + quote(e.Pattern) + ": " + e.Reason
}
