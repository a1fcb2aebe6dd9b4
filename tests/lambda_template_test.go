package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
	"go.yaml.in/yaml/v4"

	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// lambdaTemplate parses template.yaml with goformation. Ref to a resource becomes
// "ref:<name>" so that tests can see what points where.
//
// goformation v7.14.9 does not know the SAM property HttpApi Auth.EnableIamAuthorizer,
// which SAM requires for AWS_IAM: the test checks it in the YAML itself, then drops it
// before handing the template to goformation.
func lambdaTemplate(t *testing.T) *cloudformation.Template {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(lambdaRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	auth := yamlPath(t, doc.Content[0], "Resources", "KillSwitchApi", "Properties", "Auth")
	if v := yamlPath(t, auth, "EnableIamAuthorizer"); v.Value != "true" {
		t.Errorf("KillSwitchApi Auth.EnableIamAuthorizer = %q, want true (SAM needs it for AWS_IAM)", v.Value)
	}
	for i := 0; i < len(auth.Content); i += 2 {
		if auth.Content[i].Value == "EnableIamAuthorizer" {
			auth.Content = slices.Delete(auth.Content, i, i+2)
			break
		}
	}
	data, err = yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(name string, input any, template any) any {
		if v := intrinsics.Ref(name, input, template); v != nil {
			return v
		}
		if s, ok := input.(string); ok {
			if s == "AWS::Partition" {
				return "aws"
			}
			return "ref:" + s
		}
		return nil
	}
	// Fn::GetAtt resolves to "getatt:Resource.Attribute".
	getAtt := func(name string, input any, template any) any {
		switch v := input.(type) {
		case string:
			return "getatt:" + v
		case []any:
			parts := make([]string, len(v))
			for i, p := range v {
				parts[i], _ = p.(string)
			}
			return "getatt:" + strings.Join(parts, ".")
		}
		return nil
	}
	// Fn::Sub resolves ${X} with the Ref above (goformation's own Sub would not).
	variable := regexp.MustCompile(`\$\{([.:0-9A-Za-z]+)\}`)
	sub := func(name string, input any, template any) any {
		s, ok := input.(string)
		if !ok {
			return intrinsics.FnSub(name, input, template)
		}
		return variable.ReplaceAllStringFunc(s, func(m string) string {
			v := variable.FindStringSubmatch(m)[1]
			if strings.Contains(v, ".") {
				return "getatt:" + v
			}
			r, _ := ref("Ref", v, template).(string)
			return r
		})
	}
	tpl, err := goformation.ParseYAMLWithOptions(data, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{"Ref": ref, "Fn::Sub": sub, "Fn::GetAtt": getAtt},
	})
	if err != nil {
		t.Fatalf("goformation: %v", err)
	}
	return tpl
}

// yamlPath follows mapping keys from n.
func yamlPath(t *testing.T, n *yaml.Node, keys ...string) *yaml.Node {
	t.Helper()
	for _, k := range keys {
		var next *yaml.Node
		for i := 0; n.Kind == yaml.MappingNode && i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			t.Fatalf("template.yaml has no %s", strings.Join(keys, "."))
		}
		n = next
	}
	return n
}

