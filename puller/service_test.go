package puller_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/sign"
)

func (w *world) configMap(name string, data map[string]string) {
	w.t.Helper()
	_, err := w.Kube.CoreV1().ConfigMaps(w.NS).Create(w.Ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: data}, metav1.CreateOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
}

// postBuild: ${var}, ${var:=default}, substituteFrom a ConfigMap and a Secret, the
// inline map winning, and Flux's opt-out annotation.
func TestPostBuildSubstitution(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.configMap("cluster-vars", map[string]string{"cluster_name": "from-configmap", "region": "eu-west-1"})
	if _, err := w.Kube.CoreV1().Secrets(w.NS).Create(w.Ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cluster-secrets"},
		Data: map[string][]byte{"db_password": []byte("hunter2")}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.pushSigned("app", "v1", t1, map[string]string{
		"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-${cluster_name}\n  namespace: NS\ndata:\n  region: ${region}\n  tier: ${tier:=gold}\n  password: ${db_password}\n",
		"b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: script\n  namespace: NS\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  run.sh: echo ${HOME} ${unset_here}\n",
	})
	src := w.source("app", "app", "v1")
	src.PostBuild = &puller.PostBuild{
		Substitute: map[string]string{"cluster_name": "prod-eu"},
		SubstituteFrom: []puller.SubstituteReference{{Kind: "ConfigMap", Name: "cluster-vars"}, {Kind: "Secret", Name: "cluster-secrets"},
			{Kind: "ConfigMap", Name: "not-there", Optional: true}},
	}
	w.mustSync(src)
	for k, want := range map[string]string{"region": "eu-west-1", "tier": "gold", "password": "hunter2"} {
		if got := w.CMData("app-prod-eu", k); got != want {
			t.Errorf("app-prod-eu %s = %q, want %q", k, got, want)
		}
	}
	if got := w.CMData("script", "run.sh"); got != "echo ${HOME} ${unset_here}" {
		t.Errorf("the opted-out object was changed: %q", got)
	}
}

// A variable without a value or a default fails the source, naming the object and
// the variable; nothing is applied. A missing substituteFrom ConfigMap fails that
// source only, naming it; the others go on.
func TestSubstitutionFailuresNameWhatIsMissing(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("unset", "v1", t1, map[string]string{
		"a.yaml": cm("first", "1"),
		"b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: holey\n  namespace: NS\ndata:\n  k: ${cluster_name}\n",
	})
	unset := w.source("unset", "unset", "v1")
	unset.PostBuild = &puller.PostBuild{Substitute: map[string]string{"region": "eu"}}
	_, err := w.sync(unset)
	if !errors.Is(err, puller.ErrSubstitution) || !strings.Contains(err.Error(), "ConfigMap "+w.Target+"/holey") || !strings.Contains(err.Error(), `"cluster_name"`) {
		t.Fatalf("err = %v", err)
	}
	if w.CMData("first", "k") != "<absent>" {
		t.Fatal("an object was applied although another one could not be substituted")
	}

	w.pushSigned("missing", "v1", t1, map[string]string{"a.yaml": cm("m", "1")})
	w.pushSigned("fine", "v1", t1, map[string]string{"a.yaml": cm("f", "1")})
	missing := w.source("missing", "missing", "v1")
	missing.PostBuild = &puller.PostBuild{SubstituteFrom: []puller.SubstituteReference{{Kind: "ConfigMap", Name: "cluster-vars"}}}
	fine := w.source("fine", "fine", "v1")
	results, err := w.p.SyncAll(w.Ctx, []puller.Source{missing, fine})
	if err == nil || !strings.Contains(err.Error(), "postBuild.substituteFrom[0]: ConfigMap "+w.NS+"/cluster-vars") || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v", err)
	}
	if results[1].Outcome != puller.Applied || w.CMData("f", "k") != "1" || w.CMData("m", "k") != "<absent>" {
		t.Fatalf("%+v", results)
	}
	if st := w.status("missing"); st[puller.AnnotationResult] != "Failed" || !strings.Contains(st[puller.AnnotationMessage], "cluster-vars") {
		t.Fatalf("%v", st)
	}
}

