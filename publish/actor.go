package publish

import "os"

// Actor names whoever runs a publish or a rollback, for the audit trail, from the
// environment (looked up with getenv): in GitHub Actions
// "github-actions:<owner/repo>@<sha> by <actor>", else "<user>@<host>".
func Actor(getenv func(string) string) string {
	if getenv("GITHUB_ACTIONS") == "true" {
		who := "github-actions:" + getenv("GITHUB_REPOSITORY") + "@" + getenv("GITHUB_SHA")
		if a := getenv("GITHUB_ACTOR"); a != "" {
			who += " by " + a
		}
		return who
	}
	user := getenv("USER")
	if user == "" {
		user = getenv("USERNAME")
	}
	if user == "" {
		user = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return user
	}
	return user + "@" + host
}
