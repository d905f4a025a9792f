package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// EndlessPages configures [NewEndlessPager].
type EndlessPages struct {
	// PerPage is the number of tags, or referrer descriptors, in each page; 1,000 by
	// default (what ghcr.io sends).
	PerPage int
	// TagBytes is the length of each tag name: 16 by default, 8 to 128.
	TagBytes int
}

// EndlessPager is a registry that lies about listings: it forwards every request to a
// real registry, except tag lists and referrer listings, which it answers with pages
// that never end, each with a Link to the next. Resolving, fetching and pushing work
// as the real registry does, so a client is led as far as listing before it is
// attacked.
type EndlessPager struct {
	// Host is "127.0.0.1:PORT", for references.
	Host string
	// Pages counts the listing pages served.
	Pages atomic.Int64
	// Bytes counts the bytes of the listing pages served.
	Bytes atomic.Int64
}

// NewProxy starts, for the test t, a registry in front of upstream that passes every
// request to intercept first: a request intercept answers (returning true) goes no
// further, the others reach upstream as they are. It returns the proxy's host,
// "127.0.0.1:PORT". Tests count requests, refuse methods or lie with it.
func NewProxy(t testing.TB, upstream *Registry, intercept func(w http.ResponseWriter, r *http.Request) bool) string {
	t.Helper()
	target, err := url.Parse(upstream.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !intercept(w, r) {
			proxy.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// NewEndlessPager starts an EndlessPager in front of upstream for the test t.
func NewEndlessPager(t testing.TB, upstream *Registry, opts EndlessPages) *EndlessPager {
	t.Helper()
	if opts.PerPage <= 0 {
		opts.PerPage = 1000
	}
	if opts.TagBytes <= 0 {
		opts.TagBytes = 16
	}
	opts.TagBytes = min(max(opts.TagBytes, 8), 128)
	p := &EndlessPager{}
	// Pages repeat their entries with period pagesMade: what costs the client (parsing
	// every entry) stays, what would cost this test process (making pages) is paid
	// here, before the client is measured.
	const pagesMade = 2
	var tagPages, referrerPages [pagesMade][]byte
	for i := range pagesMade {
		tagPages[i] = tagPage("endless", i, opts)
		referrerPages[i] = referrersPage(i, opts)
	}
	p.Host = NewProxy(t, upstream, func(w http.ResponseWriter, r *http.Request) bool {
		var body []byte
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/tags/list"):
			body = tagPages[page%pagesMade]
			w.Header().Set("Content-Type", "application/json")
		case r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/referrers/"):
			body = referrerPages[page%pagesMade]
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		default:
			return false
		}
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(page+1))
		w.Header().Set("Link", "<"+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
		p.Pages.Add(1)
		p.Bytes.Add(int64(len(body)))
		w.Write(body)
		return true
	})
	return p
}

// tagPage is page n of an endless tag list: tags that are semantic versions below
// 1.0.0 (so that a client parses every one), all different, padded to TagBytes with a
// pre-release suffix.
func tagPage(repo string, n int, opts EndlessPages) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"name":%q,"tags":[`, repo)
	for i := range opts.PerPage {
		if i > 0 {
			b.WriteByte(',')
		}
		tag := fmt.Sprintf("0.%d.%d", n, i)
		if pad := opts.TagBytes - len(tag) - 1; pad > 0 {
			tag += "-" + strings.Repeat("x", pad)
		}
		b.WriteString(`"` + tag + `"`)
	}
	b.WriteString("]}")
	return b.Bytes()
}

// referrersPage is page n of an endless referrers index: descriptors of artifacts
// that are not signatures.
func referrersPage(n int, opts EndlessPages) []byte {
	type desc struct {
		MediaType    string `json:"mediaType"`
		ArtifactType string `json:"artifactType"`
		Digest       string `json:"digest"`
		Size         int    `json:"size"`
	}
	idx := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Manifests     []desc `json:"manifests"`
	}{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json"}
	for i := range opts.PerPage {
		sum := sha256.Sum256([]byte(strconv.Itoa(n) + "/" + strconv.Itoa(i)))
		idx.Manifests = append(idx.Manifests, desc{MediaType: "application/vnd.oci.image.manifest.v1+json",
			ArtifactType: "application/vnd.example.sbom.v1+json", Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: 512})
	}
	b, _ := json.Marshal(idx)
	return b
}
