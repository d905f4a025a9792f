package auth

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
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

// TestORASAgainstRegistry sends credentials from a chain through oras-go to a
// registry that requires basic auth; a 401 names the source, never the password.
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
		chain := Chain{Static(host, Credential{Username: "robot", Password: tt.password}, "--creds")}
		var from string
		r, err := remote.NewRegistry(host)
		if err != nil {
			t.Fatal(err)
		}
		r.PlainHTTP = true
		r.Client = &orasauth.Client{Credential: func(ctx context.Context, h string) (orasauth.Credential, error) {
			cred, source, err := chain.Resolve(ctx, h)
			from = source
			return ToORAS(cred), err
		}}
		err = r.Ping(ctx)
		if (err != nil) != tt.wantErr {
			t.Errorf("password %q: Ping error = %v", tt.password, err)
		}
		if err != nil {
			if from != "--creds" {
				t.Errorf("source %q", from)
			}
			msg := fmt.Errorf("%s refused the credentials from %s: %w", host, from, err).Error()
			if strings.Contains(msg, "wrong") {
				t.Errorf("error shows the password: %s", msg)
			}
		}
	}
}
