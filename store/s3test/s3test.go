// Package s3test runs a real S3-protocol server (gofakes3, in memory) on 127.0.0.1 for
// tests, and hands out stores and s3:// locations that talk to it over HTTP with the AWS
// SDK. It also records the headers of every request, so tests can check what was sent
// (for example Cache-Control, which gofakes3 does not keep).
package s3test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/edgeflag/edgeflag/store"
)

// Credentials the server accepts (gofakes3 does not check them; the SDK needs some).
const (
	AccessKeyID     = "AKIDEDGEFLAGTEST"
	SecretAccessKey = "edgeflag-test-secret"
	Region          = "us-east-1"
)

// Server is a running S3-protocol server with one bucket.
type Server struct {
	URL    string // http://127.0.0.1:port
	Bucket string
	srv    *httptest.Server

	mu       sync.Mutex
	requests []Request
}

// Request is one recorded request.
type Request struct {
	Method string
	Key    string // the object key (path-style), without the bucket
	Header http.Header
}

// New starts a server with an empty bucket and stops it when the test ends.
func New(tb testing.TB, bucket string) *Server {
	tb.Helper()
	backend := s3mem.New()
	faker := gofakes3.New(backend, gofakes3.WithAutoBucket(false))
	if err := backend.CreateBucket(bucket); err != nil {
		tb.Fatalf("s3test: create bucket %s: %v", bucket, err)
	}
	s := &Server{Bucket: bucket}
	handler := faker.Server()
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, _ := url.PathUnescape(r.URL.Path)
		if len(key) > len(bucket)+2 {
			key = key[len(bucket)+2:]
		} else {
			key = ""
		}
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, Key: key, Header: r.Header.Clone()})
		s.mu.Unlock()
		handler.ServeHTTP(w, r)
	}))
	s.URL = s.srv.URL
	tb.Cleanup(s.srv.Close)
	return s
}

// Client returns an SDK client for the server (path-style, static credentials).
func (s *Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:                     Region,
		BaseEndpoint:               aws.String(s.URL),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// Store returns a store on the server's bucket under prefix.
func (s *Server) Store(tb testing.TB, prefix string) *store.S3 {
	tb.Helper()
	st, err := store.NewS3(s.Client(), s.Bucket, prefix)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// Location returns the s3:// location of the bucket under prefix, with the server's
// endpoint, path-style addressing and region, for store.Open.
func (s *Server) Location(prefix string) string {
	return "s3://" + s.Bucket + "/" + prefix + "?endpoint=" + url.QueryEscape(s.URL) + "&path-style=true&region=" + Region
}

// Env returns the environment that makes store.Open (in this or a child process) reach
// the server with the server's credentials.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// SetEnv sets Env for the duration of the test.
func (s *Server) SetEnv(t *testing.T) {
	t.Helper()
	for _, kv := range s.Env() {
		name, value, _ := strings.Cut(kv, "=")
		t.Setenv(name, value)
	}
}

// Requests returns the requests recorded so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// LastPut returns the last PUT request for key.
func (s *Server) LastPut(key string) (Request, bool) {
	reqs := s.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == http.MethodPut && reqs[i].Key == key {
			return reqs[i], true
		}
	}
	return Request{}, false
}

// Put writes an object directly, as another writer (for example `aws s3 cp`) would.
func (s *Server) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.Client().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket),
		Key:    aws.String(key),
		Body:   bytes.NewReader(data),
	})
	return err
}
