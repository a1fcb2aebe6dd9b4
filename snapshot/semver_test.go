package snapshot

import "testing"

func TestParseSemver(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Semver
		ok   bool
	}{
		{"1.2.3", Semver{1, 2, 3, ""}, true},
		{"v0.0.0", Semver{0, 0, 0, ""}, true},
		{"V10.20.30-rc.1+build.5", Semver{10, 20, 30, "rc.1"}, true},
		{"2.0.0+build", Semver{2, 0, 0, ""}, true},
		{"922337203685477580.1.2", Semver{922337203685477580, 1, 2, ""}, true},
		{"9223372036854775808.1.2", Semver{9223372036854775808, 1, 2, ""}, true},
		{"92233720368547758080.1.2", Semver{}, false}, // over the limit of a number
		{"", Semver{}, false},
		{"v", Semver{}, false},
		{"1", Semver{}, false},
		{"1.", Semver{}, false},
		{"1.2", Semver{}, false},
		{"1.2.", Semver{}, false},
		{"1..3", Semver{}, false},
		{".1.2", Semver{}, false},
		{"01.2.3", Semver{}, false},
		{"1.02.3", Semver{}, false},
		{"1.2.03", Semver{}, false},
		{"1.2.3.4", Semver{}, false},
		{"1.2.3x", Semver{}, false},
		{"1.2.x", Semver{}, false},
		{"1.2.3-", Semver{}, false},
		{"1.2.3-01", Semver{}, false},
	} {
		got, ok := ParseSemver(tt.in)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("ParseSemver(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestSemverParseOverwrites checks that Parse into a Semver that holds a version leaves
// nothing of it behind.
func TestSemverParseOverwrites(t *testing.T) {
	v := Semver{9, 9, 9, "rc.1"}
	if !v.Parse("1.2.3") || v != (Semver{1, 2, 3, ""}) {
		t.Errorf("Parse(1.2.3) over a pre-release: %+v", v)
	}
}
