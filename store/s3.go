package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/edgeflag/edgeflag/store/layout"
)

// MaxObjectSize bounds what Get reads from S3, so a wrong key cannot exhaust memory.
const MaxObjectSize = 64 << 20

// S3 is a store in an S3 bucket under a key prefix. Every object is written with its
// Content-Type and Cache-Control (layout.HeadersFor) so that CloudFront serves it as is.
// Conditional writes use S3's If-Match and If-None-Match on PutObject.
type S3 struct {
	client *s3.Client
	bucket string
	prefix string // "" or ending in "/"
}

// NewS3 returns the store in bucket under prefix ("" for the whole bucket), using client.
func NewS3(client *s3.Client, bucket, prefix string) (*S3, error) {
	if client == nil {
		return nil, errors.New("store: nil S3 client")
	}
	if !validBucket(bucket) {
		return nil, fmt.Errorf("store: invalid S3 bucket name %q", bucket)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		if err := ValidateKey(prefix); err != nil {
			return nil, fmt.Errorf("store: invalid S3 prefix: %w", err)
		}
		prefix += "/"
	}
	return &S3{client: client, bucket: bucket, prefix: prefix}, nil
}

// validBucket checks the S3 bucket naming rules that matter for addressing: 3 to 63
// lower-case letters, digits, dots and hyphens, starting and ending with a letter or
// digit.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (c != '.' && c != '-' || i == 0 || i == len(b)-1) {
			return false
		}
	}
	return true
}

// Bucket returns the bucket name.
func (s *S3) Bucket() string { return s.bucket }

// Prefix returns the key prefix, "" or ending in "/".
func (s *S3) Prefix() string { return s.prefix }

// String returns s3://bucket/prefix.
func (s *S3) String() string { return "s3://" + s.bucket + "/" + strings.TrimSuffix(s.prefix, "/") }

// KeyOf maps a bucket and object key, as an S3 event names them, to this store's key;
// ok is false when the object is not in this store.
func (s *S3) KeyOf(bucket, objectKey string) (key string, ok bool) {
	if bucket != s.bucket {
		return "", false
	}
	key, ok = strings.CutPrefix(objectKey, s.prefix)
	if !ok || ValidateKey(key) != nil {
		return "", false
	}
	return key, true
}

// Get reads the object under key.
func (s *S3) Get(ctx context.Context, key string, opts GetOptions) (*Object, error) {
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.prefix + key)}
	if opts.IfNoneMatch != "" {
		in.IfNoneMatch = aws.String(opts.IfNoneMatch)
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, s.wrap("get", key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, MaxObjectSize+1))
	if err != nil {
		return nil, fmt.Errorf("store: read s3 object %s: %w", key, err)
	}
	if len(data) > MaxObjectSize {
		return nil, fmt.Errorf("store: s3 object %s is larger than %d bytes", key, MaxObjectSize)
	}
	return &Object{
		Key:          key,
		Data:         data,
		ETag:         aws.ToString(out.ETag),
		ContentType:  aws.ToString(out.ContentType),
		CacheControl: aws.ToString(out.CacheControl),
	}, nil
}

// Put writes the object under key with the headers of layout.HeadersFor.
func (s *S3) Put(ctx context.Context, key string, data []byte, opts PutOptions) (string, error) {
	if err := opts.check(); err != nil {
		return "", err
	}
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	ct, cc := layout.HeadersFor(key)
	in := &s3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           aws.String(s.prefix + key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String(ct),
		CacheControl:  aws.String(cc),
	}
	switch {
	case opts.IfMatch != "":
		in.IfMatch = aws.String(opts.IfMatch)
	case opts.IfAbsent:
		in.IfNoneMatch = aws.String("*")
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		return "", s.wrap("put", key, err)
	}
	return aws.ToString(out.ETag), nil
}

// List returns the keys under prefix, sorted.
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: &s.bucket,
		Prefix: aws.String(s.prefix + prefix),
	})
	var keys []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("list", prefix, err)
		}
		for _, o := range page.Contents {
			if k, ok := strings.CutPrefix(aws.ToString(o.Key), s.prefix); ok {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// wrap maps S3's answers to the store's errors: 404 to ErrNotFound, 304 to
// ErrNotModified, 412 (and 409 ConditionalRequestConflict, which S3 returns when a
// concurrent conditional write is in flight) to ErrPreconditionFailed.
func (s *S3) wrap(op, key string, err error) error {
	var re *awshttp.ResponseError
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch {
	case code == "NoSuchBucket":
		return fmt.Errorf("store: s3 bucket %s does not exist: %w", s.bucket, err)
	case status == http.StatusNotFound || code == "NoSuchKey" || code == "NotFound":
		return fmt.Errorf("%s: %w", key, ErrNotFound)
	case status == http.StatusNotModified || code == "NotModified":
		return fmt.Errorf("%s: %w", key, ErrNotModified)
	case status == http.StatusPreconditionFailed || status == http.StatusConflict ||
		code == "PreconditionFailed" || code == "ConditionalRequestConflict":
		return fmt.Errorf("%s: %w", key, ErrPreconditionFailed)
	}
	return fmt.Errorf("store: s3 %s %s/%s%s: %w", op, s.bucket, s.prefix, key, err)
}
