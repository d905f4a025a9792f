// Two inline environments in one file (Tanka's tanka.dev/Environment objects).
local app = import 'app.libsonnet';
local env(name, ns, replicas) = {
  apiVersion: 'tanka.dev/v1alpha1',
  kind: 'Environment',
  metadata: { name: name },
  spec: { namespace: ns },
  data: app.new('api', 'ghcr.io/acme/api:1.0.0', replicas=replicas),
};
{
  staging: env('inline-staging', 'staging', 1),
  production: env('inline-production', 'production', 4),
}
