// Package install generates gitless-puller's install manifests: the namespace, the
// RBAC, the configuration and keys ConfigMaps, the Deployment (two replicas with
// leader election by default) and, with webhooks, their Service. `gitless-puller
// install` prints or applies them, and examples/cluster is generated from them (a test
// keeps the two equal).
//
// Every object carries gitless.dev/prune: disabled, so that a source whose artifact
// holds the puller's own objects (a fleet delivering the puller's configuration as a
// signed artifact, as flux bootstrap does) upgrades them but never prunes them.
//
//	files, err := install.Files(install.Options{Namespace: "gitless-system", Image: "ghcr.io/gitless-dev/gitless-puller:v0.1.0", Config: cfg})
package install

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/apply"
	"github.com/gitless-dev/gitless/puller/config"
)

// Options says what to install.
type Options struct {
	// Namespace is the puller's namespace; default config.DefaultNamespace.
	Namespace string
	// Image is the puller's image; pin it by digest in production.
	Image string
	// Replicas, with LeaderElect, are the replicas of which one leads; default 2 (1
	// without LeaderElect, which must then be 1).
	Replicas    int
	LeaderElect bool
	// Webhook adds the receiver's listener (:9292) and a Service for it.
	Webhook bool
	// Config is the puller's configuration (its Namespace is set to Namespace).
	Config *config.PullerConfig
	// Keys are the files of the keys ConfigMap, mounted at KeysDir (public keys,
	// trusted roots); none means no keys ConfigMap.
	Keys map[string]string
	// PullSecretExample adds pull-secret.yaml, a placeholder dockerconfigjson Secret
	// for ghcr.io to edit (examples/cluster has it).
	PullSecretExample bool
}

// MemoryLimitEnv names the variable the Deployment fills with the container's memory
// limit in bytes (the downward API's limits.memory), which gitless-puller run reads.
const MemoryLimitEnv = "GITLESS_MEMORY_LIMIT"

// Names and paths of what is installed.
const (
	Name = "gitless-puller"
	// RemovalKeySecret is the Secret holding the key that signs removal records
	// (puller/daemon.RemovalKeySecret of Name).
	RemovalKeySecret = Name + "-removal-key"
	ConfigMapName    = "gitless-puller-config"
	KeysConfigMap    = "gitless-puller-keys"
	ConfigDir        = "/etc/gitless/config"
	ConfigFile       = "puller.yaml"
	KeysDir          = "/etc/gitless/keys"
	HTTPPort         = 8080
	WebhookPort      = 9292
	ShutdownGrace    = 25 // seconds, below the pod's grace
	PodGracePeriod   = 40
	DefaultReplicas  = 2
)

// File is one generated file.
type File struct {
	Name    string
	Content []byte
}

// doc is one object of a file, with a comment above it.
type doc struct {
	comment string
	obj     any
}

func (o *Options) defaults() error {
	if o.Namespace == "" {
		o.Namespace = config.DefaultNamespace
	}
	if o.Image == "" {
		return fmt.Errorf("install: Options.Image is required")
	}
	if o.Replicas == 0 {
		o.Replicas = 1
		if o.LeaderElect {
			o.Replicas = DefaultReplicas
		}
	}
	if o.Replicas > 1 && !o.LeaderElect {
		return fmt.Errorf("install: %d replicas need leader election (two pullers must never apply at once)", o.Replicas)
	}
	if o.Config == nil {
		o.Config = &config.PullerConfig{APIVersion: config.APIVersion, Kind: config.Kind}
	}
	c := *o.Config
	c.Namespace = o.Namespace
	o.Config = &c
	if c.Sources == nil {
		c.Sources = nil
	}
	return nil
}