// Suspend, resume and reconcile requests through Control, read by Sync.
func TestSuspendResumeReconcile(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	w.mustSync(src)
	c := w.control()
	if err := c.Suspend(w.Ctx, "app"); err != nil {
		t.Fatal(err)
	}
	w.pushSigned("app", "v1", t2, map[string]string{"a.yaml": cm("a", "2")})
	res := w.mustSync(src)
	if res.Outcome != puller.Suspended || res.Requests.Registry != 0 || res.Requests.APIWrites != 0 || w.CMData("a", "k") != "1" {
		t.Fatalf("%+v", res)
	}
	if _, err := c.RequestReconcile(w.Ctx, "app"); !errors.Is(err, puller.ErrSuspended) {
		t.Fatalf("err = %v", err)
	}
	list, err := c.List(w.Ctx)
	if err != nil || len(list) != 1 || list[0].Result != "Suspended" || list[0].Ready {
		t.Fatalf("%v %+v", err, list)
	}
	token, err := c.Resume(w.Ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if res := w.mustSync(src); res.Outcome != puller.Applied || w.CMData("a", "k") != "2" {
		t.Fatalf("%+v", res)
	}
	s, err := c.WaitReconciled(w.Ctx, "app", token)
	if err != nil || !s.Ready || s.Handled != token || s.Ref != "tag v1" || s.Digest == "" || !strings.HasPrefix(s.Signer, "key ") {
		t.Fatalf("%v %+v", err, s)
	}
	// A reconcile request makes a sync with nothing new check the objects: a
	// kubectl edit is put back at once instead of at the next drift check.
	w.setCMData("a", "k", "edited")
	if res := w.mustSync(src); res.Outcome != puller.UpToDate || w.CMData("a", "k") != "edited" {
		t.Fatalf("%+v", res)
	}
	token, err = c.RequestReconcile(w.Ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if res := w.mustSync(src); res.Outcome != puller.Applied || !res.DriftCheck || w.CMData("a", "k") != "2" {
		t.Fatalf("%+v", res)
	}
	if s, err := c.WaitReconciled(w.Ctx, "app", token); err != nil || s.LastResult != "Applied" {
		t.Fatalf("%v %+v", err, s)
	}
	if _, err := c.Get(w.Ctx, "nope"); !errors.Is(err, puller.ErrUnknownSource) {
		t.Fatalf("err = %v", err)
	}
}

func (w *world) setCMData(name, key, value string) {
	w.t.Helper()
	cmObj, err := w.Kube.CoreV1().ConfigMaps(w.Target).Get(w.Ctx, name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	cmObj.Data[key] = value
	if _, err := w.Kube.CoreV1().ConfigMaps(w.Target).Update(w.Ctx, cmObj, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		w.t.Fatal(err)
	}
}

// A registry with its own CA works only with certSecretRef (or caFile); one that asks
// for a client certificate only with tls.crt and tls.key too.
func TestRegistryPrivateCAAndClientCertificate(t *testing.T) {
	for _, mtls := range []bool{false, true} {
		w := newWorld(t, registry.Options{TLS: &registry.TLSOptions{RequireClientCert: mtls}})
		ca := w.Reg.CACertPEM()
		cert, key := w.Reg.ClientCertPEM()
		w.Client = remote.New(remote.Options{HTTPS: true, HTTPClient: tlsClient(t, ca, cert, key)})
		w.Signer = signClientTLS(w, tlsClient(t, ca, cert, key))
		w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
		src := w.source("app", "app", "v1")
		if _, err := w.sync(src); err == nil {
			t.Fatalf("mtls=%v: synced without the CA", mtls)
		}
		// Another CA (another registry's): the certificate check refuses it.
		other, err := registry.Start(w.Ctx, registry.Options{TLS: &registry.TLSOptions{}})
		if err != nil {
			t.Fatal(err)
		}
		other.Close()
		wrongCA := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(wrongCA, other.CACertPEM(), 0o600); err != nil {
			t.Fatal(err)
		}
		src.CAFile = wrongCA
		if _, err := w.sync(src); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Fatalf("mtls=%v: with another CA: err = %v", mtls, err)
		}
		src.CAFile = ""
		data := map[string][]byte{"ca.crt": ca}
		if mtls {
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "ca-only"}, Data: data}
			if _, err := w.Kube.CoreV1().Secrets(w.NS).Create(w.Ctx, secret, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			src.CertSecretRef = &puller.LocalObjectReference{Name: "ca-only"}
			if _, err := w.sync(src); err == nil {
				t.Fatal("a registry asking for a client certificate accepted none")
			}
			data = map[string][]byte{"ca.crt": ca, "tls.crt": cert, "tls.key": key}
		}
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "registry-tls"}, Data: data}
		if _, err := w.Kube.CoreV1().Secrets(w.NS).Create(w.Ctx, secret, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		src.CertSecretRef = &puller.LocalObjectReference{Name: "registry-tls"}
		if res := w.mustSync(src); res.Outcome != puller.Applied || w.CMData("a", "k") != "1" {
			t.Fatalf("mtls=%v: %+v", mtls, res)
		}
	}
}

func tlsClient(t *testing.T, ca, cert, key []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cfg := &tls.Config{RootCAs: pool}
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Certificates = []tls.Certificate{pair}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr}
}

