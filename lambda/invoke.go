package lambda

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// Invoke handles one Lambda invocation: an API Gateway HTTP API event (payload format
// 2.0) is served by the HTTP handler and answered with an APIGatewayV2HTTPResponse; an S3
// event republishes the base snapshots it names and answers with an S3Summary; an
// EventBridge Scheduled Event runs the rollout controller once (a TickResponse). It is the
// function the bootstrap binary hands to lambda.Start.
func (h *Handler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	kind, err := EventKindOf(payload)
	if err != nil {
		return nil, err
	}
	switch kind {
	case EventHTTP:
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("lambda: malformed API Gateway event: %w", err)
		}
		return h.HandleHTTPEvent(ctx, ev)
	case EventS3:
		var ev events.S3Event
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("lambda: malformed S3 event: %w", err)
		}
		return h.HandleS3Event(ctx, ev)
	default:
		return h.HandleSchedule(ctx)
	}
}

// Kinds of event Invoke handles.
const (
	EventHTTP     = "http"     // an API Gateway HTTP API request (payload format 2.0)
	EventS3       = "s3"       // an S3 event: base snapshots uploaded
	EventSchedule = "schedule" // an EventBridge Scheduled Event: a rollout controller tick
)

// EventKindOf tells which kind of event a payload is, as Invoke dispatches it, or why it
// is none of them.
func EventKindOf(payload []byte) (string, error) {
	var probe struct {
		Version        string `json:"version"`
		RequestContext *struct {
			HTTP *struct {
				Method string `json:"method"`
			} `json:"http"`
		} `json:"requestContext"`
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return "", fmt.Errorf("lambda: the event is not a JSON object: %w", err)
	}
	switch {
	case probe.RequestContext != nil && probe.RequestContext.HTTP != nil:
		if probe.Version != "2.0" {
			return "", fmt.Errorf("lambda: API Gateway payload format %q; the HTTP API must use 2.0", probe.Version)
		}
		return EventHTTP, nil
	case len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:s3":
		return EventS3, nil
	case probe.Source == "aws.events" && probe.DetailType == "Scheduled Event":
		return EventSchedule, nil
	}
	return "", errors.New("lambda: unsupported event: want an API Gateway HTTP API (2.0), an S3 event or an EventBridge Scheduled Event")
}

// HandleHTTPEvent serves an API Gateway HTTP API request through the HTTP handler. The
// IAM caller from requestContext.authorizer.iam authenticates the request.
func (h *Handler) HandleHTTPEvent(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return apiError(http.StatusBadRequest, "invalid_body", "the body is not valid base64"), nil
		}
	}
	target := ev.RawPath
	if target == "" {
		target = ev.RequestContext.HTTP.Path
	}
	if ev.RawQueryString != "" {
		target += "?" + ev.RawQueryString
	}
	if arn := iamCaller(ev.RequestContext.Authorizer); arn != "" {
		ctx = withCaller(ctx, arn)
	}
	req, err := http.NewRequestWithContext(ctx, ev.RequestContext.HTTP.Method, target, bytes.NewReader(body))
	if err != nil {
		return apiError(http.StatusBadRequest, "invalid_request", err.Error()), nil
	}
	for name, value := range ev.Headers {
		req.Header.Set(name, value)
	}
	// The Host header becomes the request's Host (the dashboard checks Origin against it).
	if host := req.Header.Get("Host"); host != "" {
		req.Host = host
	} else if ev.RequestContext.DomainName != "" {
		req.Host = ev.RequestContext.DomainName
	}
	if len(ev.Cookies) > 0 {
		// Payload format 2.0 carries the request's cookies apart from its headers.
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.ContentLength = int64(len(body))
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	w := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	h.ServeHTTP(w, req)
	resp := events.APIGatewayV2HTTPResponse{
		StatusCode: w.status,
		Headers:    map[string]string{},
		Body:       w.body.String(),
	}
	for name, values := range w.header {
		if name == "Set-Cookie" {
			// Cookies go in their own field: joining them with commas would break them.
			resp.Cookies = values
			continue
		}
		resp.Headers[name] = strings.Join(values, ", ")
	}
	return resp, nil
}