// Files returns the install manifests, one file per concern, and a kustomization.yaml
// listing them.
func Files(o Options) ([]File, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	cfgYAML, err := ConfigYAML(o.Config)
	if err != nil {
		return nil, err
	}
	groups := []struct {
		name string
		docs []doc
	}{
		{"namespace.yaml", []doc{{"The puller's namespace, at the restricted Pod Security level.", o.namespace()}}},
		{"rbac.yaml", o.rbac()},
	}
	tenants, err := o.tenants()
	if err != nil {
		return nil, err
	}
	if len(tenants) > 0 {
		groups = append(groups, struct {
			name string
			docs []doc
		}{"tenants.yaml", tenants})
	}
	groups = append(groups, []struct {
		name string
		docs []doc
	}{
		{"config.yaml", o.configMaps(cfgYAML)},
		{"deployment.yaml", o.deploymentDocs()},
	}...)
	if o.Webhook {
		groups = append(groups, struct {
			name string
			docs []doc
		}{"webhook.yaml", []doc{{"The webhook receiver: POST /hook/<source> (docs/operations.md#webhooks). Expose it through your ingress.", o.service()}}})
	}
	if o.PullSecretExample {
		groups = append(groups, struct {
			name string
			docs []doc
		}{"pull-secret.yaml", []doc{{o.pullSecretComment(), o.pullSecret()}}})
	}
	var files []File
	var names []string
	for _, g := range groups {
		b, err := render(g.docs)
		if err != nil {
			return nil, fmt.Errorf("install: %s: %w", g.name, err)
		}
		files = append(files, File{Name: g.name, Content: b})
		names = append(names, g.name)
	}
	k := GeneratedHeader + "\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
	for _, n := range names {
		k += "- " + n + "\n"
	}
	files = append(files, File{Name: "kustomization.yaml", Content: []byte(k)})
	return files, nil
}

// GeneratedHeader is the first line of the kustomization.yaml Files writes.
const GeneratedHeader = "# Generated by `gitless-puller install`; regenerate rather than edit."

// Generated returns the files a kustomization.yaml that Files wrote lists (nil for one
// it did not write): what an earlier install put in a directory.
func Generated(kustomization []byte) []string {
	rest, ok := strings.CutPrefix(string(kustomization), GeneratedHeader+"\n")
	if !ok {
		return nil
	}
	_, list, ok := strings.Cut(rest, "\nresources:\n")
	if !ok {
		return nil
	}
	var names []string
	for l := range strings.Lines(list) {
		if n, ok := strings.CutPrefix(strings.TrimSpace(l), "- "); ok && n != "" && !strings.ContainsAny(n, "/\\") {
			names = append(names, n)
		}
	}
	return names
}

// Manifests is Files as one multi-document YAML stream, without the kustomization.
func Manifests(o Options) ([]byte, error) {
	files, err := Files(o)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, f := range files {
		if f.Name == "kustomization.yaml" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("---\n")
		}
		b.Write(f.Content)
	}
	return b.Bytes(), nil
}

func (o *Options) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: name, Namespace: o.Namespace,
		Labels:      map[string]string{"app.kubernetes.io/name": Name, "app.kubernetes.io/part-of": "gitless"},
		Annotations: map[string]string{apply.AnnotationPrune: "disabled"},
	}
}

func (o *Options) clusterMeta(name string) metav1.ObjectMeta {
	m := o.meta(name)
	m.Namespace = ""
	return m
}

func (o *Options) namespace() any {
	m := o.clusterMeta(o.Namespace)
	m.Labels[podSecurityEnforce] = "restricted"
	return &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: m}
}

