package compiler

import (
	"fmt"
	"strings"
)

// segmentCycles reports segments that refer to themselves through other segments, and
// chains of segment references deeper than maxChainDepth.
func segmentCycles(p *Project, refs map[string][]segRef) []*Error {
	var errs []*Error
	state := map[string]int{} // 0 unvisited, 1 on the stack, 2 done
	depth := map[string]int{}
	over := map[string]bool{}
	var stack []string
	var visit func(k string)
	visit = func(k string) {
		state[k] = 1
		stack = append(stack, k)
		d, childOver := 1, false
		for _, r := range refs[k] {
			if _, known := refs[r.key]; !known {
				continue // unknown segments are reported where they are referenced
			}
			switch state[r.key] {
			case 1:
				errs = append(errs, &Error{File: r.pos.File, Line: r.pos.Line, Column: r.pos.Column, Path: r.path,
					Message: "segment reference cycle: " + cycleText(stack, r.key)})
				continue
			case 0:
				visit(r.key)
			}
			d = max(d, depth[r.key]+1)
			childOver = childOver || over[r.key]
		}
		depth[k], state[k] = d, 2
		stack = stack[:len(stack)-1]
		if d > maxChainDepth {
			over[k] = true
			if !childOver {
				if s := p.Segment(k); s != nil {
					errs = append(errs, &Error{File: s.File, Line: s.Line, Column: s.Column, Path: "key",
						Message: fmt.Sprintf("segment %q starts a chain of segment references more than %d deep", k, maxChainDepth)})
				}
			}
		}
	}
	for _, s := range p.Segments {
		if state[s.Key] == 0 {
			visit(s.Key)
		}
	}
	return errs
}

// prerequisiteCycles reports flags that depend on themselves through their
// prerequisites, in any environment, and prerequisite chains deeper than maxChainDepth.
func prerequisiteCycles(p *Project) []*Error {
	envs := p.Environments
	if len(envs) == 0 {
		envs = []string{""}
	}
	var errs []*Error
	for _, env := range envs {
		errs = append(errs, prerequisiteCyclesIn(p, env)...)
	}
	return errs
}

type prereqEdge struct {
	to       string
	pos      Pos
	path     string
	override bool // the edge comes from an environment override
}

func prerequisiteCyclesIn(p *Project, env string) []*Error {
	edges := func(f *Flag) []prereqEdge {
		list, base, override := f.Prerequisites, "prerequisites", false
		if o := f.Override(env); o != nil && o.Prerequisites != nil {
			list, base, override = o.Prerequisites, field(field("environments", env), "prerequisites"), true
		}
		out := make([]prereqEdge, 0, len(list))
		for i, pr := range list {
			if pr.Flag == f.Key || p.Flag(pr.Flag) == nil {
				continue // reported by the decoder
			}
			out = append(out, prereqEdge{to: pr.Flag, pos: pr.Pos, path: field(index(base, i), "flag"), override: override})
		}
		return out
	}
	var errs []*Error
	state := map[string]int{}
	depth := map[string]int{}
	over := map[string]bool{}
	var stack []string
	var viaOverride []bool // viaOverride[i]: the edge into stack[i] came from an override
	var visit func(f *Flag, in bool)
	visit = func(f *Flag, in bool) {
		state[f.Key] = 1
		stack = append(stack, f.Key)
		viaOverride = append(viaOverride, in)
		d, childOver := 1, false
		for _, e := range edges(f) {
			switch state[e.to] {
			case 1:
				msg := "prerequisite cycle: " + cycleText(stack, e.to)
				start := indexOf(stack, e.to)
				envSpecific := e.override
				for _, o := range viaOverride[start+1:] {
					envSpecific = envSpecific || o
				}
				if envSpecific && env != "" {
					msg += fmt.Sprintf(" in environment %q", env)
				}
				errs = append(errs, &Error{File: e.pos.File, Line: e.pos.Line, Column: e.pos.Column, Path: e.path, Message: msg})
				continue
			case 0:
				visit(p.Flag(e.to), e.override)
			}
			d = max(d, depth[e.to]+1)
			childOver = childOver || over[e.to]
		}
		depth[f.Key], state[f.Key] = d, 2
		stack = stack[:len(stack)-1]
		viaOverride = viaOverride[:len(viaOverride)-1]
		if d > maxChainDepth {
			over[f.Key] = true
			if !childOver {
				errs = append(errs, &Error{File: f.File, Line: f.Line, Column: f.Column, Path: "key",
					Message: fmt.Sprintf("flag %q starts a chain of prerequisites more than %d deep", f.Key, maxChainDepth)})
			}
		}
	}
	for _, f := range p.Flags {
		if state[f.Key] == 0 {
			visit(f, false)
		}
	}
	return errs
}

func indexOf(stack []string, k string) int {
	for i, s := range stack {
		if s == k {
			return i
		}
	}
	return 0
}

// cycleText writes the cycle that closes at k: k → ... → k.
func cycleText(stack []string, k string) string {
	cycle := append(append([]string{}, stack[indexOf(stack, k):]...), k)
	return strings.Join(cycle, " → ")
}
