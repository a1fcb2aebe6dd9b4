package publish_test

import (
	"os"
	"testing"

	"github.com/edgeflag/edgeflag/publish"
)

func TestActor(t *testing.T) {
	host, _ := os.Hostname()
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/flags", "GITHUB_SHA": "6076884", "GITHUB_ACTOR": "ana"},
			"github-actions:acme/flags@6076884 by ana"},
		{map[string]string{"USER": "ana"}, "ana@" + host},
		{map[string]string{"USERNAME": "bo"}, "bo@" + host},
		{map[string]string{}, "unknown@" + host},
	}
	for _, tt := range tests {
		if got := publish.Actor(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("Actor(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
}
