local tanka = import 'github.com/grafana/jsonnet-libs/tanka-util/main.libsonnet';
local helm = tanka.helm.new(std.thisFile);

{
  // podinfo from the project's charts/, production values and a few of our own
  podinfo: helm.template('podinfo', '../../charts/podinfo', {
    namespace: 'web',
    values: std.parseYaml(importstr '../../charts/podinfo/values-prod.yaml') + {
      replicaCount: 2,
      hooks: { preInstall: { job: { enabled: true } } },
    },
    skipTests: true,
  }),

  // the same chart again as another release, without hooks, objects renamed
  canary: helm.template('canary', '../../charts/podinfo', {
    namespace: 'web',
    values: { hooks: { preInstall: { job: { enabled: true } } } },
    noHooks: true,
    skipTests: true,
    kubeVersion: '1.33.0',
    nameFormat: '{{ .kind | lower }}-{{ .metadata.name }}',
  }),
}