// lambdaRoot is the repository root (tests run in tests/).
func lambdaRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// lambdaGeneric round-trips v through JSON into maps and slices, for properties that
// goformation types loosely.
func lambdaGeneric(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// lambdaStrings returns a JSON string or list of strings as a list.
func lambdaStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

const lambdaBucketARN = "arn:aws:s3:::edgeflag-123456789012-us-east-1"

func TestTemplateBucket(t *testing.T) {
	tpl := lambdaTemplate(t)
	b, err := tpl.GetS3BucketWithName("SnapshotBucket")
	if err != nil {
		t.Fatal(err)
	}
	if b.VersioningConfiguration == nil || b.VersioningConfiguration.Status != "Enabled" {
		t.Error("the bucket must have versioning enabled")
	}
	if b.BucketEncryption == nil || len(b.BucketEncryption.ServerSideEncryptionConfiguration) == 0 ||
		b.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm == "" {
		t.Error("the bucket must be encrypted by default")
	}
	pab := b.PublicAccessBlockConfiguration
	if pab == nil || pab.BlockPublicAcls == nil || !*pab.BlockPublicAcls || !*pab.BlockPublicPolicy || !*pab.IgnorePublicAcls || !*pab.RestrictPublicBuckets {
		t.Error("the bucket must block every kind of public access")
	}

	// Only CloudFront reads, and only what edges need.
	pol, err := tpl.GetS3BucketPolicyWithName("SnapshotBucketPolicy")
	if err != nil {
		t.Fatal(err)
	}
	doc := lambdaGeneric(t, pol.PolicyDocument).(map[string]any)
	var cloudfrontReads []string
	for _, s := range doc["Statement"].([]any) {
		st := s.(map[string]any)
		if st["Effect"] == "Allow" {
			principal, _ := st["Principal"].(map[string]any)
			if principal["Service"] != "cloudfront.amazonaws.com" || !slices.Equal(lambdaStrings(st["Action"]), []string{"s3:GetObject"}) {
				t.Errorf("bucket policy allows %v to %v", st["Principal"], st["Action"])
			}
			cloudfrontReads = append(cloudfrontReads, lambdaStrings(st["Resource"])...)
		}
	}
	want := []string{lambdaBucketARN + "/snapshots/*", lambdaBucketARN + "/*/current.json"}
	if !slices.Equal(cloudfrontReads, want) {
		t.Errorf("CloudFront may read %v, want %v", cloudfrontReads, want)
	}
}

func TestTemplateFunction(t *testing.T) {
	tpl := lambdaTemplate(t)
	fn, err := tpl.GetServerlessFunctionWithName("KillSwitchFunction")
	if err != nil {
		t.Fatal(err)
	}
	if deref(fn.Handler) != "bootstrap" || deref(fn.Runtime) != "provided.al2023" || !slices.Equal(fn.Architectures, []string{"arm64"}) {
		t.Errorf("handler %q runtime %q architectures %v, want bootstrap provided.al2023 [arm64]", deref(fn.Handler), deref(fn.Runtime), fn.Architectures)
	}
	if fn.CodeUri == nil || fn.CodeUri.String == nil || *fn.CodeUri.String != "." || fn.AWSCloudFormationMetadata["BuildMethod"] != "makefile" {
		t.Errorf("CodeUri %v, Metadata %v: want . built by the Makefile's build-KillSwitchFunction", fn.CodeUri, fn.AWSCloudFormationMetadata)
	}
	vars := fn.Environment.Variables
	if vars["EDGEFLAG_STORE"] != "s3://edgeflag-123456789012-us-east-1" || vars["EDGEFLAG_ENVIRONMENTS"] != "staging,production" {
		t.Errorf("environment variables %v", vars)
	}
	if _, err := store.ParseS3Location(vars["EDGEFLAG_STORE"]); err != nil {
		t.Errorf("EDGEFLAG_STORE: %v", err)
	}

	// Events: the four routes with IAM auth and payload 2.0, the dashboard's route (its own
	// login, no IAM), and the base upload.
	var routes []string
	var s3Events int
	for name, ev := range fn.Events {
		switch ev.Type {
		case "HttpApi":
			p := ev.Properties.HttpApiEvent
			if p == nil {
				t.Fatalf("event %s: not an HttpApi event", name)
			}
			routes = append(routes, deref(p.Method)+" "+deref(p.Path))
			wantAuth := "AWS_IAM"
			if strings.HasPrefix(deref(p.Path), "/dashboard/") {
				wantAuth = "NONE"
			}
			if deref(p.ApiId) != "ref:KillSwitchApi" || p.Auth == nil || deref(p.Auth.Authorizer) != wantAuth || deref(p.PayloadFormatVersion) != "2.0" {
				t.Errorf("event %s: api %q auth %v payload %q", name, deref(p.ApiId), p.Auth, deref(p.PayloadFormatVersion))
			}
		case "S3":
			s3Events++
			p := ev.Properties.S3Event
			if p == nil {
				t.Fatalf("event %s: not an S3 event", name)
			}
			if p.Bucket != "ref:SnapshotBucket" || p.Events == nil || deref(p.Events.String) != "s3:ObjectCreated:*" {
				t.Errorf("event %s: bucket %q events %v", name, p.Bucket, p.Events)
			}
			rules := map[string]string{}
			for _, r := range p.Filter.S3Key.Rules {
				rules[r.Name] = r.Value
			}
			if rules["prefix"] != layout.BaseEventPrefix() || rules["suffix"] != ".snap" {
				t.Errorf("event %s: filter %v, want prefix %s suffix .snap", name, rules, layout.BaseEventPrefix())
			}
		default:
			t.Errorf("event %s: unexpected type %s", name, ev.Type)
		}
	}
	sort.Strings(routes)
	wantRoutes := []string{"ANY /dashboard/{proxy+}", "GET /flags", "GET /rollouts", "POST /flags/{key}/kill", "POST /flags/{key}/rollout/{action}", "POST /flags/{key}/unkill", "POST /publish"}
	if !slices.Equal(routes, wantRoutes) || s3Events != 1 {
		t.Errorf("routes %v and %d S3 events, want %v and 1", routes, s3Events, wantRoutes)
	}

	api, err := tpl.GetServerlessHttpApiWithName("KillSwitchApi")
	if err != nil {
		t.Fatal(err)
	}
	if api.Auth == nil || deref(api.Auth.DefaultAuthorizer) != "AWS_IAM" {
		t.Error("the HTTP API's default authorizer must be AWS_IAM")
	}
}

// TestTemplateFunctionPolicies checks that the function may do only what it does: read
// the store, write served snapshots, pointers, kill state and audit records.
func TestTemplateFunctionPolicies(t *testing.T) {
	tpl := lambdaTemplate(t)
	fn, err := tpl.GetServerlessFunctionWithName("KillSwitchFunction")
	if err != nil {
		t.Fatal(err)
	}
	if fn.Policies == nil || fn.Policies.IAMPolicyDocumentArray == nil {
		t.Fatalf("the function needs an inline policy document, got %+v", fn.Policies)
	}
	granted := map[string][]string{} // action -> resources
	for _, doc := range *fn.Policies.IAMPolicyDocumentArray {
		for _, s := range lambdaGeneric(t, doc.Statement).([]any) {
			st := s.(map[string]any)
			if st["Effect"] != "Allow" {
				continue
			}
			for _, a := range lambdaStrings(st["Action"]) {
				granted[a] = append(granted[a], lambdaStrings(st["Resource"])...)
			}
		}
	}
	want := map[string][]string{
		"s3:ListBucket": {lambdaBucketARN},
		"s3:GetObject":  {lambdaBucketARN + "/*"},
		"s3:PutObject": {
			lambdaBucketARN + "/snapshots/*",
			lambdaBucketARN + "/*/current.json",
			lambdaBucketARN + "/*/kill-state.json",
			lambdaBucketARN + "/*/rollout-state.json",
			lambdaBucketARN + "/*/audit/*",
		},
		"sns:Publish":      {"ref:RolloutAlertsTopic"},
		"kms:Sign":         {"getatt:SigningKey.Arn"},
		"kms:GetPublicKey": {"getatt:SigningKey.Arn"},
	}
	if len(granted) != len(want) {
		t.Errorf("granted actions %v, want exactly %v", granted, want)
	}
	for action, resources := range want {
		if !slices.Equal(granted[action], resources) {
			t.Errorf("%s on %v, want %v", action, granted[action], resources)
		}
	}
	for action, resources := range granted {
		if strings.Contains(action, "*") || strings.Contains(action, "Delete") {
			t.Errorf("over-broad action %s", action)
		}
		for _, r := range resources {
			if r == "*" || strings.Contains(r, "/base/") {
				t.Errorf("%s on %s: the function never needs it", action, r)
			}
		}
	}
}

func TestTemplateDistribution(t *testing.T) {
	tpl := lambdaTemplate(t)
	d, err := tpl.GetCloudFrontDistributionWithName("SnapshotDistribution")
	if err != nil {
		t.Fatal(err)
	}
	cfg := d.DistributionConfig
	if len(cfg.Origins) != 1 || deref(cfg.Origins[0].OriginAccessControlId) == "" {
		t.Fatalf("origins %+v: want the bucket through an origin access control", cfg.Origins)
	}
	b := cfg.DefaultCacheBehavior
	if b.ViewerProtocolPolicy != "https-only" || !slices.Equal(b.AllowedMethods, []string{"GET", "HEAD"}) || deref(b.CachePolicyId) != "ref:SnapshotCachePolicy" {
		t.Errorf("cache behaviour: %s %v %q", b.ViewerProtocolPolicy, b.AllowedMethods, deref(b.CachePolicyId))
	}
	for _, code := range []int{403, 404} {
		ok := false
		for _, e := range cfg.CustomErrorResponses {
			ok = ok || (e.ErrorCode == code && e.ErrorCachingMinTTL != nil && *e.ErrorCachingMinTTL <= 1)
		}
		if !ok {
			t.Errorf("a %d (pointer not published yet) must not be cached for more than 1 s", code)
		}
	}
	cp, err := tpl.GetCloudFrontCachePolicyWithName("SnapshotCachePolicy")
	if err != nil {
		t.Fatal(err)
	}
	c := cp.CachePolicyConfig
	// A short default; objects' own Cache-Control decides within [MinTTL, MaxTTL].
	if c.MinTTL != 0 || c.DefaultTTL > 5 || c.MaxTTL < 31536000 {
		t.Errorf("cache policy TTLs min %v default %v max %v: want 0, <= 5 s, >= 1 year", c.MinTTL, c.DefaultTTL, c.MaxTTL)
	}
	_, pointerCache := layout.HeadersFor(layout.PointerKey("production"))
	if pointerCache != "public, max-age=5" {
		t.Errorf("pointers are cached %q; the template's short TTL assumes max-age=5", pointerCache)
	}
}

func TestTemplateParametersAndOutputs(t *testing.T) {
	tpl := lambdaTemplate(t)
	p, ok := tpl.Parameters["Environments"]
	if !ok || p.AllowedPattern == nil {
		t.Fatal("parameter Environments with an AllowedPattern is required")
	}
	re := regexp.MustCompile(*p.AllowedPattern)
	for list, want := range map[string]bool{"production": true, "staging,production": true, "eu-1,us_2": true, "": false, "Prod": false, "a,,b": false, "a, b": false} {
		if re.MatchString(list) != want {
			t.Errorf("Environments %q accepted = %v, want %v", list, !want, want)
		}
	}
	for _, name := range []string{"StoreLocation", "BucketName", "SnapshotBaseUrl", "KillSwitchApiUrl", "KillSwitchCallerPolicyArn", "KillSwitchFunctionArn", "PublisherRoleArn"} {
		if _, ok := tpl.Outputs[name]; !ok {
			t.Errorf("output %s is missing", name)
		}
	}
	if v := tpl.Outputs["StoreLocation"].Value; v != "s3://edgeflag-123456789012-us-east-1" {
		t.Errorf("StoreLocation = %v", v)
	}
	role, err := tpl.GetIAMRoleWithName("PublisherRole")
	if err != nil {
		t.Fatal(err)
	}
	trust := lambdaGeneric(t, role.AssumeRolePolicyDocument)
	data, _ := json.Marshal(trust)
	if !strings.Contains(string(data), "sts:AssumeRoleWithWebIdentity") || !strings.Contains(string(data), `:sub":"repo:`) || !strings.Contains(string(data), `:ref:refs/heads/main"`) {
		t.Errorf("the publisher role must trust GitHub's OIDC tokens for main only: %s", data)
	}
}

// TestTemplateEventsMatchRoutes checks that events/ has one file per route of the
// template, and an S3 event the template's filter lets through.
func TestTemplateEventsMatchRoutes(t *testing.T) {
	tpl := lambdaTemplate(t)
	fn, err := tpl.GetServerlessFunctionWithName("KillSwitchFunction")
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	for _, ev := range fn.Events {
		if p := ev.Properties.HttpApiEvent; ev.Type == "HttpApi" && p != nil {
			routes[deref(p.Method)+" "+deref(p.Path)] = false
		}
	}
	files, err := filepath.Glob(filepath.Join(lambdaRoot(t), "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no events/*.json: %v", err)
	}
	s3Events := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Source   string `json:"source"`
			RouteKey string `json:"routeKey"`
			Records  []struct {
				EventName string `json:"eventName"`
				S3        struct {
					Object struct {
						Key string `json:"key"`
					} `json:"object"`
				} `json:"s3"`
			} `json:"Records"`
		}
		if err := json.Unmarshal(data, &ev); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		switch {
		case ev.Source == "aws.events":
			// The rollout controller's schedule (RolloutControllerFunction).
		case ev.RouteKey != "":
			if _, ok := routes[ev.RouteKey]; !ok {
				t.Errorf("%s: route %q is not in template.yaml", filepath.Base(f), ev.RouteKey)
			}
			routes[ev.RouteKey] = true
		case len(ev.Records) == 1:
			s3Events++
			key := ev.Records[0].S3.Object.Key
			if _, _, ok := layout.ParseBaseKey(key); !ok || !strings.HasPrefix(ev.Records[0].EventName, "ObjectCreated:") {
				t.Errorf("%s: %s of %q is not a base snapshot upload", filepath.Base(f), ev.Records[0].EventName, key)
			}
		default:
			t.Errorf("%s: neither an HTTP API nor an S3 event", filepath.Base(f))
		}
	}
	for route, covered := range routes {
		if !covered {
			t.Errorf("route %s has no file in events/", route)
		}
	}
	if s3Events != 1 {
		t.Errorf("%d S3 event files, want 1", s3Events)
	}
}

