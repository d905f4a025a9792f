// A cdk8s app with two charts: "infra" makes the namespace and a config map, "web"
// (which depends on infra, so cdk8s numbers the files 0000-, 0001-) a Deployment and
// its Service. It uses cdk8s's ApiObject directly, so no `cdk8s import` (which would
// fetch Kubernetes schemas from the network) is needed.
import { App, ApiObject, Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';

const namespace = 'cdk8s-demo';

class Infra extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);
    new ApiObject(this, 'namespace', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    });
    new ApiObject(this, 'settings', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'web-settings', namespace },
      data: { GREETING: 'hello from cdk8s', FEATURE_X: 'on' },
    } as any);
  }
}

class Web extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, props);
    const labels = { app: 'web' };
    new ApiObject(this, 'deployment', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [{
              name: 'web',
              image: 'ghcr.io/stefanprodan/podinfo:6.14.1',
              ports: [{ containerPort: 9898 }],
              envFrom: [{ configMapRef: { name: 'web-settings' } }],
            }],
          },
        },
      },
    } as any);
    new ApiObject(this, 'service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace },
      spec: { selector: labels, ports: [{ port: 80, targetPort: 9898 }] },
    } as any);
  }
}

const app = new App();
const infra = new Infra(app, 'infra');
const web = new Web(app, 'web');
web.addDependency(infra);
app.synth();
