package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/config"
)

// The fields of issue 14: webhook tokens, postBuild substitution, registry TLS.
const serviceDoc = `apiVersion: gitless.dev/v1alpha1
kind: PullerConfig
webhook: {secretRef: {name: webhook-token}}
sources:
- name: apps
  url: oci://registry.corp/apps
  insecureSkipVerify: true
  postBuild:
    substitute: {cluster_name: prod-eu}
    substituteFrom:
    - {kind: ConfigMap, name: cluster-vars}
    - {kind: Secret, name: cluster-secrets, optional: true}
  certSecretRef: {name: registry-ca}
  webhook: {secretFile: /etc/gitless/webhook/apps}
`

func TestParseServiceFields(t *testing.T) {
	c, err := config.Parse([]byte(serviceDoc), config.Namespaces{})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if c.Webhook.SecretRef.Name != "webhook-token" || s.PostBuild.Substitute["cluster_name"] != "prod-eu" ||
		len(s.PostBuild.SubstituteFrom) != 2 || !s.PostBuild.SubstituteFrom[1].Optional || s.CertSecretRef.Name != "registry-ca" ||
		s.Webhook.SecretFile != "/etc/gitless/webhook/apps" {
		t.Fatalf("%+v", c)
	}
	for _, tc := range []struct{ old, new, field string }{
		{"cluster_name: prod-eu", "cluster-name: prod-eu", "sources[0].postBuild.substitute.cluster-name"},
		{"{kind: ConfigMap, name: cluster-vars}", "{kind: Pod, name: cluster-vars}", "sources[0].postBuild.substituteFrom[0].kind"},
		{"{kind: ConfigMap, name: cluster-vars}", "{kind: ConfigMap, name: Cluster_Vars}", "sources[0].postBuild.substituteFrom[0].name"},
		{"{kind: ConfigMap, name: cluster-vars}", "{kind: ConfigMap, nam: x}", "sources[0].postBuild.substituteFrom[0].nam"},
		{"certSecretRef: {name: registry-ca}", "certSecretRef: {name: registry-ca}\n  caFile: /ca.pem", "sources[0].certSecretRef"},
		{"certSecretRef: {name: registry-ca}", "certFile: /tls.crt", "sources[0].keyFile"},
		{"certSecretRef: {name: registry-ca}", "keyFile: /tls.key", "sources[0].certFile"},
		{"webhook: {secretFile: /etc/gitless/webhook/apps}", "webhook: {}", "sources[0].webhook"},
		{"webhook: {secretRef: {name: webhook-token}}", "webhook: {secretRef: {name: t}, secretFile: /t}", "webhook"},
		{"webhook: {secretRef: {name: webhook-token}}", "webhook: {secretRef: {name: BAD}}", "webhook.secretRef.name"},
	} {
		doc := strings.Replace(serviceDoc, tc.old, tc.new, 1)
		if doc == serviceDoc {
			t.Fatalf("%q not in the document", tc.old)
		}
		_, err := config.Parse([]byte(doc), config.Namespaces{})
		var fe *puller.FieldError
		if !errors.As(err, &fe) || !errors.Is(err, puller.ErrInvalidSource) || fe.Field != tc.field {
			t.Errorf("%s → %s: err = %v, want the field %s named", tc.old, tc.new, err, tc.field)
		}
	}
}

// Flux's Kustomization fields healthChecks and commonMetadata.
const fluxFieldsDoc = `apiVersion: gitless.dev/v1alpha1
kind: PullerConfig
sources:
- name: apps
  url: oci://registry.corp/apps
  insecureSkipVerify: true
  targetNamespace: shop
  healthChecks:
  - {apiVersion: helm.toolkit.fluxcd.io/v2, kind: HelmRelease, name: podinfo, namespace: flux-system}
  - {apiVersion: apps/v1, kind: Deployment, name: web}
  commonMetadata:
    labels: {team: shop}
    annotations: {owner: shop@example.com}
  namePrefix: eu-
  nameSuffix: -prod
  patches:
  - patch: '[{"op": "add", "path": "/spec/replicas", "value": 3}]'
    target: {kind: Deployment, labelSelector: app=web}
  images:
  - {name: nginx, newTag: "1.28"}
`

