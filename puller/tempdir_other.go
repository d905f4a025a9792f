//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package puller

const canLockDirs = false

func tryLockDir(string) (func(), error) { return func() {}, nil }
