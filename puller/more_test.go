package puller_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
)

func TestDriftIsCorrectedOnOwnFieldsOnly(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1"), "web.yaml": pullertest.Deployment})
	src := w.source("app", "app", "v1")
	src.DriftInterval = metav1.Duration{Duration: 10 * time.Minute}
	w.mustSync(src)

	// By hand: a field the puller applied, and replicas, which the manifests leave to an
	// autoscaler.
	u, _ := w.Get(pullertest.ConfigMaps, w.Target, "a")
	unstructured.SetNestedField(u.Object, "edited", "data", "k")
	if _, err := w.Dyn.Resource(pullertest.ConfigMaps).Namespace(w.Target).Update(w.Ctx, u, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Dyn.Resource(pullertest.Deployments).Namespace(w.Target).Patch(w.Ctx, "web", types.MergePatchType, []byte(`{"spec":{"replicas":7}}`), metav1.PatchOptions{FieldManager: "hpa"}); err != nil {
		t.Fatal(err)
	}
	// Before the drift interval: nothing is looked at.
	w.clock.add(time.Minute)
	if res := w.mustSync(src); res.Outcome != puller.UpToDate || w.CMData("a", "k") != "edited" {
		t.Fatalf("%+v", res)
	}
	// After it: the puller's field is put back, the autoscaler's is left alone.
	w.clock.add(10 * time.Minute)
	res := w.mustSync(src)
	if !res.DriftCheck || res.Configured != 1 || res.Unchanged != 1 || res.Requests.Registry != 1 {
		t.Fatalf("drift check: %+v", res)
	}
	if w.CMData("a", "k") != "1" {
		t.Fatalf("a.data.k = %q", w.CMData("a", "k"))
	}
	d, _ := w.Get(pullertest.Deployments, w.Target, "web")
	if r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); r != 7 {
		t.Fatalf("replicas %d", r)
	}
	// A drift check that finds nothing writes nothing.
	w.clock.add(11 * time.Minute)
	if res := w.mustSync(src); !res.DriftCheck || res.Unchanged != 2 || res.Requests.APIWrites != 0 {
		t.Fatalf("%+v", res)
	}

	// A field the puller never applied, now in v2 but owned by another manager, is
	// left to it; the edited field of v1 is taken back (a new process: the previous
	// configuration is fetched again by its digest).
	theirs := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":%q},"data":{"theirs":"operator"}}`, w.Target)
	if _, err := w.Dyn.Resource(pullertest.ConfigMaps).Namespace(w.Target).Patch(w.Ctx, "a", types.ApplyPatchType, []byte(theirs), metav1.PatchOptions{FieldManager: "operator"}); err != nil {
		t.Fatal(err)
	}
	u, _ = w.Get(pullertest.ConfigMaps, w.Target, "a")
	unstructured.SetNestedField(u.Object, "edited", "data", "k")
	if _, err := w.Dyn.Resource(pullertest.ConfigMaps).Namespace(w.Target).Update(w.Ctx, u, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	w.pushSigned("app", "v2", t2, map[string]string{"a.yaml": cm("a", "1") + "  theirs: git\n", "web.yaml": pullertest.Deployment})
	src.Ref.Tag = "v2"
	res, err := w.newPuller(puller.Options{}).Sync(w.Ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if w.CMData("a", "k") != "1" || w.CMData("a", "theirs") != "operator" {
		t.Fatalf("data k=%q theirs=%q", w.CMData("a", "k"), w.CMData("a", "theirs"))
	}
	for _, c := range res.Changes {
		if c.Object.Name == "a" && (len(c.Forced) != 1 || len(c.LeftAlone) != 1) {
			t.Fatalf("change %+v", c)
		}
	}
}

func TestRollbackRefusedUnlessAllowed(t *testing.T) {
	w := newWorld(t, registry.Options{})
	old := w.pushSigned("app", "old", t1, map[string]string{"a.yaml": cm("a", "old")})
	w.pushSigned("app", "prod", t2, map[string]string{"a.yaml": cm("a", "new")})
	src := w.source("app", "app", "prod")
	w.mustSync(src)
	// prod is moved back to the older artifact (signed, but older).
	if _, err := w.Client.Tag(w.Ctx, old, []string{"prod"}, remote.TagOptions{Policy: puller_allowOverwrite()}); err != nil {
		t.Fatal(err)
	}
	_, err := w.sync(src)
	if !errors.Is(err, puller.ErrRollback) || puller.Retry(err) {
		t.Fatalf("err = %v", err)
	}
	if w.CMData("a", "k") != "new" || countPrefix(w.events("app"), "Warning RollbackRefused") != 1 {
		t.Fatalf("a=%q events %v", w.CMData("a", "k"), w.events("app"))
	}
	src.AllowRollback = true
	if res := w.mustSync(src); res.Configured != 1 || w.CMData("a", "k") != "old" {
		t.Fatalf("%+v", res)
	}

	// By semver: a tag below the one applied last is refused, whatever its date.
	w.pushSigned("ver", "1.2.0", t1, map[string]string{"a.yaml": cm("v", "1.2.0")})
	w.pushSigned("ver", "1.1.0", t2, map[string]string{"a.yaml": cm("v", "1.1.0")})
	vs := w.source("ver", "ver", "1.2.0")
	w.mustSync(vs)
	vs.Ref.Tag = "1.1.0"
	if _, err := w.sync(vs); !errors.Is(err, puller.ErrRollback) {
		t.Fatalf("err = %v", err)
	}
}

func TestSemverRangePicksTheHighestMatch(t *testing.T) {
	w := newWorld(t, registry.Options{})
	for _, v := range []string{"1.0.0", "1.4.2", "2.0.0-rc.1", "2.0.0", "latest"} {
		w.pushSigned("app", v, t1, map[string]string{"a.yaml": cm("a", v)})
	}
	src := w.source("app", "app", "")
	src.Ref = puller.Ref{SemVer: "^1.0"}
	if res := w.mustSync(src); res.Tag != "1.4.2" || w.CMData("a", "k") != "1.4.2" {
		t.Fatalf("%+v", res)
	}
	src.Ref = puller.Ref{SemVer: ">=1.0.0"}
	if res := w.mustSync(src); res.Tag != "2.0.0" || w.CMData("a", "k") != "2.0.0" {
		t.Fatalf("%+v", res)
	}
	src.Ref = puller.Ref{SemVer: ">=3"}
	if _, err := w.sync(src); !errors.Is(err, puller.ErrNoMatchingTag) {
		t.Fatalf("err = %v", err)
	}
}

func dockerConfigSecret(t *testing.T, w *world, name, host, user, password string) {
	t.Helper()
	dockerConfigSecretIn(t, w, w.NS, name, host, user, password)
}

// dockerConfigSecretIn makes a kubernetes.io/dockerconfigjson Secret in namespace ns.
func dockerConfigSecretIn(t *testing.T, w *world, ns, name, host, user, password string) {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	data, _ := json.Marshal(map[string]any{"auths": map[string]any{host: map[string]string{"auth": auth}}})
	_, err := w.Kube.CoreV1().Secrets(ns).Create(w.Ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: data},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPullSecretIsUsedOnlyForItsHost(t *testing.T) {
	w := newWorld(t, registry.Options{Auth: registry.AuthToken})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")

	// Without credentials: refused, not retried, and the error says why, in the
	// puller's terms: the status tells no operator to pass a CLI flag (the gitless CLI's
	// --creds hint used to be part of the library's message).
	_, err := w.sync(src)
	if !errors.Is(err, remote.ErrUnauthorized) || puller.Retry(err) {
		t.Fatalf("err = %v", err)
	}
	if msg := w.status("app")[puller.AnnotationMessage]; !strings.Contains(msg, "no credentials were found") || strings.Contains(msg, "--") {
		t.Fatalf("status message %q", msg)
	}
	// Credentials for another host (same IP, another port) are not sent.
	other := strings.Replace(w.Reg.Host(), "127.0.0.1", "127.0.0.2", 1)
	dockerConfigSecret(t, w, "wrong-host", other, w.Reg.Username, w.Reg.Password)
	src.PullSecret = "wrong-host"
	if _, err := w.sync(src); !errors.Is(err, remote.ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	// The right host, in another namespace's notation too.
	dockerConfigSecret(t, w, "regcred", w.Reg.Host(), w.Reg.Username, w.Reg.Password)
	src.PullSecret = w.NS + "/regcred"
	res := w.mustSync(src)
	if res.Created != 1 || w.Reg.TokenRequests() == 0 {
		t.Fatalf("%+v", res)
	}
	// The password appears nowhere the puller writes.
	for k, v := range w.status("app") {
		if strings.Contains(v, w.Reg.Password) {
			t.Fatalf("status %s leaks the password", k)
		}
	}
	for _, e := range w.events("app") {
		if strings.Contains(e, w.Reg.Password) {
			t.Fatalf("event leaks the password: %s", e)
		}
	}
	// Not a dockerconfigjson Secret: named in the error.
	if _, err := w.Kube.CoreV1().Secrets(w.NS).Create(w.Ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "opaque"}, StringData: map[string]string{"x": "y"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	src.PullSecret = "opaque"
	w.clock.add(time.Hour)
	if _, err := w.sync(src); err == nil || !strings.Contains(err.Error(), "Secret "+w.NS+"/opaque") {
		t.Fatalf("err = %v", err)
	}
}

func TestRegistryOnMetadataAddressIsRefused(t *testing.T) {
	w := newWorld(t, registry.Options{})
	src := w.source("meta", "app", "v1")
	for _, host := range []string{"169.254.169.254", "169.254.169.254:5000", "[fe80::1]:5000",
		"168.63.129.16",                   // Azure WireServer
		"[64:ff9b::a9fe:a9fe]:5000",       // NAT64 (RFC 6052 /96) of 169.254.169.254
		"[64:ff9b::a83f:8110]",            // NAT64 of 168.63.129.16
		"[64:ff9b:1:a9fe:a9:fe00::]:5000", // RFC 8215 local-use prefix, /48 form
		"[2002:a9fe:a9fe::1]:5000",        // 6to4
		"[::a9fe:a9fe]:5000",              // IPv4-compatible
		"[::ffff:169.254.169.254]:5000",   // IPv4-mapped
	} {
		src.URL = "oci://" + host + "/latest/meta-data"
		src.Insecure = true
		_, err := w.sync(src)
		if !errors.Is(err, puller.ErrForbiddenAddress) {
			t.Fatalf("%s: err = %v", host, err)
		}
	}
}

func TestCRDAndItsCustomResourceInOneArtifact(t *testing.T) {
	w := newWorld(t, registry.Options{})
	group := w.Target + ".example.com"
	crd := pullertest.CRD(group, "Gadget")
	cr := "apiVersion: " + group + "/v1\nkind: Gadget\nmetadata:\n  name: g\n  namespace: NS\nspec:\n  size: 2\n"
	w.pushSigned("app", "v1", t1, map[string]string{"crd.yaml": crd, "gadget.yaml": cr,
		"kustomization.yaml": "resources: [crd.yaml, gadget.yaml]\n"})
	res := w.mustSync(w.source("app", "app", "v1"))
	if res.Created != 2 {
		t.Fatalf("%+v", res)
	}
}

func puller_allowOverwrite() artifactTagPolicy { return artifactTagPolicy{AllowOverwrite: true} }
