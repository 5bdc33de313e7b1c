package oci

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// registry is Debian's docker-registry (the CNCF distribution registry)
// listening on loopback with its storage in a temporary directory.
type registry struct {
	t       *testing.T
	log     *syncBuffer
	bin     string
	config  string
	addr    string
	cmd     *exec.Cmd
	stopped chan struct{}
}

// startRegistry starts a registry on a free loopback port.
func startRegistry(t *testing.T) *registry {
	t.Helper()
	bin := need(t, "docker-registry")
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := l.Addr().String()
	l.Close()
	config := filepath.Join(dir, "config.yml")
	must(t, os.WriteFile(config, []byte(fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  cache:
    blobdescriptor: inmemory
http:
  addr: %s
`, filepath.Join(dir, "storage"), addr)), 0o644))
	r := &registry{t: t, bin: bin, config: config, addr: addr, log: &syncBuffer{}}
	r.start()
	t.Cleanup(func() {
		r.stop()
		// The registry logs every 404 of a HEAD as an error: show its
		// log only when it may explain a failure.
		if t.Failed() {
			t.Logf("registry log:\n%s", r.log.String())
		}
	})
	return r
}

func (r *registry) start() {
	r.t.Helper()
	r.cmd = exec.Command(r.bin, "serve", r.config)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	must(r.t, r.cmd.Start())
	r.stopped = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(r.cmd, r.stopped)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + r.addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("registry on %s did not start: %v", r.addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop kills the registry and waits for it to exit.
func (r *registry) stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.stopped
	r.cmd = nil
}

// syncBuffer collects a process's output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// countingTransport counts the requests that start a blob upload, and can
// run a hook before the killAt-th request that sends or commits blob data
// (a PATCH or PUT; each blob takes one of each).
type countingTransport struct {
	base    http.RoundTripper
	mu      sync.Mutex
	uploads int
	sends   int
	killAt  int
	onSend  func()
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.Contains(req.URL.Path, "/blobs/uploads/") {
		c.mu.Lock()
		if req.Method == http.MethodPost {
			c.uploads++
		}
		var hook func()
		if req.Method == http.MethodPatch || req.Method == http.MethodPut {
			c.sends++
			if c.sends == c.killAt {
				hook = c.onSend
			}
		}
		c.mu.Unlock()
		if hook != nil {
			hook()
		}
	}
	return c.base.RoundTrip(req)
}

func (c *countingTransport) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uploads
}

func TestRegistry(t *testing.T) {
	need(t, "skopeo")
	reg := startRegistry(t)
	s := newFakeStore(t, 4, 1000)
	tr, g := s.tree(t)
	im := build(t, tr, Options{References: g.References()})
	digest, err := im.Digest()
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ref := reg.addr + "/gpack/app:latest"

	ct := &countingTransport{base: remote.DefaultTransport}
	must(t, Push(ctx, ref, im, PushOptions{Transport: ct}))
	// Five layers and the config.
	if n := ct.count(); n != len(im.Info)+1 {
		t.Errorf("first push started %d blob uploads, want %d", n, len(im.Info)+1)
	}
	si := inspect(t, "--tls-verify=false", "docker://"+ref)
	if si.Digest != digest.String() {
		t.Errorf("registry has %s, want %s", si.Digest, digest)
	}
	out := filepath.Join(t.TempDir(), "pulled")
	run(t, "skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://"+ref, "oci:"+out+":latest")
	if si := inspect(t, "oci:"+out+":latest"); si.Digest != digest.String() {
		t.Errorf("pulled back %s, want %s", si.Digest, digest)
	}

	// A second push of the same image uploads no blob.
	ct2 := &countingTransport{base: remote.DefaultTransport}
	must(t, Push(ctx, ref, im, PushOptions{Transport: ct2}))
	if n := ct2.count(); n != 0 {
		t.Errorf("second push started %d blob uploads, want 0", n)
	}

	// Bad references are refused before any request.
	for _, bad := range []string{reg.addr + "/App:latest", reg.addr + "/app:la test", "http://" + reg.addr + "/app"} {
		if err := Push(ctx, bad, im, PushOptions{}); err == nil || !strings.Contains(err.Error(), "bad reference") {
			t.Errorf("push to %q: %v", bad, err)
		}
	}
}

// TestRegistryGone stops the registry in the middle of a push, after the
// first blob went up: the push fails with an error that names the registry,
// and a push after the registry is back completes, without uploading the
// blob that was already there.
func TestRegistryGone(t *testing.T) {
	need(t, "skopeo")
	reg := startRegistry(t)
	s := newFakeStore(t, 4, 1000)
	tr, g := s.tree(t)
	im := build(t, tr, Options{References: g.References()})
	digest, err := im.Digest()
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ref := reg.addr + "/gpack/gone:latest"

	ct := &countingTransport{base: remote.DefaultTransport, killAt: 3, onSend: reg.stop}
	err = Push(ctx, ref, im, PushOptions{Transport: ct, Jobs: 1})
	if err == nil {
		t.Fatal("a push to a registry that stopped succeeded")
	}
	if !strings.Contains(err.Error(), "push to "+reg.addr+"/gpack/gone") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("error %q does not say what failed", err)
	}
	t.Logf("error when the registry stops: %v", err)

	reg.start()
	retry := &countingTransport{base: remote.DefaultTransport}
	must(t, Push(ctx, ref, im, PushOptions{Transport: retry}))
	if n := retry.count(); n != len(im.Info) {
		t.Errorf("the retry started %d blob uploads, want %d (all but the first)", n, len(im.Info))
	}
	if si := inspect(t, "--tls-verify=false", "docker://"+ref); si.Digest != digest.String() {
		t.Errorf("registry has %s after the retry, want %s", si.Digest, digest)
	}
}

// TestRegistrySilent pushes to a server that accepts connections and never
// answers: the push must fail, bounded by each request's timeout (and
// go-containerregistry's retries), with a message that names the registry
// and the request it was sending. The context only bounds the test; the
// test asserts no time.
func TestRegistrySilent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	s := newFakeStore(t, 2, 1)
	tr, g := s.tree(t)
	im := build(t, tr, Options{References: g.References()})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	addr := l.Addr().String()
	err = Push(ctx, addr+"/gpack/silent:latest", im, PushOptions{Timeout: 200 * time.Millisecond})
	if err == nil {
		t.Fatal("a push to a registry that never answers succeeded")
	}
	if ctx.Err() != nil {
		t.Fatalf("the push did not end by itself: %v", err)
	}
	t.Logf("error: %v", err)
	for _, want := range []string{"the registry " + addr + " did not answer within 200ms", "GET /v2/", "first contact", "push again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
