package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// publishWorkflow is the part of .github/workflows/flags.yml the tests read.
type publishWorkflow struct {
	On struct {
		PullRequest struct {
			Paths []string `yaml:"paths"`
		} `yaml:"pull_request"`
		Push struct {
			Branches []string `yaml:"branches"`
			Paths    []string `yaml:"paths"`
		} `yaml:"push"`
	} `yaml:"on"`
	Permissions map[string]string `yaml:"permissions"`
	Jobs        map[string]struct {
		If          string            `yaml:"if"`
		Permissions map[string]string `yaml:"permissions"`
		Concurrency struct {
			Group            string `yaml:"group"`
			CancelInProgress bool   `yaml:"cancel-in-progress"`
		} `yaml:"concurrency"`
		Steps []struct {
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]string `yaml:"with"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func publishReadWorkflow(t *testing.T) publishWorkflow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(lambdaRoot(t), ".github", "workflows", "flags.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf publishWorkflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("flags.yml: %v", err)
	}
	return wf
}

// publishMakeTargets returns the make targets a job's run steps call, in order; every
// run step must be a make call, so that CI does what the tests do.
func publishMakeTargets(t *testing.T, job string, wf publishWorkflow) []string {
	t.Helper()
	var targets []string
	for _, s := range wf.Jobs[job].Steps {
		if s.Run == "" {
			continue
		}
		fields := strings.Fields(s.Run)
		if len(fields) < 2 || fields[0] != "make" {
			t.Errorf("job %s runs %q: every step must call a make target", job, s.Run)
			continue
		}
		targets = append(targets, fields[1])
	}
	return targets
}

func TestWorkflowShape(t *testing.T) {
	wf := publishReadWorkflow(t)
	if !slices.Contains(wf.On.PullRequest.Paths, "flags/**") || !slices.Equal(wf.On.Push.Branches, []string{"main"}) {
		t.Errorf("triggers: pull_request paths %v, push branches %v", wf.On.PullRequest.Paths, wf.On.Push.Branches)
	}
	if wf.Permissions["contents"] != "read" || len(wf.Permissions) != 1 {
		t.Errorf("default permissions %v, want contents: read only", wf.Permissions)
	}
	review, publishJob := wf.Jobs["review"], wf.Jobs["publish"]
	if !strings.Contains(review.If, "pull_request") || !strings.Contains(publishJob.If, "refs/heads/main") {
		t.Errorf("review runs if %q, publish if %q", review.If, publishJob.If)
	}
	if got := publishMakeTargets(t, "review", wf); !slices.Equal(got, []string{"flags-review"}) {
		t.Errorf("review calls %v, want [flags-review]", got)
	}
	if got := publishMakeTargets(t, "publish", wf); !slices.Equal(got, []string{"flags-publish"}) {
		t.Errorf("publish calls %v, want [flags-publish]", got)
	}
	if publishJob.Permissions["id-token"] != "write" || review.Permissions["id-token"] != "" {
		t.Errorf("only the publish job may request an OIDC token: review %v, publish %v", review.Permissions, publishJob.Permissions)
	}
	if publishJob.Concurrency.Group == "" || publishJob.Concurrency.CancelInProgress {
		t.Error("publishes must run one at a time and never be cancelled half-way")
	}
	oidc := false
	for _, s := range publishJob.Steps {
		if strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@") {
			oidc = s.With["role-to-assume"] != "" && s.With["aws-access-key-id"] == ""
		}
	}
	if !oidc {
		t.Error("the publish job must assume a role with aws-actions/configure-aws-credentials (OIDC, no keys)")
	}
}

// publishMake runs a make target in the repository and returns its output.
func publishMake(t *testing.T, args ...string) string {
	t.Helper()
	root := lambdaRoot(t)
	target := args[0]
	if out, err := exec.Command("make", "-C", root, "-n", target).CombinedOutput(); err != nil {
		t.Fatalf("the Makefile has no target %s, which .github/workflows/flags.yml calls (docs/deploy.md lists it): %v\n%s", target, err, out)
	}
	cmd := exec.Command("make", append([]string{"-C", root, "--no-print-directory"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestWorkflowTargets runs the make targets of the workflow as CI does: the pull request
// review on the repository's flags, then compile-and-publish into a directory store,
// twice; the second publish must change nothing.
func TestWorkflowTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the workflow's make targets")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is required")
	}
	publishMake(t, "flags-review", "BASE_REF=HEAD")

	ctx := context.Background()
	dir := t.TempDir()
	publishMake(t, "flags-publish", "STORE="+dir)
	st, err := store.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	pointerKey := regexp.MustCompile(`^([a-z0-9][a-z0-9_-]*)/current\.json$`)
	etags := map[string]string{}
	for _, k := range keys {
		m := pointerKey.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		ptr, etag, err := publish.ReadPointer(ctx, st, m[1])
		if err != nil {
			t.Fatal(err)
		}
		obj, err := st.Get(ctx, layout.SnapshotKey(ptr.Snapshot), store.GetOptions{})
		if err != nil {
			t.Fatalf("%s names a missing snapshot: %v", k, err)
		}
		s, err := snapshot.Decode(obj.Data)
		if err != nil || s.Environment != m[1] {
			t.Fatalf("%s: snapshot %s does not decode as %s: %v", k, ptr.Snapshot, m[1], err)
		}
		etags[k] = etag
	}
	if len(etags) == 0 {
		t.Fatalf("make flags-publish published no environment; the store holds %v", keys)
	}

	publishMake(t, "flags-publish", "STORE="+dir)
	again, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys, again) {
		t.Errorf("publishing the same flags again wrote objects: %v -> %v", keys, again)
	}
	for k, etag := range etags {
		obj, err := st.Get(ctx, k, store.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if obj.ETag != etag {
			t.Errorf("publishing the same flags again moved %s", k)
		}
	}
}
