package store

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Open returns the store a location names:
//
//   - s3://bucket/prefix — an S3 bucket, with credentials and region from the AWS SDK's
//     default chain (environment, shared config, SSO, web identity, instance role); Open
//     retrieves the credentials, so a missing one is an error (ErrNoCredentials) that
//     says what to set rather than a failure of the first request. An
//     S3-compatible server is named by AWS_ENDPOINT_URL_S3, or by query parameters:
//     endpoint=http://127.0.0.1:9000, path-style=true (address the bucket in the path),
//     region=eu-west-1.
//   - file:///path, or a plain path such as ./out/store — a local directory, created if
//     missing.
func Open(ctx context.Context, location string) (Store, error) {
	if location == "" {
		return nil, fmt.Errorf("store: no location given (want s3://bucket/prefix or a directory)")
	}
	scheme, _, hasScheme := strings.Cut(location, "://")
	if !hasScheme {
		return NewDir(location)
	}
	switch scheme {
	case "file":
		u, err := url.Parse(location)
		if err != nil || u.Path == "" || (u.Host != "" && u.Host != "localhost") {
			return nil, fmt.Errorf("store: %q: a file location is file:///absolute/path", location)
		}
		return NewDir(u.Path)
	case "s3":
		return openS3(ctx, location)
	}
	return nil, fmt.Errorf("store: %q: unknown scheme %q (want s3:// or a directory)", location, scheme)
}

// S3Location is a parsed s3:// location.
type S3Location struct {
	Bucket    string
	Prefix    string
	Endpoint  string // "" for AWS (or AWS_ENDPOINT_URL_S3)
	Region    string // "" for the SDK's default
	PathStyle bool
}

// ParseS3Location parses s3://bucket/prefix[?endpoint=URL&path-style=true&region=R].
func ParseS3Location(location string) (S3Location, error) {
	var loc S3Location
	u, err := url.Parse(location)
	if err != nil {
		return loc, fmt.Errorf("store: %q: %w", location, err)
	}
	if u.Scheme != "s3" {
		return loc, fmt.Errorf("store: %q is not an s3:// location", location)
	}
	if u.User != nil || u.Fragment != "" {
		return loc, fmt.Errorf("store: %q: an s3 location has no user or fragment", location)
	}
	loc.Bucket = u.Host
	if !validBucket(loc.Bucket) {
		return loc, fmt.Errorf("store: %q: invalid bucket name %q", location, loc.Bucket)
	}
	loc.Prefix = strings.Trim(u.Path, "/")
	if loc.Prefix != "" {
		if err := ValidateKey(loc.Prefix); err != nil {
			return loc, fmt.Errorf("store: %q: invalid prefix: %w", location, err)
		}
	}
	for name, values := range u.Query() {
		v := values[len(values)-1]
		switch name {
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return loc, fmt.Errorf("store: %q: endpoint must be an http(s) URL, got %q", location, v)
			}
			loc.Endpoint = v
		case "region":
			loc.Region = v
		case "path-style":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return loc, fmt.Errorf("store: %q: path-style must be true or false, got %q", location, v)
			}
			loc.PathStyle = b
		default:
			return loc, fmt.Errorf("store: %q: unknown parameter %q (known: endpoint, path-style, region)", location, name)
		}
	}
	return loc, nil
}

func openS3(ctx context.Context, location string) (*S3, error) {
	loc, err := ParseS3Location(location)
	if err != nil {
		return nil, err
	}
	var opts []func(*config.LoadOptions) error
	if loc.Region != "" {
		opts = append(opts, config.WithRegion(loc.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("store: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		// S3 needs a region to sign requests; us-east-1 is what S3-compatible servers
		// expect. A bucket elsewhere answers with its region (S3.wrap says so).
		cfg.Region = "us-east-1"
	}
	if err := checkCredentials(ctx, cfg.Credentials); err != nil {
		return nil, fmt.Errorf("store: %s: %w", location, err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if loc.Endpoint != "" {
			o.BaseEndpoint = aws.String(loc.Endpoint)
		}
		o.UsePathStyle = loc.PathStyle
		// Plain PUTs with a Content-Length: S3-compatible servers do not all read the
		// aws-chunked encoding the SDK otherwise uses for checksums, and snapshots carry
		// their own SHA-256.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return NewS3(client, loc.Bucket, loc.Prefix)
}

// credentialsTimeout bounds the credential lookup of Open: the SDK's chain ends with the
// EC2 instance metadata service, which may not answer where there is none.
const credentialsTimeout = 10 * time.Second

// checkCredentials retrieves the credentials of the SDK's chain once (they are cached),
// and names what to configure when there are none.
func checkCredentials(ctx context.Context, provider aws.CredentialsProvider) error {
	const want = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (for an S3-compatible server, its keys), " +
		"or AWS_PROFILE, or run with an IAM role"
	if provider == nil {
		return fmt.Errorf("%w: %s", ErrNoCredentials, want)
	}
	ctx, cancel := context.WithTimeout(ctx, credentialsTimeout)
	defer cancel()
	if _, err := provider.Retrieve(ctx); err != nil {
		return fmt.Errorf("%w: %s (the AWS SDK's default chain found none: %v)", ErrNoCredentials, want, err)
	}
	return nil
}
