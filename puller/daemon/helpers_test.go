package daemon_test

import (
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

func createSecret(t *testing.T, f *fixture, name, token string) {
	t.Helper()
	_, err := f.Kube.CoreV1().Secrets(f.NS).Create(f.Ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name},
		Data: map[string][]byte{"token": []byte(token)}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}
