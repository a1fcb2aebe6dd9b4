package tests

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/edgeflag/edgeflag/poller/storetest"
)

// lambdaEdgeZipLimit is Lambda@Edge's limit on a viewer-request function's package.
const lambdaEdgeZipLimit = 1 << 20

// TestLambdaEdgeTemplate checks template-edge.yaml: a published version of the function
// within Lambda@Edge's viewer-request limits, a role Lambda@Edge may assume, and the
// site distribution's viewer-request association with the body included, in us-east-1.
func TestLambdaEdgeTemplate(t *testing.T) {
	root := lambdaRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "template-edge.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ref := func(_ string, input any, _ any) any {
		if s, ok := input.(string); ok {
			if s == "AWS::Partition" {
				return "aws"
			}
			return "ref:" + s
		}
		return nil
	}
	getAtt := func(_ string, input any, _ any) any { s, _ := input.(string); return "getatt:" + s }
	sub := func(_ string, input any, _ any) any { s, _ := input.(string); return s }
	tpl, err := goformation.ParseYAMLWithOptions(data, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{"Ref": ref, "Fn::GetAtt": getAtt, "Fn::Sub": sub},
	})
	if err != nil {
		t.Fatalf("goformation: %v", err)
	}
	if !strings.Contains(string(data), "Assert: !Equals [!Ref \"AWS::Region\", us-east-1]") {
		t.Error("template-edge.yaml does not assert that it is deployed in us-east-1")
	}

	fn, err := tpl.GetServerlessFunctionWithName("EdgeFunction")
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case fn.Runtime == nil || !strings.HasPrefix(*fn.Runtime, "nodejs"):
		t.Errorf("Runtime %v, want a Node.js runtime", fn.Runtime)
	case fn.MemorySize == nil || *fn.MemorySize > 128:
		t.Errorf("MemorySize %v, Lambda@Edge viewer-request functions get at most 128 MB", fn.MemorySize)
	case fn.Timeout == nil || *fn.Timeout > 5:
		t.Errorf("Timeout %v, Lambda@Edge viewer-request functions get at most 5 s", fn.Timeout)
	case fn.Environment != nil:
		t.Error("Lambda@Edge functions have no environment variables: settings must be bundled")
	case fn.AutoPublishAlias == nil || *fn.AutoPublishAlias == "":
		t.Error("no AutoPublishAlias: CloudFront associates a published version")
	case fn.Handler == nil || *fn.Handler != "edge/lambda-edge/index.handler":
		t.Errorf("Handler %v, want edge/lambda-edge/index.handler (the package's layout)", fn.Handler)
	}
	if meta := fn.AWSCloudFormationMetadata; meta["BuildMethod"] != "makefile" {
		t.Errorf("EdgeFunction Metadata %v, want BuildMethod makefile", meta)
	}
	if mk, _ := os.ReadFile(filepath.Join(root, "Makefile")); !bytes.Contains(mk, []byte("\nbuild-EdgeFunction:")) {
		t.Error("the Makefile has no build-EdgeFunction target for sam build")
	}

	role, err := tpl.GetIAMRoleWithName("EdgeFunctionRole")
	if err != nil {
		t.Fatal(err)
	}
	if trust, _ := json.Marshal(role.AssumeRolePolicyDocument); !bytes.Contains(trust, []byte("edgelambda.amazonaws.com")) {
		t.Errorf("EdgeFunctionRole's trust policy %s does not let Lambda@Edge assume it", trust)
	}

	dist, err := tpl.GetCloudFrontDistributionWithName("SiteDistribution")
	if err != nil {
		t.Fatal(err)
	}
	b := dist.DistributionConfig.DefaultCacheBehavior
	if len(b.LambdaFunctionAssociations) != 1 {
		t.Fatalf("%d function associations, want the viewer-request one", len(b.LambdaFunctionAssociations))
	}
	a := b.LambdaFunctionAssociations[0]
	if a.EventType == nil || *a.EventType != "viewer-request" || a.IncludeBody == nil || !*a.IncludeBody ||
		a.LambdaFunctionARN == nil || *a.LambdaFunctionARN != "ref:EdgeFunction.Version" {
		t.Errorf("association %+v, want viewer-request of EdgeFunction.Version with the body", a)
	}
	if !slices.Contains(b.AllowedMethods, "POST") {
		t.Errorf("AllowedMethods %v: OFREP requests are POSTs", b.AllowedMethods)
	}
}

// TestLambdaEdgePackage builds the function's package as `sam build` and `make lambda-edge`
// do, checks that it fits Lambda@Edge's 1 MB, and runs the packaged handler against a store.
func TestLambdaEdgePackage(t *testing.T) {
	edgeRequireJS(t)
	root := edgeRoot(t)
	_, data := edgeExampleSnapshot(t, "production")
	store := storetest.New()
	defer store.Close()
	hash := store.Publish("production", data)

	cfg := filepath.Join(t.TempDir(), "config.json")
	build := func(config string) (string, []byte, error) {
		os.WriteFile(cfg, []byte(config), 0o644)
		dir := t.TempDir()
		cmd := exec.Command("bash", filepath.Join(root, "scripts/build-lambda-edge.sh"), dir)
		cmd.Env = append(os.Environ(), "EDGEFLAG_EDGE_CONFIG="+cfg, "EDGEFLAG_WASM="+edgeWasm(t))
		out, err := cmd.CombinedOutput()
		return dir, out, err
	}
	for _, bad := range []struct{ config, want string }{
		{`{"environment":"production"}`, "storeURL must be"},
		{`{"storeURL":"` + store.URL + `","environment":"Prod"}`, `environment "Prod"`},
		{`{"storeURL":"` + store.URL + `","wasmPath":"other.wasm"}`, "wasmPath must not be set"},
	} {
		if _, out, err := build(bad.config); err == nil || !strings.Contains(string(out), bad.want) {
			t.Errorf("config %s: %v %s, want a refusal naming %q", bad.config, err, out, bad.want)
		}
	}
	dir, out, err := build(`{"storeURL":"` + store.URL + `","environment":"production","pollIntervalMs":100}`)
	if err != nil {
		t.Fatalf("scripts/build-lambda-edge.sh: %v\n%s", err, out)
	}

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		w, err := zw.Create(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	})
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if buf.Len() > lambdaEdgeZipLimit {
		t.Errorf("the deployment zip is %d bytes, over Lambda@Edge's %d for viewer-request functions", buf.Len(), lambdaEdgeZipLimit)
	}
	t.Logf("Lambda@Edge deployment zip: %d bytes (limit %d)", buf.Len(), lambdaEdgeZipLimit)

	// The packaged handler, as the Lambda runtime loads it from /var/task.
	event := edgeEvent(t, "flags-request.json")
	script := `import { handler } from "./edge/lambda-edge/index.mjs";
const r = await handler(JSON.parse(process.argv[1]));
console.log(JSON.stringify(r));`
	cmd := exec.Command("node", "--input-type=module", "-e", script, string(event))
	cmd.Dir = dir
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("the packaged handler: %v\n%s", err, res)
	}
	var answer struct{ Status, Body string }
	if err := json.Unmarshal(res, &answer); err != nil || answer.Status != "200" || !strings.Contains(answer.Body, hash) {
		t.Fatalf("the packaged handler answered %.500s (%v), want the flags of snapshot %s", res, err, hash)
	}
}
