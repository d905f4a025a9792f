//go:build linux || darwin || freebsd || netbsd || openbsd

package puller

import (
	"os"

	"golang.org/x/sys/unix"
)

const canLockDirs = true

// tryLockDir takes an exclusive lock on the directory dir without waiting; unlock
// releases it. The kernel releases it too when the process ends, however it ends.
func tryLockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