func (o *Options) rbac() []doc {
	sa := &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: o.meta(Name)}
	role := newRole(o.meta(Name),
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "patch", "update", "delete"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{RemovalKeySecret}, Verbs: []string{"update"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		rbacv1.PolicyRule{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
	)
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: Name, Namespace: o.Namespace}}
	rb := newRoleBinding(o.meta(Name), subject[0])
	admin := &rbacv1.ClusterRoleBinding{
		TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"}, ObjectMeta: o.clusterMeta(Name + "-cluster-admin"),
		Subjects: subject, RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
	}
	own := []doc{
		{"The puller's identity.", sa},
		{"In its own namespace: the ApplySet parents (one ConfigMap per source, watched for\noperators' requests) and the ConfigMap gitless-puller.config-time (the newest\nconfiguration it ran, for removals at start), the Secrets it reads itself (webhook\nand certificate Secrets, postBuild.substituteFrom, and the pull secrets of sources\nthat act as the puller), the Events it records, and the leader election Lease.", role},
		{"", rb},
	}
	if o.lockedDown() {
		own[0].comment = "Least privilege: the puller's own rights are its namespace only. Everything it applies it\napplies as a tenant's service account (impersonated), which only tenants.yaml lets it\nact as, by name. TestLeastPrivilegeRBACBoundsTenants (puller package) runs the puller\nwith a real token of this account, bound to exactly these rules.\n\nThe puller's identity."
		return own
	}
	return append(own, doc{"Applying what the artifacts hold needs the rights to create it: like Flux's\nkustomize-controller, the puller is bound to cluster-admin. To bound a source by a\ntenant's RBAC instead, give it serviceAccountName: the puller may then impersonate\nthat account, by name (the Roles gitless-puller-impersonate-NAME in tenants.yaml).\nRemove this binding when every source impersonates; or lock every source down with\n--default-service-account.", admin})
}

// lockedDown reports whether every source acts as a service account of its own
// (Config.DefaultServiceAccount): the puller then needs no right outside its namespace.
func (o *Options) lockedDown() bool { return o.Config.DefaultServiceAccount != "" }

// tenants is tenants.yaml of a locked-down install: for each namespace whose sources act
// as the default service account, the namespace, that account, what it may do there
// (workloads and their configuration: no RBAC, no quotas, nothing cluster-wide) and the
// one right the puller gets there, to impersonate it by name; for a source naming its
// own account (NAMESPACE/NAME), only the right to impersonate it (the account and its
// rights are the platform's to make).
func (o *Options) tenants() ([]doc, error) {
	// Not locked down, a source without serviceAccountName acts as the puller (no
	// account: nothing here), one with it as that account, impersonated by name.
	var docs []doc
	seen := map[string]bool{}
	for _, src := range o.Config.Sources {
		id, err := o.Config.Tenancy().Identity(src, o.Namespace)
		if err != nil {
			return nil, fmt.Errorf("install: source %s: %w", src.Name, err)
		}
		// An account is a tenant's (made here, with its Role) when a source acts as it by
		// default, and the platform's (impersonated only) when a source names it: one
		// account may be both.
		key := id.ServiceAccount + "|" + fmt.Sprint(src.ServiceAccountName == "")
		if id.ServiceAccount == "" || seen[key] {
			continue
		}
		seen[key] = true
		ns, name, _ := strings.Cut(id.ServiceAccount, "/")
		meta := func(n string) metav1.ObjectMeta {
			m := o.meta(n)
			m.Namespace = ns
			return m
		}
		impName := Name + "-impersonate"
		if src.ServiceAccountName == "" {
			if ns == o.Namespace {
				// Identity refuses it; never give a tenant's Role in the puller's namespace.
				return nil, fmt.Errorf("install: source %s: a tenant in the puller's namespace %s", src.Name, ns)
			}
			m := o.clusterMeta(ns)
			m.Labels[podSecurityEnforce] = "baseline"
			docs = append(docs, doc{fmt.Sprintf("Tenant %q: its namespace, the account its sources act as (the config's\ndefaultServiceAccount), what that account may do (workloads and their configuration, in\nits namespace only: no RBAC, no quotas or limit ranges, nothing cluster-wide, no other\nnamespace), and the one right the puller gets here: to impersonate that account, by\nname. Widen the Role to what the tenant ships.", ns),
				&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: m}})
			all := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
			docs = append(docs,
				doc{"", &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: meta(name)}},
				doc{"", newRole(meta(name),
					rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims", "pods"}, Verbs: all},
					rbacv1.PolicyRule{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets", "daemonsets", "replicasets"}, Verbs: all},
					rbacv1.PolicyRule{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: all},
					rbacv1.PolicyRule{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: all},
					rbacv1.PolicyRule{APIGroups: []string{"policy"}, Resources: []string{"poddisruptionbudgets"}, Verbs: all},
					rbacv1.PolicyRule{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses", "networkpolicies"}, Verbs: all},
				)},
				doc{"", newRoleBinding(meta(name), rbacv1.Subject{Kind: "ServiceAccount", Name: name, Namespace: ns})})
		} else {
			impName += "-" + name
		}
		comment := ""
		if src.ServiceAccountName != "" {
			comment = fmt.Sprintf("Source %s acts as %s: the puller may impersonate that account, by name. The\naccount and its rights are yours to create.", src.Name, id.ServiceAccount)
		}
		docs = append(docs,
			doc{comment, newRole(meta(impName),
				rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"impersonate"}, ResourceNames: []string{name}})},
			doc{"", newRoleBinding(meta(impName), rbacv1.Subject{Kind: "ServiceAccount", Name: Name, Namespace: o.Namespace})})
	}
	return docs, nil
}

