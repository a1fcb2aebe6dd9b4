package protocol

import (
	"math"
	"strconv"
	"testing"
)

func TestParseNumber(t *testing.T) {
	exact := []string{"0", "-0", "1", "-1", "42", "400", "0.5", "3.14", "1e3", "1E+3", "2.5e-3",
		"123456789012345", "9007199254740991", "1e22", "1e-22", "0.1", "-17.25", "1e300", "1e-300"}
	for _, s := range exact {
		want, _ := strconv.ParseFloat(s, 64)
		got := parseNumber(s)
		if s == "1e300" || s == "1e-300" {
			if math.Abs(got-want) > math.Abs(want)*1e-15 {
				t.Errorf("parseNumber(%s) = %v, want about %v", s, got, want)
			}
			continue
		}
		if got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("parseNumber(%s) = %v, want %v", s, got, want)
		}
	}
	if f := parseNumber("1e999"); !math.IsInf(f, 1) {
		t.Errorf("1e999 = %v, want +Inf", f)
	}
	if f := parseNumber("1e-400"); f != 0 {
		t.Errorf("1e-400 = %v, want 0", f)
	}
}
