local app = import 'app.libsonnet';
local tk = import 'tk';
{
  web: app.new('web', 'ghcr.io/acme/web:1.0.0', replicas=std.parseInt(std.extVar('replicas'))),
  // nested objects and arrays are walked; null (a false `if`) is skipped
  extras: [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'env-info' }, data: { env: tk.env.metadata.name, ns: tk.env.spec.namespace } },
    if false then { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'never' } },
  ],
  cluster: {
    ns: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } },
    role: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:web-reader' }, rules: [] },
  },
  list: {
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'web', namespace: 'web' } },
    ],
  },
}
