package lambda_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/lambda"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/snapshot"
)

// POST /publish with the hash of another environment's base is the caller's mistake: a
// 4xx naming the hash and the environment, and nothing written.
func TestPublishBaseOfAnotherEnvironment(t *testing.T) {
	for name, f := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			staging := publishtest.Snapshot("staging", "def456", 2000, "new-checkout")
			if _, err := publish.New(f.store).Publish(context.Background(), staging, "ci"); err != nil {
				t.Fatal(err)
			}
			hash, err := snapshot.Hash(staging)
			if err != nil {
				t.Fatal(err)
			}
			before := snapshotOfStore(t, f.store)
			w := f.do(t, "POST", "/publish", `{"environment":"production","base":"`+hash+`"}`, "")
			var e lambda.ErrorResponse
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
				t.Fatalf("body is not a JSON error: %q", w.Body.String())
			}
			if w.Code != 422 || e.Error != "wrong_environment" || !strings.Contains(e.Message, hash) || !strings.Contains(e.Message, "production") {
				t.Errorf("%d %+v, want 422 wrong_environment naming the hash and production", w.Code, e)
			}
			if after := snapshotOfStore(t, f.store); !mapsEqual(before, after) {
				t.Errorf("the refused publish changed the store")
			}
		})
	}
}
