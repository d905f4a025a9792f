//go:build unix

package kube

import (
	"io"
	"os"
	"os/exec"
	"syscall"
)

// envtest starts etcd and kube-apiserver in process groups of their own and stops them only
// from Stop. A test binary that dies first (a -timeout panic, Ctrl-C, a crash) would leave
// both running, and their files behind, on machines where every core counts.
//
// So Start first launches a watchdog: a small shell reading its stdin, a pipe only this
// process holds. Stop sends "release" and the watchdog exits. End of file means this
// process is gone without stopping: the watchdog kills every process whose command line
// names the Env's directory (etcd's --data-dir and kube-apiserver's --cert-dir are inside
// it; the watchdog has it only in its environment, never in a command line) and removes
// the directory. Finding processes needs /proc (Linux); elsewhere it only cleans up files.
const watchdogScript = `IFS= read -r line
[ "$line" = release ] && exit 0
pids=$(printf '%s\n' "$GITLESS_KUBE_DIR/" | grep -lF -f - /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3)
[ -n "$pids" ] && kill -s KILL $pids 2>/dev/null
rm -rf -- "$GITLESS_KUBE_DIR"
`

type watchdog struct {
	cmd *exec.Cmd
	in  io.WriteCloser
}

// startWatchdog guards dir and the processes started with it in their arguments. It
// returns nil (no guard) if the shell cannot be started.
func startWatchdog(dir string) *watchdog {
	cmd := exec.Command("/bin/sh", "-c", watchdogScript)
	cmd.Env = append(os.Environ(), "GITLESS_KUBE_DIR="+dir)
	// A process group of its own, so the Ctrl-C that kills the test does not kill it too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil
	}
	if err := cmd.Start(); err != nil {
		return nil
	}
	return &watchdog{cmd: cmd, in: in}
}

// release tells the watchdog the control plane was stopped properly, and reaps it.
func (w *watchdog) release() {
	if w == nil {
		return
	}
	_, _ = io.WriteString(w.in, "release\n")
	_ = w.in.Close()
	_ = w.cmd.Wait()
}
