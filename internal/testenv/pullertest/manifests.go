package pullertest

import (
	"fmt"
	"strings"
)

// The manifests of these functions stand in namespace NS, which Cluster.InTarget and the
// tests' parsers replace with the target namespace.

// ConfigMap is a ConfigMap name in NS with data {k: value}.
func ConfigMap(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: NS\ndata:\n  k: %q\n", name, value)
}

// Deployment is the Deployment web in NS, one nginx container, with no replicas: they
// are left to the cluster (an autoscaler, in the drift tests).
const Deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: "nginx:1.27"}]}
`

// CRD is a namespaced CustomResourceDefinition of kind in group, version v1, served and
// stored, whose spec takes any fields. Its plural is the lower-case kind plus "s".
func CRD(group, kind string) string {
	return crd(group, kind, "{openAPIV3Schema: {type: object, properties: {spec: {type: object, x-kubernetes-preserve-unknown-fields: true}}}}")
}

// OpenCRD is CRD whose objects keep any fields, a status among them (written with an
// update, as a controller without a status subresource writes it).
func OpenCRD(group, kind string) string {
	return crd(group, kind, "{openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}")
}

func crd(group, kind, schema string) string {
	singular := strings.ToLower(kind)
	return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: %[3]ss.%[1]s}
spec:
  group: %[1]s
  scope: Namespaced
  names: {kind: %[2]s, plural: %[3]ss, singular: %[3]s, listKind: %[2]sList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: %[4]s
`, group, kind, singular, schema)
}
