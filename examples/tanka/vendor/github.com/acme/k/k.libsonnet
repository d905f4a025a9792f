// A small vendored library in the style of k8s-libsonnet: constructors and mixins.
{
  core:: {
    v1:: {
      configMap:: {
        new(name, data={}):: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: name },
          data: data,
        },
      },
      service:: {
        new(name, selector, ports):: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: name },
          spec: { selector: selector, ports: ports },
        },
      },
    },
  },
  apps:: {
    v1:: {
      deployment:: {
        new(name, replicas=1, containers=[]):: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: name, labels: { app: name } },
          spec: {
            replicas: replicas,
            selector: { matchLabels: { app: name } },
            template: {
              metadata: { labels: { app: name } },
              spec: { containers: containers },
            },
          },
        },
        mixin:: {
          withImage(image):: { spec+: { template+: { spec+: { containers: [c { image: image } for c in super.containers] } } } },
        },
      },
    },
  },
  container:: {
    new(name, image):: { name: name, image: image },
    withPort(port):: { ports+: [{ containerPort: port }] },
  },
}
