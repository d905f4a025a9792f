// The team's own library: one app is a Deployment, a Service and a ConfigMap.
local k = import 'github.com/acme/k/k.libsonnet';
{
  new(name, image, port=8080, replicas=1):: {
    local c = k.container.new(name, image) + k.container.withPort(port),
    deployment: k.apps.v1.deployment.new(name, replicas, [c]),
    service: k.core.v1.service.new(name, { app: name }, [{ port: 80, targetPort: port }]),
    config: k.core.v1.configMap.new(name + '-config', { LOG_LEVEL: 'info', ENABLED: 'yes' }),
  },
}