// TestTemplateRolloutController checks the scheduled rollout controller: the same
// binary, on a schedule, one at a time, allowed to read the store and metrics, write the
// rollout state, served snapshots, pointers and audit records, and publish alerts, and
// nothing else (no kill state, no base snapshots, no delete).
func TestTemplateRolloutController(t *testing.T) {
	tpl := lambdaTemplate(t)
	fn, err := tpl.GetServerlessFunctionWithName("RolloutControllerFunction")
	if err != nil {
		t.Fatal(err)
	}
	if fn.CodeUri == nil || fn.AWSCloudFormationMetadata["BuildMethod"] != "makefile" || deref(fn.Handler) != "bootstrap" {
		t.Errorf("CodeUri %v, Metadata %v, Handler %v: want the Makefile-built bootstrap", fn.CodeUri, fn.AWSCloudFormationMetadata, deref(fn.Handler))
	}
	if fn.ReservedConcurrentExecutions == nil || *fn.ReservedConcurrentExecutions != 1 {
		t.Error("the controller must run one tick at a time (ReservedConcurrentExecutions: 1)")
	}
	schedules := 0
	for name, ev := range fn.Events {
		if ev.Type != "Schedule" {
			t.Errorf("event %s is %s: the controller is only scheduled", name, ev.Type)
			continue
		}
		schedules++
	}
	if schedules != 1 {
		t.Errorf("%d schedules, want 1", schedules)
	}
	vars := fn.Environment.Variables
	for _, v := range []string{"EDGEFLAG_STORE", "EDGEFLAG_ENVIRONMENTS", "EDGEFLAG_PROMETHEUS_URL", "EDGEFLAG_CLOUDWATCH_REGION", "EDGEFLAG_SNS_TOPIC_ARN"} {
		if _, ok := vars[v]; !ok {
			t.Errorf("environment variable %s is not set", v)
		}
	}
	if fn.Policies == nil || fn.Policies.IAMPolicyDocumentArray == nil {
		t.Fatalf("the function needs inline policy documents, got %+v", fn.Policies)
	}
	granted := map[string][]string{}
	for _, doc := range *fn.Policies.IAMPolicyDocumentArray {
		statements, ok := lambdaGeneric(t, doc.Statement).([]any)
		if !ok {
			continue
		}
		for _, s := range statements {
			st := s.(map[string]any)
			for _, a := range lambdaStrings(st["Action"]) {
				granted[a] = append(granted[a], lambdaStrings(st["Resource"])...)
			}
		}
	}
	want := map[string][]string{
		"s3:ListBucket": {lambdaBucketARN},
		"s3:GetObject":  {lambdaBucketARN + "/*"},
		"s3:PutObject": {
			lambdaBucketARN + "/snapshots/*",
			lambdaBucketARN + "/*/current.json",
			lambdaBucketARN + "/*/rollout-state.json",
			lambdaBucketARN + "/*/audit/*",
		},
		"cloudwatch:GetMetricData": {"*"},
		"sns:Publish":              {"ref:RolloutAlertsTopic"},
		"kms:Sign":                 {"getatt:SigningKey.Arn"},
		"kms:GetPublicKey":         {"getatt:SigningKey.Arn"},
	}
	for action, resources := range want {
		if !slices.Equal(granted[action], resources) {
			t.Errorf("%s on %v, want %v", action, granted[action], resources)
		}
	}
	for action := range granted {
		if _, ok := want[action]; !ok && action != "aps:QueryMetrics" {
			t.Errorf("unexpected action %s", action)
		}
	}
}

