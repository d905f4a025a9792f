package pullercli

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// HTTPS_PROXY is for registries; the apiserver is reached directly (a proxy-url in the
// kubeconfig would still be honoured).
func TestAPIServerIsNotProxied(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://apiserver.corp:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600)
	env := Env{Getenv: func(k string) string {
		return map[string]string{"HTTPS_PROXY": "http://proxy.corp:3128", "NO_PROXY": "internal.corp"}[k]
	}}
	cfg, err := (&kubeFlags{kubeconfig: kc}).restConfig(env)
	if err != nil {
		t.Fatal(err)
	}
	u, err := cfg.Proxy(&http.Request{URL: &url.URL{Scheme: "https", Host: "apiserver.corp:6443"}})
	if err != nil || u != nil {
		t.Fatalf("apiserver proxied through %v (%v)", u, err)
	}
	p := registryProxy(env)
	if u, err := p(&url.URL{Scheme: "https", Host: "ghcr.io"}); err != nil || u == nil || u.Host != "proxy.corp:3128" {
		t.Fatalf("registry: %v %v", u, err)
	}
	if u, err := p(&url.URL{Scheme: "https", Host: "registry.internal.corp"}); err != nil || u != nil {
		t.Fatalf("NO_PROXY registry: %v %v", u, err)
	}
	if registryProxy(Env{Getenv: func(string) string { return "" }}) != nil {
		t.Fatal("a proxy without HTTPS_PROXY")
	}
}