// iamCaller returns the ARN of the IAM principal API Gateway authenticated, or "".
func iamCaller(a *events.APIGatewayV2HTTPRequestContextAuthorizerDescription) string {
	if a == nil || a.IAM == nil {
		return ""
	}
	switch {
	case a.IAM.UserARN != "":
		return a.IAM.UserARN
	case a.IAM.CallerID != "" && a.IAM.AccountID != "":
		return "aws:" + a.IAM.AccountID + ":" + a.IAM.CallerID
	}
	return ""
}

func apiError(status int, code, message string) events.APIGatewayV2HTTPResponse {
	data, _ := json.Marshal(ErrorResponse{Error: code, Message: message})
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(data) + "\n",
	}
}

// bufferedResponse collects an http.Handler's answer for the Lambda response.
type bufferedResponse struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if !b.wroteHeader {
		b.status, b.wroteHeader = status, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wroteHeader = true
	return b.body.Write(p)
}

// S3Summary is the answer to an S3 event: what each record did.
type S3Summary struct {
	Records []S3RecordResult `json:"records"`
}

// S3RecordResult is what one S3 event record did.
type S3RecordResult struct {
	Bucket      string `json:"bucket"`
	Key         string `json:"key"`
	Environment string `json:"environment,omitempty"`
	Base        string `json:"base,omitempty"`
	// Outcome is "republished", "unchanged", "skipped" or "failed".
	Outcome  string `json:"outcome"`
	Detail   string `json:"detail,omitempty"`
	Snapshot string `json:"snapshot,omitempty"`
}

// HandleS3Event republishes every newly uploaded base snapshot (<env>/base/<hash>.snap)
// the event names, merged with its environment's kill state. A base built before the one
// an environment serves is skipped, so a late or repeated event cannot move it back.
// Records for other objects, buckets or environments are skipped. The error joins the
// failures, so Lambda retries the event; retrying is safe (republishing is idempotent).
func (h *Handler) HandleS3Event(ctx context.Context, ev events.S3Event) (*S3Summary, error) {
	sum := &S3Summary{Records: []S3RecordResult{}}
	var errs []error
	for _, r := range ev.Records {
		res := h.s3Record(ctx, r)
		if res.Outcome == "failed" {
			errs = append(errs, fmt.Errorf("s3://%s/%s: %s", res.Bucket, res.Key, res.Detail))
		}
		h.log.Info("s3 record", "bucket", res.Bucket, "key", res.Key, "outcome", res.Outcome, "detail", res.Detail)
		sum.Records = append(sum.Records, res)
	}
	return sum, errors.Join(errs...)
}

func (h *Handler) s3Record(ctx context.Context, r events.S3EventRecord) S3RecordResult {
	key := r.S3.Object.URLDecodedKey
	if key == "" {
		key = r.S3.Object.Key
	}
	res := S3RecordResult{Bucket: r.S3.Bucket.Name, Key: key, Outcome: "skipped"}
	if r.EventSource != "aws:s3" || !strings.HasPrefix(r.EventName, "ObjectCreated:") {
		res.Detail = "not an object upload (" + r.EventName + ")"
		return res
	}
	storeKey := key
	if s3, ok := h.cfg.Store.(*store.S3); ok {
		if storeKey, ok = s3.KeyOf(r.S3.Bucket.Name, key); !ok {
			res.Detail = "not in the store " + s3.String()
			return res
		}
	}
	env, hash, ok := layout.ParseBaseKey(storeKey)
	if !ok {
		res.Detail = "not a base snapshot (<env>/base/<hash>.snap)"
		return res
	}
	res.Environment, res.Base = env, hash
	if len(h.cfg.Environments) > 0 && !slices.Contains(h.cfg.Environments, env) {
		res.Detail = "environment " + env + " is not served here"
		return res
	}
	who := "s3-upload"
	if p := r.PrincipalID.PrincipalID; p != "" {
		who += ":" + p
	}
	pr, err := h.pub.Republish(ctx, env, publish.RepublishOptions{Base: hash, IfNewer: true}, who)
	switch {
	case err != nil:
		res.Outcome, res.Detail = "failed", err.Error()
	case pr.Skipped != "":
		res.Detail, res.Snapshot = pr.Skipped, pr.Pointer.Snapshot
	case pr.Changed:
		res.Outcome, res.Snapshot = "republished", pr.Pointer.Snapshot
	default:
		res.Outcome, res.Snapshot = "unchanged", pr.Pointer.Snapshot
	}
	return res
}