// TestTemplateSigningKey: the KMS key signs with ECDSA P-256, its key policy grants
// nobody kms:Sign outright (IAM grants it to the functions and the CI role only), and the
// functions are told its ARN.
func TestTemplateSigningKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(cliRepoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	doc := root.Content[0]
	key := yamlPath(t, doc, "Resources", "SigningKey", "Properties")
	if v := yamlPath(t, key, "KeySpec").Value; v != "ECC_NIST_P256" {
		t.Errorf("KeySpec %s", v)
	}
	if v := yamlPath(t, key, "KeyUsage").Value; v != "SIGN_VERIFY" {
		t.Errorf("KeyUsage %s", v)
	}
	var policy struct {
		Statement []struct {
			Sid       string
			Principal map[string]any
			Action    any
			Condition map[string]map[string]string
		}
	}
	if err := yamlPath(t, key, "KeyPolicy").Decode(&policy); err != nil {
		t.Fatal(err)
	}
	for _, st := range policy.Statement {
		if p, _ := st.Principal["AWS"].(string); p == "*" || st.Principal["AWS"] == nil {
			t.Errorf("statement %s: principal %v", st.Sid, st.Principal)
		}
		for _, a := range lambdaStrings(st.Action) {
			if a == "kms:*" || a == "kms:Decrypt" || a == "kms:Verify" {
				t.Errorf("statement %s grants %s", st.Sid, a)
			}
			if a == "kms:Sign" && (st.Condition["StringEquals"]["kms:SigningAlgorithm"] != "ECDSA_SHA_256" || st.Condition["StringEquals"]["kms:MessageType"] != "DIGEST") {
				t.Errorf("statement %s: kms:Sign without the algorithm and digest conditions", st.Sid)
			}
		}
	}
	for _, fn := range []string{"KillSwitchFunction", "RolloutControllerFunction"} {
		v := yamlPath(t, doc, "Resources", fn, "Properties", "Environment", "Variables", "EDGEFLAG_SIGNING_KEY_ID")
		if v.Tag != "!GetAtt" || v.Value != "SigningKey.Arn" {
			t.Errorf("%s: EDGEFLAG_SIGNING_KEY_ID = %s %s", fn, v.Tag, v.Value)
		}
	}
}
