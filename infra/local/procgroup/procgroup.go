// Package procgroup stops the local stand-ins (moto_server, oauth2-mock-server,
// the Runtime Interface Emulator), each started as the leader of a process
// group of its own, so that no child outlives a test or make run.
//
//	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
//	... cmd.Start(); go func() { cmd.Wait(); close(waited) }()
//	procgroup.Stop(cmd.Process.Pid, waited, 5*time.Second)
package procgroup

import (
	"syscall"
	"time"
)

// Stop sends SIGTERM to the process group led by pid and waits until waited
// is closed (the leader was reaped); after grace it sends SIGKILL and waits
// again.
func Stop(pid int, waited <-chan struct{}, grace time.Duration) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-waited:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-waited
	}
}
