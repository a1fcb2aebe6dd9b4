package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"testing"
)

func TestSum256MatchesCryptoSHA256(t *testing.T) {
	for n := 0; n < 300; n++ {
		data := bytes.Repeat([]byte{byte(n)}, n)
		if got, want := sum256(data), sha256.Sum256(data); got != want {
			t.Fatalf("length %d: %x, want %x", n, got, want)
		}
	}
}

func TestVarintsMatchEncodingBinary(t *testing.T) {
	values := []int64{0, 1, -1, 63, -64, 64, 127, 128, 300, -300, math.MaxInt64, math.MinInt64, 1 << 40}
	for _, v := range values {
		if got, want := appendVarint(nil, v), binary.AppendVarint(nil, v); !bytes.Equal(got, want) {
			t.Errorf("varint %d: %x, want %x", v, got, want)
		}
		if got, n := varint(binary.AppendVarint(nil, v)); got != v || n <= 0 {
			t.Errorf("decode varint %d: %d (%d)", v, got, n)
		}
		u := uint64(v)
		if got, want := appendUvarint(nil, u), binary.AppendUvarint(nil, u); !bytes.Equal(got, want) {
			t.Errorf("uvarint %d: %x, want %x", u, got, want)
		}
	}
	if _, n := uvarint([]byte{0x80, 0x80}); n > 0 {
		t.Error("truncated varint accepted")
	}
	if _, n := uvarint(bytes.Repeat([]byte{0xff}, 11)); n > 0 {
		t.Error("overlong varint accepted")
	}
}

