package helm

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/artifact/auth"
)

// A chart repository's credentials go to its origin only: a redirect to plain HTTP on
// another port of the same host (which net/http would hand the Authorization header)
// gets none; a redirect within the origin keeps them.
func TestChartRepositoryCredentialsStayWithTheirOrigin(t *testing.T) {
	var plainAuth string
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainAuth = r.Header.Get("Authorization")
		w.Write([]byte("ok"))
	}))
	defer plain.Close()
	var sameAuth string
	repo := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away/index.yaml":
			http.Redirect(w, r, plain.URL+"/index.yaml", http.StatusFound)
		case "/here/index.yaml":
			http.Redirect(w, r, "/moved/index.yaml", http.StatusFound)
		default:
			sameAuth = r.Header.Get("Authorization")
			w.Write([]byte("ok"))
		}
	}))
	defer repo.Close()
	host := strings.TrimPrefix(repo.URL, "https://")
	e := New(Options{HTTPClient: repo.Client(), Credentials: auth.Chain{auth.Static(host, auth.Credential{Username: "u", Password: "SECRET"}, "test")}})
	if _, err := e.get(t.Context(), repo.URL+"/away/index.yaml", 1<<20); err != nil {
		t.Fatal(err)
	}
	if plainAuth != "" {
		t.Errorf("the plain-HTTP server on another port got Authorization %q", plainAuth)
	}
	if _, err := e.get(t.Context(), repo.URL+"/here/index.yaml", 1<<20); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sameAuth, "Basic ") {
		t.Errorf("a redirect within the origin lost the credentials: %q", sameAuth)
	}
}

type recordingTransport struct{ auth []string }

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req, Header: http.Header{}}, nil
}

// A source the tree marks insecure (HelmRepository insecure: true) is fetched over plain
// HTTP without the CI's credentials; the user's --insecure sends them.
func TestTreeMarkedInsecureGetsNoCredentials(t *testing.T) {
	creds := auth.Chain{auth.Static("charts.example.test", auth.Credential{Username: "u", Password: "SECRET"}, "test")}
	for _, userInsecure := range []bool{false, true} {
		rt := &recordingTransport{}
		e := New(Options{HTTPClient: &http.Client{Transport: rt}, Credentials: creds, Insecure: userInsecure})
		if _, err := e.forSource(true).get(t.Context(), "http://charts.example.test/index.yaml", 1<<20); err != nil {
			t.Fatal(err)
		}
		if sent := rt.auth[0] != ""; sent != userInsecure {
			t.Errorf("--insecure %v: credentials sent %v", userInsecure, sent)
		}
	}
}

// Credentials in a chart repository's URL are refused, and not quoted.
func TestChartRepositoryURLWithCredentialsIsRefused(t *testing.T) {
	e := New(Options{HTTPClient: &http.Client{Transport: &recordingTransport{}}})
	_, err := e.repoChart(t.Context(), "https://bob:PASSW0RD@charts.example.test/stable/", "app", "")
	if !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "PASSW0RD") || !strings.Contains(err.Error(), "charts.example.test/stable") {
		t.Fatalf("err = %v", err)
	}
}
