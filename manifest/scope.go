package manifest

import (
	"sigs.k8s.io/kustomize/kyaml/openapi"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Scopes tells namespaced kinds from cluster-scoped ones: the built-in Kubernetes
// kinds from kyaml's OpenAPI data, plus the CustomResourceDefinitions it was told
// about. A kind it does not know is taken as namespaced, as kubectl and kustomize do.
type Scopes struct {
	crds map[GroupKind]bool // true: namespaced
}

// NewScopes learns the scope of every CustomResourceDefinition among objs.
func NewScopes(objs []*Object) *Scopes {
	s := &Scopes{crds: map[GroupKind]bool{}}
	for _, o := range objs {
		s.Learn(o)
	}
	return s
}

// Learn records the scope of the kind o defines, if o is a CustomResourceDefinition.
func (s *Scopes) Learn(o *Object) {
	if o.kind != "CustomResourceDefinition" || o.Group() != "apiextensions.k8s.io" {
		return
	}
	spec := MappingValue(o.node, "spec")
	group, kind, scope := MappingValue(spec, "group"), MappingValue(MappingValue(spec, "names"), "kind"), MappingValue(spec, "scope")
	if group == nil || kind == nil {
		return
	}
	s.crds[GroupKind{group.Value, kind.Value}] = scope == nil || scope.Value != "Cluster"
}

// Namespaced reports whether objects of o's kind live in a namespace.
func (s *Scopes) Namespaced(o *Object) bool {
	if ns, ok := s.crds[o.GroupKind()]; ok {
		return ns
	}
	if ns, found := namespaceScoped(yaml.TypeMeta{APIVersion: o.apiVersion, Kind: o.kind}); found {
		return ns
	}
	return !builtinClusterScoped[o.GroupKind()]
}

// namespaceScoped is kyaml's answer, or none when kyaml panics: its schema is
// process-wide, and a kustomize build running beside this lookup may have loaded a
// kustomization's own (openapi:), malformed.
func namespaceScoped(t yaml.TypeMeta) (ns, found bool) {
	defer func() {
		if recover() != nil {
			ns, found = false, false
		}
	}()
	return openapi.IsNamespaceScoped(t)
}

// ID is o's identity in a cluster: its group, kind and name, and its namespace when
// its kind is namespaced.
func (s *Scopes) ID(o *Object) ObjectID {
	id := ObjectID{Group: o.Group(), Kind: o.kind, Name: o.name}
	if s.Namespaced(o) {
		id.Namespace = o.namespace
	}
	return id
}

// builtinClusterScoped holds cluster-scoped kinds that kyaml's OpenAPI data may not
// know under every apiVersion (it is keyed by apiVersion, not by group).
var builtinClusterScoped = map[GroupKind]bool{
	{"", "Namespace"}:        true,
	{"", "Node"}:             true,
	{"", "PersistentVolume"}: true,
	{"", "ComponentStatus"}:  true,
	{"apiextensions.k8s.io", "CustomResourceDefinition"}:                 true,
	{"apiregistration.k8s.io", "APIService"}:                             true,
	{"rbac.authorization.k8s.io", "ClusterRole"}:                         true,
	{"rbac.authorization.k8s.io", "ClusterRoleBinding"}:                  true,
	{"storage.k8s.io", "StorageClass"}:                                   true,
	{"storage.k8s.io", "CSIDriver"}:                                      true,
	{"storage.k8s.io", "CSINode"}:                                        true,
	{"storage.k8s.io", "VolumeAttachment"}:                               true,
	{"scheduling.k8s.io", "PriorityClass"}:                               true,
	{"node.k8s.io", "RuntimeClass"}:                                      true,
	{"admissionregistration.k8s.io", "MutatingWebhookConfiguration"}:     true,
	{"admissionregistration.k8s.io", "ValidatingWebhookConfiguration"}:   true,
	{"admissionregistration.k8s.io", "ValidatingAdmissionPolicy"}:        true,
	{"admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"}: true,
	{"admissionregistration.k8s.io", "MutatingAdmissionPolicy"}:          true,
	{"admissionregistration.k8s.io", "MutatingAdmissionPolicyBinding"}:   true,
	{"certificates.k8s.io", "CertificateSigningRequest"}:                 true,
	{"certificates.k8s.io", "ClusterTrustBundle"}:                        true,
	{"flowcontrol.apiserver.k8s.io", "FlowSchema"}:                       true,
	{"flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"}:       true,
	{"networking.k8s.io", "IngressClass"}:                                true,
	{"networking.k8s.io", "IPAddress"}:                                   true,
	{"networking.k8s.io", "ServiceCIDR"}:                                 true,
	{"policy", "PodSecurityPolicy"}:                                      true,
	{"resource.k8s.io", "DeviceClass"}:                                   true,
	{"resource.k8s.io", "ResourceSlice"}:                                 true,
	{"storagemigration.k8s.io", "StorageVersionMigration"}:               true,
	{"internal.apiserver.k8s.io", "StorageVersion"}:                      true,
}
