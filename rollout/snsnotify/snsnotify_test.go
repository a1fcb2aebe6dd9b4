package snsnotify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/rollout/snsnotify"
)

// snsServer answers Publish in SNS's wire format (the query protocol: a form-encoded
// POST, an XML answer) and keeps the forms it got. No SNS can run here; the request is
// the one the real SDK builds.
func snsServer(t *testing.T, status int) (*httptest.Server, func() []url.Values) {
	var mu sync.Mutex
	var got []url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, r.PostForm)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/xml")
		if status != http.StatusOK {
			w.WriteHeader(status)
			w.Write([]byte(`<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>User is not authorized to perform: SNS:Publish</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`))
			return
		}
		w.Write([]byte(`<PublishResponse><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>`))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []url.Values { mu.Lock(); defer mu.Unlock(); return got }
}

func client(url string) *sns.Client {
	return sns.New(sns.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
}

func note() rollout.Notification {
	return rollout.Notification{Environment: "production", Flag: "payments-service-v2", Decision: publish.RolloutDecision{
		Action: publish.DecisionRollback, Serve: publish.RolloutServe{Percentage: ptr(5.0)}, Status: publish.RolloutRolledBack,
		Reason: "error_rate <= baseline * 1.1 fails", Checks: []publish.CriterionCheck{{Metric: "error_rate", Threshold: "<= baseline * 1.1", Result: publish.CheckViolated}},
	}}
}

func ptr(v float64) *float64 { return &v }

func TestNotify(t *testing.T) {
	srv, got := snsServer(t, http.StatusOK)
	n := &snsnotify.Notifier{Client: client(srv.URL), TopicARN: "arn:aws:sns:eu-west-1:123456789012:edgeflag-rollouts"}
	if err := n.Notify(context.Background(), note()); err != nil {
		t.Fatal(err)
	}
	forms := got()
	if len(forms) != 1 {
		t.Fatalf("%d requests, want 1", len(forms))
	}
	f := forms[0]
	if f.Get("Action") != "Publish" || f.Get("TopicArn") != n.TopicARN {
		t.Errorf("form %v", f)
	}
	if subject := f.Get("Subject"); subject != "edgeflag: payments-service-v2 rollback in production" {
		t.Errorf("subject %q", subject)
	}
	var msg struct {
		Summary  string                  `json:"summary"`
		Flag     string                  `json:"flag"`
		Decision publish.RolloutDecision `json:"decision"`
	}
	if err := json.Unmarshal([]byte(f.Get("Message")), &msg); err != nil {
		t.Fatalf("message is not JSON: %v", err)
	}
	if msg.Flag != "payments-service-v2" || len(msg.Decision.Checks) != 1 || !strings.Contains(msg.Summary, "ROLLED BACK") {
		t.Errorf("message %+v", msg)
	}
}

func TestNotifyRefused(t *testing.T) {
	srv, _ := snsServer(t, http.StatusForbidden)
	n := &snsnotify.Notifier{Client: client(srv.URL), TopicARN: "arn:aws:sns:eu-west-1:123456789012:edgeflag-rollouts"}
	err := n.Notify(context.Background(), note())
	if err == nil || !strings.Contains(err.Error(), "AuthorizationError") || !strings.Contains(err.Error(), n.TopicARN) {
		t.Errorf("error %v, want the topic and SNS's refusal", err)
	}
}