// newRole is a Role with meta's name and namespace.
func newRole(meta metav1.ObjectMeta, rules ...rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"}, ObjectMeta: meta, Rules: rules}
}

// newRoleBinding binds subject to the Role of meta's name, in meta's namespace.
func newRoleBinding(meta metav1.ObjectMeta, subject rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"}, ObjectMeta: meta,
		Subjects: []rbacv1.Subject{subject}, RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: meta.Name}}
}

func (o *Options) configMaps(cfgYAML []byte) []doc {
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: o.meta(ConfigMapName),
		Data: map[string]string{ConfigFile: string(cfgYAML)}}
	docs := []doc{{"The puller's configuration (docs/puller-config.md). The running puller reloads it when\nit changes; an invalid one is refused and the previous one keeps running.", cm}}
	// Empty: the puller fills it once (a random key) and signs its removal records with it.
	key := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: o.meta(RemovalKeySecret), Type: corev1.SecretTypeOpaque}
	docs = append(docs, doc{"The key that signs the records of how to remove each source (pruneRemovedSources):\nthe puller fills it with a random key at its first start. Only the puller reads it; a\nrecord without its signature is never acted on (docs/operations.md).", key})
	if len(o.Keys) > 0 {
		keys := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: o.meta(KeysConfigMap), Data: o.Keys}
		docs = append(docs, doc{"Public keys and trusted roots the policies name, mounted at " + KeysDir + ".", keys})
	}
	return docs
}

func (o *Options) deploymentComment() string {
	image := "\nThe image: the release's (linux/amd64 and arm64, nonroot 65532, signed keylessly by the\nrelease workflow; docs/install.md), or your own (make images). Pin it by digest."
	if o.LeaderElect {
		return fmt.Sprintf("%d replicas: one leads (a coordination.k8s.io Lease), the others stand by and take\nover within the lease duration (15s). Non-root, read-only root filesystem, no\ncapabilities; probes on /healthz and /readyz; Prometheus scrapes /metrics. The Go runtime's\nsoft memory limit is nine tenths of the memory limit (it collects harder near it).", o.Replicas) + image
	}
	return "One replica (Recreate: never two pullers at once). Non-root, read-only root filesystem, no\ncapabilities; probes on /healthz and /readyz; Prometheus scrapes /metrics. The Go runtime's\nsoft memory limit is nine tenths of the memory limit (it collects harder near it)." + image
}

