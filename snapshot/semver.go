package snapshot

// Semver is a parsed semantic version (SemVer 2.0). Pre holds the pre-release part without
// its leading '-'; build metadata is dropped because it does not affect precedence.
type Semver struct {
	Major, Minor, Patch uint64
	Pre                 string
}

// ParseSemver parses "1.2.3", "v1.2.3", "1.2.3-rc.1+build.5". It does not allocate.
func ParseSemver(s string) (Semver, bool) {
	var v Semver
	ok := v.Parse(s)
	return v, ok
}

// Parse is ParseSemver into v, whose fields it overwrites (all of them when it succeeds):
// for callers that keep a Semver rather than copy one (in the WASM module a copy of a
// Semver is a call).
func (v *Semver) Parse(s string) bool {
	v.Pre = ""
	if len(s) > 0 && (s[0] == 'v' || s[0] == 'V') {
		s = s[1:]
	}
	var core [3]uint64
	i := 0
	for k := range core {
		if k > 0 {
			if i == len(s) || s[i] != '.' {
				return false
			}
			i++
		}
		start := i
		var n uint64
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if n > (1<<63)/10 {
				return false
			}
			n = n*10 + uint64(s[i]-'0')
			i++
		}
		if i == start || (i > start+1 && s[start] == '0') { // no digits, or a leading zero
			return false
		}
		core[k] = n
	}
	v.Major, v.Minor, v.Patch = core[0], core[1], core[2]
	s = s[i:]
	if len(s) > 0 && s[0] == '-' {
		end := len(s)
		for i := 1; i < len(s); i++ {
			if s[i] == '+' {
				end = i
				break
			}
		}
		v.Pre = s[1:end]
		if !validIdentifiers(v.Pre, true) {
			return false
		}
		s = s[end:]
	}
	if len(s) > 0 {
		if s[0] != '+' || !validIdentifiers(s[1:], false) {
			return false
		}
	}
	return true
}

// validIdentifiers checks dot-separated [0-9A-Za-z-]+ identifiers; numeric pre-release
// identifiers must not have leading zeros.
func validIdentifiers(s string, pre bool) bool {
	if s == "" {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			id := s[start:i]
			if id == "" {
				return false
			}
			if pre && isNumeric(id) && len(id) > 1 && id[0] == '0' {
				return false
			}
			start = i + 1
			continue
		}
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return false
		}
	}
	return true
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// Compare returns -1, 0 or +1 by SemVer 2.0 precedence.
func (v Semver) Compare(w Semver) int { return CompareSemvers(&v, &w) }

// CompareSemvers is v.Compare(w) for pointers, without copying either.
func CompareSemvers(v, w *Semver) int {
	if c := cmpUint(v.Major, w.Major); c != 0 {
		return c
	}
	if c := cmpUint(v.Minor, w.Minor); c != 0 {
		return c
	}
	if c := cmpUint(v.Patch, w.Patch); c != 0 {
		return c
	}
	switch {
	case v.Pre == "" && w.Pre == "":
		return 0
	case v.Pre == "":
		return 1
	case w.Pre == "":
		return -1
	}
	a, b := v.Pre, w.Pre
	for {
		ia, ra := nextIdentifier(a)
		ib, rb := nextIdentifier(b)
		if c := compareIdentifier(ia, ib); c != 0 {
			return c
		}
		a, b = ra, rb
		switch {
		case a == "" && b == "":
			return 0
		case a == "":
			return -1
		case b == "":
			return 1
		}
	}
}

func nextIdentifier(s string) (string, string) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func compareIdentifier(a, b string) int {
	na, nb := isNumeric(a), isNumeric(b)
	switch {
	case na && nb:
		if len(a) != len(b) {
			return cmpInt(len(a), len(b))
		}
		return cmpString(a, b)
	case na:
		return -1
	case nb:
		return 1
	}
	return cmpString(a, b)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
