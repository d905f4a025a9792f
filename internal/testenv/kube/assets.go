package kube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// AssetsVersion names the etcd and kube-apiserver versions the test suite runs against, in
// the form hack/build-kube.sh keys its cache with: "<kube version>-etcd<etcd version>".
// Keep it equal to the script's KUBE_VERSION and ETCD_VERSION defaults.
const AssetsVersion = "v1.37.2-etcdv3.7.3"

// Environment variables read by this package.
const (
	// EnvAssets names a directory holding etcd and kube-apiserver; it wins over the cache.
	// The name is controller-runtime envtest's.
	EnvAssets = "KUBEBUILDER_ASSETS"
	// EnvCacheDir overrides the cache directory, as in hack/cache-dir.sh.
	EnvCacheDir = "GITLESS_CACHE_DIR"
	// EnvRequire, when true ("1"), turns "no control plane binaries" from a skip into a
	// test failure. make test sets it.
	EnvRequire = "GITLESS_REQUIRE_KUBE"
)

// ErrNoAssets is returned (wrapped, with the place looked at and what to do) when the etcd
// and kube-apiserver binaries cannot be found.
var ErrNoAssets = errors.New("no etcd and kube-apiserver binaries for the test control plane")

// binaries are the programs a control plane needs, as named in an assets directory.
var binaries = []string{"etcd", "kube-apiserver"}

const buildHint = "run hack/build-kube.sh (make test does) or set " + EnvAssets +
	" to a directory holding etcd and kube-apiserver"

// Assets returns the directory holding the etcd and kube-apiserver binaries:
//
//   - $KUBEBUILDER_ASSETS when set; it is an error if that directory lacks either binary;
//   - otherwise the cache hack/build-kube.sh fills:
//     ${GITLESS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/gitless}/kube/<AssetsVersion>/bin.
//
// When neither holds the binaries the error wraps ErrNoAssets and says how to build them.
func Assets() (dir string, err error) {
	if dir := os.Getenv(EnvAssets); dir != "" {
		if err := checkAssets(dir); err != nil {
			return "", fmt.Errorf("%w: %s=%s: %w", ErrNoAssets, EnvAssets, dir, err)
		}
		return dir, nil
	}
	cache, err := cacheDir()
	if err != nil {
		return "", fmt.Errorf("%w: %w; %s", ErrNoAssets, err, buildHint)
	}
	dir = filepath.Join(cache, "kube", AssetsVersion, "bin")
	if err := checkAssets(dir); err != nil {
		return "", fmt.Errorf("%w (%s unset, and %w); %s", ErrNoAssets, EnvAssets, err, buildHint)
	}
	return dir, nil
}

// checkAssets reports the first binary missing from dir, or not executable there.
func checkAssets(dir string) error {
	for _, name := range binaries {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			return fmt.Errorf("no %s in %s", name, dir)
		case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
			return fmt.Errorf("%s is not an executable file", p)
		}
	}
	return nil
}

// cacheDir mirrors hack/cache-dir.sh: an empty variable counts as unset, as with the
// shell's ${VAR:-default}. It deliberately does not use os.UserCacheDir, which differs from
// the script on macOS.
func cacheDir() (string, error) {
	if d := os.Getenv(EnvCacheDir); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "gitless"), nil
	}
	home := os.Getenv("HOME")
	if home == "" {
		return "", errors.New("none of " + EnvCacheDir + ", XDG_CACHE_HOME, HOME is set")
	}
	return filepath.Join(home, ".cache", "gitless"), nil
}
