package oci

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gpack/gpack/internal/usererr"
)

// DefaultPushTimeout is how long a registry may keep a push waiting at one
// step: to accept the connection, to finish the TLS handshake, to take the
// next bytes of an upload, and to answer once a request is sent. Progress
// counts as life: an upload of any size goes on as long as the registry
// keeps taking bytes. A minute is far beyond what a working registry takes
// at any step (even one that copies a finished blob to its storage), and
// short enough that a registry that accepts connections and never answers
// fails the push in minutes, not never.
const DefaultPushTimeout = time.Minute

// pushRetry is how go-containerregistry retries a request that failed in a
// way that may pass (a timeout, a reset connection, a 5xx or 429 answer):
// three tries, 1 s and then 3 s apart. gpack writes no retry loop of its
// own.
var pushRetry = remote.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: 3}

// pushRetryStatus are the HTTP statuses that are retried: the ones that
// say "later" (408, 429, 5xx gateways and overloads, and the 499 and 522
// of nginx and Cloudflare).
var pushRetryStatus = []int{
	http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, 499, 522,
}

// pushTransport is the HTTP transport of a push: go-containerregistry's
// remote.DefaultTransport with every wait bounded by timeout (see
// DefaultPushTimeout), and TLS verification off for --insecure.
func pushTransport(insecure bool, timeout time.Duration) *http.Transport {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &stallConn{Conn: c, timeout: timeout}, nil
	}
	t.TLSHandshakeTimeout = timeout
	t.ResponseHeaderTimeout = timeout
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // the user asked for --insecure
	}
	return t
}

// stallConn fails a write that makes no progress for timeout: an upload
// to a registry that stopped reading. Writes go out in pieces, each with
// a deadline of its own, so a large write that moves, however slowly,
// never fails.
type stallConn struct {
	net.Conn
	timeout time.Duration
}

// stallPiece is how much of a write must go out within the timeout.
const stallPiece = 64 << 10

func (c *stallConn) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if err := c.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
			return n, err
		}
		k, err := c.Conn.Write(p[n:min(len(p), n+stallPiece)])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// pushError says what failed in a push to ref: for a registry that did not
// answer in time, which registry, which request and what it was for. A
// push whose ctx ended (Ctrl-C) is not the registry's fault: net/http's
// own timeouts match context.DeadlineExceeded too, so ctx is asked.
func pushError(ctx context.Context, ref, registry string, timeout time.Duration, err error) error {
	var ue *url.Error
	var ne net.Error
	if ctx.Err() != nil || !errors.As(err, &ue) || !errors.As(err, &ne) || !ne.Timeout() {
		return fmt.Errorf("push to %s: %w", ref, err)
	}
	path := ue.URL
	if u, perr := url.Parse(ue.URL); perr == nil {
		path = u.Path
	}
	return &usererr.Error{Path: ref,
		What: fmt.Sprintf("push: the registry %s did not answer within %s, to %s %s (%s)",
			registry, timeout, strings.ToUpper(ue.Op), path, requestPurpose(ue.Op, path)),
		Fix: "check that " + registry + " is a registry and is up, then push again (blobs it has are not sent again)",
		Err: err}
}

// requestPurpose says what a registry request of the distribution API is
// for.
func requestPurpose(op, path string) string {
	switch {
	case path == "/v2/" || path == "/v2":
		return "the first contact, which asks for the registry's API"
	case strings.Contains(path, "/blobs/uploads"):
		return "uploading a blob (a layer or the config)"
	case strings.Contains(path, "/blobs/"):
		return "asking whether the registry has a blob"
	case strings.Contains(path, "/manifests/"):
		if strings.EqualFold(op, http.MethodPut) {
			return "sending the manifest"
		}
		return "asking for the manifest"
	case strings.HasSuffix(path, "/token") || strings.Contains(path, "token"):
		return "asking for a token to push with"
	}
	return "a registry request"
}
