//go:build !wasip1

package snapshot

import (
	"regexp/syntax"
	"slices"
	"strconv"
	"unicode"
)

// CompileRegexp compiles an RE2 pattern (the syntax of package regexp) into a program for
// the snapshot. It parses, simplifies and compiles the pattern the way regexp.Compile
// does, then lowers the program to the VM's instructions: captures become plain jumps and
// case-folded literals become rune ranges, so matching needs no Unicode tables.
//
// Under GOOS=wasip1 CompileRegexp always fails: the WASM evaluator reads programs
// compiled natively and leaves regexp/syntax out (see regexp_wasip1.go).
func CompileRegexp(pattern string) (*Regexp, error) {
	ast, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(ast.Simplify())
	if err != nil {
		return nil, err
	}
	if len(prog.Inst) > MaxRegexpInsts {
		return nil, &RegexpError{Pattern: pattern, Reason: "compiles to " + strconv.Itoa(len(prog.Inst)) +
			" instructions, more than the limit of " + strconv.Itoa(MaxRegexpInsts)}
	}
	re := &Regexp{insts: make([]reInst, len(prog.Inst)), start: uint32(prog.Start)}
	for i, in := range prog.Inst {
		out := &re.insts[i]
		out.out = in.Out
		switch in.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			out.op, out.alt = reAlt, in.Arg
		case syntax.InstCapture, syntax.InstNop:
			out.op = reNop
		case syntax.InstEmptyWidth:
			out.op, out.empty = reEmpty, uint8(in.Arg)
		case syntax.InstMatch:
			out.op, out.out = reMatch, 0
		case syntax.InstFail:
			out.op, out.out = reFail, 0
		case syntax.InstRune1:
			out.op, out.ranges = reRange, []rune{in.Rune[0], in.Rune[0]}
		case syntax.InstRune:
			out.op, out.ranges = reRange, runeRanges(in)
		case syntax.InstRuneAny:
			out.op = reAny
		case syntax.InstRuneAnyNotNL:
			out.op = reAnyNotNL
		default:
			return nil, &RegexpError{Pattern: pattern, Reason: "unsupported instruction " + in.Op.String()}
		}
	}
	re.derive()
	return re, nil
}

// runeRanges returns the ranges an InstRune matches. A single rune is a literal, matched
// with its case folding orbit when the instruction folds case.
func runeRanges(in syntax.Inst) []rune {
	if len(in.Rune) != 1 {
		return slices.Clone(in.Rune)
	}
	r0 := in.Rune[0]
	orbit := []rune{r0}
	if syntax.Flags(in.Arg)&syntax.FoldCase != 0 {
		for r := unicode.SimpleFold(r0); r != r0; r = unicode.SimpleFold(r) {
			orbit = append(orbit, r)
		}
	}
	slices.Sort(orbit)
	var ranges []rune
	for _, r := range orbit {
		if n := len(ranges); n > 0 && ranges[n-1]+1 == r {
			ranges[n-1] = r
			continue
		}
		ranges = append(ranges, r, r)
	}
	return ranges
}
