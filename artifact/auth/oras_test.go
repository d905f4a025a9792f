package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"oras.land/oras-go/v2/registry/remote"
	orasauth "oras.land/oras-go/v2/registry/remote/auth"
)

func TestToORAS(t *testing.T) {
	got := ToORAS(Credential{Username: "u", Password: "p", IdentityToken: "i", RegistryToken: "r"})
	want := orasauth.Credential{Username: "u", Password: "p", RefreshToken: "i", AccessToken: "r"}
	if got != want {
		t.Errorf("ToORAS = %+v, want %+v", got, want)
	}
}

func TestChainORASCredential(t *testing.T) {
	ctx := context.Background()
	chain := Chain{Static("ghcr.io", Credential{Username: "u", Password: "p"}, "--creds")}
	fn := chain.ORASCredential()
	if got, err := fn(ctx, "ghcr.io"); err != nil || got != (orasauth.Credential{Username: "u", Password: "p"}) {
		t.Errorf("ghcr.io: %+v, %v", got, err)
	}
	if got, err := fn(ctx, "quay.io"); err != nil || got != orasauth.EmptyCredential {
		t.Errorf("quay.io: %+v, %v; want EmptyCredential", got, err)
	}
	if _, err := fn(ctx, "bad host"); !errors.Is(err, ErrInvalidHost) {
		t.Errorf("bad host: error = %v", err)
	}
}

func TestTracker(t *testing.T) {
	ctx := context.Background()
	tracker := NewTracker(Chain{
		Static("ghcr.io", Credential{Username: "u", Password: "p"}, "--creds"),
		FromEnv(mapEnv(map[string]string{"CI_REGISTRY": "registry.gitlab.com", "CI_JOB_TOKEN": "jt"})),
	})
	if _, ok := tracker.SourceFor("ghcr.io"); ok {
		t.Error("SourceFor before any lookup: ok")
	}
	fn := tracker.ORASCredential()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, host := range []string{"ghcr.io", "registry.gitlab.com", "quay.io"} {
				if _, err := fn(ctx, host); err != nil {
					t.Error(err)
				}
				tracker.SourceFor(host)
			}
		})
	}
	wg.Wait()
	for host, want := range map[string]string{"GHCR.io": "--creds", "https://registry.gitlab.com/v2/": NameGitLabJobToken} {
		if got, ok := tracker.SourceFor(host); !ok || got != want {
			t.Errorf("SourceFor(%q) = %q, %v; want %q", host, got, ok, want)
		}
	}
	for _, host := range []string{"quay.io", "never.asked", "bad host"} {
		if got, ok := tracker.SourceFor(host); ok {
			t.Errorf("SourceFor(%q) = %q, want none", host, got)
		}
	}
	if len(tracker.Chain()) != 2 {
		t.Errorf("Chain() = %v", tracker.Chain())
	}
}

// TestORASAgainstRegistry sends credentials from a chain through oras-go to a
// registry that requires basic auth, and uses the Tracker to explain a 401.
func TestORASAgainstRegistry(t *testing.T) {
	ctx := context.Background()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "robot" || p != "right" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	host := u.Host

	for _, tt := range []struct {
		password string
		wantErr  bool
	}{{"right", false}, {"wrong", true}} {
		tracker := NewTracker(Chain{Static(host, Credential{Username: "robot", Password: tt.password}, "--creds")})
		r, err := remote.NewRegistry(host)
		if err != nil {
			t.Fatal(err)
		}
		r.PlainHTTP = true
		r.Client = &orasauth.Client{Credential: tracker.ORASCredential()}
		err = r.Ping(ctx)
		if (err != nil) != tt.wantErr {
			t.Errorf("password %q: Ping error = %v", tt.password, err)
		}
		if err != nil {
			from, ok := tracker.SourceFor(host)
			if !ok || from != "--creds" {
				t.Errorf("SourceFor(%q) = %q, %v", host, from, ok)
			}
			msg := fmt.Errorf("%s refused the credentials from %s: %w", host, from, err).Error()
			if strings.Contains(msg, "wrong") {
				t.Errorf("error shows the password: %s", msg)
			}
		}
	}
}
