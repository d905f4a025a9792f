// A plain Jsonnet file (no Tanka project): render it with
//   gitless render examples/jsonnet/app.jsonnet -J examples/jsonnet/lib --tla-str tag=6.14.1 --out out/
local podinfo = import 'podinfo.libsonnet';

function(tag='6.14.1', replicas=2) {
  namespace: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'podinfo' } },
  app: podinfo.new('podinfo', 'ghcr.io/stefanprodan/podinfo:' + tag, replicas=replicas),
}
