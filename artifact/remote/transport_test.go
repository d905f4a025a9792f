package remote_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
)

func hostileRef(t *testing.T, srv *httptest.Server, repo string) artifact.Reference {
	t.Helper()
	ref, err := artifact.ParseReference("oci://" + strings.TrimPrefix(srv.URL, "http://") + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// A registry that sends megabytes of headers gets the request refused at the header
// bound, not read and quoted into an error (which the puller would log and store at
// every poll); and an error whose text the registry chose (a long error message) is
// cut, still matching what it matched.
func TestRegistryTextInErrorsIsBounded(t *testing.T) {
	huge := strings.Repeat("\x01", 8<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/long/"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"errors":[{"code":"DENIED","message":"`+strings.Repeat("x", 6000)+`"}]}`)
		case strings.HasSuffix(r.URL.Path, "/tags/list"):
			w.Header().Set("Link", huge)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"name":"demo","tags":["1.0.0"]}`)
		default:
			w.Header().Set("Docker-Content-Digest", huge)
			w.Header().Set("Content-Type", ocispec.MediaTypeImageManifest)
			w.Header().Set("Content-Length", "2")
		}
	}))
	defer srv.Close()
	c := remote.New(remote.Options{}) // the default client, with its bounds
	ref := hostileRef(t, srv, "demo:v1")
	_, err := c.Resolve(context.Background(), ref)
	if err == nil || !strings.Contains(err.Error(), "headers exceeded") || len(err.Error()) > 3<<10 {
		t.Fatalf("resolve: %d bytes: %.300q", len(err.Error()), err)
	}
	_, err = c.Tags(context.Background(), ref)
	if err == nil || !strings.Contains(err.Error(), "headers exceeded") || len(err.Error()) > 3<<10 {
		t.Fatalf("tags: %d bytes: %.300q", len(err.Error()), err)
	}
	_, err = c.Tags(context.Background(), hostileRef(t, srv, "long/demo:v1"))
	var re *remote.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest || len(err.Error()) > 3<<10 || !strings.Contains(err.Error(), "bytes more)") {
		t.Fatalf("long error: %d bytes: %.300q", len(err.Error()), err)
	}
}

// A registry that accepts the connection and never answers, or stops half-way through
// a body, ends the request at the bound instead of holding it (and the puller's sync
// slot, or a CI job) until some outer deadline.
func TestStalledRegistryEndsTheRequest(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/blobs/") {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "ten bytes.")
			w.(http.Flusher).Flush()
		}
		select { // no headers (manifests), or no more body (blobs)
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	bounded := func() *http.Client {
		tr := remote.BoundHeaders(http.DefaultTransport.(*http.Transport).Clone(), remote.TransportOptions{ResponseHeaderTimeout: 300 * time.Millisecond})
		return &http.Client{Transport: remote.StallGuard(tr, 300*time.Millisecond)}
	}
	c := remote.New(remote.Options{HTTPClient: bounded()})
	start := time.Now()
	_, err := c.Resolve(context.Background(), hostileRef(t, srv, "demo:v1"))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 10*time.Second {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
	d := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromString("x"), Size: 1000}
	start = time.Now()
	_, err = c.FetchBlob(context.Background(), hostileRef(t, srv, "demo:v1"), d, 1<<20)
	if !errors.Is(err, remote.ErrStalled) || time.Since(start) > 10*time.Second {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
}

// The idle bound is the registry's, not the reader's: a reader that pauses longer than
// it between reads of a body that has arrived is not told the registry stalled.
func TestStallGuardTimesTheRegistryNotTheReader(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100))
	}))
	defer srv.Close()
	c := &http.Client{Transport: remote.StallGuard(http.DefaultTransport, 100*time.Millisecond)}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 10)
	for {
		time.Sleep(150 * time.Millisecond)
		if _, err := resp.Body.Read(buf); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		buf = make([]byte, 50)
	}
}

// A registry may redirect a blob to storage under a signed URL; its query (the
// signature) is a credential to the content and appears in no error, whether the
// storage answers an error or drops the connection.
func TestSignedRedirectURLStaysOutOfErrors(t *testing.T) {
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/drop") {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		http.Error(w, "storage failed", http.StatusInternalServerError)
	}))
	defer storage.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := "/blob/fail"
		if strings.Contains(r.URL.Path, "/drop/") {
			path = "/blob/drop"
		}
		http.Redirect(w, r, storage.URL+path+"?X-Amz-Credential=AKIA&X-Amz-Signature=SECRETSIGNATURE", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	c := remote.New(remote.Options{HTTPClient: &http.Client{Transport: remote.NewRetryTransport(remote.NewTransport(), remote.RetryPolicy{})}})
	d := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromString("x"), Size: 10}
	for _, repo := range []string{"fail/demo", "drop/demo"} {
		_, err := c.FetchBlob(context.Background(), hostileRef(t, srv, repo+":v1"), d, 1<<20)
		if err == nil || strings.Contains(err.Error(), "SECRETSIGNATURE") || strings.Contains(err.Error(), "AKIA") {
			t.Errorf("%s: %v", repo, err)
		}
	}
}

// A 403 from the storage a blob was redirected to (an expired signed link) is not the
// registry refusing the credentials: it is not ErrUnauthorized (which the puller does
// not retry soon, and the CLI reports as exit 4), and it says where it came from.
func TestStorageRefusalIsNotACredentialRefusal(t *testing.T) {
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>", http.StatusForbidden)
	}))
	defer storage.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, storage.URL+"/bucket/blob?X-Amz-Signature=SECRETSIGNATURE", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	d := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromString("x"), Size: 10}
	// The puller's kind of client, and the CLI's default one.
	for _, c := range []*remote.Client{remote.New(remote.Options{HTTPClient: &http.Client{Transport: remote.NewRetryTransport(remote.NewTransport(), remote.RetryPolicy{})}}), remote.New(remote.Options{})} {
		_, err := c.FetchBlob(context.Background(), hostileRef(t, srv, "app/demo:v1"), d, 1<<20)
		var se *remote.StorageRefusalError
		if errors.Is(err, remote.ErrUnauthorized) || !errors.As(err, &se) || se.StatusCode != http.StatusForbidden ||
			!strings.Contains(err.Error(), "redirected the download to") || strings.Contains(err.Error(), "SECRETSIGNATURE") {
			t.Fatalf("err = %v", err)
		}
	}
	// A 403 with the registry's error body, or to a token request (scope=), is the
	// registry's refusal still.
	for _, path := range []string{"/auth/token?scope=repository:app/demo:pull&service=r", "/v2/app/demo/blobs/x"} {
		refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/v2/app/demo/blobs/sha256") {
				http.Redirect(w, r, path, http.StatusTemporaryRedirect)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)
		}))
		_, err := remote.New(remote.Options{}).FetchBlob(context.Background(), hostileRef(t, refusing, "app/demo:v1"), d, 1<<20)
		refusing.Close()
		if !errors.Is(err, remote.ErrUnauthorized) {
			t.Errorf("%s: err = %v, want the registry's refusal", path, err)
		}
	}
}
