// gen.js writes the cdk8s output fixtures of render's tests: one small app (three
// charts, "db" and "web" depending on "base") synthesized with each yamlOutputType
// of cdk8s, into <layout>/. Run it again after a cdk8s upgrade:
//
//   NODE_PATH=$(hack/npm-deps.sh cdk8s) node render/testdata/cdk8s/gen.js render/testdata/cdk8s
const path = require('path');
const { App, ApiObject, Chart, YamlOutputType } = require('cdk8s');

const layouts = {
  'file-per-app': YamlOutputType.FILE_PER_APP,
  'file-per-chart': YamlOutputType.FILE_PER_CHART,
  'file-per-resource': YamlOutputType.FILE_PER_RESOURCE,
  'folder-per-chart': YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE,
};

for (const [name, type] of Object.entries(layouts)) {
  const app = new App({ outdir: path.join(process.argv[2], name), yamlOutputType: type });
  const base = new Chart(app, 'base');
  new ApiObject(base, 'ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  const db = new Chart(app, 'db', { namespace: 'shop' });
  new ApiObject(db, 'svc', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db' }, spec: { ports: [{ port: 5432 }] } });
  new ApiObject(db, 'cm', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'db-config' }, data: { max_connections: '100', ssl: 'on' } });
  const web = new Chart(app, 'web', { namespace: 'shop' });
  new ApiObject(web, 'deploy', {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } } },
  });
  db.addDependency(base);
  web.addDependency(db);
  app.synth();
}