// deploymentDocs are the Deployment. No PodDisruptionBudget: a replica is Ready only
// while its sources sync (/readyz), so a budget would block a node's drain for as long
// as a source fails.
func (o *Options) deploymentDocs() []doc {
	return []doc{{o.deploymentComment(), o.deployment()}}
}

func (o *Options) deployment() any {
	args := []string{"run", "--config=" + ConfigDir + "/" + ConfigFile, fmt.Sprintf("--listen=:%d", HTTPPort), fmt.Sprintf("--shutdown-grace=%ds", ShutdownGrace)}
	ports := []corev1.ContainerPort{{Name: "http", ContainerPort: HTTPPort}}
	if o.Webhook {
		args = append(args, fmt.Sprintf("--webhook-listen=:%d", WebhookPort))
		ports = append(ports, corev1.ContainerPort{Name: "webhook", ContainerPort: WebhookPort})
	}
	strategy := appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}
	if o.LeaderElect {
		args = append(args, "--leader-elect")
		one := intstr.FromInt32(1)
		zero := intstr.FromInt32(0)
		strategy = appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
			RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero, MaxSurge: &one}}
	}
	mounts := []corev1.VolumeMount{{Name: "config", MountPath: ConfigDir, ReadOnly: true}}
	volumes := []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMapName}}}}}
	if len(o.Keys) > 0 {
		mounts = append(mounts, corev1.VolumeMount{Name: "keys", MountPath: KeysDir, ReadOnly: true})
		volumes = append(volumes, corev1.Volume{Name: "keys", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: KeysConfigMap}}}})
	}
	mounts = append(mounts, corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"})
	size := resource.MustParse("1Gi")
	volumes = append(volumes, corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &size}}})
	replicas := int32(o.Replicas)
	grace := int64(PodGracePeriod)
	yes, no := true, false
	uid := int64(65532)
	labels := map[string]string{"app.kubernetes.io/name": Name}
	var spread []corev1.TopologySpreadConstraint
	if o.Replicas > 1 {
		// The standby on another node than the leader where the cluster allows it.
		spread = []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "kubernetes.io/hostname",
			WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: &metav1.LabelSelector{MatchLabels: labels}}}
	}
	field := func(path string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}
	}
	return &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: o.meta(Name),
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas, Strategy: strategy,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": fmt.Sprint(HTTPPort)}},
				Spec: corev1.PodSpec{
					ServiceAccountName:            Name,
					TerminationGracePeriodSeconds: &grace,
					TopologySpreadConstraints:     spread,
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid,
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{{
						Name: "puller", Image: o.Image, Args: args,
						Env: []corev1.EnvVar{
							{Name: "POD_NAMESPACE", ValueFrom: field("metadata.namespace")},
							{Name: "POD_NAME", ValueFrom: field("metadata.name")},
							{Name: "TMPDIR", Value: "/tmp"},
							// The memory limit below, of which the puller gives the Go runtime nine
							// tenths as its soft limit: near it the collector works harder rather
							// than let a large sync end in an OOM kill, and what the runtime does
							// not count (the binary's pages) has room.
							{Name: MemoryLimitEnv, ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "puller", Resource: "limits.memory", Divisor: resource.MustParse("1")}}},
						},
						Ports:          ports,
						LivenessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}},
						ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString("http")}}, PeriodSeconds: 10},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")},
						},
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
							Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
						VolumeMounts: mounts,
					}},
					Volumes: volumes,
				},
			},
		},
	}
}

func (o *Options) service() any {
	return &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: o.meta(Name + "-webhook"),
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app.kubernetes.io/name": Name},
			Ports:    []corev1.ServicePort{{Name: "webhook", Port: 80, TargetPort: intstr.FromString("webhook")}},
		},
	}
}

