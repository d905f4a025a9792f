// Command genjsonnet writes a deterministic Tanka project for the render benchmark:
// a vendored library in the style of k8s-libsonnet (constructors and `+:` mixins), the
// team's app library in lib/, and environments whose main.jsonnet evaluate to
// applications of a ConfigMap, a Deployment and a Service each.
//
// Each main.jsonnet returns an object whose keys are file names ("<kind>-<name>.json")
// and whose values are the objects, so that the same file serves both sides of the
// comparison: `jsonnet -m OUT main.jsonnet` writes one file per object, and gitless
// (like Tanka) finds every object with apiVersion and kind in it.
//
//	go run ./bench/genjsonnet -out /tmp/project -objects 1000 -envs 1
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", "", "directory to write the project into (must not exist)")
	objects := flag.Int("objects", 1000, "Kubernetes objects per environment (a multiple of 3: ConfigMap, Deployment, Service)")
	envs := flag.Int("envs", 1, "number of environments (environments/env-NN)")
	flag.Parse()
	if err := run(*out, *objects, *envs); err != nil {
		fmt.Fprintln(os.Stderr, "genjsonnet:", err)
		os.Exit(1)
	}
}

func run(out string, objects, envs int) error {
	switch {
	case out == "":
		return errors.New("-out is required")
	case objects < 3 || envs < 1:
		return errors.New("-objects must be at least 3 and -envs at least 1")
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s exists", out)
	}
	files := map[string]string{
		"jsonnetfile.json": jsonnetfile,
		"vendor/github.com/gitless-bench/k/k.libsonnet": klib,
		"lib/app.libsonnet":                             applib,
	}
	apps := (objects + 2) / 3
	for e := range envs {
		name := fmt.Sprintf("env-%02d", e)
		dir := "environments/" + name
		files[dir+"/spec.json"] = fmt.Sprintf(specJSON, dir, name)
		files[dir+"/main.jsonnet"] = fmt.Sprintf(mainJsonnet, apps, objects)
	}
	for p, c := range files {
		abs := filepath.Join(out, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(abs, []byte(c), 0o644); err != nil {
			return err
		}
	}
	return nil
}

const jsonnetfile = `{
  "version": 1,
  "dependencies": [
    { "source": { "git": { "remote": "https://github.com/gitless-bench/k.git", "subdir": "" } }, "version": "main" }
  ],
  "legacyImports": true
}
`

const specJSON = `{
  "apiVersion": "tanka.dev/v1alpha1",
  "kind": "Environment",
  "metadata": { "name": %q },
  "spec": { "namespace": %q }
}
`

// klib is a small library shaped like k8s-libsonnet: every setter is a mixin merged with +:.
const klib = `{
  local meta = {
    withName(name):: { metadata+: { name: name } },
    withLabels(labels):: { metadata+: { labels+: labels } },
    withAnnotations(a):: { metadata+: { annotations+: a } },
  },
  core:: { v1:: {
    configMap:: meta {
      new(name, data={}):: { apiVersion: 'v1', kind: 'ConfigMap' } + self.withName(name) + self.withData(data),
      withData(data):: { data+: data },
    },
    service:: meta {
      new(name, selector, ports):: { apiVersion: 'v1', kind: 'Service' } + self.withName(name)
        + { spec+: { selector: selector, ports: ports } },
      withType(t):: { spec+: { type: t } },
    },
    containerPort:: { new(name, port):: { name: name, containerPort: port, protocol: 'TCP' } },
    envVar:: { new(name, value):: { name: name, value: value } },
    container:: {
      new(name, image):: { name: name, image: image, imagePullPolicy: 'IfNotPresent' },
      withPorts(ports):: { ports+: ports },
      withEnv(env):: { env+: env },
      withArgs(args):: { args+: args },
      withResources(req, lim):: { resources+: { requests: req, limits: lim } },
      withProbe(kind, path, port):: { [kind]: { httpGet: { path: path, port: port }, initialDelaySeconds: 5, periodSeconds: 10 } },
      withSecurityContext():: { securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } },
    },
  } },
  apps:: { v1:: {
    deployment:: meta {
      new(name, replicas, containers, labels):: { apiVersion: 'apps/v1', kind: 'Deployment' } + self.withName(name) + self.withLabels(labels)
        + { spec+: { replicas: replicas, selector: { matchLabels: labels }, template: { metadata: { labels: labels }, spec: { containers: containers } } } },
      withStrategy(surge, unavailable):: { spec+: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: surge, maxUnavailable: unavailable } } } },
      withPodAnnotations(a):: { spec+: { template+: { metadata+: { annotations+: a } } } },
      withServiceAccount(sa):: { spec+: { template+: { spec+: { serviceAccountName: sa } } } },
      withTopologySpread(key, labels):: { spec+: { template+: { spec+: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: key, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: labels } }] } } } },
    },
  } },
}
`

const applib = `local k = import 'github.com/gitless-bench/k/k.libsonnet';
local c = k.core.v1.container;
{
  // one application: a ConfigMap, a Deployment and a Service
  new(name, i, env):: {
    local labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'bench', tier: ['web', 'api', 'worker'][i % 3] },
    local settings = { ['SETTING_%02d' % j]: '%s-%d' % [std.md5(name + j)[0:12], i * j] for j in std.range(0, 2) },
    local container = c.new(name, 'ghcr.io/acme/%s:1.%d.%d' % [name, i % 7, i % 13])
      + c.withPorts([k.core.v1.containerPort.new('http', 8080), k.core.v1.containerPort.new('metrics', 9090)])
      + c.withEnv([k.core.v1.envVar.new(key, settings[key]) for key in std.objectFields(settings)])
      + c.withArgs(['--listen=:8080', '--log-level=' + ['info', 'debug'][i % 2], '--env=' + env])
      + c.withResources({ cpu: '%dm' % (100 + i % 5 * 50), memory: '%dMi' % (128 + i % 4 * 64) }, { cpu: '1', memory: '1Gi' })
      + c.withProbe('readinessProbe', '/readyz', 'http')
      + c.withProbe('livenessProbe', '/healthz', 'http')
      + c.withSecurityContext(),
    config: k.core.v1.configMap.new(name + '-config', settings)
      + k.core.v1.configMap.withLabels(labels),
    deployment: k.apps.v1.deployment.new(name, 1 + i % 3, [container], labels)
      + k.apps.v1.deployment.withStrategy('25%', 0)
      + k.apps.v1.deployment.withPodAnnotations({ 'checksum/config': std.md5(std.manifestJsonEx(settings, '')) })
      + k.apps.v1.deployment.withServiceAccount('default')
      + k.apps.v1.deployment.withTopologySpread('kubernetes.io/hostname', labels),
    service: k.core.v1.service.new(name, labels, [{ name: 'http', port: 80, targetPort: 'http' }])
      + k.core.v1.service.withLabels(labels),
  },
}
`

// mainJsonnet: apps, objects.
const mainJsonnet = `local app = import 'app.libsonnet';
// Tanka's environment object; the bench passes the same one to jsonnet with --ext-code
local env = std.extVar('tanka.dev/environment');
local apps = [app.new('app-%%04d' %% i, i, env.spec.namespace) for i in std.range(0, %d - 1)];
local objects = std.flattenArrays([[a.config, a.deployment, a.service] for a in apps])[0:%d];
{
  [o.kind + '-' + o.metadata.name + '.json']: o
  for o in objects
}
`
