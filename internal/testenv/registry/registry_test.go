package registry_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

// newRepo returns an oras-go client for host/name speaking plain HTTP, with
// cred (may be empty). Its auth.Client is returned so tests can tune it.
func newRepo(t *testing.T, host, name string, cred auth.Credential) (*remote.Repository, *auth.Client) {
	t.Helper()
	repo, err := remote.NewRepository(host + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	client := &auth.Client{
		Client: retry.DefaultClient,
		Cache:  auth.NewCache(),
	}
	if cred != auth.EmptyCredential {
		client.Credential = auth.StaticCredential(host, cred)
	}
	repo.PlainHTTP = true
	repo.Client = client
	return repo, client
}

func creds(r *registry.Registry) auth.Credential {
	return auth.Credential{Username: r.Username, Password: r.Password}
}

// pushAndResolve pushes a blob and a manifest referencing it, tags the
// manifest, then resolves the tag and reads the blob back.
func pushAndResolve(ctx context.Context, repo *remote.Repository) error {
	data := []byte("hello from gitless " + repo.Reference.Repository)
	layer := content.NewDescriptorFromBytes("application/vnd.gitless.test.layer.v1", data)
	if err := repo.Push(ctx, layer, bytes.NewReader(data)); err != nil {
		return err
	}
	manifest, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, "application/vnd.gitless.test.v1",
		oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		return err
	}
	if err := repo.Tag(ctx, manifest, "v1"); err != nil {
		return err
	}
	return resolve(ctx, repo, manifest.Digest.String(), data)
}

func resolve(ctx context.Context, repo *remote.Repository, wantDigest string, wantLayer []byte) error {
	got, err := repo.Resolve(ctx, "v1")
	if err != nil {
		return err
	}
	if got.Digest.String() != wantDigest {
		return errors.New("resolved " + got.Digest.String() + ", pushed " + wantDigest)
	}
	back, err := content.FetchAll(ctx, repo, content.NewDescriptorFromBytes("application/octet-stream", wantLayer))
	if err != nil {
		return err
	}
	if !bytes.Equal(back, wantLayer) {
		return errors.New("blob read back differs")
	}
	return nil
}

// statusOf returns the HTTP status of a registry error, or 0.
func statusOf(err error) int {
	var resp *errcode.ErrorResponse
	if errors.As(err, &resp) {
		return resp.StatusCode
	}
	return 0
}

func TestPushResolveEachMode(t *testing.T) {
	t.Parallel()
	for _, mode := range []registry.Auth{registry.AuthNone, registry.AuthBasic, registry.AuthToken} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			reg := registry.NewT(t, registry.Options{Auth: mode})
			if reg.Auth() != mode {
				t.Fatalf("Auth() = %v, want %v", reg.Auth(), mode)
			}
			if mode != registry.AuthNone && (reg.Username != registry.DefaultUsername || len(reg.Password) != 32) {
				t.Fatalf("credentials %q/%q, want the default user and a random password", reg.Username, reg.Password)
			}
			if !strings.HasPrefix(reg.Host(), "127.0.0.1:") || reg.URL() != "http://"+reg.Host() {
				t.Fatalf("Host() = %q, URL() = %q", reg.Host(), reg.URL())
			}
			repo, _ := newRepo(t, reg.Host(), "team/app", creds(reg))
			if err := pushAndResolve(t.Context(), repo); err != nil {
				t.Fatal(err)
			}
			if mode == registry.AuthToken && reg.TokenRequests() == 0 {
				t.Fatal("pushed with AuthToken without asking the token server")
			}
		})
	}
}

func TestGGCR(t *testing.T) {
	t.Parallel()
	host := registry.NewGGCR(t)
	repo, _ := newRepo(t, host, "team/app", auth.EmptyCredential)
	if err := pushAndResolve(t.Context(), repo); err != nil {
		t.Fatal(err)
	}
}

func TestFilesystemStorageSurvivesRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	reg, err := registry.Start(t.Context(), registry.Options{RootDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	repo, _ := newRepo(t, reg.Host(), "team/app", auth.EmptyCredential)
	if err := pushAndResolve(t.Context(), repo); err != nil {
		t.Fatal(err)
	}
	want, err := repo.Resolve(t.Context(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	reg = registry.NewT(t, registry.Options{RootDir: dir})
	repo, _ = newRepo(t, reg.Host(), "team/app", auth.EmptyCredential)
	if err := resolve(t.Context(), repo, want.Digest.String(), []byte("hello from gitless team/app")); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

func TestCredentialsRejected(t *testing.T) {
	t.Parallel()
	for _, mode := range []registry.Auth{registry.AuthBasic, registry.AuthToken} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			reg := registry.NewT(t, registry.Options{Auth: mode, Username: "alice", Password: "s3cret"})
			if reg.Username != "alice" || reg.Password != "s3cret" {
				t.Fatalf("credentials %q/%q, want the ones given", reg.Username, reg.Password)
			}

			t.Run("wrong password", func(t *testing.T) {
				repo, _ := newRepo(t, reg.Host(), "team/app", auth.Credential{Username: "alice", Password: "wrong"})
				err := pushAndResolve(t.Context(), repo)
				if got := statusOf(err); got != http.StatusUnauthorized {
					t.Fatalf("push with a wrong password: status %d, err %v; want 401", got, err)
				}
				if mode == registry.AuthToken {
					// The 401 must come from the token endpoint, not the registry.
					var resp *errcode.ErrorResponse
					errors.As(err, &resp)
					if resp.URL.Scheme+"://"+resp.URL.Host+resp.URL.Path != reg.Realm() {
						t.Fatalf("401 from %s, want the realm %s", resp.URL, reg.Realm())
					}
				}
			})

			t.Run("wrong user", func(t *testing.T) {
				repo, _ := newRepo(t, reg.Host(), "team/app", auth.Credential{Username: "bob", Password: "s3cret"})
				if err := pushAndResolve(t.Context(), repo); statusOf(err) != http.StatusUnauthorized {
					t.Fatalf("push as another user: %v; want 401", err)
				}
			})

			t.Run("anonymous", func(t *testing.T) {
				repo, _ := newRepo(t, reg.Host(), "team/app", auth.EmptyCredential)
				err := pushAndResolve(t.Context(), repo)
				switch mode {
				case registry.AuthBasic:
					// oras-go gives up before sending anything without credentials.
					if !errors.Is(err, auth.ErrBasicCredentialNotFound) {
						t.Fatalf("anonymous push: %v; want ErrBasicCredentialNotFound", err)
					}
				case registry.AuthToken:
					if statusOf(err) != http.StatusUnauthorized {
						t.Fatalf("anonymous push: %v; want 401 from the token endpoint", err)
					}
				}
				// And on the wire: the registry itself refuses and says how to authenticate.
				resp, err := http.Get(reg.URL() + "/v2/team/app/manifests/v1")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Fatalf("anonymous GET manifest: %s, want 401", resp.Status)
				}
				challenge := resp.Header.Get("WWW-Authenticate")
				want := `Basic realm="gitless-registry"`
				if mode == registry.AuthToken {
					want = `Bearer realm="` + reg.Realm() + `",service="gitless-registry",scope="repository:team/app:pull"`
				}
				if challenge != want {
					t.Fatalf("challenge %q, want %q", challenge, want)
				}
			})

			t.Run("right credentials", func(t *testing.T) {
				repo, _ := newRepo(t, reg.Host(), "team/app", creds(reg))
				if err := pushAndResolve(t.Context(), repo); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func TestTokenOAuth2PasswordGrant(t *testing.T) {
	t.Parallel()
	reg := registry.NewT(t, registry.Options{Auth: registry.AuthToken})

	repo, client := newRepo(t, reg.Host(), "team/app", creds(reg))
	client.ForceAttemptOAuth2 = true
	if err := pushAndResolve(t.Context(), repo); err != nil {
		t.Fatal(err)
	}
	if reg.TokenRequests() == 0 {
		t.Fatal("no token request recorded")
	}

	bad, client := newRepo(t, reg.Host(), "team/app", auth.Credential{Username: reg.Username, Password: "wrong"})
	client.ForceAttemptOAuth2 = true
	if err := pushAndResolve(t.Context(), bad); statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("OAuth2 push with a wrong password: %v; want 401", err)
	}

	resp, err := http.PostForm(reg.Realm(), url.Values{
		"grant_type": {"password"}, "username": {reg.Username}, "password": {reg.Password},
		"service": {registry.Service}, "client_id": {"test"}, "scope": {"repository:team/a:pull repository:team/b:push"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("password grant: %s, %v", resp.Status, err)
	}
	_, got := claimsOf(t, body.AccessToken)
	want := []access{
		{Type: "repository", Name: "team/a", Actions: []string{"pull"}},
		{Type: "repository", Name: "team/b", Actions: []string{"push"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("password grant access %+v, want %+v", got, want)
	}

	resp, err = http.PostForm(reg.Realm(), url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "service": {registry.Service},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("refresh_token grant: %s, want 400", resp.Status)
	}
}

// fetchToken asks the token server for scopes over plain GET, as docker does.
func fetchToken(t *testing.T, reg *registry.Registry, scopes ...string) string {
	t.Helper()
	q := url.Values{"service": {registry.Service}, "scope": scopes}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, reg.Realm()+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(reg.Username, reg.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token request: %s", resp.Status)
	}
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Token == "" || body.Token != body.AccessToken || body.ExpiresIn <= 0 {
		t.Fatalf("token response %+v", body)
	}
	return body.Token
}

type access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

func claimsOf(t *testing.T, token string) (aud string, accesses []access) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Aud    string   `json:"aud"`
		Access []access `json:"access"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.Aud, claims.Access
}

// startUpload starts a blob upload in repo with token, the first request of
// every push, and returns the status and the challenge.
func startUpload(t *testing.T, reg *registry.Registry, repo, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, reg.URL()+"/v2/"+repo+"/blobs/uploads/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

func TestTokenScopes(t *testing.T) {
	t.Parallel()
	reg := registry.NewT(t, registry.Options{Auth: registry.AuthToken})

	pushA := fetchToken(t, reg, "repository:team/a:pull,push,admin", "bogus")
	aud, got := claimsOf(t, pushA)
	if aud != registry.Service {
		t.Fatalf("aud %q, want %q", aud, registry.Service)
	}
	want := []access{{Type: "repository", Name: "team/a", Actions: []string{"pull", "push"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("access %+v, want %+v (only what was asked and is grantable)", got, want)
	}

	if status, _ := startUpload(t, reg, "team/a", pushA); status != http.StatusAccepted {
		t.Fatalf("push to team/a with a team/a push token: %d, want 202", status)
	}
	status, challenge := startUpload(t, reg, "team/b", pushA)
	if status != http.StatusUnauthorized || !strings.Contains(challenge, `error="insufficient_scope"`) {
		t.Fatalf("push to team/b with a team/a token: %d %q, want 401 insufficient_scope", status, challenge)
	}

	pullA := fetchToken(t, reg, "repository:team/a:pull")
	status, challenge = startUpload(t, reg, "team/a", pullA)
	if status != http.StatusUnauthorized || !strings.Contains(challenge, `error="insufficient_scope"`) {
		t.Fatalf("push to team/a with a pull token: %d %q, want 401 insufficient_scope", status, challenge)
	}

	// distribution only labels untrusted keys and malformed tokens
	// error="invalid_token"; a bad signature gets a bare challenge.
	status, _ = startUpload(t, reg, "team/a", pushA[:len(pushA)-4]+"AAAA")
	if status != http.StatusUnauthorized {
		t.Fatalf("push with a tampered signature: %d, want 401", status)
	}
}

func TestParseAuth(t *testing.T) {
	t.Parallel()
	for _, mode := range []registry.Auth{registry.AuthNone, registry.AuthBasic, registry.AuthToken} {
		got, err := registry.ParseAuth(mode.String())
		if err != nil || got != mode {
			t.Errorf("ParseAuth(%q) = %v, %v", mode.String(), got, err)
		}
	}
	if _, err := registry.ParseAuth("oauth"); err == nil {
		t.Error("ParseAuth accepted an unknown mode")
	}
	if _, err := registry.Start(t.Context(), registry.Options{Auth: registry.Auth(9)}); err == nil {
		t.Error("Start accepted an unknown mode")
	}
}

// The read-only user of AuthToken pulls but cannot push: the registry answers the push
// with 401, as ghcr.io answers a GITHUB_TOKEN without packages: write.
func TestTokenReadOnlyUser(t *testing.T) {
	t.Parallel()
	reg := registry.NewT(t, registry.Options{Auth: registry.AuthToken, ReadOnlyUsername: "reader", ReadOnlyPassword: "read-only-token"})
	writer, _ := newRepo(t, reg.Host(), "team/app", creds(reg))
	if err := pushAndResolve(t.Context(), writer); err != nil {
		t.Fatal(err)
	}
	reader, _ := newRepo(t, reg.Host(), "team/app", auth.Credential{Username: "reader", Password: "read-only-token"})
	data := []byte("hello from gitless team/app")
	if err := resolve(t.Context(), reader, mustResolve(t, writer), data); err != nil {
		t.Fatalf("the read-only user cannot pull: %v", err)
	}
	blob := []byte("written by the reader")
	err := reader.Push(t.Context(), content.NewDescriptorFromBytes("application/octet-stream", blob), bytes.NewReader(blob))
	if code := statusOf(err); code != http.StatusUnauthorized {
		t.Fatalf("push by the read-only user: %v (status %d), want 401", err, code)
	}
	wrong, _ := newRepo(t, reg.Host(), "team/app", auth.Credential{Username: "reader", Password: "wrong"})
	if _, err := wrong.Resolve(t.Context(), "v1"); statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("the read-only user with a wrong password: %v, want 401", err)
	}
}

func mustResolve(t *testing.T, repo *remote.Repository) string {
	t.Helper()
	d, err := repo.Resolve(t.Context(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	return d.Digest.String()
}