func (o *Options) pullSecretComment() string {
	ns := o.pullSecretNamespace()
	as := ""
	if o.lockedDown() && ns != o.Namespace {
		as = ", in the\ntenant's namespace, as the tenant's account,"
	}
	return `Registry credentials, in the format ` + "`kubectl create secret docker-registry`" + ` makes:

  kubectl -n ` + ns + ` create secret docker-registry ghcr \
    --docker-server=ghcr.io --docker-username=acme-bot --docker-password="$GHCR_TOKEN"

The puller reads it through the API at each sync` + as + ` and sends each credential only
to the host its entry names (here ghcr.io, never ghcr.io.evil.com or another port).
Replace the placeholder before applying; never commit a real token.`
}

// pullSecretNamespace is where the first source that uses the example pull secret
// reads it: its account's namespace, which a locked-down source's tenant namespace is.
func (o *Options) pullSecretNamespace() string {
	for _, src := range o.Config.Sources {
		if src.PullSecret != "ghcr" {
			continue
		}
		if id, err := o.Config.Tenancy().Identity(src, o.Namespace); err == nil {
			return id.Namespace
		}
	}
	return o.Namespace
}

func (o *Options) pullSecret() any {
	m := o.meta("ghcr")
	m.Namespace = o.pullSecretNamespace()
	return &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"}, ObjectMeta: m,
		Type:       corev1.SecretTypeDockerConfigJson,
		StringData: map[string]string{corev1.DockerConfigJsonKey: `{"auths": {"ghcr.io": {"username": "acme-bot", "password": "REPLACE-WITH-A-READ-ONLY-TOKEN"}}}` + "\n"},
	}
}

// ConfigYAML renders a configuration as the file the puller reads: the fields in the
// order of the Go types (name first), durations as written by people ("2m", not
// "2m0s").
func ConfigYAML(c *config.PullerConfig) ([]byte, error) {
	if c.Sources == nil {
		cc := *c
		cc.Sources = []puller.Source{}
		c = &cc
	}
	return config.Marshal(c)
}

// render writes docs as one YAML stream, each with its comment.
func render(docs []doc) ([]byte, error) {
	var b bytes.Buffer
	for i, d := range docs {
		n, err := toNode(d.obj)
		if err != nil {
			return nil, err
		}
		if d.comment != "" {
			n.HeadComment = d.comment
		}
		out, err := encode(n)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(out)
	}
	return b.Bytes(), nil
}

// toNode turns v into a YAML node through JSON (so that the json tags name the fields
// and their order is the types'), dropping an object's status (the cluster's to write),
// empty statuses and null creation timestamps.
func toNode(v any) (*yaml.Node, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(j, &doc); err != nil {
		return nil, err
	}
	n := doc.Content[0]
	clean(n, "")
	// apiVersion before kind, as people write them (TypeMeta's JSON has kind first).
	if len(n.Content) >= 4 && n.Content[0].Value == "kind" && n.Content[2].Value == "apiVersion" {
		n.Content[0], n.Content[1], n.Content[2], n.Content[3] = n.Content[2], n.Content[3], n.Content[0], n.Content[1]
	}
	return n, nil
}

func clean(n *yaml.Node, key string) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!str" && !config.PlainYAMLString(n.Value) { // as kubectl reads YAML: 1.1
			n.Style = yaml.DoubleQuotedStyle
		}
		if strings.Contains(n.Value, "\n") {
			n.Style = yaml.LiteralStyle
		}
		return
	}
	if n.Kind == yaml.MappingNode {
		var keep []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if (k.Value == "creationTimestamp" && v.Tag == "!!null") || (k.Value == "status" && v.Kind == yaml.MappingNode && (len(v.Content) == 0 || key == "")) ||
				(k.Value == "resources" && v.Kind == yaml.MappingNode && len(v.Content) == 0) {
				continue
			}
			k.Style = 0
			clean(v, k.Value)
			keep = append(keep, k, v)
		}
		n.Content = keep
		return
	}
	for _, c := range n.Content {
		clean(c, "")
	}
}

func encode(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(2)
	if err := e.Encode(n); err != nil {
		return nil, err
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
