package pullertest_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller/config"
	"github.com/gitless-dev/gitless/verify"
)

var env *kube.Env

func TestMain(m *testing.M) { os.Exit(kube.Main(m, &env)) }

// What the fixture pushes verifies with its policy once signed, and not before; the
// config it writes parses into that source; its manifests are accepted by the apiserver.
func TestFixture(t *testing.T) {
	f := pullertest.New(t, env, registry.Options{Auth: registry.AuthBasic})
	if f.NS == f.Target || !strings.HasPrefix(f.NS, "gitless-") || !strings.HasPrefix(f.Target, "apps-") {
		t.Fatalf("namespaces %q and %q", f.NS, f.Target)
	}
	files := f.InTarget(map[string]string{"a.yaml": pullertest.ConfigMap("a", "1")})
	if !strings.Contains(files["a.yaml"], "namespace: "+f.Target+"\n") {
		t.Fatalf("%q", files["a.yaml"])
	}
	ref := f.Push("app", "v1", files, artifact.Metadata{Created: time.Unix(1, 0)})
	v := verify.New(verify.Options{Credentials: f.Credentials()})
	if _, err := v.Verify(f.Ctx, ref, f.Key.Policy); !errors.Is(err, verify.ErrVerificationFailed) {
		t.Fatalf("unsigned: %v", err)
	}
	f.Sign(ref)
	if res, err := v.Verify(f.Ctx, ref, f.Key.Policy); err != nil || res.Digest != ref.Digest {
		t.Fatalf("signed: %v %+v", err, res)
	}

	c, err := config.Parse([]byte(f.ConfigYAML("", f.SourceYAML("app", "app", "v1", "  interval: 5m\n"))), config.Namespaces{Default: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Sources[0]; c.Namespace != f.NS || s.URL != f.URL("app") || s.Ref.Tag != "v1" || !s.Prune || s.Interval.Duration != 5*time.Minute ||
		s.Verify == nil || len(s.Verify.Keys) != 1 || strings.TrimSpace(s.Verify.Keys[0]) != strings.TrimSpace(f.Key.PubPEM) || !s.Verify.InsecureIgnoreTlog {
		t.Fatalf("%+v", c)
	}

	for _, m := range []struct {
		gvr schema.GroupVersionResource
		doc string
	}{
		{pullertest.ConfigMaps, pullertest.ConfigMap("b", "2")},
		{pullertest.Deployments, pullertest.Deployment},
		{schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}, pullertest.CRD(f.Target+".example.com", "Gadget")},
	} {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(strings.ReplaceAll(m.doc, "NS", f.Target)), &u.Object); err != nil {
			t.Fatalf("%v\n%s", err, m.doc)
		}
		r := f.Dyn.Resource(m.gvr)
		var err error
		if u.GetNamespace() == "" {
			_, err = r.Create(f.Ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		} else {
			_, err = r.Namespace(u.GetNamespace()).Create(f.Ctx, u, metav1.CreateOptions{})
		}
		if err != nil {
			t.Fatalf("%s: %v", u.GetKind(), err)
		}
	}
	pullertest.WaitUntil(t, 10*time.Second, "b", func() bool { return f.CMData("b", "k") == "2" })
	if f.CMData("nope", "k") != "<absent>" {
		t.Fatal("a missing ConfigMap has data")
	}
}
