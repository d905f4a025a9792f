// podinfo as a Jsonnet function: a Deployment and a Service.
{
  new(name, image, port=9898, replicas=1):: {
    local labels = { 'app.kubernetes.io/name': name },
    deployment: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: name, labels: labels },
      spec: {
        replicas: replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels: labels },
          spec: {
            containers: [{
              name: name,
              image: image,
              ports: [{ name: 'http', containerPort: port }],
              readinessProbe: { httpGet: { path: '/readyz', port: port } },
            }],
          },
        },
      },
    },
    service: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: name, labels: labels },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    },
  },
}
