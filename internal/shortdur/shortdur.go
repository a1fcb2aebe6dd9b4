// Package shortdur writes durations for people: as time.Duration.String does, without the
// zero units at the end ("1m" rather than "1m0s", "2h" rather than "2h0m0s"). The CLI's
// messages and the release dashboard's rollout stages both write durations with it.
package shortdur

import (
	"strings"
	"time"
)

// Format writes d as d.String() does, without trailing zero minutes and seconds.
func Format(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
