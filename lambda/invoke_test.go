package lambda_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/edgeflag/edgeflag/lambda"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
	"github.com/edgeflag/edgeflag/store/s3test"
)

// eventBucket is the bucket the S3 event in events/ names.
const eventBucket = "edgeflag-123456789012-eu-west-1"

// readEvent reads a file of events/ and lets edit change its decoded JSON.
func readEvent(t *testing.T, name string, edit func(map[string]any)) json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return data
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	edit(ev)
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pointS3EventAt rewrites the object key of an S3 event to the base snapshot hash.
func pointS3EventAt(t *testing.T, hash string) func(map[string]any) {
	return func(ev map[string]any) {
		obj := ev["Records"].([]any)[0].(map[string]any)["s3"].(map[string]any)["object"].(map[string]any)
		key := obj["key"].(string)
		if env, _, ok := layout.ParseBaseKey(key); !ok || env != "production" {
			t.Fatalf("events/s3-base-uploaded.json names %q, not a production base snapshot", key)
		}
		obj["key"] = layout.BaseKey("production", hash)
	}
}

func invokeHTTP(t *testing.T, h *lambda.Handler, payload json.RawMessage) events.APIGatewayV2HTTPResponse {
	t.Helper()
	out, err := h.Invoke(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	resp, ok := out.(events.APIGatewayV2HTTPResponse)
	if !ok {
		t.Fatalf("Invoke answered %T, want an APIGatewayV2HTTPResponse", out)
	}
	return resp
}

// TestEventsDriveTheHandler runs every file of events/ through Invoke, against a real
// S3-protocol server laid out as template.yaml deploys it.
func TestEventsDriveTheHandler(t *testing.T) {
	ctx := context.Background()
	srv := s3test.New(t, eventBucket)
	st := srv.Store(t, "")
	if _, err := publish.New(st).Publish(ctx, publishtest.Snapshot("production", "abc123", 1000, "new-checkout-flow", "search-ring"), "ci"); err != nil {
		t.Fatal(err)
	}
	h, err := lambda.New(lambda.Config{Store: st, Environments: []string{"production"}})
	if err != nil {
		t.Fatal(err)
	}

	// CI uploads a newer base; its S3 event republishes it.
	next := publishtest.Snapshot("production", "def456", 2000, "new-checkout-flow", "search-ring")
	nextHash, _ := snapshot.Hash(next)
	if err := srv.Put(ctx, layout.BaseKey("production", nextHash), next); err != nil {
		t.Fatal(err)
	}
	out, err := h.Invoke(ctx, readEvent(t, "s3-base-uploaded.json", pointS3EventAt(t, nextHash)))
	if err != nil {
		t.Fatal(err)
	}
	sum := out.(*lambda.S3Summary)
	if len(sum.Records) != 1 || sum.Records[0].Outcome != "republished" || sum.Records[0].Base != nextHash {
		t.Fatalf("S3 event: %+v", sum.Records)
	}

	steps := []struct {
		event  string
		status int
		check  func(body string) bool
	}{
		{"flags-get.json", 200, func(b string) bool { return strings.Contains(b, `"revision": "def456"`) }},
		{"flag-kill.json", 200, func(b string) bool { return strings.Contains(b, `"killed": true`) }},
		{"flags-get.json", 200, func(b string) bool {
			return strings.Contains(b, `"reason": "checkout error rate 12% since 09:55 (INC-4711)"`)
		}},
		{"flag-unkill.json", 200, func(b string) bool { return strings.Contains(b, `"killed": false`) }},
		{"publish.json", 200, func(b string) bool { return strings.Contains(b, `"changed": false`) }},
	}
	for _, step := range steps {
		resp := invokeHTTP(t, h, readEvent(t, step.event, nil))
		if resp.StatusCode != step.status || !step.check(resp.Body) {
			t.Errorf("%s: %d %s", step.event, resp.StatusCode, resp.Body)
		}
		if resp.Headers["Content-Type"] != "application/json" {
			t.Errorf("%s: headers %v", step.event, resp.Headers)
		}
	}
	records, err := publish.New(st).Audit(ctx, "production")
	if err != nil {
		t.Fatal(err)
	}
	who := map[string]string{}
	for _, r := range records {
		who[r.Action] = r.Who
	}
	if who["kill"] != "arn:aws:sts::123456789012:assumed-role/edgeflag-oncall/oncall" ||
		who["republish"] != "s3-upload:AWS:AROAEXAMPLECIROLE:GitHubActions" {
		t.Errorf("audit callers: %v", who)
	}
}

func TestInvokeWithoutIAMIdentityIsRefused(t *testing.T) {
	srv := s3test.New(t, eventBucket)
	h, err := lambda.New(lambda.Config{Store: srv.Store(t, "")})
	if err != nil {
		t.Fatal(err)
	}
	resp := invokeHTTP(t, h, readEvent(t, "flag-kill.json", func(ev map[string]any) {
		delete(ev["requestContext"].(map[string]any), "authorizer")
	}))
	if resp.StatusCode != 401 {
		t.Errorf("kill without an IAM identity: %d %s", resp.StatusCode, resp.Body)
	}
	// A forged identity header is not an identity.
	resp = invokeHTTP(t, h, readEvent(t, "flag-kill.json", func(ev map[string]any) {
		delete(ev["requestContext"].(map[string]any), "authorizer")
		ev["headers"].(map[string]any)["x-amzn-iam-user-arn"] = "arn:aws:iam::123456789012:user/admin"
	}))
	if resp.StatusCode != 401 {
		t.Errorf("kill with a forged identity header: %d %s", resp.StatusCode, resp.Body)
	}
}

func TestS3EventRecords(t *testing.T) {
	ctx := context.Background()
	srv := s3test.New(t, eventBucket)
	st := srv.Store(t, "")
	older := publishtest.Snapshot("production", "r1", 100, "new-checkout")
	current := publishtest.Snapshot("production", "r2", 200, "new-checkout")
	staging := publishtest.Snapshot("staging", "r1", 100, "new-checkout")
	for _, b := range [][]byte{older, current} {
		if _, err := publish.New(st).Publish(ctx, b, "ci"); err != nil {
			t.Fatal(err)
		}
	}
	olderHash, _ := snapshot.Hash(older)
	stagingHash, _ := snapshot.Hash(staging)
	if err := srv.Put(ctx, layout.BaseKey("staging", stagingHash), staging); err != nil {
		t.Fatal(err)
	}
	h, err := lambda.New(lambda.Config{Store: st, Environments: []string{"production"}})
	if err != nil {
		t.Fatal(err)
	}
	record := func(name, bucket, key string) events.S3EventRecord {
		return events.S3EventRecord{EventSource: "aws:s3", EventName: name,
			S3: events.S3Entity{Bucket: events.S3Bucket{Name: bucket}, Object: events.S3Object{Key: key, URLDecodedKey: key}}}
	}
	tests := []struct {
		name    string
		record  events.S3EventRecord
		outcome string
	}{
		{"older base", record("ObjectCreated:Put", eventBucket, layout.BaseKey("production", olderHash)), "skipped"},
		{"deletion", record("ObjectRemoved:Delete", eventBucket, layout.BaseKey("production", olderHash)), "skipped"},
		{"other bucket", record("ObjectCreated:Put", "someone-else", layout.BaseKey("production", olderHash)), "skipped"},
		{"not a base", record("ObjectCreated:Put", eventBucket, layout.SnapshotKey(olderHash)), "skipped"},
		{"environment not served", record("ObjectCreated:Put", eventBucket, layout.BaseKey("staging", stagingHash)), "skipped"},
		{"missing base", record("ObjectCreated:Put", eventBucket, layout.BaseKey("production", strings.Repeat("e", 64))), "failed"},
	}
	for _, tt := range tests {
		sum, err := h.HandleS3Event(ctx, events.S3Event{Records: []events.S3EventRecord{tt.record}})
		if got := sum.Records[0].Outcome; got != tt.outcome || sum.Records[0].Detail == "" {
			t.Errorf("%s: outcome %q (%s), want %q", tt.name, got, sum.Records[0].Detail, tt.outcome)
		}
		if (err != nil) != (tt.outcome == "failed") {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
	ptr, _, err := publish.ReadPointer(ctx, st, "production")
	if err != nil {
		t.Fatal(err)
	}
	if ptr.Revision != "r2" {
		t.Errorf("after the skipped events production serves %s, want r2", ptr.Revision)
	}
}

func TestInvokeRejectsOtherEvents(t *testing.T) {
	dir, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h, err := lambda.New(lambda.Config{Store: dir})
	if err != nil {
		t.Fatal(err)
	}
	payloads := map[string]string{
		"not JSON":            `{`,
		"SQS event":           `{"Records":[{"eventSource":"aws:sqs","body":"x"}]}`,
		"REST API (v1) event": `{"version":"1.0","requestContext":{"http":{"method":"GET"}},"path":"/flags"}`,
		"empty object":        `{}`,
	}
	for name, p := range payloads {
		if _, err := h.Invoke(context.Background(), json.RawMessage(p)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := h.Invoke(context.Background(), json.RawMessage(`{}`)); err == nil || !strings.Contains(err.Error(), "unsupported event") {
		t.Errorf("empty object: %v", err)
	}
	var target *json.SyntaxError
	if _, err := h.Invoke(context.Background(), json.RawMessage(`{`)); !errors.As(err, &target) {
		t.Errorf("not JSON: err = %v, want the JSON syntax error", err)
	}
}
