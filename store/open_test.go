package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/s3test"
)

func TestParseS3Location(t *testing.T) {
	tests := []struct {
		location string
		want     store.S3Location
		err      string
	}{
		{location: "s3://my-bucket/flags", want: store.S3Location{Bucket: "my-bucket", Prefix: "flags"}},
		{location: "s3://my-bucket", want: store.S3Location{Bucket: "my-bucket"}},
		{location: "s3://my-bucket/a/b/", want: store.S3Location{Bucket: "my-bucket", Prefix: "a/b"}},
		{
			location: "s3://my.bucket/p?endpoint=http://127.0.0.1:9000&path-style=true&region=eu-west-1",
			want:     store.S3Location{Bucket: "my.bucket", Prefix: "p", Endpoint: "http://127.0.0.1:9000", PathStyle: true, Region: "eu-west-1"},
		},
		{location: "s3://My_Bucket/p", err: "invalid bucket name"},
		{location: "s3:///p", err: "invalid bucket name"},
		{location: "s3://bucket/p?endpoint=ftp://x", err: "endpoint must be an http(s) URL"},
		{location: "s3://bucket/p?path-style=maybe", err: "path-style must be true or false"},
		{location: "s3://bucket/p?acl=public", err: `unknown parameter "acl"`},
		{location: "s3://bucket/a/../b", err: "invalid prefix"},
		{location: "https://bucket/p", err: "not an s3:// location"},
	}
	for _, tt := range tests {
		got, err := store.ParseS3Location(tt.location)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseS3Location(%q): err = %v, want it to mention %q", tt.location, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseS3Location(%q): %v", tt.location, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseS3Location(%q) = %+v, want %+v", tt.location, got, tt.want)
		}
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv := s3test.New(t, "edgeflag-open")
	srv.SetEnv(t)
	tests := []struct {
		location string
		want     string // String() of the store
		err      string
	}{
		{location: filepath.Join(dir, "a"), want: filepath.Join(dir, "a")},
		{location: "file://" + filepath.Join(dir, "b"), want: filepath.Join(dir, "b")},
		{location: srv.Location("flags"), want: "s3://edgeflag-open/flags"},
		{location: "", err: "no location"},
		{location: "gs://bucket/p", err: `unknown scheme "gs"`},
		{location: "file://host/path", err: "file:///absolute/path"},
	}
	for _, tt := range tests {
		st, err := store.Open(ctx, tt.location)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Open(%q): err = %v, want it to mention %q", tt.location, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", tt.location, err)
			continue
		}
		if st.String() != tt.want {
			t.Errorf("Open(%q) = %s, want %s", tt.location, st, tt.want)
		}
		// Every opened store works.
		if _, err := st.Put(ctx, "production/current.json", []byte("{}"), store.PutOptions{}); err != nil {
			t.Errorf("Put through Open(%q): %v", tt.location, err)
		}
	}
}

// TestOpenWithoutCredentials: an s3:// store without credentials is refused by Open with
// a message naming what to set, not by the first request with the SDK's last attempt.
func TestOpenWithoutCredentials(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	for _, kv := range [][2]string{
		{"AWS_ACCESS_KEY_ID", ""}, {"AWS_SECRET_ACCESS_KEY", ""}, {"AWS_SESSION_TOKEN", ""},
		{"AWS_PROFILE", ""}, {"AWS_DEFAULT_PROFILE", ""}, {"AWS_WEB_IDENTITY_TOKEN_FILE", ""},
		{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", ""}, {"AWS_CONTAINER_CREDENTIALS_FULL_URI", ""},
		{"AWS_CONFIG_FILE", none}, {"AWS_SHARED_CREDENTIALS_FILE", none},
		{"AWS_EC2_METADATA_DISABLED", "true"},
	} {
		t.Setenv(kv[0], kv[1])
	}
	location := "s3://my-bucket/flags?endpoint=http://127.0.0.1:9000&path-style=true"
	_, err := store.Open(context.Background(), location)
	if !errors.Is(err, store.ErrNoCredentials) {
		t.Fatalf("Open(%q): err = %v, want ErrNoCredentials", location, err)
	}
	for _, want := range []string{location, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "IAM role"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %s: %v", want, err)
		}
	}
}