// A registry answering 429 with Retry-After: 5 gets no request for 5 seconds; the sync
// says why it failed, and the source recovers after.
func TestRetryAfterIsHonoured(t *testing.T) {
	var mu sync.Mutex
	var heads []time.Time
	armed, limited := false, true
	w := newWorld(t, registry.Options{Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			mu.Lock()
			on := armed
			mu.Unlock()
			if on && r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/v1") {
				mu.Lock()
				heads = append(heads, time.Now())
				first := limited
				limited = false
				mu.Unlock()
				if first {
					rw.Header().Set("Retry-After", "5")
					rw.WriteHeader(http.StatusTooManyRequests)
					return
				}
			}
			h.ServeHTTP(rw, r)
		})
	}})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	mu.Lock()
	armed = true
	mu.Unlock()
	src := w.source("app", "app", "v1")
	src.Interval = metav1.Duration{Duration: time.Second}
	p := w.newPuller(puller.Options{Now: time.Now})
	ctx, cancel := context.WithCancel(w.Ctx)
	defer cancel()
	var first error
	var once sync.Once
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, []puller.Source{src}, puller.RunOptions{MinRetry: 100 * time.Millisecond, OnResult: func(_ *puller.Result, err error) {
			once.Do(func() { first = err })
		}})
	}()
	waitUntil(t, "the sync after the 429", func() bool { return w.CMData("a", "k") == "1" })
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if after, ok := remote.RetryAfter(first); !ok || after != 5*time.Second || !strings.Contains(first.Error(), "retry after 5s") {
		t.Fatalf("first sync: %v", first)
	}
	if len(heads) < 2 || heads[1].Sub(heads[0]) < 5*time.Second {
		t.Fatalf("requests at %v: the second came before Retry-After", heads)
	}
}

func signClientTLS(w *world, c *http.Client) *sign.Client {
	return sign.New(sign.ClientOptions{Registry: remote.New(remote.Options{Credentials: w.Credentials(), HTTPS: true, HTTPClient: c})})
}

// As Flux builds an artifact, an overlay the source's path names may read files
// anywhere in the artifact (../../base/cm.yaml, a generator's ../../config/app.env),
// and nothing outside it (the extraction directory's parent, the machine).
func TestOverlayReadsAnywhereInTheArtifactOnly(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{
		"base/cm.yaml":                       cm("base", "1"),
		"config/app.env":                     "MODE=prod\n",
		"overlays/prod/kustomization.yaml":   "resources: [../../base/cm.yaml]\nconfigMapGenerator:\n- name: app\n  namespace: NS\n  options: {disableNameSuffixHash: true}\n  envs: [../../config/app.env]\n",
		"overlays/escape/kustomization.yaml": "configMapGenerator:\n- name: stolen\n  namespace: NS\n  files: [" + strings.Repeat("../", 30) + "etc/hostname]\n",
	})
	src := w.source("app", "app", "v1")
	src.Path = "overlays/prod"
	w.mustSync(src)
	if w.CMData("base", "k") != "1" || w.CMData("app", "MODE") != "prod" {
		t.Fatalf("base %q, app %q", w.CMData("base", "k"), w.CMData("app", "MODE"))
	}
	src.Path = "overlays/escape"
	if _, err := w.sync(src); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("err = %v", err)
	}
}

// An artifact that `flux push` made (it packs the directory whole) keeps the
// .sourceignore of a repository set up for Flux: the puller's build follows it, as
// source-controller does when it unpacks an artifact.
func TestSourceIgnoreInTheArtifactIsFollowed(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{
		"deploy/cm.yaml":    cm("a", "1"),
		"tests/values.yaml": "replicas: 1\n", // not an object: the build would refuse it
		".sourceignore":     "tests/\n",
	})
	w.mustSync(w.source("app", "app", "v1"))
	if w.CMData("a", "k") != "1" {
		t.Fatal("not applied")
	}
}

// targetNamespace does what it does under Flux, where it is the namespace of the
// kustomization built: a Namespace object of the set is the target namespace, and a
// RoleBinding naming the set's service account follows it there.
func TestTargetNamespaceAsFluxSetsIt(t *testing.T) {
	w := newWorld(t, registry.Options{})
	target := w.Target + "-shop"
	w.pushSigned("app", "v1", t1, map[string]string{
		"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: app\n",
		"sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: runner\n  namespace: app\n",
		"rb.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: runner\n  namespace: app\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}\nsubjects:\n- {kind: ServiceAccount, name: runner, namespace: app}\n",
	})
	src := w.source("app", "app", "v1")
	src.TargetNamespace = target
	src.PruneNamespacesAndCRDs = true
	w.mustSync(src)
	if _, err := w.Kube.CoreV1().Namespaces().Get(w.Ctx, "app", metav1.GetOptions{}); err == nil {
		t.Error("a Namespace app was created beside the target")
	}
	rb, err := w.Kube.RbacV1().RoleBindings(target).Get(w.Ctx, "runner", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rb.Subjects[0].Namespace != target {
		t.Errorf("the subject is %+v, not in %s", rb.Subjects[0], target)
	}
	t.Cleanup(func() { w.Kube.CoreV1().Namespaces().Delete(context.Background(), target, metav1.DeleteOptions{}) })
}
