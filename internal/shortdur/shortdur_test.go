package shortdur_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/internal/shortdur"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{200 * time.Millisecond, "200ms"},
		{5 * time.Second, "5s"},
		{time.Minute, "1m"},
		{90 * time.Second, "1m30s"},
		{10 * time.Minute, "10m"},
		{time.Hour, "1h"},
		{time.Hour + time.Minute, "1h1m"},
		{time.Hour + time.Second, "1h0m1s"},
		{48 * time.Hour, "48h"},
	}
	for _, tt := range tests {
		if got := shortdur.Format(tt.d); got != tt.want {
			t.Errorf("Format(%v) = %s, want %s", tt.d, got, tt.want)
		}
	}
}

func ExampleFormat() {
	fmt.Println(shortdur.Format(30*time.Minute), shortdur.Format(2*time.Hour), shortdur.Format(1500*time.Millisecond))
	// Output: 30m 2h 1.5s
}
