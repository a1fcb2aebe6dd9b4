package evaluator

import "github.com/edgeflag/edgeflag/snapshot"

// prepared is a snapshot with what evaluation derives from it once, when it is installed:
// a hash index of the flag keys and the beginning of every result's JSON.
type prepared struct {
	snap *snapshot.Snapshot
	// slots is an open-addressing hash table of flag indexes plus one (0: empty slot),
	// its length a power of two at least twice the number of flags.
	slots []int32
	// heads[flags[f].first+v] is the JSON that every result of flag f serving variant v
	// starts with: `{"key":…,"value":…,"variant":…,"reason":`.
	heads []string
	// flags[f] is what the JSON of flag f's results is written from besides heads.
	flags []preparedFlag
	// splitNeeds[a] is the message of a split that cannot bucket for want of attribute a,
	// made once so that an error result does not allocate.
	splitNeeds []string
}

// preparedFlag is the JSON of one flag's results that does not depend on the context.
type preparedFlag struct {
	first int32 // index of the flag's first head
	// fixed is the whole result of a flag whose answer depends on no context (disabled,
	// killed, or static), fixedStale the same with reason STALE, fixedVariant its variant;
	// all "" otherwise.
	fixed, fixedStale, fixedVariant string
	// names[j] is `,"name":<name>` of rule j, names[len(Rules)+j] that of ring j ("" for
	// an empty name).
	names []string

	_ [0]func() // not comparable: no equality function in the WASM module
}

// splitNeedsPrefix starts the message of a split whose bucketing attribute is missing.
const splitNeedsPrefix = "split needs attribute "

func prepare(s *snapshot.Snapshot) *prepared {
	if s == nil {
		return nil
	}
	p := &prepared{snap: s, flags: make([]preparedFlag, len(s.Flags))}
	size := 4
	for size < 2*len(s.Flags) {
		size *= 2
	}
	p.slots = make([]int32, size)
	n := 0
	for i := range s.Flags {
		h := keyHash(s.Flags[i].Key) & uint32(size-1)
		for p.slots[h] != 0 {
			h = (h + 1) & uint32(size-1)
		}
		p.slots[h] = int32(i + 1)
		p.flags[i].first = int32(n)
		n += len(s.Flags[i].Variants)
	}
	// All the heads share one string.
	var text []byte
	offsets := make([]int, 0, n+1)
	for i := range s.Flags {
		f := &s.Flags[i]
		for _, v := range f.Variants {
			offsets = append(offsets, len(text))
			text = append(text, `{"key":`...)
			text = appendJSONString(text, f.Key)
			text = append(text, `,"value":`...)
			text = append(text, v.JSON...)
			text = append(text, `,"variant":`...)
			text = appendJSONString(text, v.Name)
			text = append(text, `,"reason":`...)
		}
	}
	offsets = append(offsets, len(text))
	all := string(text)
	p.heads = make([]string, n)
	for k := range p.heads {
		p.heads[k] = all[offsets[k]:offsets[k+1]]
	}
	for i := range s.Flags {
		p.prepareFlag(i)
	}
	p.splitNeeds = make([]string, len(s.Attributes))
	for a, name := range s.Attributes {
		p.splitNeeds[a] = splitNeedsPrefix + name
	}
	return p
}

// flagIndex returns the index of the flag with the given key, or -1.
func (p *prepared) flagIndex(key string) int {
	mask := uint32(len(p.slots) - 1)
	for h := keyHash(key) & mask; ; h = (h + 1) & mask {
		i := int(p.slots[h]) - 1
		if i < 0 {
			return -1
		}
		if p.snap.Flags[i].Key == key {
			return i
		}
	}
}

// keyHash mixes a key's length with its first and last four bytes: cheap, and enough to
// spread flag keys, which rarely share all three; flagIndex compares the keys it finds.
func keyHash(key string) uint32 {
	h := uint32(len(key)) * 0x9e3779b1
	n := len(key)
	for i := 0; i < 4 && i < n; i++ {
		h = (h ^ uint32(key[i])) * 0x01000193
		h = (h ^ uint32(key[n-1-i])) * 0x01000193
	}
	return h ^ h>>15
}

// prepareFlag writes the JSON of flag i's rule and ring names, and its whole result when no
// context can change it.
func (p *prepared) prepareFlag(i int) {
	f, pf := &p.snap.Flags[i], &p.flags[i]
	pf.names = make([]string, 0, len(f.Rules)+len(f.Rings))
	for j := range f.Rules {
		pf.names = append(pf.names, nameJSON(f.Rules[j].Name))
	}
	for j := range f.Rings {
		pf.names = append(pf.names, nameJSON(f.Rings[j].Name))
	}
	if f.Enabled && !f.Killed && (len(f.Prerequisites) > 0 || len(f.Rules) > 0 || f.ReleaseRing >= 0 ||
		f.Rollout.Kind != snapshot.ServeVariant || f.Rollout.Portion.Kind != snapshot.PortionAll) {
		return
	}
	// No context changes the result (decide reads none): write it once, the way
	// appendFlag writes it while fixed is unset.
	st := state{snap: p.snap, prep: p}
	var r Result
	fixed, variant, _ := st.appendFlag(nil, i, false, &r)
	fixedStale, _, _ := st.appendFlag(nil, i, true, &r)
	pf.fixed, pf.fixedStale = string(fixed), string(fixedStale)
	pf.fixedVariant = variant
}

// nameJSON returns `,"name":<name>`, or "" for an empty name.
func nameJSON(name string) string {
	if name == "" {
		return ""
	}
	return string(appendJSONString([]byte(`,"name":`), name))
}
