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
