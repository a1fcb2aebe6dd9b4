package edgeserver

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/edgeflag/edgeflag/evaluator"
)

// RequestConfig says which parts of a request make the evaluation context of GET
// /evaluate, with the defaults of the Cloudflare Worker and the Lambda@Edge function
// (the settings of Edge in edge/shared/handler.mjs).
type RequestConfig struct {
	// UserHeader carries the user id, set by a trusted layer in front (default x-user-id).
	UserHeader string
	// UserCookie carries the user id when the header is absent (default edgeflag_uid).
	UserCookie string
	// CountryHeaders are read in order for the viewer's country (default CF-IPCountry,
	// then CloudFront-Viewer-Country: what Cloudflare and CloudFront set).
	CountryHeaders []string
}

func (c RequestConfig) withDefaults() RequestConfig {
	if c.UserHeader == "" {
		c.UserHeader = "x-user-id"
	}
	if c.UserCookie == "" {
		c.UserCookie = "edgeflag_uid"
	}
	if len(c.CountryHeaders) == 0 {
		c.CountryHeaders = []string{"CF-IPCountry", "CloudFront-Viewer-Country"}
	}
	return c
}

// RequestContext is the context built from a request: userId, country and userAgent,
// each only when the request has it. Its JSON has the key order of the Worker's.
type RequestContext struct {
	UserID    string `json:"userId,omitempty"`
	Country   string `json:"country,omitempty"`
	UserAgent string `json:"userAgent,omitempty"`
}

// Context reads the attributes of r, as Edge.answer in edge/shared/handler.mjs does:
// userId from the user header or else the user cookie (URL-decoded), country from the
// first country header set (upper-cased), userAgent from User-Agent.
func (c RequestConfig) Context(r *http.Request) RequestContext {
	c = c.withDefaults()
	var rc RequestContext
	rc.UserID = r.Header.Get(c.UserHeader)
	if rc.UserID == "" {
		rc.UserID = cookieValue(r.Header.Get("Cookie"), c.UserCookie)
	}
	for _, h := range c.CountryHeaders {
		if v := r.Header.Get(h); v != "" {
			rc.Country = strings.ToUpper(v)
			break
		}
	}
	rc.UserAgent = r.Header.Get("User-Agent")
	return rc
}

// Fill resets ctx and sets the attributes of rc.
func (rc RequestContext) Fill(ctx *evaluator.Context) {
	ctx.Reset()
	if rc.UserID != "" {
		ctx.SetString("userId", rc.UserID)
	}
	if rc.Country != "" {
		ctx.SetString("country", rc.Country)
	}
	if rc.UserAgent != "" {
		ctx.SetString("userAgent", rc.UserAgent)
	}
}

// AppendJSON appends rc as JSON, with the key order of the Worker's and only the
// attributes set, as JSON.stringify writes it for the Worker's context object.
func (rc RequestContext) AppendJSON(dst []byte) []byte {
	dst = append(dst, '{')
	for _, a := range [...]struct{ name, value string }{{"userId", rc.UserID}, {"country", rc.Country}, {"userAgent", rc.UserAgent}} {
		if a.value == "" {
			continue
		}
		if dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, a.name...)
		dst = append(dst, '"', ':')
		dst = evaluator.AppendJSONString(dst, a.value)
	}
	return append(dst, '}')
}

// cookieValue returns the value of cookie name in a Cookie header, URL-decoded when it
// decodes (decodeURIComponent), or "".
func cookieValue(header, name string) string {
	for part := range strings.SplitSeq(header, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) != name {
			continue
		}
		v = strings.TrimSpace(v)
		if d, err := url.PathUnescape(v); err == nil {
			return d
		}
		return v
	}
	return ""
}