func sample() *Snapshot {
	return &Snapshot{
		Environment: "production", Revision: "abc123", BuildTime: 1764000000,
		Attributes: []string{"email", "userId"},
		Segments: []Segment{{Key: "internal", When: Condition{Kind: CondClause, Clause: Clause{
			Attribute: 0, Op: OpEndsWith, IgnoreCase: true, Values: []Literal{{Kind: LitString, Str: "@company.com"}}}}}},
		Flags: []Flag{{
			Key: "new-search-algorithm", Type: TypeBoolean, Enabled: true,
			Variants:   []Variant{{Name: "off", JSON: "false"}, {Name: "on", JSON: "true"}},
			Seed:       SeedFor("new-search-algorithm"),
			BucketBy:   1,
			Rules:      []Rule{{Name: "staff", When: &Condition{Kind: CondSegment, Segment: 0}, Serve: Serve{Kind: ServeVariant, Variant: 1}}},
			Rings:      []Ring{{Name: "canary", Portion: Portion{Kind: PortionPercentage, Threshold: ThresholdFor(5), BucketBy: NoIndex}}},
			ReleaseVar: 1, ReleaseRing: 0,
			Rollout: Serve{Kind: ServeVariant, Portion: Portion{Kind: PortionSchedule, BucketBy: NoIndex,
				Steps: []Step{{At: 1, Threshold: 100}, {At: 2, Threshold: BucketCount}}}},
		}},
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	data := Encode(sample())
	if !bytes.Equal(data, Encode(sample())) {
		t.Fatal("Encode is not deterministic")
	}
	s, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if again := Encode(s); !bytes.Equal(again, data) {
		t.Fatal("Decode then Encode changed the bytes")
	}
	h, err := Hash(data)
	if err != nil || len(h) != 64 {
		t.Fatalf("Hash = %q, %v", h, err)
	}
	if s.Flags[0].Rings[0].Portion.Threshold != 50000 {
		t.Errorf("threshold = %d", s.Flags[0].Rings[0].Portion.Threshold)
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	good := Encode(sample())
	rehash := func(b []byte) []byte {
		sum := sum256(b[headerSize:])
		copy(b[8:headerSize], sum[:])
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated header"},
		{"bad magic", append([]byte("NOPE"), good[4:]...), "bad magic"},
		{"future format", func() []byte { b := bytes.Clone(good); b[4] = 9; return b }(), "unsupported format version 9"},
		{"other bucketing", func() []byte { b := bytes.Clone(good); b[6] = 2; return b }(), "unsupported bucketing version 2"},
		{"corrupted payload", func() []byte { b := bytes.Clone(good); b[len(b)-1] ^= 0xff; return b }(), "content hash mismatch"},
		{"trailing bytes", rehash(append(bytes.Clone(good), 0)), "trailing bytes"},
		{"truncated payload", rehash(bytes.Clone(good[:len(good)-3])), ""},
	}
	for _, tt := range tests {
		_, err := Decode(tt.data)
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	for n := 0; n < len(good); n++ {
		if _, err := Decode(rehash(bytes.Clone(good[:max(n, headerSize)]))); err == nil && n < len(good) {
			if n >= headerSize {
				t.Fatalf("prefix of %d bytes decoded", n)
			}
		}
	}
}

// TestDecodeVerified: DecodeVerified checks the header and validates the payload as
// Decode does, but does not hash the payload: a payload under another snapshot's header,
// which Decode refuses, decodes — the caller has vouched for the bytes.
func TestDecodeVerified(t *testing.T) {
	good := Encode(sample())
	other := sample()
	other.Revision = "other-revision"
	forged := append(bytes.Clone(good[:headerSize]), Encode(other)[headerSize:]...)
	tests := []struct {
		name                  string
		data                  []byte
		wantDecode, wantTrust string // error substrings; "" decodes
		wantRevision          string
	}{
		{"good", good, "", "", sample().Revision},
		{"forged payload", forged, "content hash mismatch", "", "other-revision"},
		{"bad magic", append([]byte("NOPE"), good[4:]...), "bad magic", "bad magic", ""},
		{"future format", func() []byte { b := bytes.Clone(good); b[4] = 9; return b }(), "unsupported format version 9", "unsupported format version 9", ""},
		{"truncated header", good[:headerSize-1], "truncated header", "truncated header", ""},
		{"truncated payload", good[:len(good)-3], "content hash mismatch", "at byte", ""},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			name   string
			decode func([]byte) (*Snapshot, error)
			want   string
		}{{"Decode", Decode, tt.wantDecode}, {"DecodeVerified", DecodeVerified, tt.wantTrust}} {
			s, err := c.decode(tt.data)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("%s(%s): %v", c.name, tt.name, err)
			case c.want == "" && s.Revision != tt.wantRevision:
				t.Errorf("%s(%s): revision %q, want %q", c.name, tt.name, s.Revision, tt.wantRevision)
			case c.want != "" && (err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.want))):
				t.Errorf("%s(%s): err = %v, want %q", c.name, tt.name, err, c.want)
			}
		}
	}
}

func TestDecodeRejectsCycles(t *testing.T) {
	s := sample()
	s.Flags = append(s.Flags, s.Flags[0])
	s.Flags[1].Key = "zz"
	s.Flags[0].Prerequisites = []Prerequisite{{Flag: 1, Variant: 1}}
	s.Flags[1].Prerequisites = []Prerequisite{{Flag: 0, Variant: 1}}
	if _, err := Decode(Encode(s)); err == nil || !bytes.Contains([]byte(err.Error()), []byte("prerequisite cycle")) {
		t.Fatalf("err = %v", err)
	}
	s = sample()
	s.Segments = append(s.Segments, Segment{Key: "loop", When: Condition{Kind: CondSegment, Segment: 1}})
	if _, err := Decode(Encode(s)); err == nil || !bytes.Contains([]byte(err.Error()), []byte("segment reference cycle")) {
		t.Fatalf("err = %v", err)
	}
}

func TestBucketMonotonicThresholds(t *testing.T) {
	for _, p := range []float64{0, 0.0001, 0.01, 0.1, 1, 5, 12.5, 25, 50, 99.9999, 100} {
		if got := PercentageOf(ThresholdFor(p)); math.Abs(got-p) > 1e-9 {
			t.Errorf("ThresholdFor(%v) round-trips to %v", p, got)
		}
	}
}
