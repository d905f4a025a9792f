local app = import 'app.libsonnet';
function(image='ghcr.io/acme/web:2.0.0') {
  web: app.new('web', image, replicas=3),
}
