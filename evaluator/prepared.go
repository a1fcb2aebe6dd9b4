package evaluator

import "github.com/edgeflag/edgeflag/snapshot"

// prepared is a snapshot with what evaluation derives from it once, when it is installed:
// a hash index of the flag keys and the beginning of every result's JSON.
type prepared struct {
	snap *snapshot.Snapshot
	// slots is an open-addressing hash table of flag indexes plus one (0: empty slot),
	// its length a power of two at least twice the number of flags.
	slots []int32
	// heads[first[f]+v] is the JSON that every result of flag f serving variant v starts
	// with: `{"key":…,"value":…,"variant":…,"reason":`.
	first []int32
	heads []string
	// splitNeeds[a] is the message of a split that cannot bucket for want of attribute a,
	// made once so that an error result does not allocate.
	splitNeeds []string
}

// splitNeedsPrefix starts the message of a split whose bucketing attribute is missing.
const splitNeedsPrefix = "split needs attribute "

func prepare(s *snapshot.Snapshot) *prepared {
	if s == nil {
		return nil
	}
	p := &prepared{snap: s, first: make([]int32, len(s.Flags))}
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
		p.first[i] = int32(n)
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

// head returns the JSON head of flag i serving variant v.
func (p *prepared) head(i, v int) string {
	return p.heads[int(p.first[i])+v]
}