func TestParseFluxFields(t *testing.T) {
	c, err := config.Parse([]byte(fluxFieldsDoc), config.Namespaces{})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if len(s.HealthChecks) != 2 || s.HealthChecks[0] != (puller.HealthCheck{APIVersion: "helm.toolkit.fluxcd.io/v2", Kind: "HelmRelease", Name: "podinfo", Namespace: "flux-system"}) ||
		s.CommonMetadata.Labels["team"] != "shop" || s.CommonMetadata.Annotations["owner"] != "shop@example.com" ||
		s.NamePrefix != "eu-" || s.NameSuffix != "-prod" || s.Patches[0].Target.LabelSelector != "app=web" || s.Images[0].NewTag != "1.28" {
		t.Fatalf("%+v", s)
	}
	for _, tc := range []struct{ old, new, field string }{
		{"apiVersion: apps/v1,", "apiVersion: a/b/c,", "sources[0].healthChecks[1].apiVersion"},
		{"apiVersion: apps/v1, kind", "kind", "sources[0].healthChecks[1].apiVersion"},
		{"kind: Deployment, ", "", "sources[0].healthChecks[1].kind"},
		{", name: web", "", "sources[0].healthChecks[1].name"},
		{"name: web", "name: a/b", "sources[0].healthChecks[1].name"},
		{"namespace: flux-system", "namespace: Flux_System", "sources[0].healthChecks[0].namespace"},
		{"name: web}", "name: web, uid: x}", "sources[0].healthChecks[1].uid"},
		{"labels: {team: shop}", "labels: {team: shop, applyset.kubernetes.io/part-of: x}", `sources[0].commonMetadata.labels["applyset.kubernetes.io/part-of"]`},
		{"labels: {team: shop}", "labels: {team: not a value}", `sources[0].commonMetadata.labels["team"]`},
		{"labels: {team: shop}", "labels: {-team: shop}", `sources[0].commonMetadata.labels["-team"]`},
		{"annotations: {owner: shop@example.com}", "annotations: {owner/x/y: z}", `sources[0].commonMetadata.annotations["owner/x/y"]`},
		{"annotations: {owner: shop@example.com}", "annotation: {}", "sources[0].commonMetadata.annotation"},
		{"namePrefix: eu-", "namePrefix: EU_", "sources[0].namePrefix"},
		{"nameSuffix: -prod", "nameSuffix: /prod", "sources[0].nameSuffix"},
		{`- patch: '[{"op": "add", "path": "/spec/replicas", "value": 3}]'`, "- patch: ''", "sources[0].patches[0].patch"},
		{`- patch: '[{"op": "add", "path": "/spec/replicas", "value": 3}]'`, "- patch: '[{'", "sources[0].patches[0].patch"},
		{"labelSelector: app=web", "labelSelector: app==web==", "sources[0].patches[0].target.labelSelector"},
		{"    target: {kind: Deployment, labelSelector: app=web}\n", "", "sources[0].patches[0].target"},
		{"- patch: '[{\"op\": \"add\", \"path\": \"/spec/replicas\", \"value\": 3}]'\n    target: {kind: Deployment, labelSelector: app=web}\n", "- patch: '{kind: Secret, stringData: {token: x}}'\n", "sources[0].patches[0].patch"},
		{`- patch: '[{"op": "add", "path": "/spec/replicas", "value": 3}]'`, `- patch: 'just text'`, "sources[0].patches[0].patch"},
		{"labelSelector: app=web", "path: /patch.yaml", "sources[0].patches[0].target.path"},
		{`{name: nginx, newTag: "1.28"}`, `{newTag: "1.28"}`, "sources[0].images[0].name"},
		{`{name: nginx, newTag: "1.28"}`, `{name: nginx}`, "sources[0].images[0]"},
		{`{name: nginx, newTag: "1.28"}`, `{name: nginx, digest: "sha256:abc"}`, "sources[0].images[0].digest"},
	} {
		doc := strings.Replace(fluxFieldsDoc, tc.old, tc.new, 1)
		if doc == fluxFieldsDoc {
			t.Fatalf("%q not in the document", tc.old)
		}
		_, err := config.Parse([]byte(doc), config.Namespaces{})
		var fe *puller.FieldError
		if !errors.As(err, &fe) || !errors.Is(err, puller.ErrInvalidSource) || fe.Field != tc.field {
			t.Errorf("%s → %s: err = %v, want the field %s named", tc.old, tc.new, err, tc.field)
		}
	}
}
