package procgroup

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStopEndsTheWholeGroup(t *testing.T) {
	for _, tt := range []struct {
		name, script string
		grace        time.Duration
	}{
		{"leaves on SIGTERM", "sleep 60 & echo $!; wait", time.Second},
		{"ignores SIGTERM", "trap '' TERM; sleep 60 & echo $!; wait", 200 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", tt.script)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Skipf("no sh: %v", err)
			}
			line, err := bufio.NewReader(out).ReadString('\n')
			child, perr := strconv.Atoi(strings.TrimSpace(line))
			if err != nil || perr != nil {
				t.Fatalf("reading the child's pid: %v %v", err, perr)
			}
			waited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(waited) }()

			Stop(cmd.Process.Pid, waited, tt.grace)
			select {
			case <-waited:
			default:
				t.Fatal("Stop returned before the leader was reaped")
			}
			deadline := time.Now().Add(2 * time.Second)
			for alive(child) {
				if time.Now().After(deadline) {
					t.Fatalf("the group's child %d still runs after Stop", child)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// alive reports whether pid runs: it exists and is not a zombie (which
// only waits for its new parent to reap it).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}
